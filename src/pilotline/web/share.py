"""The AAS API for partners, under ``/aas``: the read profiles (SSP-002) of the AAS Repository
and Submodel Repository services (IDTA-01002 Part 2, V3.1.2).

A partner sends ``Authorization: Bearer <api key>``; what it may read is its grants
(:mod:`pilotline.share`), and anything else is "not found", so it cannot learn what exists.
Identifiers in paths are base64url-encoded; lists page with ``limit`` and ``cursor``; errors are
the specification's Result (``{"messages": [...]}``). Every partner request is put on the
hash-chained record of reads before its answer leaves. Partner keys open nothing else of the web
app, and user sessions or tokens open nothing here.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
from collections.abc import Callable
from typing import Any, Literal
from urllib.parse import unquote_plus

from fastapi import FastAPI, Form, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from pilotline import clock
from pilotline.errors import InputError, PilotlineError
from pilotline.share import anchor
from pilotline.share.readlog import ChainBroken, newest_signed, records, verify
from pilotline.share.repository import (
    MAX_LIMIT,
    Allowed,
    ApiError,
    View,
    decode_id,
    page,
    split_path,
    value_only,
    with_onward,
)
from pilotline.share.semantics import SUBMODEL_NAMES
from pilotline.share.service import READS_COST, Access, Service
from pilotline.share.tokens import TOKEN_S
from pilotline.web.context import Web
from pilotline.web.users import User

log = logging.getLogger(__name__)
BASE = "/aas"
Level = Literal["deep", "core"]
Extent = Literal["withBlobValue", "withoutBlobValue"]
PROFILES = [
    "https://admin-shell.io/aas/API/3/1/AssetAdministrationShellRepositoryServiceSpecification/SSP-002",
    "https://admin-shell.io/aas/API/3/1/SubmodelRepositoryServiceSpecification/SSP-002",
]

#: The response header saying whether the partner may pass on what it was given.
ONWARD_HEADER = "Pilotline-Onward-Sharing"

#: What a handler gives back: the body, the grants that allowed it and the ids it returned.
Answer = tuple[Any, list[str], list[str]]


def result(status: int, text: str) -> JSONResponse:
    """The specification's Result: one message, with an ISO time stamp."""
    stamp = clock.now().isoformat(timespec="seconds").replace("+00:00", "Z")
    kind = "Error" if status < 500 else "Exception"
    body = {"messages": [{"code": str(status), "messageType": kind, "text": text,
                          "timestamp": stamp}]}  # fmt: skip
    return JSONResponse(body, status_code=status)


def _limit() -> Any:
    return Query(None, ge=1, le=MAX_LIMIT, description=f"Items per page (1–{MAX_LIMIT}).")


