"""The hub's public pages, no login: the campaign with its upcoming events, the register-interest
form with the consent text, the confirmation link, booking a place at an event and cancelling it
by the e-mailed link, and each event's iCalendar file and the feed. Each visit to the campaign
page or the form erases registrations of interest left unconfirmed too long."""

from __future__ import annotations

from html import escape
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from pilotline.errors import InputError, NotFound, SourceUnavailable
from pilotline.hub import events, interest
from pilotline.hub.benchmark import SIZE_BANDS
from pilotline.hub.intake import consent_text
from pilotline.hub.plaintext import check_form
from pilotline.hub.store import HubStore

STYLE = """body{font:16px/1.5 system-ui,sans-serif;margin:0 auto;max-width:44rem;padding:1rem;
color:#1a1a1a}label{display:block;margin:.6rem 0 .2rem;font-weight:600}input,select{font:inherit;
width:100%;padding:.5rem;box-sizing:border-box}fieldset{border:1px solid #888;margin:.8rem 0}
.check{display:flex;gap:.5rem;align-items:flex-start;font-weight:400}.check input{width:auto}
.hp{position:absolute;left:-10000px}button{font:inherit;padding:.6rem 1.2rem;margin-top:1rem;
background:#0b5394;color:#fff;border:0}a{color:#0b5394}.error{color:#a00;font-weight:600}
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{text-align:left;padding:.3rem;
border-bottom:1px solid #bbb}main{overflow-x:auto}"""


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" '
        f'content="width=device-width, initial-scale=1"><title>{escape(title)}</title>'
        f"<style>{STYLE}</style></head><body><main>{body}</main></body></html>",
        status_code=status,
    )


