"""The coordinator's pages (roles: ``coordinator`` changes, ``viewer`` reads): firms with status,
notes and services; a firm's items and consents; events with registrations; the pilot portfolio;
assessments T0 → T1; the EDIH export. Sign-in with a name and password (argon2 hashes), a signed
session cookie (SameSite=Strict) and a CSRF token in every form."""

from __future__ import annotations

import hmac
import secrets
from html import escape
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from pilotline import clock
from pilotline.errors import InputError, NotFound
from pilotline.hub import consent, events, intake, portfolio
from pilotline.hub.pages import page
from pilotline.hub.plaintext import check_form
from pilotline.hub.store import HubStore

ROLES = ("coordinator", "viewer")
COOKIE = "hub_session"
_hasher = PasswordHasher()


def add_user(hub: HubStore, name: str, role: str) -> str:
    """A coordinator or viewer; returns the generated password (shown once)."""
    if role not in ROLES:
        raise InputError(f"role {role!r}: expected coordinator or viewer")
    if not name.strip() or len(name) > 80:
        raise InputError("user name: expected 1 to 80 characters")
    password = secrets.token_urlsafe(12)
    with hub.connect() as con:
        if not con.execute("INSERT INTO users (name, role, hash, created_at) VALUES (?, ?, ?, ?) "
                           "ON CONFLICT (name) DO NOTHING RETURNING name",
                           (name, role, _hasher.hash(password), clock.now().isoformat())).rows:  # fmt: skip
            raise InputError(f"user {name!r} exists already")
    return password


def _check(hub: HubStore, name: str, password: str) -> str | None:
    rows = hub.rows("SELECT role, hash FROM users WHERE name = ?", (name,))
    try:
        if rows and _hasher.verify(rows[0]["hash"], password):
            return str(rows[0]["role"])
    except (VerificationError, InvalidHashError):
        pass
    return None


def _secret(hub: HubStore) -> str:
    with hub.connect() as con:  # the first process to start makes it; the others read it
        con.execute("INSERT INTO secrets (name, value) VALUES ('session', ?) "
                    "ON CONFLICT (name) DO NOTHING", (secrets.token_urlsafe(32),))  # fmt: skip
        return str(con.execute("SELECT value FROM secrets WHERE name = 'session'").scalar())