def routes(app: FastAPI, web: Web) -> None:
    """Mount the partner API at ``/aas`` on the web app."""
    # A signing key named but missing, unreadable or inside the data directory stops the server
    # at start (SettingsError) rather than serving with no signed heads.
    anchor.signing_key(web.home)
    service = Service(web.home, web.store, web.plant)
    api = FastAPI(title="Pilotline AAS API", version="3.1.2", docs_url=None, redoc_url=None,
                  openapi_url=None)  # fmt: skip
    app.state.share = service

    def refused(request: Request, status: int, text: str) -> Response:
        """A refusal before any handler ran (a bad parameter, no such route, not GET): on the
        record of reads too when the request carries a partner's key or token."""
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            try:
                access = service.access(auth[7:].strip())
                if access is not None:
                    service.record(access, _full_route(request), [], [], status)
            except PilotlineError as exc:
                return result(503, f"Nothing can be served now: {exc}")
        return result(status, text)

    @api.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        where = "; ".join(f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors())
        return await run_in_threadpool(refused, request, 400, f"Invalid request: {where}")

    @api.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 404:
            text = "There is nothing at this address."
        elif exc.status_code == 405:
            text = "This API only reads: use GET."
        else:
            text = str(exc.detail)
        return await run_in_threadpool(refused, request, exc.status_code, text)

    def serve(request: Request, handler: Callable[[Access], Answer], cost: float = 1.0
              ) -> Response:  # fmt: skip
        auth = request.headers.get("authorization", "")
        if not auth.lower().startswith("bearer "):
            return result(401, "Send the partner key as 'Authorization: Bearer <key>'.")
        try:
            access = service.access(auth[7:].strip())
        except PilotlineError as exc:  # the detail (paths, files) is for the firm's log only
            log.warning("share service failed before a partner's request: %s", exc)
            return result(500, "The share service cannot work now; try again later.")
        if access is None:
            return result(
                401,
                "The key or token is not valid (a token lasts 5 minutes; a key ends when replaced or its partner removed).",
            )
        route = _full_route(request)
        wait = service.throttle(access.partner, cost)
        try:
            if wait > 0:
                service.record(access, route, [], [], 429)
                response = result(429, f"Too many requests; try again in {wait:.1f} s.")
                response.headers["Retry-After"] = str(max(1, round(wait)))
                return response
            try:
                body, grants, returned = handler(access)
                status, message = 200, ""
            except ApiError as exc:
                status, body, grants, returned, message = exc.status, None, [], [], exc.text
            except PilotlineError as exc:
                log.warning("share service failed on %s: %s", route, exc)
                status, body, grants, returned = 500, None, [], []
                message = "This cannot be served now; try again later."
            service.record(access, route, grants, returned, status)
        except PilotlineError as exc:  # the record of reads cannot keep up: serve nothing
            log.warning("share read record failed, nothing served: %s", exc)
            return result(503, "Nothing can be served now; try again later.")
        if body is None:
            return result(status, message)
        response = JSONResponse(body)
        if grants:  # the usage condition, also for $value, which has no room for it
            onward = "allowed" if access.onward_of(grants) else "forbidden"
            response.headers[ONWARD_HEADER] = onward
        return response

    def visible(access: Access, route: str) -> tuple[Any, dict[str, Any]]:
        repo = service.repository()
        allowed = {}
        for sid in repo.submodels:
            a = repo.allowed(access.rules, access.subject, sid, route)
            if a is not None:
                allowed[sid] = a
        return repo, allowed

    def one_submodel(access: Access, sm_b64: str, route: str, aas_b64: str | None = None
                     ) -> tuple[Any, str, Any]:  # fmt: skip
        sid = decode_id(sm_b64, "submodelIdentifier")
        repo = service.repository()
        if aas_b64 is not None:
            aid = decode_id(aas_b64, "aasIdentifier")
            if aid not in repo.shells or sid not in repo.refs[aid]:
                raise ApiError(404, "No submodel with this identifier.")  # as if ungranted
        allowed = repo.allowed(access.rules, access.subject, sid, route)
        if allowed is None:
            raise ApiError(404, "No submodel with this identifier.")
        return repo, sid, allowed

    # -- description ---------------------------------------------------------------------------
    @api.get("/description")
    def description() -> dict[str, Any]:
        return {"profiles": PROFILES}

    # -- shells --------------------------------------------------------------------------------
    @api.get("/shells")
    def shells(request: Request, limit: int | None = _limit(), cursor: str | None = None,
               idShort: str | None = None) -> Response:  # fmt: skip
        def h(access: Access) -> Answer:
            repo, allowed = visible(access, _route(request))
            out, ids = [], []
            for aid in repo.shells:
                seen = {s for s in repo.refs[aid] if s in allowed}
                if not seen or (idShort is not None and repo.shells[aid].get("idShort") != idShort):
                    continue
                out.append(repo.shell(aid, seen))
                ids.append(aid)
            items, nxt = page(out, ids, limit=limit, cursor=cursor, kind="shells")
            grants = sorted({g for a in allowed.values() for g in access.grants_of(a.rules)})
            return _paged(items, nxt), grants, [i["id"] for i in items]

        return serve(request, h)

    def _shell(access: Access, aas_b64: str, route: str) -> tuple[Any, str, dict[str, Any]]:
        aid = decode_id(aas_b64, "aasIdentifier")
        repo, allowed = visible(access, route)
        seen = {s: allowed[s] for s in repo.refs.get(aid, []) if s in allowed}
        if aid not in repo.shells or not seen:
            raise ApiError(404, "No shell with this identifier.")
        return repo, aid, seen

    @api.get("/shells/{aas}")
    def shell(request: Request, aas: str) -> Response:
        def h(access: Access) -> Answer:
            repo, aid, seen = _shell(access, aas, _route(request))
            grants = sorted({g for a in seen.values() for g in access.grants_of(a.rules)})
            return repo.shell(aid, set(seen)), grants, [aid]

        return serve(request, h)

    @api.get("/shells/{aas}/submodel-refs")
    def submodel_refs(request: Request, aas: str, limit: int | None = _limit(),
                      cursor: str | None = None) -> Response:  # fmt: skip
        def h(access: Access) -> Answer:
            repo, aid, seen = _shell(access, aas, _route(request))
            refs = repo.shell(aid, set(seen)).get("submodels", [])
            ids = [r["keys"][0]["value"] for r in refs]
            items, nxt = page(refs, ids, limit=limit, cursor=cursor, kind=f"refs {aid}")
            grants = sorted({g for a in seen.values() for g in access.grants_of(a.rules)})
            return _paged(items, nxt), grants, [r["keys"][0]["value"] for r in items]

        return serve(request, h)

    # -- submodels -----------------------------------------------------------------------------
    @api.get("/submodels")
    def submodels(request: Request, limit: int | None = _limit(), cursor: str | None = None,
                  semanticId: str | None = None, idShort: str | None = None,
                  level: Level = "deep", extent: Extent = "withoutBlobValue") -> Response:  # fmt: skip
        view = View(level, extent)

        def h(access: Access) -> Answer:
            repo, allowed = visible(access, _route(request))
            wanted = decode_id(semanticId, "semanticId") if semanticId else None
            out, ids, grants = [], [], set()
            for sid, a in allowed.items():
                sm = with_onward(
                    view.submodel(repo.submodel(sid, a), has_blob=sid in repo.with_blob),
                    access.onward_of(access.grants_of(a.rules)),
                )
                if wanted and repo.fields(sid)["$sm#semanticId"] != wanted:
                    continue
                if idShort is not None and sm.get("idShort") != idShort:
                    continue
                out.append(sm)
                ids.append(sid)
                grants.update(access.grants_of(a.rules))
            items, nxt = page(out, ids, limit=limit, cursor=cursor, kind="submodels")
            given = [x for i in items for x in _returned(i["id"], allowed[i["id"]])]
            return _paged(items, nxt), sorted(grants), given

        return serve(request, h)

    def submodel_answer(access: Access, request: Request, sm: str, aas: str | None,
                        as_value: bool, view: View) -> Answer:  # fmt: skip
        repo, sid, allowed = one_submodel(access, sm, _route(request), aas)
        grants = access.grants_of(allowed.rules)
        body = view.submodel(repo.submodel(sid, allowed), has_blob=sid in repo.with_blob)
        if as_value:
            body = {e["idShort"]: value_only(e) for e in body.get("submodelElements", [])}
        else:
            body = with_onward(body, access.onward_of(grants))
        return body, grants, _returned(sid, allowed)

    def element_answer(access: Access, request: Request, sm: str, aas: str | None, path: str,
                       as_value: bool, view: View) -> Answer:  # fmt: skip
        tokens = split_path(path)
        repo, sid, allowed = one_submodel(access, sm, _route(request), aas)
        element = repo.element(sid, allowed, tokens)
        if element is None:
            raise ApiError(404, "No submodel element at this idShort path.")
        grants = access.grants_of(allowed.rules)
        element = view.element(element, has_blob=sid in repo.with_blob)
        body = value_only(element) if as_value else with_onward(element, access.onward_of(grants))
        if (
            as_value
            and element.get("idShort")
            and element.get("modelType") != "SubmodelElementList"
        ):
            body = {element["idShort"]: body}
        return body, grants, [f"{sid}#{path}"]

    def elements_answer(access: Access, request: Request, sm: str, aas: str | None,
                        limit: int | None, cursor: str | None, view: View) -> Answer:  # fmt: skip
        repo, sid, allowed = one_submodel(access, sm, _route(request), aas)
        grants = access.grants_of(allowed.rules)
        elements = repo.submodel(sid, allowed).get("submodelElements", [])
        ids = [e.get("idShort", "") for e in elements]
        items, nxt = page(elements, ids, limit=limit, cursor=cursor, kind=f"elements {sid}")
        onward = access.onward_of(grants)
        shaped = view.children(items, has_blob=sid in repo.with_blob)
        return (
            _paged([with_onward(e, onward) for e in shaped], nxt),
            grants,
            [f"{sid}#{e.get('idShort')}" for e in items],
        )

    for prefix, with_aas in (("/submodels/{sm}", False), ("/shells/{aas}/submodels/{sm}", True)):
        _submodel_routes(api, serve, prefix, with_aas, submodel_answer, element_answer,
                         elements_answer)  # fmt: skip

    # -- the partner's own record ----------------------------------------------------------------
    @api.get("/reads")
    def reads(request: Request, limit: int = Query(100, ge=1, le=MAX_LIMIT),
              after: int = Query(0, ge=0, le=2**62)) -> Response:  # fmt: skip
        def h(access: Access) -> Answer:
            service.log.flush()  # what is still queued, this partner's previous reads among it
            rows = records(web.store, web.home, partner=access.partner, limit=limit, after=after)
            for r in rows:
                r.pop("prev_hash", None)
            body: dict[str, Any] = {"result": rows}
            signed = newest_signed(web.home)
            if signed is not None:  # the partner keeps it: a rewrite up to it then shows
                body["signedHead"] = {"seq": signed.seq, "hash": signed.hash, "at": signed.at,
                                      "key": signed.key, "signature": signed.sig}  # fmt: skip
                try:
                    key = anchor.signing_key(web.home)
                except PilotlineError:  # gone since the start: never the server's path to a partner
                    log.warning("the signing key cannot be read", exc_info=True)
                    key = None
                if key is not None:
                    body["signedHead"]["publicKey"] = anchor.public_text(key.public_key())
            return body, [], []

        return serve(request, h, READS_COST)

    @api.post("/token")
    def token(
        request: Request,
        grant_type: str = Form("", max_length=100),
        client_id: str = Form("", max_length=100),
        client_secret: str = Form("", max_length=200),
        scope: str = Form("", max_length=1000),
    ) -> Response:
        """OAuth 2.0 client credentials (RFC 6749 §4.4): the partner's name and API key, in the
        form or as HTTP Basic, for a short-lived access token."""
        basic = request.headers.get("authorization", "")
        if basic.lower().startswith("basic "):
            try:
                pair = base64.b64decode(basic[6:].strip(), validate=True).decode()
                client_id, client_secret = (unquote_plus(x) for x in pair.split(":", 1))
            except (ValueError, UnicodeDecodeError):
                return _oauth(
                    400, "invalid_request", "the Basic credentials are not base64 id:secret"
                )
        if grant_type != "client_credentials":
            return _oauth(400, "unsupported_grant_type", "only grant_type=client_credentials")
        if not client_id or not client_secret:
            return _oauth(400, "invalid_request", "client_id and client_secret are needed")
        # the secret is checked first: wrong secrets sent in a partner's name must not use up
        # that partner's own token requests (failures are limited per address instead)
        issued = service.token(client_id, client_secret)
        if issued is None:
            if service.throttle("token-failed:" + (request.client.host if request.client else "")):
                return _oauth(429, "slow_down", "too many failed token requests from here")
            return _oauth(401, "invalid_client", "unknown client or wrong secret")
        if service.throttle("token:" + client_id) > 0:
            return _oauth(429, "slow_down", "too many token requests for this client")
        body = {"access_token": issued, "token_type": "Bearer", "expires_in": TOKEN_S}
        return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    @api.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                   include_in_schema=False)  # fmt: skip
    def anything_else(rest: str, request: Request) -> Response:
        if request.method != "GET":
            return refused(request, 405, "This API only reads: use GET.")
        return refused(request, 404, "There is nothing at this address.")

    app.mount(BASE, api)
    _pages(app, web, service)


