"""Campaign events: capacity and a waiting list, attendance, and RFC 5545 iCalendar files (one
per event, and a feed of all) written with the ``icalendar`` library."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import smtplib
import zoneinfo
from email.message import EmailMessage
from typing import Any

import icalendar

from pilotline import clock
from pilotline.errors import InputError, NotFound, SourceUnavailable
from pilotline.hub.db import Connection
from pilotline.hub.plaintext import check as plain
from pilotline.hub.store import HubStore

log = logging.getLogger(__name__)
PRODID = "-//Pilotline//campaign hub//EN"


def add_event(hub: HubStore, *, title: str, starts: str, ends: str, tz: str, capacity: int,
              location: str = "", description: str = "") -> int:  # fmt: skip
    """An event; ``starts`` and ``ends`` are local times (``2026-03-10T09:00``) in ``tz``."""
    try:
        zone = zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InputError(f"time zone {tz!r}: expected an IANA name such as Europe/London") from None
    try:
        a = dt.datetime.fromisoformat(starts).replace(tzinfo=zone)
        b = dt.datetime.fromisoformat(ends).replace(tzinfo=zone)
    except ValueError:
        raise InputError("start and end: expected local times such as 2026-03-10T09:00") from None
    for name, t in (("start", a), ("end", b)):  # a time the clocks skip (spring forward)
        if t.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None) != t.replace(tzinfo=None):
            raise InputError(f"{name} {t:%Y-%m-%d %H:%M}: the clocks in {tz} skip that time "
                             "(daylight saving begins); give a time that exists there")  # fmt: skip
    if b <= a:
        raise InputError("the event ends before it starts")
    if not 1 <= capacity <= 100_000:
        raise InputError(f"capacity {capacity}: expected 1 to 100,000")
    if not title.strip() or len(title) > 200:
        raise InputError("title: expected 1 to 200 characters")
    # on the public page, in calendar files and in mail subjects (where a newline is refused)
    plain(title, "title")
    plain(location, "location")
    plain(description, "description", multi_line=True)
    with hub.connect() as con:
        made = con.execute(
            "INSERT INTO events (title, starts_at, ends_at, tz, location, description, capacity)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (title.strip(), a.replace(tzinfo=None).isoformat(), b.replace(tzinfo=None).isoformat(),
             tz, location.strip()[:300], description.strip()[:4000], capacity),
        )  # fmt: skip
        return int(made.scalar())


def event(hub: HubStore, event_id: int) -> dict[str, Any]:
    rows = hub.rows("SELECT * FROM events WHERE id = ?", (event_id,))
    if not rows:
        raise NotFound(f"no event {event_id}")
    e = rows[0]
    zone = zoneinfo.ZoneInfo(e["tz"])
    e["start"] = dt.datetime.fromisoformat(e["starts_at"]).replace(tzinfo=zone)
    e["end"] = dt.datetime.fromisoformat(e["ends_at"]).replace(tzinfo=zone)
    counts = {r["status"]: r["n"] for r in hub.rows(
        "SELECT status, count(*) AS n FROM registrations WHERE event_id = ? GROUP BY status",
        (event_id,))}  # fmt: skip
    e["registered"] = counts.get("registered", 0)
    e["waiting"] = counts.get("waiting", 0)
    e["cancelled"] = counts.get("cancelled", 0)
    return e


def registrations(hub: HubStore, event_id: int) -> list[dict[str, Any]]:
    """Everyone who booked, in booking order: places first, then the waiting list, then the
    cancelled (never the cancel links)."""
    order = "CASE status WHEN 'registered' THEN 0 WHEN 'waiting' THEN 1 ELSE 2 END"
    return hub.rows(
        "SELECT email, name, status, registered_at, cancelled_at, attended FROM registrations "
        f"WHERE event_id = ? ORDER BY {order}, registered_at, email",
        (event_id,),
    )


def upcoming(hub: HubStore) -> list[dict[str, Any]]:
    now = clock.now()
    events = [event(hub, r["id"]) for r in hub.rows("SELECT id FROM events ORDER BY starts_at")]
    return [e for e in events if e["end"] > now]


def register(hub: HubStore, event_id: int, *, email: str, name: str) -> str:
    """Registered while there is room, else on the waiting list; returns which."""
    plain(name, "name")
    plain(email, "e-mail")
    e = event(hub, event_id)
    email = email.strip().lower()
    with hub.connect() as con:
        con.lock(f"event:{event_id}")  # two bookings for the last place: one gets it
        if con.execute("SELECT 1 FROM registrations WHERE event_id = ? AND email = ? AND "
                       "status != 'cancelled'", (event_id, email)).fetchone():  # fmt: skip
            raise InputError(f"{email} is already registered for {e['title']}")
        taken = con.execute("SELECT count(*) AS n FROM registrations WHERE event_id = ? AND "
                            "status = 'registered'", (event_id,)).scalar()  # fmt: skip
        status = "registered" if taken < e["capacity"] else "waiting"
        # Booking again after cancelling: a new booking (new time, link; not attended).
        con.execute("INSERT INTO registrations (event_id, email, name, status, registered_at, "
                    "cancel_token) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (event_id, email) DO "
                    "UPDATE SET name = excluded.name, status = excluded.status, registered_at = "
                    "excluded.registered_at, cancel_token = excluded.cancel_token, "
                    "cancelled_at = NULL, attended = 0, reminded_at = NULL",
                    (event_id, email, name.strip()[:200], status, clock.now().isoformat(),
                     secrets.token_urlsafe(24)))  # fmt: skip
    return status


def cancel(hub: HubStore, event_id: int, email: str) -> str | None:
    """Cancel a registration; the first on the waiting list moves up. Returns who moved up."""
    with hub.connect() as con:
        return cancel_in(con, event_id, email)


def cancel_in(con: Connection, event_id: int, email: str) -> str | None:
    """:func:`cancel` within the transaction ``con`` (a person's erasure frees their places)."""
    email = email.strip().lower()
    con.lock(f"event:{event_id}")  # two cancellations at once promote two people, not one twice
    row = con.execute("SELECT status FROM registrations WHERE event_id = ? AND email = ?",
                      (event_id, email)).fetchone()  # fmt: skip
    if row is None or row["status"] == "cancelled":
        raise NotFound(f"{email} is not registered for event {event_id}")
    con.execute("UPDATE registrations SET status = 'cancelled', cancelled_at = ? WHERE "
                "event_id = ? AND email = ?", (clock.now().isoformat(), event_id, email))  # fmt: skip
    if row["status"] != "registered":
        return None
    [e] = con.execute("SELECT ends_at, tz FROM events WHERE id = ?", (event_id,)).rows
    ends = dt.datetime.fromisoformat(e["ends_at"]).replace(tzinfo=zoneinfo.ZoneInfo(e["tz"]))
    if ends <= clock.now():
        return None  # nobody moves up into (and is e-mailed a place at) an event that is over
    nxt = con.execute("SELECT email FROM registrations WHERE event_id = ? AND status = "
                      "'waiting' ORDER BY registered_at, email LIMIT 1", (event_id,)).fetchone()  # fmt: skip
    if nxt:
        con.execute("UPDATE registrations SET status = 'registered' WHERE event_id = ? AND "
                    "email = ?", (event_id, nxt["email"]))  # fmt: skip
        return str(nxt["email"])
    return None


def _vevent(e: dict[str, Any], host: str) -> icalendar.Event:
    v = icalendar.Event()
    v.add("uid", f"event-{e['id']}@{host}")
    v.add("dtstamp", clock.now())
    v.add("dtstart", e["start"])
    v.add("dtend", e["end"])
    v.add("summary", e["title"])
    if e["location"]:
        v.add("location", e["location"])
    if e["description"]:
        v.add("description", e["description"])
    return v


def ics(hub: HubStore, event_ids: list[int] | None = None, *, host: str = "pilotline-hub") -> bytes:
    """An iCalendar file: the events named, or every upcoming one (the feed)."""
    events = upcoming(hub) if event_ids is None else [event(hub, i) for i in event_ids]
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("x-wr-calname", hub.setting("campaign_name"))
    for e in events:
        cal.add_component(_vevent(e, host))
    cal.add_missing_timezones()
    out: bytes = cal.to_ical()
    return out


def attended(hub: HubStore, event_id: int, email: str) -> None:
    with hub.connect() as con:
        n = con.execute("UPDATE registrations SET attended = 1 WHERE event_id = ? AND email = ? "
                        "AND status = 'registered'", (event_id, email.strip().lower())).rowcount  # fmt: skip
    if not n:
        raise NotFound(f"{email} has no place at event {event_id}")


def remind(hub: HubStore, event_id: int) -> int:
    """E-mail everyone with a place a reminder with the event's calendar file; how many."""
    e = event(hub, event_id)
    people = hub.rows("SELECT * FROM registrations WHERE event_id = ? AND status = "
                      "'registered' ORDER BY email", (event_id,))  # fmt: skip
    sent = _mail_reminders(hub, e, people)
    with hub.connect() as con:
        con.executemany("UPDATE registrations SET reminded_at = ? WHERE event_id = ? AND "
                        "email = ?", [(clock.now().isoformat(), event_id, p) for p in sent])  # fmt: skip
    return len(sent)


def remind_due(hub: HubStore) -> int:
    """The automatic reminders ``hub serve`` sends every few minutes: each person with a place at
    an event that begins within ``reminder_hours`` (and has not begun) is reminded once; how
    many were. A person is claimed (``reminded_at``) before the mail goes, so two hub processes
    never send one reminder twice; whoever's mail could not be sent is released for the next
    round (and :class:`SourceUnavailable` says why)."""
    hours = int(hub.setting("reminder_hours"))
    if hours == 0:
        return 0
    now = clock.now()
    sent = 0
    for e in upcoming(hub):
        if not now < e["start"] <= now + dt.timedelta(hours=hours):
            continue
        stamp = now.isoformat()
        with hub.connect() as con:
            claimed = con.execute(
                "UPDATE registrations SET reminded_at = ? WHERE event_id = ? AND status = "
                "'registered' AND reminded_at IS NULL RETURNING *",
                (stamp, e["id"]),
            ).fetchall()
        if not claimed:
            continue
        done: list[str] = []
        refused: list[str] = []
        try:
            _mail_reminders(hub, e, sorted(claimed, key=lambda p: p["email"]), done, refused)
        finally:
            # refused for good (5xx) stays marked: it would be refused at every round
            unsent = [p["email"] for p in claimed if p["email"] not in done + refused]
            if unsent:
                with hub.connect() as con:
                    con.executemany("UPDATE registrations SET reminded_at = NULL WHERE "
                                    "event_id = ? AND email = ? AND reminded_at = ?",
                                    [(e["id"], m, stamp) for m in unsent])  # fmt: skip
        sent += len(done)
    return sent


def _line(text: str) -> str:
    """One line for a mail header (a title kept before titles were checked may hold newlines:
    the header would be refused, and the mail with it)."""
    return " ".join(text.split())


def _mail_reminders(
    hub: HubStore,
    e: dict[str, Any],
    people: list[dict[str, Any]],
    done: list[str] | None = None,
    refused: list[str] | None = None,
) -> list[str]:
    """Send each person the reminder; the addresses sent to (also in ``done`` as they go). An
    address the mail server refuses does not stop the others: refused for good (5xx) it goes in
    ``refused``, refused for now (4xx, greylisting) in neither (tried again); both are logged."""
    done = [] if done is None else done
    refused = [] if refused is None else refused
    if not people:
        return done
    try:
        with smtplib.SMTP(hub.setting("smtp_host"), int(hub.setting("smtp_port")), timeout=20) as s:
            for p in people:
                msg = _message(hub, p, e, "Reminder", "a reminder:")  # with its cancel link
                try:
                    s.send_message(msg)
                except smtplib.SMTPRecipientsRefused as exc:
                    code = min((c for c, _m in exc.recipients.values()), default=0)
                    log.warning(
                        "reminder for event %s: a recipient was refused (%s)", e["id"], code
                    )
                    if code >= 500:
                        refused.append(p["email"])
                    continue
                done.append(p["email"])
    except (OSError, smtplib.SMTPException) as exc:
        raise SourceUnavailable(f"reminders could not be sent: {exc}") from None
    return done


# -- booking by e-mail: confirmation with a cancel link; a freed place goes to the first waiting --


def booking(hub: HubStore, token: str) -> dict[str, Any]:
    """The registration a cancel link names, with its event (``event``)."""
    rows = hub.rows("SELECT * FROM registrations WHERE cancel_token = ?", (token,)) if token else []
    if not rows:
        raise NotFound("this cancel link is not known (the booking was made again, or erased)")
    r = rows[0]
    r["event"] = event(hub, r["event_id"])
    return r


def _link(hub: HubStore, token: str) -> str:
    return f"{hub.setting('public_url').rstrip('/')}/events/cancel/{token}"


def _message(
    hub: HubStore, r: dict[str, Any], e: dict[str, Any], subject: str, lead: str
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = hub.setting("mail_from")
    msg["To"] = r["email"]
    msg["Subject"] = f"{subject}: {_line(e['title'])}, {e['start']:%a %d %b %H:%M}"
    when = f"{e['start']:%A %d %B %Y at %H:%M} ({e['tz']})"
    msg.set_content(
        f"Hello {r['name']},\n\n{lead} {e['title']}, {when}, {e['location'] or 'at the venue'}."
        f"\n\nIf you cannot come, please cancel so that someone else can have the place:\n\n"
        f"{_link(hub, r['cancel_token'])}\n"
    )
    if r["status"] == "registered":
        msg.add_attachment(ics(hub, [e["id"]]), maintype="text", subtype="calendar",
                           filename=f"event-{e['id']}.ics")  # fmt: skip
    return msg


def _send(hub: HubStore, messages: list[EmailMessage], what: str) -> None:
    try:
        with smtplib.SMTP(hub.setting("smtp_host"), int(hub.setting("smtp_port")), timeout=20) as s:
            for m in messages:
                s.send_message(m)
    except (OSError, smtplib.SMTPException) as exc:
        raise SourceUnavailable(f"{what} could not be sent: {exc}") from None


def confirm_booking(hub: HubStore, event_id: int, email: str) -> None:
    """E-mail the person their booking — a place (with the calendar file) or the waiting list —
    and the link that cancels it."""
    rows = hub.rows("SELECT * FROM registrations WHERE event_id = ? AND email = ?",
                    (event_id, email.strip().lower()))  # fmt: skip
    if not rows:
        raise NotFound(f"{email} is not registered for event {event_id}")
    r, e = rows[0], event(hub, event_id)
    if r["status"] == "registered":
        msg = _message(hub, r, e, "Your place", "you have a place at")
    else:
        msg = _message(hub, r, e, "Waiting list",
                       "the event is full; you are on the waiting list (we write if a place "
                       "frees) for")  # fmt: skip
    _send(hub, [msg], "the booking confirmation")


def cancel_booking(hub: HubStore, token: str) -> dict[str, Any]:
    """Cancel the booking a link names; the first on the waiting list moves up and is e-mailed.
    Returns ``{"booking", "moved", "mail_error"}`` (who moved up; why their e-mail failed — the
    cancellation stands either way). A booking already cancelled stays as it is."""
    r = booking(hub, token)
    if r["status"] == "cancelled":
        return {"booking": r, "moved": None, "mail_error": None}
    moved = cancel(hub, r["event_id"], r["email"])
    error = None if moved is None else tell_moved_up(hub, r["event_id"], moved)
    return {"booking": booking(hub, token), "moved": moved, "mail_error": error}


def tell_moved_up(hub: HubStore, event_id: int, email: str) -> str | None:
    """E-mail the person who moved up from the waiting list their place; why that failed, or
    None (the place is theirs either way)."""
    [m] = hub.rows("SELECT * FROM registrations WHERE event_id = ? AND email = ?",
                   (event_id, email))  # fmt: skip
    msg = _message(hub, m, event(hub, event_id), "A place for you",
                   "a place has come free, and it is yours:")  # fmt: skip
    try:
        _send(hub, [msg], "the e-mail to the person who moved up")
    except SourceUnavailable as exc:
        log.warning("%s", exc)
        return str(exc)
    return None
