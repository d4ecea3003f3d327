"""The web app (FastAPI): pages for people and a REST API for scripts, on the same data.

Sessions are signed cookies (HttpOnly, SameSite=Strict; Secure when served over HTTPS); every
form carries a CSRF token; failed logins are rate limited per address and user name. Errors from
``/api`` are ``application/problem+json`` (RFC 9457); pages send people to the login instead.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from collections import defaultdict, deque
from pathlib import Path
from typing import Any, Literal, cast

import fastapi_offline
from fastapi import FastAPI, Form, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from markupsafe import Markup
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pilotline import clock
from pilotline.errors import InputError, NotFound, PilotlineError
from pilotline.measure import Measure
from pilotline.names import name_key
from pilotline.plant import Plant
from pilotline.report import shift as report
from pilotline.store import audit, open_store
from pilotline.web import (
    assess,
    data,
    docs_pages,
    firstrun,
    maps,
    operate,
    people,
    pilots,
    settings,
    share,
)
from pilotline.web.cache import Cache
from pilotline.web.context import HERE, Problem, Web, make_templates
from pilotline.web.machine import GRAINS, check_range, machine_page, period
from pilotline.web.openapi import install as install_openapi
from pilotline.web.overview import STOP_ALERT_MIN, for_user, overview, shift_oee, shift_totals
from pilotline.web.schemas import (
    AuditEntry,
    Machine,
    Me,
    OeeRow,
    Overview,
    ParetoBar,
    Recorded,
    ScrapRecorded,
    SmallLosses,
    Stop,
)
from pilotline.web.users import User, Users

LOGIN_LIMIT = 5  # failed logins per address and user name …
LOGIN_LIMIT_ANY_ADDRESS = 20  # … and per user name from all addresses together …
LOGIN_WINDOW_S = 300.0  # … within this many seconds

SWAGGER_FILES = Path(fastapi_offline.__file__).parent / "static"

#: Pages load scripts and styles only from Pilotline itself and run no inline script, so a name
#: that slipped through escaping (machines, activities, partners from any ERP) could still not run.
STRICT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
#: The few pages that still carry inline script: Swagger UI's start-up, documents made to be saved
#: and opened on their own (the A3, the roadmap: plotly inline), the AI model pages' charts and the
#: share page's confirmations. They show no uploaded names in script.
CSP = STRICT_CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")
INLINE_PATHS = ("/api/docs", "/assess/roadmap", "/ai", "/share")


def allows_inline(path: str) -> bool:
    """Whether the page at ``path`` may run inline script (see :data:`INLINE_PATHS`)."""
    if path.startswith("/pilots/") and path.endswith(("/a3", "/a3.html")):
        return True
    return any(
        path == p or path.startswith(p + "/") or path.startswith(p + ".") for p in INLINE_PATHS
    )


class SecurityHeaders:
    """Content-Security-Policy and the other protective headers on every response (a plain ASGI
    middleware: Starlette's ``BaseHTTPMiddleware`` costs a task and a stream per request)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        extra = (
            (b"content-security-policy", (CSP if allows_inline(path) else STRICT_CSP).encode()),
            (b"x-frame-options", b"DENY"),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
        )

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                have = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in extra if k not in have]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