def add_coordinator_pages(app: FastAPI, hub: HubStore) -> None:
    signer = URLSafeTimedSerializer(_secret(hub), salt="hub-session")

    def who(request: Request) -> dict[str, str] | None:
        try:
            data = signer.loads(request.cookies.get(COOKIE, ""), max_age=12 * 3600)
        except BadSignature:
            return None
        rows = hub.rows("SELECT role FROM users WHERE name = ?", (data.get("user"),))
        return (
            {"user": data["user"], "role": rows[0]["role"], "csrf": data["csrf"]} if rows else None
        )

    def shell(user: dict[str, str], title: str, body: str, status: int = 200) -> HTMLResponse:
        nav = " · ".join(f'<a href="/coordinator{p}">{label}</a>' for p, label in
                         [("", "Firms"), ("/events", "Events"), ("/portfolio", "Pilot portfolio"),
                          ("/assessments", "Assessments"), ("/export.csv", "EDIH export (CSV)")])  # fmt: skip
        return page(title, f"<nav>{nav} — {escape(user['user'])} ({user['role']}) "
                    f'<form method="post" action="/coordinator/logout" style="display:inline">'
                    f'<input type="hidden" name="csrf" value="{user["csrf"]}">'
                    f'<button style="margin:0;padding:.2rem .6rem">Sign out</button></form></nav>'
                    f"<h1>{escape(title)}</h1>{body}", status)  # fmt: skip

    def table(cols: list[str], rows: list[list[Any]]) -> str:
        head = "".join(f'<th scope="col">{escape(c)}</th>' for c in cols)
        body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    def login_page(error: str = "", status: int = 200) -> HTMLResponse:
        err = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
        return page("Sign in", f"<h1>Coordinator sign-in</h1>{err}<form method='post' "
                    "action='/coordinator/login'><label for='user'>Name</label><input id='user' "
                    "name='user' autocomplete='username' required><label for='password'>Password"
                    "</label><input id='password' name='password' type='password' "
                    "autocomplete='current-password' required><button>Sign in</button></form>",
                    status)  # fmt: skip

    async def guard(request: Request, *, change: bool = False) -> dict[str, str] | Response:
        user = who(request)
        if user is None:
            return RedirectResponse("/coordinator/login", status_code=303)
        if change:
            form = await request.form()
            try:  # every coordinator form that changes something passes here
                check_form(form.multi_items())
            except InputError as exc:
                return page("Not saved", f"<h1>Not saved</h1><p class='error'>{escape(str(exc))}"
                            "</p>", 422)  # fmt: skip
            if not hmac.compare_digest(str(form.get("csrf", "")).encode(), user["csrf"].encode()):
                return page("Refused", "<h1>Refused</h1><p>The form was stale; reload the page "
                            "and try again.</p>", 403)  # fmt: skip
            if user["role"] != "coordinator":
                return page("Refused", "<h1>Refused</h1><p>Viewers can read but not change "
                            "anything; ask a coordinator.</p>", 403)  # fmt: skip
        return user

    @app.get("/coordinator/login", response_class=HTMLResponse)
    def login_form() -> HTMLResponse:
        return login_page()

    @app.post("/coordinator/login")
    async def login(request: Request) -> Response:
        form = await request.form()
        try:
            check_form(form.multi_items())
        except InputError as exc:
            return login_page(str(exc), 422)
        name = str(form.get("user", ""))
        if _check(hub, name, str(form.get("password", ""))) is None:
            return login_page("Wrong name or password.", 401)
        r = RedirectResponse("/coordinator", status_code=303)
        r.set_cookie(COOKIE, signer.dumps({"user": name, "csrf": secrets.token_urlsafe(16)}),
                     httponly=True, samesite="strict", max_age=12 * 3600)  # fmt: skip
        return r

    @app.post("/coordinator/logout")
    async def logout(request: Request) -> Response:
        r = RedirectResponse("/coordinator/login", status_code=303)
        r.delete_cookie(COOKIE)
        return r

    @app.get("/coordinator", response_class=HTMLResponse)
    async def firms(request: Request) -> Response:
        user = await guard(request)
        if isinstance(user, Response):
            return user
        services = {r["firm_id"]: r["n"] for r in hub.rows(
            "SELECT firm_id, count(*) AS n FROM services GROUP BY firm_id")}  # fmt: skip
        rows = [[f'<a href="/coordinator/firms/{escape(f["id"])}">{escape(f["name"])}</a>',
                 escape(f["sector"]), f["size_band"], escape(f["region"]), f["status"],
                 services.get(f["id"], 0)] for f in hub.firms()]  # fmt: skip
        return shell(user, "Firms", table(["firm", "sector", "size", "region", "status",
                                           "services"], rows))  # fmt: skip

    @app.get("/coordinator/firms/{firm_id}", response_class=HTMLResponse)
    async def firm(request: Request, firm_id: str) -> Response:
        user = await guard(request)
        if isinstance(user, Response):
            return user
        try:
            f = hub.firm(firm_id)
        except NotFound as exc:
            return shell(user, "Not found", f"<p>{escape(str(exc))}</p>", 404)
        held = intake.held(hub, firm_id)
        ledger = consent.ledger(hub, firm=firm_id)
        services = hub.rows("SELECT category, note, given_on FROM services WHERE firm_id = ? "
                            "ORDER BY seq", (firm_id,))  # fmt: skip
        forms = ""
        if user["role"] == "coordinator":
            csrf = f'<input type="hidden" name="csrf" value="{user["csrf"]}">'
            opts = "".join(f'<option{" selected" if s == f["status"] else ""}>{s}</option>'
                           for s in portfolio.STATUSES)  # fmt: skip
            cats = "".join(f"<option>{c}</option>" for c in portfolio.SUPPORT)
            forms = (f'<form method="post" action="/coordinator/firms/{escape(firm_id)}/status">'
                     f'{csrf}<label for="status">Status</label><select id="status" name="status">'
                     f'{opts}</select><label for="notes">Notes</label><input id="notes" '
                     f'name="notes" value="{escape(f["notes"], quote=True)}"><button>Save</button>'
                     f'</form><form method="post" action="/coordinator/firms/{escape(firm_id)}/'
                     f'service">{csrf}<label for="category">Support given</label><select '
                     f'id="category" name="category">{cats}</select><label for="note">What was '
                     f'done</label><input id="note" name="note"><button>Record</button></form>')  # fmt: skip
        body = (
            f"<p>{escape(f['sector'])}, {f['size_band']}, {escape(f['region'])} — status "
            f"<strong>{f['status']}</strong>. {escape(f['notes'])}</p>{forms}"
            "<h2>Services</h2>" + table(["support", "note", "on"], [[escape(s["category"]),
            escape(s["note"]), s["given_on"]] for s in services])
            + "<h2>What the firm sent</h2>" + table(["item", "kind", "received"],
            [[escape(i["id"]), i["kind"], i["received_at"]] for i in held])
            + "<h2>Consent ledger</h2>" + table(["person", "item", "text", "given", "withdrawn"],
            [[escape(r["person"]), escape(r["item"]), r["text_version"], r["given_at"],
              r["withdrawn_at"] or ""] for r in ledger])
        )  # fmt: skip
        return shell(user, str(f["name"]), body)

    @app.post("/coordinator/firms/{firm_id}/status")
    async def status(request: Request, firm_id: str) -> Response:
        user = await guard(request, change=True)
        if isinstance(user, Response):
            return user
        form = await request.form()
        try:
            portfolio.set_status(hub, firm_id, str(form.get("status")), str(form.get("notes", "")))
        except (InputError, NotFound) as exc:
            return shell(user, "Not saved", f"<p class='error'>{escape(str(exc))}</p>", 422)
        return RedirectResponse(f"/coordinator/firms/{firm_id}", status_code=303)

    @app.post("/coordinator/firms/{firm_id}/service")
    async def service(request: Request, firm_id: str) -> Response:
        user = await guard(request, change=True)
        if isinstance(user, Response):
            return user
        form = await request.form()
        try:
            portfolio.give_service(
                hub, firm_id, str(form.get("category")), str(form.get("note", ""))
            )
        except (InputError, NotFound) as exc:
            return shell(user, "Not saved", f"<p class='error'>{escape(str(exc))}</p>", 422)
        return RedirectResponse(f"/coordinator/firms/{firm_id}", status_code=303)

    @app.get("/coordinator/events", response_class=HTMLResponse)
    async def event_list(request: Request) -> Response:
        user = await guard(request)
        if isinstance(user, Response):
            return user
        rows = [[f'<a href="/coordinator/events/{e["id"]}">{escape(e["title"])}</a>',
                 f"{e['start']:%Y-%m-%d %H:%M} {escape(e['tz'])}",
                 e["capacity"], e["registered"], e["waiting"], e["cancelled"],
                 f'<a href="/events/{e["id"]}.ics">.ics</a>'] for e in events.upcoming(hub)]  # fmt: skip
        return shell(user, "Events", table(["event", "starts", "capacity", "registered",
                                            "waiting", "cancelled", "calendar"], rows))  # fmt: skip

    @app.get("/coordinator/events/{event_id}", response_class=HTMLResponse)
    async def event_page(request: Request, event_id: int) -> Response:
        user = await guard(request)
        if isinstance(user, Response):
            return user
        try:
            e = events.event(hub, event_id)
        except NotFound as exc:
            return shell(user, "Not found", f"<p>{escape(str(exc))}</p>", 404)
        people = events.registrations(hub, event_id)

        def at(v: str | None) -> str:
            return escape(v[:16].replace("T", " ")) if v else ""

        rows = [[escape(p["name"]), escape(p["email"]), escape(p["status"]),
                 at(p["registered_at"]), at(p["cancelled_at"]), "yes" if p["attended"] else ""]
                for p in people]  # fmt: skip
        return shell(user, e["title"],
                     f"<p>{e['start']:%a %d %b %Y %H:%M}–{e['end']:%H:%M} ({escape(e['tz'])}), "
                     f"{escape(e['location'])}; capacity {e['capacity']}: {e['registered']} "
                     f"with a place, {e['waiting']} waiting, {e['cancelled']} cancelled.</p>"
                     + table(["name", "e-mail", "status", "booked (UTC)", "cancelled (UTC)",
                              "attended"], rows)
                     + "<p>A place freed by a cancellation goes to the first on the waiting list, "
                     "who is e-mailed; the list shows them with a place from then on.</p>")  # fmt: skip

    @app.get("/coordinator/portfolio", response_class=HTMLResponse)
    async def pilots(request: Request) -> Response:
        user = await guard(request)
        if isinstance(user, Response):
            return user

        def num(v: float | None) -> str:
            return "—" if v is None else f"{v:.2f}"

        rows = [[escape(r["step"]), r["pilots"], r["firms"], f"{r['adopted_share']:.0%}",
                 f"{num(r['pooled_effect'])} ({num(r['pooled_low'])} to {num(r['pooled_high'])})",
                 num(r["heterogeneity_p"])] for r in portfolio.pilot_portfolio(hub)]  # fmt: skip
        return shell(user, "Pilot portfolio", table(["step", "pilots", "firms", "adopted",
                     "pooled effect (95 %)", "heterogeneity p"], rows)
                     + "<p>Heterogeneity p below 0.05: the firms' results disagree; look at "
                     "each before recommending the step.</p>")  # fmt: skip

    @app.get("/coordinator/assessments", response_class=HTMLResponse)
    async def dma(request: Request) -> Response:
        user = await guard(request)
        if isinstance(user, Response):
            return user
        rows = [[escape(r["dimension"]), r["firms"], f"{r['mean_T0']:.1f}", f"{r['mean_T1']:.1f}",
                 f"{r['mean_change']:+.1f}"] for r in portfolio.assessment_change(hub)]  # fmt: skip
        return shell(user, "Assessments T0 → T1", table(["dimension", "firms", "T0", "T1",
                                                          "change"], rows))  # fmt: skip

    @app.get("/coordinator/export.csv")
    async def export(request: Request) -> Response:
        user = await guard(request)
        if isinstance(user, Response):
            return user
        return Response(portfolio.edih_csv(hub), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="edih.csv"'})  # fmt: skip