def _returned(sid: str, allowed: Allowed) -> list[str]:
    """What the record says was returned of a submodel: its id when whole, else each element
    given (``id#PlannedBusyTime``)."""
    if allowed.paths is None:
        return [sid]
    return [f"{sid}#{'.'.join(p)}" for p in allowed.paths]


def _route(request: Request) -> str:
    """The request's route as the API names it (without the ``/aas`` base), for ROUTE objects
    of access rules."""
    return request.url.path.removeprefix(BASE) or "/"


def _full_route(request: Request) -> str:
    """The request's path and query, as the record of reads keeps it."""
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def _oauth(status: int, error: str, text: str) -> JSONResponse:
    """An OAuth 2.0 error answer (RFC 6749 §5.2)."""
    headers = {"WWW-Authenticate": "Basic"} if status == 401 else {}
    return JSONResponse({"error": error, "error_description": text}, status_code=status,
                        headers={**headers, "Cache-Control": "no-store"})  # fmt: skip


def _paged(items: list[Any], cursor: str | None) -> dict[str, Any]:
    return {"paging_metadata": {"cursor": cursor} if cursor else {}, "result": items}


Serve = Callable[[Request, Callable[[Access], Answer]], Response]


def _submodel_routes(api: FastAPI, serve: Serve, prefix: str, with_aas: bool, sub: Any, el: Any,
                     els: Any) -> None:  # fmt: skip
    """The same reads under /submodels/{sm} and /shells/{aas}/submodels/{sm}."""

    def aas_of(request: Request) -> str | None:
        return request.path_params.get("aas") if with_aas else None

    @api.get(prefix)
    def get_submodel(request: Request, sm: str, level: Level = "deep",
                     extent: Extent = "withoutBlobValue") -> Response:  # fmt: skip
        view = View(level, extent)
        return serve(request, lambda a: sub(a, request, sm, aas_of(request), False, view))

    @api.get(prefix + "/$value")
    def get_value(request: Request, sm: str, level: Level = "deep",
                  extent: Extent = "withoutBlobValue") -> Response:  # fmt: skip
        view = View(level, extent)
        return serve(request, lambda a: sub(a, request, sm, aas_of(request), True, view))

    @api.get(prefix + "/submodel-elements")
    def get_elements(request: Request, sm: str, limit: int | None = _limit(),
                     cursor: str | None = None, level: Level = "deep",
                     extent: Extent = "withoutBlobValue") -> Response:  # fmt: skip
        view = View(level, extent)
        return serve(request, lambda a: els(a, request, sm, aas_of(request), limit, cursor, view))

    @api.get(prefix + "/submodel-elements/{path}/$value")
    def get_element_value(request: Request, sm: str, path: str, level: Level = "deep",
                          extent: Extent = "withoutBlobValue") -> Response:  # fmt: skip
        view = View(level, extent)
        return serve(request, lambda a: el(a, request, sm, aas_of(request), path, True, view))

    @api.get(prefix + "/submodel-elements/{path}")
    def get_element(request: Request, sm: str, path: str, level: Level = "deep",
                    extent: Extent = "withoutBlobValue") -> Response:  # fmt: skip
        view = View(level, extent)
        return serve(request, lambda a: el(a, request, sm, aas_of(request), path, False, view))