def problem(status: int, title: str, detail: str = "", **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


class Throttle:
    """Counts failed logins; refuses after LOGIN_LIMIT within LOGIN_WINDOW_S."""

    def __init__(self) -> None:
        self.failures: dict[tuple[str, str], deque[float]] = defaultdict(deque)

    def blocked(self, address: str, username: str) -> float:
        """Seconds to wait before this address may try this user name again (0: go ahead)."""
        return max(
            self._wait((address, username), LOGIN_LIMIT),
            self._wait(("*", username), LOGIN_LIMIT_ANY_ADDRESS),
        )

    def _wait(self, key: tuple[str, str], limit: int) -> float:
        q = self.failures.get(key)
        if not q:
            return 0.0
        now = time.monotonic()
        while q and now - q[0] > LOGIN_WINDOW_S:
            q.popleft()
        if not q:  # forget keys with nothing left, so made-up user names cannot pile up
            del self.failures[key]
            return 0.0
        return LOGIN_WINDOW_S - (now - q[0]) if len(q) >= limit else 0.0

    def failed(self, address: str, username: str) -> None:
        self.failures[(address, username)].append(time.monotonic())
        self.failures[("*", username)].append(time.monotonic())


def _secret(home: Path) -> str:
    path = home / "web-secret.key"
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def create_app(
    home: Path,
    *,
    lock_timeout_s: float = 30.0,
    https: bool = False,
    max_upload_mb: float = 64.0,
    language: str = "en",
    database_url: str | None = None,
) -> FastAPI:
    store = open_store(home, database_url=database_url, lock_timeout_s=lock_timeout_s)
    users = Users(store)
    web = Web(home, store, users, make_templates(language))
    throttle = Throttle()
    app = FastAPI(title="Pilotline", version="0.1.0", docs_url=None, redoc_url=None)
    install_openapi(app)
    app.add_middleware(
        SessionMiddleware,
        secret_key=_secret(home),
        session_cookie="pilotline_session",
        max_age=12 * 3600,
        same_site="strict",
        https_only=https,
    )
    app.state.web = web

    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    # The API's docs page with Swagger UI's own files from a package (fastapi-offline's copy of
    # swagger-ui-dist 5): no CDN, since plant networks are often cut off from the internet.
    app.mount("/api/docs/assets", StaticFiles(directory=str(SWAGGER_FILES)), name="swagger")

    @app.get("/api/docs", include_in_schema=False)
    def api_docs() -> Response:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="Pilotline API",
            swagger_js_url="/api/docs/assets/swagger-ui-bundle.js",
            swagger_css_url="/api/docs/assets/swagger-ui.css",
            swagger_favicon_url="/api/docs/assets/favicon.png",
            oauth2_redirect_url="/api/docs/oauth2-redirect",
        )

    @app.get("/api/docs/oauth2-redirect", include_in_schema=False)
    def api_docs_redirect() -> Response:
        return get_swagger_ui_oauth2_redirect_html()

    plant, csrf_token, check_csrf, need = web.plant, web.csrf_token, web.check_csrf, web.need

    any_user = need("operator")
    overviews = Cache(ttl_s=5.0)
    boards = Cache(ttl_s=1.0, max_keys=64)
    machine_pages = Cache(ttl_s=30.0)

    shift_oees = Cache(ttl_s=30.0)

    def compute_overview(p: Plant) -> tuple[Plant, dict[str, Any]]:
        now = clock.now()
        ids = [m.id for _, m in p.machines]
        shifts = shift_oees.get(("all", id(p)), lambda: shift_oee(store, p, ids, now))
        totals = shift_oees.get(("totals", id(p)), lambda: shift_totals(store, p, now))
        return p, overview(store, p, None, now, shifts=shifts, totals=totals)

    def full_overview() -> dict[str, Any]:
        """Every machine's tiles of the plant model as it is now: a model that no longer loads
        is refused (as on every other page), never shown from before, and a changed one is shown
        at once, not after the cached overview of the previous one runs out."""
        p = plant()
        kept, full = overviews.get(("all", id(p)), lambda: compute_overview(p))
        if kept is not p:  # the id of a model that is gone, reused
            kept, full = compute_overview(p)
        return cast(dict[str, Any], full)

    def live_overview(user: User, alert_min: float = STOP_ALERT_MIN) -> dict[str, Any]:
        """States at most 5 s old, shift OEE and totals at most 30 s old; cut to the user's lines,
        stops without a reason for ``alert_min`` minutes of planned time marked."""
        return for_user(full_overview(), user, clock.now(), alert_min=alert_min)

    #: ``?alert_min=``: minutes of planned time a stop may stay without a reason before the alert.
    alert_query = Query(
        STOP_ALERT_MIN,
        ge=1,
        le=24 * 60,
        description="Minutes of planned time a machine may stay stopped without a reason "
        "before the overview marks it.",
    )

    manager_user = need("manager")

    def answer(
        request: Request, status: int, title: str, detail: str = "", **extra: Any
    ) -> Response:
        """problem+json for the API and scripts; a plain page for people opening a page."""
        if request.url.path.startswith("/api/") or request.method != "GET":
            return problem(status, title, detail, **extra)
        try:
            user = web.current_user(request)
        except Problem:
            user = None
        return web.page(
            request, "problem.html", user, status_code=status, title=title, detail=detail
        )

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> Response:
        if exc.status == 401 and not request.url.path.startswith("/api/"):
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        return answer(request, exc.status, exc.title, exc.detail, **exc.extra)

    @app.exception_handler(PermissionError)
    async def _forbidden(request: Request, exc: PermissionError) -> Response:
        return answer(request, 403, "Not allowed", str(exc))

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound) -> Response:
        if not request.url.path.startswith("/api/") and request.method == "GET":
            # A page does not repeat text from its address: a link cannot plant a message.
            return answer(
                request, 404, "Not found", "There is nothing here; go back and pick again."
            )
        return answer(request, 404, "Not found", str(exc))

    @app.exception_handler(PilotlineError)
    async def _pilotline(request: Request, exc: PilotlineError) -> Response:
        return answer(request, 422, "Cannot do that", str(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        """A request that does not fit the API: problem+json naming each field, like the rest."""
        fields = [
            {"field": ".".join(str(x) for x in e["loc"] if x != "body"), "message": e["msg"]}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
        return problem(422, "Invalid request", detail, errors=fields)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        return answer(request, exc.status_code, str(exc.detail))

    # -- pages -----------------------------------------------------------------------------------
    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_page(request: Request, next: str = "/") -> Response:
        return web.page(request, "login.html", None, next=_safe_next(next), error=None)

    @app.post("/login", response_class=HTMLResponse, include_in_schema=False)
    def login(
        request: Request,
        username: str = Form(""),
        password: str = Form(""),
        csrf: str = Form(""),
        next: str = Form("/"),
    ) -> Response:
        check_csrf(request, csrf)
        # The address is the peer's, never a client-sent X-Forwarded-For (`serve` does not trust
        # proxy headers), and the name is limited across all addresses too.
        address = request.client.host if request.client else "?"
        key = name_key(username[:200])
        wait = throttle.blocked(address, key)
        if wait:
            raise Problem(429, "Too many attempts", f"Wait {wait:.0f} s before trying again.")
        user = users.check(username, password)
        if user is None:
            throttle.failed(address, key)
            return web.page(
                request,
                "login.html",
                None,
                status_code=401,
                next=_safe_next(next),
                error="Wrong user name or password.",
            )
        request.session.clear()
        request.session["sid"] = users.start_session(user.username)
        return RedirectResponse(_safe_next(next), status_code=303)

    @app.post("/logout", include_in_schema=False)
    def logout(request: Request, csrf: str = Form("")) -> Response:
        check_csrf(request, csrf)
        sid = request.session.get("sid")
        if isinstance(sid, str):
            users.end_session(sid)
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def overview_page(
        request: Request,
        user: User = any_user,
        wall: bool = False,
        order: Literal["worst", "plant"] = "worst",
        alert_min: float = alert_query,
    ) -> Response:
        """The overview; ``?wall=1`` for a wall screen (large type, no navigation), ``?order=plant``
        for the plant model's order instead of worst first."""
        full = full_overview()
        now = clock.now()
        data = for_user(full, user, now, alert_min=alert_min)
        seen_any = any(m["since"] for line in data["lines"] for m in line["machines"])
        # The tiles as HTML, kept for the second they show (by what they show and whom to).
        key = (
            full["now"],
            id(full),
            user.role,
            user.lines,
            wall,
            order,
            alert_min,
            int(now.timestamp()),
        )
        ctx: dict[str, Any] = {"data": data, "wall": wall, "order": order, "seen_any": seen_any}

        def render() -> tuple[dict[str, Any], Markup]:
            board = web.templates.env.get_template("_overview_board.html")
            html = board.render(**ctx, user=user, default_alert_min=STOP_ALERT_MIN)
            return full, Markup(html)

        kept, html = boards.get(key, render)
        if kept is not full:  # the id of a value that is gone, reused
            kept, html = render()
        return web.page(request, "overview.html", user, **ctx, board=html)

    @app.get("/operate", response_class=HTMLResponse, include_in_schema=False)
    def operate_list(request: Request, user: User = any_user) -> Response:
        machines = [(line.name, m) for line, m in plant().machines if user.sees_line(line.name)]
        return web.page(request, "operate_list.html", user, machines=machines)

    @app.get("/operate/{machine}", response_class=HTMLResponse, include_in_schema=False)
    def operate_page(
        request: Request,
        machine: str,
        every: int = Query(20, ge=2, le=600, description="seconds between refreshes"),
        user: User = any_user,
    ) -> Response:
        data = operate.page(store, plant(), user, machine, clock.now())
        # What was just recorded comes from this session, never from the address bar.
        done = request.session.pop("done", "")
        undo = request.session.get("undo")
        if not (isinstance(undo, dict) and undo.get("machine") == machine):
            undo = None
        elif dt.datetime.fromisoformat(undo["entry"]).replace(tzinfo=dt.UTC) < (
            clock.now() - operate.UNDO_WINDOW
        ):
            request.session.pop("undo", None)  # too late to undo: a manager corrects it
            undo = None
        return web.page(
            request, "operate.html", user, d=data, done=str(done)[:200], undo=undo, every=every
        )

    @app.post("/operate/{machine}/reason", include_in_schema=False)
    def operate_reason(
        request: Request,
        machine: str,
        reason: str = Form(...),
        start: str = Form(...),
        end: str = Form(...),
        csrf: str = Form(""),
        user: User = any_user,
    ) -> Response:
        check_csrf(request, csrf)
        operate.give_reason(
            store,
            plant(),
            user,
            machine,
            start=_when(start),
            end=_when(end),
            reason=reason,
            now=clock.now(),
        )
        request.session["done"] = f"Recorded: {reason}"
        return RedirectResponse(f"/operate/{machine}", status_code=303)

    @app.post("/operate/{machine}/scrap", include_in_schema=False)
    def operate_scrap(
        request: Request,
        machine: str,
        reason: str = Form(...),
        count: int = Form(...),
        confirmed: bool = Form(False),
        csrf: str = Form(""),
        user: User = any_user,
    ) -> Response:
        check_csrf(request, csrf)
        p = plant()
        try:
            entry = operate.record_scrap(
                store,
                p,
                user,
                machine,
                count=count,
                reason=reason,
                now=clock.now(),
                confirmed=confirmed,
            )
        except operate.NeedsConfirmation as exc:
            data = operate.page(store, p, user, machine, clock.now())
            ask = {"question": str(exc), "count": count, "reason": reason}
            return web.page(request, "operate.html", user, d=data, done="", confirm=ask, every=20)
        request.session["done"] = f"Recorded: {count} × {reason}"
        request.session["undo"] = {"machine": machine, **entry}
        return RedirectResponse(f"/operate/{machine}", status_code=303)

    @app.post("/operate/{machine}/scrap/undo", include_in_schema=False)
    def operate_scrap_undo(
        request: Request,
        machine: str,
        entry: str = Form(...),
        csrf: str = Form(""),
        user: User = any_user,
    ) -> Response:
        check_csrf(request, csrf)
        operate.change_scrap(store, plant(), user, machine, entry=entry, count=0, now=clock.now())
        request.session["done"] = "Undone: that scrap entry is gone"
        return RedirectResponse(f"/operate/{machine}", status_code=303)

    @app.get("/assets/plotly.min.js", include_in_schema=False)
    def plotly_js() -> Response:
        """plotly.js from the installed plotly package: no CDN, plants are often offline."""
        from plotly.offline import get_plotlyjs

        return Response(
            get_plotlyjs(),
            media_type="text/javascript",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    @app.get("/machines/{machine}", response_class=HTMLResponse, include_in_schema=False)
    def machine_view(
        request: Request,
        machine: str,
        start: str | None = None,
        end: str | None = None,
        by: str = "day",
        user: User = any_user,
    ) -> Response:
        p = plant()
        line, label = operate.machine_of(p, user, machine)
        _check_grain(by)
        a, b = _period(p, start, end)

        def compute() -> dict[str, Any]:
            found = machine_page(store, p, machine, start=a, end=b, grain=by)
            # The charts' JSON as the page carries it, encoded once for everyone who opens it.
            for key in ("figures", "small_figures"):
                found[f"{key}_attrs"] = [web.figure_attr(f) for f in found[key]]
            return found

        data = machine_pages.get((machine, start, end, by), compute)
        return web.page(
            request,
            "machine.html",
            user,
            machine=machine,
            label=label,
            line=line,
            by=by,
            grains=GRAINS,
            start=a.astimezone(p.tz).date().isoformat(),
            end=(b - dt.timedelta(microseconds=1)).astimezone(p.tz).date().isoformat(),
            **data,
        )

    shift_reports = Cache(ttl_s=60.0, max_keys=64)

    @app.get("/report/shift", response_class=HTMLResponse, include_in_schema=False)
    def shift_report(
        request: Request,
        shift: str | None = None,
        start: str | None = None,
        end: str | None = None,
        user: User = manager_user,
    ) -> Response:
        """The shift report under the app's header, with a shift picker (default: the last
        completed shift); ``start``/``end`` (local dates) give the shifts of whole days instead,
        like `pilotline report shift --from/--to`. The same body as the CLI's file."""
        p = plant()
        choices = report.completed_shifts(p)
        chosen, period_text, body = None, "", ""
        key = report_key(shift)
        if start or end:
            a, b = _period(p, start, end)
            tz = p.tz
            period_text = (
                f"{a.astimezone(tz):%a %d %b %Y %H:%M} – {b.astimezone(tz):%a %d %b %Y %H:%M}"
            )
            body = shift_reports.get(
                ("days", start, end), lambda: report.render_body(Measure(store, p), start=a, end=b)
            )
        else:
            chosen = report.find_shift(p, key) if key else report.last_completed_shift(p)
        if chosen is not None and chosen.start >= clock.now():
            raise Problem(
                422,
                "Bad shift",
                f"{chosen.label(p)} has not started yet; pick a shift that has ended",
            )
        if chosen is not None:
            c = chosen
            if all(x.key != c.key for x in choices):
                choices.insert(0, c)
            body = shift_reports.get(
                ("shift", c.key, c.end <= clock.now()),
                lambda: report.render_body(
                    Measure(store, p),
                    start=c.start,
                    end=c.end,
                    machines=list(c.machines),
                    shown=(c.start, min(c.end, clock.now())),
                ),
            )
        return web.page(
            request,
            "report.html",
            user,
            site=p.site.name,
            style=report.STYLE,
            choices=[{"key": x.key, "label": x.label(p)} for x in choices],
            chosen=chosen,
            chosen_label=chosen.label(p) if chosen else "",
            period=period_text,
            body=body,
        )

    @app.get(
        "/api/machines/{machine}/small-losses",
        response_model=SmallLosses,
        summary="Micro-stops and slow cycles of a machine",
        tags=["plant"],
    )
    def api_small_losses(
        machine: str, start: str | None = None, end: str | None = None, user: User = any_user
    ) -> dict[str, Any]:
        """Micro-stops (every stop with its length and the minor-stop limit) and slow cycles
        (seconds per part while running, per counted interval, beside the ideal) over local
        dates (inclusive, at most 31 days)."""
        p = plant()
        operate.machine_of(p, user, machine)
        a, b = _period(p, start, end)
        if b - a > dt.timedelta(days=31):
            raise Problem(422, "Bad period", "at most 31 days for micro-stops and cycles")
        return Measure(store, p).small_losses(machine=machine, start=a, end=b)

    @app.get(
        "/api/machines/{machine}/oee",
        response_model=list[OeeRow],
        summary="A machine's OEE and ISO 22400 KPIs by shift, day or week",
        tags=["plant"],
    )
    def api_machine_oee(
        machine: str,
        start: str | None = None,
        end: str | None = None,
        by: str = "day",
        user: User = any_user,
    ) -> list[dict[str, Any]]:
        """OEE, its factors and the ISO 22400 KPIs by shift, day or week (dates are local, inclusive)."""
        p = plant()
        operate.machine_of(p, user, machine)
        _check_grain(by)
        a, b = _period(p, start, end)
        rows = Measure(store, p).oee(start=a, end=b, by=f"machine,{by}", machines=[machine])
        return [
            {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in r.items()}
            for r in rows
        ]

    # -- API -------------------------------------------------------------------------------------
    api_csrf = web.api_csrf

    @app.get(
        "/api/machines",
        summary="Machines you may see",
        response_model=list[Machine],
        tags=["plant"],
    )
    def api_machines(user: User = any_user) -> list[dict[str, str]]:
        """The machines the user may see, with their line."""
        return [
            {"id": m.id, "name": m.label, "line": line.name}
            for line, m in plant().machines
            if user.sees_line(line.name)
        ]

    @app.get(
        "/api/machines/{machine}/stops",
        response_model=list[Stop],
        summary="A machine's stops of the last 12 hours",
        tags=["plant"],
    )
    def api_stops(
        machine: str,
        response: Response,
        category: str | None = None,
        unexplained: bool = False,
        limit: int = Query(100, ge=1, le=1000),
        offset: int = Query(0, ge=0, le=10**9),
        user: User = any_user,
    ) -> list[dict[str, Any]]:
        """The machine's stops of the last 12 hours, newest first, with their loss category.
        Filter by ``category`` or to the ones still without a reason (``unexplained``); page
        with ``limit`` (1–1000) and ``offset``; the total is in the X-Total-Count header."""
        p = plant()
        operate.machine_of(p, user, machine)
        found = operate.stops(store, p, machine, clock.now())
        if category:
            found = [s for s in found if s.get("category") == category]
        if unexplained:
            found = [s for s in found if not s.get("reason")]
        response.headers["X-Total-Count"] = str(len(found))
        return found[offset : offset + limit]

    @app.post(
        "/api/machines/{machine}/reasons",
        response_model=Recorded,
        summary="Give the reason for stops",
        tags=["plant"],
        status_code=201,
    )
    def api_reason(
        request: Request, machine: str, body: ReasonIn, user: User = any_user
    ) -> dict[str, str]:
        """Give the reason for the stops that begin in [start, end) (the operator's tap)."""
        api_csrf(request)
        operate.give_reason(
            store,
            plant(),
            user,
            machine,
            start=_aware(body.start),
            end=_aware(body.end),
            reason=body.reason,
            now=clock.now(),
        )
        return {"status": "recorded"}

    @app.post(
        "/api/machines/{machine}/scrap",
        response_model=ScrapRecorded,
        summary="Record scrapped parts",
        tags=["plant"],
        status_code=201,
    )
    def api_scrap(
        request: Request, machine: str, body: ScrapIn, user: User = any_user
    ) -> dict[str, Any]:
        """Record scrapped parts with a reason, in the current (or last) shift. More than the
        shift's parts is refused (422); a large share of them needs ``"confirmed": true`` (409
        without it). The answer's ``entry`` undoes the entry for a few minutes (DELETE)."""
        api_csrf(request)
        try:
            entry = operate.record_scrap(
                store,
                plant(),
                user,
                machine,
                count=body.count,
                reason=body.reason,
                now=clock.now(),
                confirmed=body.confirmed,
            )
        except operate.NeedsConfirmation as exc:
            raise Problem(409, "Please confirm", str(exc), {"confirm": "confirmed"}) from None
        return {"status": "recorded", **entry}

    @app.delete(
        "/api/machines/{machine}/scrap/{entry}",
        summary="Undo a scrap entry",
        response_model=Recorded,
        tags=["plant"],
    )
    def api_scrap_undo(
        request: Request, machine: str, entry: str, user: User = any_user
    ) -> dict[str, str]:
        """Undo a scrap entry: its maker within a few minutes, a manager at any time."""
        api_csrf(request)
        operate.change_scrap(store, plant(), user, machine, entry=entry, count=0, now=clock.now())
        return {"status": "undone"}

    @app.put(
        "/api/machines/{machine}/scrap/{entry}",
        summary="Correct a scrap entry",
        response_model=Recorded,
        tags=["plant"],
    )
    def api_scrap_correct(
        request: Request, machine: str, entry: str, body: ScrapFix, user: User = manager_user
    ) -> dict[str, str]:
        """Correct the count of a scrap entry (managers; kept in the audit trail)."""
        api_csrf(request)
        operate.change_scrap(
            store, plant(), user, machine, entry=entry, count=body.count, now=clock.now()
        )
        return {"status": "corrected"}

    @app.get(
        "/api/audit",
        summary="Audit trail of entries and imports",
        response_model=list[AuditEntry],
        tags=["plant"],
    )
    def api_audit(
        machine: str | None = None,
        limit: int = Query(200, ge=1, le=1000),
        offset: int = Query(0, ge=0, le=10**9),
        user: User = manager_user,
    ) -> list[dict[str, Any]]:
        """Who entered or changed stop reasons and scrap, and when (newest first; managers)."""
        return audit.trail(store, machine=machine, limit=limit, offset=offset)

    @app.get(
        "/api/pareto",
        summary="Downtime by reason (Pareto)",
        response_model=list[ParetoBar],
        tags=["plant"],
    )
    def api_pareto(
        start: dt.datetime, end: dt.datetime, machine: str | None = None, user: User = any_user
    ) -> list[dict[str, Any]]:
        """Downtime by reason in the shifts that start in [start, end), largest first."""
        p = plant()
        if machine:
            operate.machine_of(p, user, machine)
        machines = (
            [machine] if machine else [m.id for line, m in p.machines if user.sees_line(line.name)]
        )
        a, b = _aware(start), _aware(end)
        if b <= a or b - a > dt.timedelta(days=400):
            raise Problem(422, "Bad period", "end must be after start, and at most 400 days later")
        try:
            check_range(a, b)
        except ValueError as exc:
            raise Problem(422, "Bad period", str(exc)) from None
        return Measure(store, p).pareto(start=a, end=b, machines=machines)

    @app.get(
        "/api/me", summary="Who you are, and your CSRF token", response_model=Me, tags=["users"]
    )
    def me(request: Request, user: User = any_user) -> dict[str, Any]:
        """The logged-in user (name, role, lines) and the CSRF token for writes (X-CSRF-Token)."""
        return {
            "username": user.username,
            "role": user.role,
            "lines": list(user.lines),
            "csrf": csrf_token(request),
        }

    @app.get(
        "/api/overview",
        response_model=Overview,
        summary="Live overview: one tile per machine, with line and plant totals",
        tags=["plant"],
    )
    def api_overview(user: User = any_user, alert_min: float = alert_query) -> dict[str, Any]:
        """One tile per machine the user may see: state and its loss category, since when, last
        stop reason, OEE this shift; line and plant totals of the shift; the worst-first order;
        machines stopped ``alert_min`` minutes without a reason."""
        return live_overview(user, alert_min)

    data.routes(app, web, max_upload_mb=max_upload_mb)
    maps.routes(app, web, max_upload_mb=max_upload_mb)
    settings.routes(app, web)
    people.routes(app, web)
    pilots.routes(app, web)
    assess.routes(app, web)
    firstrun.routes(app, web)
    docs_pages.routes(app, web)
    share.routes(app, web)
    __import__("pilotline.web.ai", fromlist=["routes"]).routes(app, web)
    __import__("pilotline.web.campaign", fromlist=["routes"]).routes(app, web)
    return app


class ReasonIn(BaseModel):
    start: dt.datetime
    end: dt.datetime
    reason: str = Field(min_length=1, max_length=100)


class ScrapIn(BaseModel):
    count: int = Field(ge=1, le=100_000, strict=True)  # true is not a count
    reason: str = Field(min_length=1, max_length=100)
    confirmed: bool = False


class ScrapFix(BaseModel):
    count: int = Field(ge=0, le=100_000, strict=True)


def _period(plant: Plant, start: str | None, end: str | None) -> tuple[dt.datetime, dt.datetime]:
    try:
        return period(plant, start, end)
    except ValueError as exc:
        raise Problem(422, "Bad period", str(exc)) from None


def report_key(shift: str | None) -> str | None:
    try:
        return report.validate_key(shift)
    except InputError as exc:
        raise Problem(422, "Bad shift", str(exc)) from None


def _check_grain(by: str) -> None:
    if by not in GRAINS:
        raise Problem(422, "Bad grouping", f"by must be one of {', '.join(GRAINS)}")


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _when(text: str) -> dt.datetime:
    try:
        return _aware(dt.datetime.fromisoformat(text))
    except ValueError:
        raise Problem(422, "Bad time", f"{text[:40]!r} is not an ISO 8601 time") from None


def _safe_next(target: str) -> str:
    """Only local paths: a login link cannot send people to another site."""
    return target if target.startswith("/") and not target.startswith("//") else "/"
