"""``/campaign``: the firm beside the campaign hub's published benchmark, and sending to the hub.

The page (managers and admins) shows, per KPI, the firm's own figure for a month — computed here,
the same numbers it would send — beside the hub's latest *published* release: the firm's own cell
(sector, size band, region) and wider groups, or "not published" where the hub suppressed a cell.
Below it: exactly what could leave, item by item with its values, each with a checkbox that is
never ticked for the user; the items ticked are sent signed with the firm's hub key
(:class:`pilotline.hub.firm.HubClient`, as ``pilotline share campaign send`` does), and what the hub
holds is listed with a "withdraw" per item.

The hub's address and the firm's id there are the settings ``PILOTLINE_HUB_URL`` and
``PILOTLINE_HUB_FIRM``. When the hub cannot be reached the page says so and shows the release
fetched last (kept in ``campaign/hub_cache.json``); nothing is sent.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Annotated, Any

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from pilotline.errors import InputError, PilotlineError, SourceUnavailable
from pilotline.hub.benchmark import FIELDS, Figures
from pilotline.hub.firm import (
    KEY_FILE,
    NOT_PUBLISHED,
    HubClient,
    beside,
    candidates,
    fetched,
    key,
    public_key,
    with_consent,
)
from pilotline.settings import Settings
from pilotline.web.cache import Cache
from pilotline.web.context import Web
from pilotline.web.users import User

log = logging.getLogger(__name__)
#: A page waits this long for the hub (the command line waits 30 s).
TIMEOUT_S = 10.0
KPI_NAMES = {
    "oee": "OEE",
    "availability": "Availability",
    "performance": "Performance",
    "quality": "Quality",
    "scrap_rate": "Scrap rate",
    "energy_per_good_part_kwh": "Energy per good part (kWh)",
}


def _client(web: Web) -> HubClient | None:
    """The hub client from the settings, or None when the hub is not set."""
    s = Settings.from_env(home=web.home)
    if not s.hub_url or not s.hub_firm:
        return None
    return HubClient(s.hub_url, s.hub_firm, key(web.home, create=False), timeout_s=TIMEOUT_S)


def shown(item: dict[str, Any]) -> str:
    """A fingerprint of an item's content as shown, so that what leaves is what was shown."""
    text = json.dumps(item["content"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def routes(app: FastAPI, web: Web) -> None:
    manager = web.need("manager")
    #: What could leave, computed at most once a minute (12 months of OEE takes about a second);
    #: the send checks each item's fingerprint against the page's, so a change in between is
    #: refused, never sent unseen.
    offer = Cache(ttl_s=60.0, max_keys=4)

    def items_now() -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = offer.get("items", lambda: candidates(web.store, web.plant()))
        return out

    def view(request: Request, user: User, *, error: str = "", status_code: int = 200) -> Response:
        s = Settings.from_env(home=web.home)
        ctx: dict[str, Any] = {
            "hub_url": s.hub_url,
            "hub_firm": s.hub_firm,
            "has_key": (web.home / KEY_FILE).exists(),
            "error": error,
            "message": str(request.session.pop("campaign_done", ""))[:500],
            "kpi_names": KPI_NAMES,
            "fields": FIELDS,
            "not_published": NOT_PUBLISHED,
        }
        items = items_now()
        ctx["items"] = [{**i, "shown": shown(i)} for i in items]
        if ctx["has_key"]:
            ctx["public_key"] = public_key(web.home)
        client = None
        if s.hub_url and s.hub_firm and ctx["has_key"]:
            try:
                client = _client(web)
            except InputError as exc:
                ctx["hub_error"] = str(exc)
        if client is not None:
            got = fetched(client, web.home)
            ctx["hub_error"] = got["error"]
            ctx["note"] = got["note"]
            ctx["fetched_at"] = got["fetched_at"]
            ctx["release"] = got["release"]
            bench = next((i for i in items if i["id"] == "benchmark"), None)
            if got["release"] is not None and got["me"] is not None and bench is not None:
                own = [Figures.parse(f) for f in bench["content"]["figures"]]
                ctx["compare"] = beside(got["release"], me=got["me"], own=own)
                ctx["me"] = got["me"]
            ctx["consent"] = ctx["held"] = None
            if not got["reachable"]:  # one wait for a hub that does not answer is enough
                return web.page(request, "campaign.html", user, status_code=status_code, **ctx)
            try:  # the consent text and what the hub holds need the hub now
                ctx["consent"] = client.consent_text()
                ctx["held"] = client.held()
            except (SourceUnavailable, InputError) as exc:
                ctx["hub_error"] = ctx.get("hub_error") or str(exc)
                ctx["consent"] = ctx["held"] = None
        return web.page(request, "campaign.html", user, status_code=status_code, **ctx)

    @app.get("/campaign", response_class=HTMLResponse, include_in_schema=False)
    def campaign_page(request: Request, user: User = manager) -> Response:
        return view(request, user)

    @app.post("/campaign/key", include_in_schema=False)
    def make_key(request: Request, csrf: str = Form(""), user: User = manager) -> Response:
        web.check_csrf(request, csrf)
        key(web.home)
        request.session["campaign_done"] = (
            "Your hub key is made: give the public key below to the campaign's coordinator."
        )
        return RedirectResponse("/campaign", status_code=303)

    @app.post("/campaign/send", include_in_schema=False)
    def send(
        request: Request,
        csrf: str = Form(""),
        items: Annotated[list[str] | None, Form()] = None,
        seen: Annotated[list[str] | None, Form()] = None,
        person: str = Form(""),
        text_version: str = Form(""),
        user: User = manager,
    ) -> Response:
        web.check_csrf(request, csrf)
        client = _client(web)
        if client is None:
            raise InputError("no campaign hub is set: set PILOTLINE_HUB_URL and PILOTLINE_HUB_FIRM")
        if not items:
            return view(request, user, error="Nothing was sent: tick the items to send.",
                        status_code=422)  # fmt: skip
        offered = {i["id"]: i for i in items_now()}
        unknown = [i for i in items if i not in offered]
        if unknown:
            return view(request, user, status_code=422,
                        error=f"Nothing was sent: {', '.join(unknown)[:300]} is not among the "
                        "items shown (the data changed?); look again and tick again.")  # fmt: skip
        # Exactly what was shown leaves, or nothing: each item's fingerprint as the page had it.
        was = dict(x.rsplit(" ", 1) for x in seen or [] if " " in x)
        changed = [i for i in items if was.get(i) != shown(offered[i])]
        if changed:
            return view(request, user, status_code=409,
                        error=f"Nothing was sent: {', '.join(changed)[:300]} changed since the "
                        "page was shown (new data came in); look at it again below and tick "
                        "again.")  # fmt: skip
        who = person.strip()[:200] or user.username
        try:
            text = client.consent_text()
            if text["version"] != text_version:
                return view(request, user, status_code=409,
                            error="Nothing was sent: the hub's consent text changed since the "
                            "page was shown (now version "
                            f"{text['version']}); read it again below.")  # fmt: skip
            agreed = [with_consent(offered[i], text, who) for i in dict.fromkeys(items)]
            received = client.submit(agreed)
        except (SourceUnavailable, InputError) as exc:
            return view(request, user, error=f"Nothing was sent: {exc}", status_code=502
                        if isinstance(exc, SourceUnavailable) else 422)  # fmt: skip
        log.info("sent to the campaign hub by %s: %s", user.username, ", ".join(received))
        request.session["campaign_done"] = f"Sent to the hub: {', '.join(received)}."
        return RedirectResponse("/campaign", status_code=303)

    @app.post("/campaign/withdraw", include_in_schema=False)
    def withdraw(
        request: Request, csrf: str = Form(""), item: str = Form(""), user: User = manager
    ) -> Response:
        web.check_csrf(request, csrf)
        client = _client(web)
        if client is None:
            raise InputError("no campaign hub is set: set PILOTLINE_HUB_URL and PILOTLINE_HUB_FIRM")
        if not item.strip():
            raise InputError("withdraw: say which item")
        try:
            gone = client.withdraw([item])
        except PilotlineError as exc:
            return view(request, user, error=f"Not withdrawn: {exc}", status_code=502
                        if isinstance(exc, SourceUnavailable) else 422)  # fmt: skip
        log.info("withdrawn from the campaign hub by %s: %s", user.username, ", ".join(gone))
        request.session["campaign_done"] = (
            f"Withdrawn and erased at the hub: {', '.join(gone)}." if gone
            else f"The hub held nothing called {item[:200]}."
        )  # fmt: skip
        return RedirectResponse("/campaign", status_code=303)
