"""Registering interest from the public page: checked, held off from spam without any third
party (a honeypot field that people never see, and a limit per e-mail and per IP address per
hour), and confirmed by a link sent by e-mail (SMTP from the hub's settings). A confirmed
registration becomes a firm at status ``interested``."""

from __future__ import annotations

import datetime as dt
import re
import secrets
import smtplib
from email.message import EmailMessage
from typing import Any

from pilotline import clock
from pilotline.errors import InputError, NotFound, SourceUnavailable
from pilotline.hub.benchmark import SIZE_BANDS
from pilotline.hub.intake import consent_text
from pilotline.hub.plaintext import check as plain
from pilotline.hub.store import HubStore, insert_firm

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,}$")
TOPICS = ("oee", "process-mapping", "pilots", "skills", "ai", "energy", "supply-chain-data")


class TooMany(InputError):
    """Too many registrations from one address this hour: try later."""


class Spam(InputError):
    """The honeypot was filled in: answered as if accepted, nothing kept."""


def check(form: dict[str, Any]) -> dict[str, Any]:
    """The form, cleaned; a plain message naming the field otherwise."""

    def text(name: str, most: int = 200) -> str:
        v = plain(str(form.get(name) or ""), name.replace("_", " ")).strip()
        if not v or len(v) > most:
            raise InputError(f"{name.replace('_', ' ')}: expected 1 to {most} characters")
        return v

    out = {k: text(k) for k in ("organisation", "contact", "sector", "region")}
    email = text("email", 320).lower()
    if not EMAIL.match(email):
        raise InputError(f"e-mail {email!r}: expected an address such as name@firm.example")
    out["email"] = email
    if form.get("size_band") not in SIZE_BANDS:
        raise InputError(f"size band: choose one of {', '.join(SIZE_BANDS)}")
    out["size_band"] = form["size_band"]
    topics = form.get("topics") or []
    topics = [topics] if isinstance(topics, str) else list(topics)
    bad = [t for t in topics if t not in TOPICS]
    if bad:
        raise InputError(f"topics {bad}: choose from {', '.join(TOPICS)}")
    out["topics"] = ",".join(sorted(set(topics)))
    if str(form.get("consent") or "") not in ("yes", "on", "true"):
        raise InputError("consent: tick the box to agree to the text shown, or we keep nothing")
    return out


def register(hub: HubStore, form: dict[str, Any], *, ip: str) -> str:
    """Keep the registration unconfirmed and send the confirmation link; returns the token."""
    if str(form.get("website") or "").strip():  # the honeypot: people never see this field
        raise Spam("thank you")
    clean = check(form)
    limit(hub, [clean["email"], f"ip:{ip}"])
    token = secrets.token_urlsafe(24)
    now = clock.now().isoformat()
    with hub.connect() as con:
        con.execute(
            "INSERT INTO interest (organisation, contact, email, size_band, sector, region, "
            "topics, consent_version, token, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (clean["organisation"], clean["contact"], clean["email"], clean["size_band"],
             clean["sector"], clean["region"], clean["topics"], consent_text(hub)["version"],
             token, now),
        )  # fmt: skip
    send_confirmation(hub, clean["email"], clean["contact"], token)
    return token


def limit(hub: HubStore, addresses: list[str]) -> None:
    """Count one attempt for each address (e-mail, ``ip:…``), refusing past the hourly limit."""
    most = int(hub.setting("interest_per_hour"))
    since = (clock.now() - dt.timedelta(hours=1)).isoformat()
    now = clock.now().isoformat()
    with hub.connect() as con:
        con.lock("attempts")  # attempts at once from one address are counted one after another
        for address in addresses:
            n = con.execute(
                "SELECT count(*) AS n FROM attempts WHERE address = ? AND at > ?", (address, since)
            ).scalar()
            if n >= most:
                raise TooMany("too many registrations from this address in the last hour; "
                              "please try again later")  # fmt: skip
        con.executemany(
            "INSERT INTO attempts (address, at) VALUES (?, ?)", [(a, now) for a in addresses]
        )


