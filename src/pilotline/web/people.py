"""Users and API tokens: the admin's page and the API behind it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from pilotline.errors import InputError, PilotlineError
from pilotline.web.context import Web
from pilotline.web.data import MAX_OFFSET
from pilotline.web.schemas import NewToken, TokenOut, UserOut, UserPage
from pilotline.web.users import ROLES, Role, User, token_id


class UserIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=10, max_length=200)
    role: Role
    lines: list[str] = Field(default_factory=list, max_length=200)


class UserPatch(BaseModel):
    role: Role | None = None
    lines: list[str] | None = Field(None, max_length=200)
    password: str | None = Field(None, min_length=10, max_length=200)


class TokenIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    name: str = Field("script", min_length=1, max_length=100)


def _role(value: str) -> Role:
    if value not in ROLES:
        raise InputError(f"role must be one of {', '.join(ROLES)}, not {value[:20]!r}")
    return value


def _user_json(u: User) -> dict[str, Any]:
    return {"username": u.username, "role": u.role, "lines": list(u.lines)}


def routes(app: FastAPI, web: Web) -> None:
    admin = web.need("admin")
    users = web.users

    def check_lines(lines: list[str]) -> list[str]:
        known = [line.name for line in web.plant().lines]
        unknown = [x for x in lines if x not in known]
        if unknown:
            raise InputError(f"no line called {', '.join(map(repr, unknown))}; lines are {known}")
        return lines

    def users_page(
        request: Request,
        user: User,
        *,
        message: str = "",
        error: str = "",
        token: str = "",
        status_code: int = 200,
    ) -> Response:
        return web.page(
            request,
            "users.html",
            user,
            status_code=status_code,
            people=users.all_users(),
            tokens=users.tokens(),
            roles=ROLES,
            lines=[line.name for line in web.plant().lines],
            message=message,
            error=error,
            token=token,
        )

    def form_action(request: Request, user: User, csrf: str, act: Any, done: str) -> Response:
        web.check_csrf(request, csrf)
        try:
            result = act()
        except PilotlineError as exc:
            return users_page(request, user, error=str(exc), status_code=422)
        if isinstance(result, str) and result.startswith("plt_"):
            return users_page(request, user, message=done, token=result)
        return RedirectResponse(f"/users?done={done}", status_code=303)

    @app.get("/users", response_class=HTMLResponse, include_in_schema=False)
    def page(request: Request, done: str = "", user: User = admin) -> Response:
        return users_page(request, user, message=done[:200])

    @app.post("/users", include_in_schema=False)
    def add_form(
        request: Request,
        username: str = Form(...),
        password: str = Form(...),
        role: str = Form(...),
        lines: Annotated[list[str] | None, Form()] = None,
        csrf: str = Form(""),
        user: User = admin,
    ) -> Response:
        def act() -> None:
            users.add(username, password, role=_role(role), lines=check_lines(lines or []))

        return form_action(request, user, csrf, act, f"Added {username.strip()}")

    @app.post("/users/{username}/update", include_in_schema=False)
    def update_form(
        request: Request,
        username: str,
        role: str = Form(...),
        lines: Annotated[list[str] | None, Form()] = None,
        password: str = Form(""),
        csrf: str = Form(""),
        user: User = admin,
    ) -> Response:
        def act() -> None:
            users.update(
                username,
                role=_role(role),
                lines=check_lines(lines or []),
                password=password or None,
            )

        return form_action(request, user, csrf, act, f"Saved {username}")

    @app.post("/users/{username}/delete", include_in_schema=False)
    def delete_form(
        request: Request, username: str, csrf: str = Form(""), user: User = admin
    ) -> Response:
        return form_action(
            request, user, csrf, lambda: users.remove(username), f"Removed {username}"
        )

    @app.post("/users/{username}/token", include_in_schema=False)
    def token_form(
        request: Request,
        username: str,
        name: str = Form("script", max_length=100),
        csrf: str = Form(""),
        user: User = admin,
    ) -> Response:
        return form_action(
            request,
            user,
            csrf,
            lambda: users.new_token(username, name),
            f"New token for {username} — copy it now, it is not shown again",
        )

    @app.post("/tokens/{token_id}/revoke", include_in_schema=False)
    def revoke_form(
        request: Request, token_id: str, csrf: str = Form(""), user: User = admin
    ) -> Response:
        return form_action(request, user, csrf, lambda: users.revoke(token_id), "Token revoked")

    # -- API -------------------------------------------------------------------------------------
    @app.get("/api/users", summary="List users", response_model=UserPage, tags=["users"])
    def api_users(
        limit: int = Query(100, ge=1, le=1000),
        offset: int = Query(0, ge=0, le=MAX_OFFSET),
        role: Role | None = None,
        user: User = admin,
    ) -> dict[str, Any]:
        """Users, by name; filter by role; page with limit (1–1000) and offset."""
        found = [u for u in users.all_users() if role is None or u.role == role]
        page = found[offset : offset + limit]
        return {"total": len(found), "items": [_user_json(u) for u in page]}

    @app.post(
        "/api/users", summary="Add a user", response_model=UserOut, tags=["users"], status_code=201
    )
    def api_add_user(request: Request, body: UserIn, user: User = admin) -> dict[str, Any]:
        """Add a user (admin, manager or operator; an operator's lines limit what they see)."""
        web.api_csrf(request)
        added = users.add(
            body.username, body.password, role=body.role, lines=check_lines(body.lines)
        )
        return _user_json(added)

    @app.patch(
        "/api/users/{username}", summary="Change a user", response_model=UserOut, tags=["users"]
    )
    def api_update_user(
        request: Request, username: str, body: UserPatch, user: User = admin
    ) -> dict[str, Any]:
        """Change a user's role, lines or password."""
        web.api_csrf(request)
        lines = check_lines(body.lines) if body.lines is not None else None
        return _user_json(
            users.update(username, role=body.role, lines=lines, password=body.password)
        )

    @app.delete("/api/users/{username}", summary="Remove a user", tags=["users"], status_code=204)
    def api_delete_user(request: Request, username: str, user: User = admin) -> Response:
        """Remove a user and their API tokens (not the last admin)."""
        web.api_csrf(request)
        users.remove(username)
        return Response(status_code=204)

    @app.get(
        "/api/tokens", summary="List API tokens", response_model=list[TokenOut], tags=["users"]
    )
    def api_tokens(username: str | None = None, user: User = admin) -> list[dict[str, Any]]:
        """API tokens (id, user, name, created) — never the token itself."""
        return users.tokens(username)

    @app.post(
        "/api/tokens",
        summary="Create an API token",
        response_model=NewToken,
        tags=["users"],
        status_code=201,
    )
    def api_new_token(request: Request, body: TokenIn, user: User = admin) -> dict[str, str]:
        """A new API token for a user; the token is in this answer only."""
        web.api_csrf(request)
        token = users.new_token(body.username, body.name)
        return {"token": token, "id": token_id(token)}

    @app.delete(
        "/api/tokens/{token_id}", summary="Revoke an API token", tags=["users"], status_code=204
    )
    def api_revoke_token(request: Request, token_id: str, user: User = admin) -> Response:
        """Revoke an API token by its id: requests with it get 401 from now on."""
        web.api_csrf(request)
        users.revoke(token_id)
        return Response(status_code=204)
