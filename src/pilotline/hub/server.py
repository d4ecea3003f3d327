"""The hub's HTTP API (FastAPI). Firms' requests are signed envelopes
(:mod:`pilotline.hub.signing`): the body is the envelope, the signature is in the
``X-Pilotline-Signature`` header.

- ``GET /api/v1/consent-text``: the text firms agree to (version, text, SHA-256);
- ``POST /api/v1/submit``: items with their consents, stored whole or not at all;
- ``POST /api/v1/held``: everything the hub holds from the signing firm;
- ``POST /api/v1/me``: the signing firm's record (its cell in the benchmark tables);
- ``POST /api/v1/withdraw``: erase items (``{"items": [...]}``, or all with ``null``);
- ``GET /api/v1/benchmark``: the latest release, published cells only.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from html import escape
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from pilotline.errors import InputError, NotFound, SourceUnavailable, StoreError
from pilotline.hub import events, intake, interest
from pilotline.hub.coordinator import add_coordinator_pages
from pilotline.hub.pages import add_public_pages, page
from pilotline.hub.plaintext import check
from pilotline.hub.publish import public
from pilotline.hub.signing import HEADER, Refused, well_formed
from pilotline.hub.store import HubStore

log = logging.getLogger(__name__)
MAX_BODY = 5_000_000
#: How often ``hub serve`` looks for events whose reminders are due.
REMIND_EVERY_S = 300.0


async def _remind(hub: HubStore, every_s: float) -> None:
    """Send the reminders that are due, now and every ``every_s`` seconds; a round that cannot
    send (mail server or database away) is logged and the next round tries again."""
    while True:
        try:
            n = await run_in_threadpool(events.remind_due, hub)
            if n:
                log.info("sent %d event reminder(s)", n)
        except (SourceUnavailable, StoreError) as exc:
            log.warning("event reminders: %s; trying again in %g s", exc, every_s)
        except Exception:  # the loop must outlive any one round
            log.exception("event reminders failed; trying again in %g s", every_s)
        await asyncio.sleep(every_s)


def create_hub_app(
    home: Path | None,
    *,
    database_url: str | None = None,
    reminders: bool = False,
    remind_every_s: float = REMIND_EVERY_S,
) -> FastAPI:
    """The hub's app over the hub in ``home`` (SQLite) or at ``database_url`` (PostgreSQL).
    With ``reminders`` (``hub serve``), event reminders go out by themselves
    (:func:`pilotline.hub.events.remind_due`, every ``remind_every_s`` seconds)."""
    hub = HubStore(home, url=database_url)
    interest.expire(hub)  # at start-up; then on each visit to the public pages

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(_remind(hub, remind_every_s)) if reminders else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()

    app = FastAPI(title="Pilotline campaign hub", docs_url=None, redoc_url=None, lifespan=lifespan)

    @app.middleware("http")
    async def plain_address(request: Request, call_next: Any) -> Any:
        """A link or query holding control characters is refused before any page reads it."""
        try:
            check(request.scope["path"], "the address")
            for key, value in request.query_params.multi_items():
                check(key, "a query parameter's name")
                check(value, f"query parameter {key!r}")
        except InputError as exc:
            if request.scope["path"].startswith("/api/"):
                return JSONResponse({"detail": str(exc)}, status_code=400)
            return page("Bad address", f"<h1>Bad address</h1><p>{escape(str(exc))}.</p>", 400)
        return await call_next(request)

    @app.exception_handler(Refused)
    async def refused(_r: Request, exc: Refused) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=403)

    @app.exception_handler(InputError)
    async def bad_input(_r: Request, exc: InputError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.exception_handler(StoreError)
    async def store_error(_r: Request, exc: StoreError) -> JSONResponse:
        log.warning("%s", exc)  # the message never holds the database password
        return JSONResponse(
            {"detail": "the hub cannot do this just now; try again later"}, status_code=503
        )

    @app.exception_handler(NotFound)
    async def not_found(_r: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    async def signed(request: Request, action: str) -> dict[str, Any]:
        body = await request.body()
        if len(body) > MAX_BODY:
            raise InputError(f"the request is larger than {MAX_BODY:,} bytes")
        sig = request.headers.get(HEADER)
        if not sig:
            raise Refused(f"the request is not signed (no {HEADER} header)")
        try:
            env = json.loads(body)
        except ValueError:
            env = None  # not JSON at all: refused as unsigned by intake.verified
        except RecursionError:
            raise InputError("the request is nested too deeply to be an envelope") from None
        if env is not None:
            well_formed(env)  # before any of it reaches the database
        return await run_in_threadpool(intake.verified, hub, body, sig, action)

    @app.get("/api/v1/consent-text")
    def consent_text() -> dict[str, str]:
        return intake.consent_text(hub)

    @app.post("/api/v1/submit")
    async def submit(request: Request) -> dict[str, Any]:
        env = await signed(request, "submit")
        return {"received": await run_in_threadpool(intake.receive, hub, env)}

    @app.post("/api/v1/held")
    async def held(request: Request) -> dict[str, Any]:
        env = await signed(request, "held")
        return {"items": await run_in_threadpool(intake.held, hub, env["firm"])}

    @app.post("/api/v1/me")
    async def me(request: Request) -> dict[str, Any]:
        env = await signed(request, "me")
        f = await run_in_threadpool(hub.firm, env["firm"])
        return {k: f[k] for k in ("id", "name", "sector", "size_band", "region", "status")}

    @app.post("/api/v1/withdraw")
    async def withdraw(request: Request) -> dict[str, Any]:
        env = await signed(request, "withdraw")
        ids = (env.get("payload") or {}).get("items")
        if ids is not None and not (isinstance(ids, list) and all(isinstance(i, str) for i in ids)):
            raise InputError("withdraw: 'items' must be a list of item ids, or null for all")
        # the database work (and on PostgreSQL the vacuum after it) off the event loop
        return {"withdrawn": await run_in_threadpool(intake.withdraw, hub, env["firm"], ids)}

    @app.get("/api/v1/benchmark")
    def benchmark() -> dict[str, Any]:
        rel = public(hub)
        if rel is None:
            raise NotFound("no benchmark has been released yet")
        return rel

    add_public_pages(app, hub)
    add_coordinator_pages(app, hub)
    return app