# -- the admin's page ------------------------------------------------------------------------------
def _pages(app: FastAPI, web: Web, service: Service) -> None:
    """``/share``: partners, their grants, and a new grant previewed before it is confirmed."""
    admin = web.need("admin")

    def page(request: Request, user: User, *, status_code: int = 200, **extra: Any) -> Response:
        p = web.plant()
        partners = service.partners
        context: dict[str, Any] = {
            "partners": [x for x in partners.all() if x.removed_at is None],
            "grants": partners.grants(),
            "kinds": list(SUBMODEL_NAMES),
            "machines": [m.id for _, m in p.machines],
            "products": [x.id for x in p.products],
            "message": "",
            "error": "",
            "key": "",
            "form": {},
            "reads": records(web.store, web.home, limit=20, newest=True),
            "check": None,
        }
        context.update(extra)
        return web.page(request, "share.html", user, status_code=status_code, **context)

    def refused(
        request: Request, user: User, exc: PilotlineError, form: dict[str, str]
    ) -> Response:
        return page(request, user, error=str(exc), form=form, status_code=422)

    def rule_of(name: str, kind: str, machine: str, product: str, elements: str,
                expires: str) -> dict[str, Any]:  # fmt: skip
        day = None
        if expires:
            try:
                day = dt.date.fromisoformat(expires)
            except ValueError:
                raise InputError(f"expiry {expires[:20]!r}: give a date as YYYY-MM-DD") from None
        paths = [e.strip() for e in elements.split(",") if e.strip()]
        return service.partners.rule_for(name, plant=web.plant(), submodel=kind,
                                         machine=machine or None, product=product or None,
                                         paths=paths, expires=day)  # fmt: skip

    @app.get("/share", response_class=HTMLResponse, include_in_schema=False)
    def share_page(request: Request, done: str = "", user: User = admin) -> Response:
        return page(request, user, message=done[:200])

    @app.post("/share/partners", include_in_schema=False)
    def add_partner(request: Request, name: str = Form(..., max_length=64), csrf: str = Form(""),
                    user: User = admin) -> Response:  # fmt: skip
        web.check_csrf(request, csrf)
        try:
            key = service.partners.add(name)
        except PilotlineError as exc:
            return refused(request, user, exc, {"name": name})
        return page(request, user, key=key, message=f"Added {name.strip()}")

    @app.post("/share/partners/{name}/remove", include_in_schema=False)
    def remove_partner(request: Request, name: str, csrf: str = Form(""),
                       user: User = admin) -> Response:  # fmt: skip
        web.check_csrf(request, csrf)
        try:
            n = service.partners.remove(name)
        except PilotlineError as exc:
            return refused(request, user, exc, {})
        return RedirectResponse(
            f"/share?done=Removed {name}; {n} grant(s) revoked", status_code=303
        )

    @app.post("/share/preview", include_in_schema=False)
    def preview(
        request: Request,
        partner: str = Form(..., max_length=64),
        kind: str = Form(..., max_length=300),
        machine: str = Form("", max_length=100),
        product: str = Form("", max_length=100),
        elements: str = Form("", max_length=2000),
        expires: str = Form("", max_length=20),
        purpose: str = Form("", max_length=500),
        onward: bool = Form(False),
        confirm: str = Form(""),
        csrf: str = Form(""),
        user: User = admin,
    ) -> Response:
        """Show exactly what the partner will receive with this grant; make it on confirm."""
        web.check_csrf(request, csrf)
        form = {"partner": partner, "kind": kind, "machine": machine, "product": product,
                "elements": elements,
                "expires": expires, "purpose": purpose, "onward": "1" if onward else ""}  # fmt: skip
        try:
            rule = rule_of(partner, kind, machine, product, elements, expires)
            service.refuse_held(partner, rule)
            if confirm == "yes":
                g = service.partners.add_rule(
                    partner, rule, expires=dt.date.fromisoformat(expires) if expires else None,
                    purpose=purpose, onward=onward, by=user.username,
                )  # fmt: skip
                return RedirectResponse(f"/share?done=Grant {g.id}: {partner} may read {g.what}",
                                        status_code=303)  # fmt: skip
            before = service.preview(partner)
            after = service.preview(partner, extra=rule, extra_onward=onward)
        except PilotlineError as exc:
            return refused(request, user, exc, form)
        return page(request, user, form=form, preview=after,
                    preview_new=_changed(before, after))  # fmt: skip

    @app.post("/share/verify", include_in_schema=False)
    def check_record(request: Request, csrf: str = Form(""), user: User = admin) -> Response:
        """Check the whole record of reads (as ``pilotline share audit verify``)."""
        web.check_csrf(request, csrf)
        service.log.flush()
        try:
            n = verify(web.store, web.home)
        except ChainBroken as exc:
            return page(request, user, check={"ok": False, "seq": exc.seq, "why": exc.why})
        except PilotlineError as exc:  # a signing key set but unreadable
            return page(request, user, error=str(exc), status_code=500)
        return page(request, user, check={"ok": True, "count": n})

    @app.post("/share/grants/{grant_id}/revoke", include_in_schema=False)
    def revoke(request: Request, grant_id: str, partner: str = Form(..., max_length=64),
               csrf: str = Form(""), user: User = admin) -> Response:  # fmt: skip
        web.check_csrf(request, csrf)
        try:
            service.partners.revoke(partner, grant_id)
        except PilotlineError as exc:
            return refused(request, user, exc, {})
        return RedirectResponse(f"/share?done=Revoked {grant_id} of {partner}", status_code=303)


def _changed(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The submodels (or their elements) the new grant adds to what the partner receives."""
    old = {s["id"]: s for s in before["submodels"]}
    out = []
    for sm in after["submodels"]:
        names = [e.get("idShort", "") for e in sm.get("submodelElements", [])]
        had = [e.get("idShort", "") for e in old.get(sm["id"], {}).get("submodelElements", [])]
        if sm["id"] not in old or names != had:
            out.append(sm["id"])
    return out