def add_public_pages(app: FastAPI, hub: HubStore) -> None:
    def home(
        error: str = "", form: dict[str, Any] | None = None, status: int = 200
    ) -> HTMLResponse:
        form = form or {}
        name = escape(hub.setting("campaign_name"))
        items = "".join(
            f"<li><strong>{escape(e['title'])}</strong>, {e['start']:%a %d %b %Y %H:%M}–"
            f"{e['end']:%H:%M} ({escape(e['tz'])}), {escape(e['location'])} — "
            f"{max(0, e['capacity'] - e['registered'])} place(s) left "
            f"<a href='/events/{e['id']}.ics'>add to calendar</a>"
            f"<form method='post' action='/events/{e['id']}/register'>"
            f"<label for='n{e['id']}'>Your name</label><input id='n{e['id']}' name='name' required "
            f"autocomplete='name'><label for='e{e['id']}'>E-mail</label><input id='e{e['id']}' "
            f"name='email' type='email' required autocomplete='email'>"
            f"<div class='hp' aria-hidden='true'><label for='w{e['id']}'>Leave empty</label>"
            f"<input id='w{e['id']}' name='website' tabindex='-1' autocomplete='off'></div>"
            f"<button type='submit'>Book a place</button></form></li>"
            for e in events.upcoming(hub)
        )
        text = consent_text(hub)

        def field(key: str, label: str, kind: str = "text", auto: str = "") -> str:
            value = escape(str(form.get(key) or ""), quote=True)
            return (f'<label for="{key}">{label}</label><input id="{key}" name="{key}" '
                    f'type="{kind}" value="{value}" required autocomplete="{auto or "off"}">')  # fmt: skip

        sizes = "".join(
            f'<option value="{s}"{" selected" if form.get("size_band") == s else ""}>{s}</option>'
            for s in SIZE_BANDS
        )
        topics = "".join(
            f'<label class="check"><input type="checkbox" name="topics" value="{t}">'
            f"{t.replace('-', ' ')}</label>"
            for t in interest.TOPICS
        )
        err = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
        return page(
            name,
            f"<h1>{name}</h1><p>Small firms change faster together: pilot one small, measured "
            f"step, and learn from every firm's results.</p><h2>Upcoming events</h2>"
            f"<ul>{items or '<li>None planned yet.</li>'}</ul>"
            f'<p><a href="/events.ics">All events as a calendar feed</a></p>'
            f'<h2 id="register">Register your interest</h2>{err}'
            f'<form method="post" action="/interest">'
            + field("organisation", "Organisation", auto="organization")
            + field("contact", "Your name", auto="name")
            + field("email", "E-mail", "email", "email")
            + f'<label for="size_band">Size</label><select id="size_band" name="size_band">'
            f"{sizes}</select>"
            + field("sector", "Sector")
            + field("region", "Region")
            + f"<fieldset><legend>Topics of interest</legend>{topics}</fieldset>"
            f'<div class="hp" aria-hidden="true"><label for="website">Leave empty</label>'
            f'<input id="website" name="website" tabindex="-1" autocomplete="off"></div>'
            f"<p>{escape(text['text'])} This registration is erased if it is not confirmed "
            f"by the e-mailed link within {interest.expiry_days(hub):g} days. (Consent text "
            f"version {escape(text['version'])}.)</p>"
            f'<label class="check"><input type="checkbox" name="consent" value="yes" required>'
            f"I agree to the text above.</label>"
            f"<button type='submit'>Register</button></form>",
            status,
        )

    @app.get("/", response_class=HTMLResponse)
    def campaign() -> HTMLResponse:
        interest.expire(hub)  # one DELETE: unconfirmed registrations past their days go
        return home()

    @app.post("/interest", response_class=HTMLResponse)
    async def register(request: Request) -> HTMLResponse:
        raw = await request.form()
        form: dict[str, Any] = {k: raw.get(k) for k in raw}
        form["topics"] = raw.getlist("topics")
        ip = request.client.host if request.client else "unknown"
        interest.expire(hub)
        try:
            check_form(raw.multi_items())
            interest.register(hub, form, ip=ip)
        except interest.Spam:
            pass  # answered like a success, nothing kept
        except interest.TooMany as exc:
            return home(str(exc), form, 429)
        except InputError as exc:
            return home(str(exc), form, 422)
        return page("Check your e-mail", "<h1>Check your e-mail</h1><p>We have sent you a link "
                    "to confirm. Nothing is kept unless you confirm.</p>")  # fmt: skip

    @app.post("/events/{event_id}/register", response_class=HTMLResponse)
    async def book(request: Request, event_id: int) -> HTMLResponse:
        raw = await request.form()
        if str(raw.get("website") or "").strip():  # the honeypot
            return page("Booked", "<h1>Thank you</h1>")
        email = str(raw.get("email") or "").strip().lower()
        name = str(raw.get("name") or "").strip()
        ip = request.client.host if request.client else "unknown"
        try:
            check_form(raw.multi_items())
            if not interest.EMAIL.match(email) or not name or len(name) > 200:
                raise InputError("a name and an e-mail address such as name@firm.example, please")
            interest.limit(hub, [email, f"ip:{ip}"])
            status = events.register(hub, event_id, email=email, name=name)
        except interest.TooMany as exc:
            return home(str(exc), status=429)
        except NotFound as exc:
            return page("Not found", f"<h1>Not found</h1><p>{escape(str(exc))}</p>", 404)
        except InputError as exc:
            return home(str(exc), status=422)
        said = ("You have a place." if status == "registered" else
                "The event is full: you are on the waiting list and will hear if a place frees.")  # fmt: skip
        try:
            events.confirm_booking(hub, event_id, email)
            said += " We have e-mailed you the booking, with a link to cancel it."
        except SourceUnavailable:
            said += (" We could not e-mail you the booking just now; to cancel it, write to "
                     "the campaign team.")  # fmt: skip
        return page("Booked", f"<h1>Thank you</h1><p>{said}</p>")

    @app.get("/events/cancel/{token}", response_class=HTMLResponse)
    def cancel_form(token: str) -> HTMLResponse:
        """Asks first: opening the link (a mail scanner does) cancels nothing."""
        try:
            r = events.booking(hub, token)
        except NotFound as exc:
            return page("Not found", f"<h1>Link not known</h1><p>{escape(str(exc))}</p>", 404)
        e = r["event"]
        what = (f"<strong>{escape(e['title'])}</strong>, {e['start']:%a %d %b %Y %H:%M} "
                f"({escape(e['tz'])})")  # fmt: skip
        if r["status"] == "cancelled":
            return page("Cancelled", f"<h1>Already cancelled</h1><p>Your booking for {what} "
                        "is cancelled.</p>")  # fmt: skip
        place = "your place" if r["status"] == "registered" else "your place on the waiting list"
        return page("Cancel your booking",
                    f"<h1>Cancel your booking?</h1><p>{escape(r['name'])}: {place} at {what}.</p>"
                    f"<form method='post' action='/events/cancel/{escape(token, quote=True)}'>"
                    "<button type='submit'>Cancel my booking</button></form>")  # fmt: skip

    @app.post("/events/cancel/{token}", response_class=HTMLResponse)
    def cancel(token: str) -> HTMLResponse:
        try:
            done = events.cancel_booking(hub, token)
        except NotFound as exc:
            return page("Not found", f"<h1>Link not known</h1><p>{escape(str(exc))}</p>", 404)
        title = escape(done["booking"]["event"]["title"])
        return page("Cancelled", f"<h1>Cancelled</h1><p>Your booking for {title} is cancelled. "
                    "Thank you for letting us know.</p>")  # fmt: skip

    @app.get("/confirm/{token}", response_class=HTMLResponse)
    def confirm(token: str) -> HTMLResponse:
        try:
            interest.confirm(hub, token)
        except NotFound as exc:
            return page("Not found", f"<h1>Link not known</h1><p>{escape(str(exc))}</p>", 404)
        return page("Thank you", "<h1>Thank you</h1><p>Your interest is confirmed; the campaign "
                    "team will be in touch.</p>")  # fmt: skip

    @app.get("/events.ics")
    def feed() -> Response:
        return Response(events.ics(hub), media_type="text/calendar; charset=utf-8")

    @app.get("/events/{event_id}.ics")
    def one(event_id: int) -> Response:
        return Response(events.ics(hub, [event_id]), media_type="text/calendar; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="event-{event_id}.ics"'})  # fmt: skip