def send_confirmation(hub: HubStore, email: str, contact: str, token: str) -> None:
    link = f"{hub.setting('public_url').rstrip('/')}/confirm/{token}"
    msg = EmailMessage()
    msg["From"] = hub.setting("mail_from")
    msg["To"] = email
    msg["Subject"] = f"Please confirm your interest in {hub.setting('campaign_name')}"
    msg.set_content(
        f"Hello {contact},\n\nplease confirm your interest by opening this link:\n\n{link}\n\n"
        "If you did not register, ignore this message: nothing is kept unless you confirm "
        f"within {expiry_days(hub):g} days.\n"
    )
    try:
        with smtplib.SMTP(hub.setting("smtp_host"), int(hub.setting("smtp_port")), timeout=20) as s:
            s.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        raise SourceUnavailable(f"the confirmation e-mail could not be sent: {exc}") from None


def expiry_days(hub: HubStore) -> float:
    """Days an unconfirmed registration is kept (the setting, checked)."""
    raw = hub.setting("interest_expiry_days")
    try:
        days = float(raw)
        if not 1 <= days <= 90:
            raise ValueError
    except ValueError:
        raise InputError(
            f"hub setting interest_expiry_days = {raw!r}: expected 1 to 90 days"
        ) from None
    return days


def expire(hub: HubStore) -> int:
    """Erase registrations not confirmed within :func:`expiry_days`, and attempts older than an
    hour (the rate limit looks back an hour only; they name an address). The erasures table
    notes how many registrations went, when and why — never whose. Returns how many."""
    days = expiry_days(hub)
    now = clock.now()
    cutoff = (now - dt.timedelta(days=days)).isoformat()
    with hub.connect() as con:
        n = con.execute("DELETE FROM interest WHERE confirmed_at IS NULL AND created_at < ?",
                        (cutoff,)).rowcount  # fmt: skip
        old = con.execute("DELETE FROM attempts WHERE at < ?",
                          ((now - dt.timedelta(hours=1)).isoformat(),)).rowcount  # fmt: skip
        if n:
            con.execute("INSERT INTO erasures (at, what, count, reason) VALUES (?, ?, ?, ?)",
                        (now.isoformat(), "unconfirmed registration of interest", n,
                         f"not confirmed within {days:g} days"))  # fmt: skip
    if n or old:  # only when something went: a page visit that erased nothing costs nothing
        hub.vacuum([t for t, k in (("interest", n), ("attempts", old)) if k])
    return int(n)


def confirm(hub: HubStore, token: str) -> dict[str, Any]:
    """Confirm a registration; the organisation joins the firms as ``interested``. A link older
    than :func:`expiry_days` is not known any more (its registration is erased first)."""
    expire(hub)
    rows = hub.rows("SELECT * FROM interest WHERE token = ?", (token,))
    if not rows:
        raise NotFound("this confirmation link is not known (or was already erased)")
    r = rows[0]
    if r["confirmed_at"] is not None:
        return r
    text = consent_text(hub)
    base = re.sub(r"[^a-z0-9]+", "-", r["organisation"].lower()).strip("-")[:50] or "firm"
    with hub.connect() as con:  # all of it or nothing, and one confirmation only
        con.lock("firms")
        if not con.execute("UPDATE interest SET confirmed_at = ? WHERE id = ? AND confirmed_at "
                           "IS NULL RETURNING id", (clock.now().isoformat(), r["id"])).rows:  # fmt: skip
            return r  # confirmed meanwhile (the link opened twice at once)
        existing = {f["id"] for f in con.execute("SELECT id FROM firms")}
        firm_id, n = base, 2
        while firm_id in existing:
            firm_id, n = f"{base}-{n}", n + 1
        insert_firm(con, id=firm_id, name=r["organisation"], sector=r["sector"],
                    size_band=r["size_band"], region=r["region"], public_key=None)  # fmt: skip
        con.execute(  # the ledger: who agreed, to which text, when
            "INSERT INTO consents (firm_id, person, item_id, text_version, text_sha256, "
            "given_at) VALUES (?, ?, 'contact-details', ?, ?, ?)",
            (firm_id, r["contact"], r["consent_version"], text["sha256"], r["created_at"]),
        )
    r["firm"] = firm_id
    return r
