"""Every route, whatever it is, refuses anonymous users, and machine routes refuse other lines."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from pilotline.web import create_app
from tests.conftest import NOW
from tests.web.conftest import api_login

PUBLIC = {
    "/login",
    "/healthz",
    "/openapi.json",
    "/api/docs",
    "/api/docs/oauth2-redirect",
    "/assets/plotly.min.js",  # a public library, like everything under /static
}
QUERY = {"start": (NOW - dt.timedelta(days=1)).isoformat(), "end": NOW.isoformat()}
BODY = {"start": NOW.isoformat(), "end": NOW.isoformat(), "reason": "jam", "count": 1}


def routes(app: object) -> list[tuple[str, str]]:
    out = []
    for r in app.routes:  # type: ignore[attr-defined]
        if isinstance(r, APIRoute) and r.path not in PUBLIC:
            out += [(m, r.path) for m in sorted(r.methods)]
    return out


def call(
    client: TestClient,
    method: str,
    path: str,
    machine: str = "m1",
    headers: dict[str, str] | None = None,
):  # type: ignore[no-untyped-def]
    url = path.replace("{machine}", machine)
    if method == "GET":
        return client.get(
            url, params={**QUERY, "machine": machine}, follow_redirects=False, headers=headers
        )
    return client.request(
        method, url, json=BODY, data=None, follow_redirects=False, headers=headers
    )


def test_every_route_is_covered_here(clock_home: Path) -> None:
    found = set(routes(create_app(clock_home)))
    assert ("GET", "/api/overview") in found and (
        "POST",
        "/api/machines/{machine}/reasons",
    ) in found
    assert len(found) >= 12


def test_anonymous_gets_401_or_the_login_page(clock_home: Path) -> None:
    app = create_app(clock_home)
    with TestClient(app) as client:
        for method, path in routes(app):
            r = call(client, method, path)
            if path.startswith("/api/"):
                assert r.status_code == 401, (method, path, r.status_code)
                assert r.headers["content-type"] == "application/problem+json"
            elif method == "GET":
                assert r.status_code == 303 and r.headers["location"].startswith("/login"), (
                    method,
                    path,
                )
            else:
                assert r.status_code in (303, 401, 403, 422), (method, path, r.status_code)


@pytest.mark.parametrize(
    "method,path",
    [
        ("GET", "/api/machines/{machine}/stops"),
        ("POST", "/api/machines/{machine}/reasons"),
        ("POST", "/api/machines/{machine}/scrap"),
        ("GET", "/operate/{machine}"),
        ("GET", "/api/pareto"),
        ("GET", "/machines/{machine}"),
        ("GET", "/api/machines/{machine}/oee"),
        ("GET", "/api/machines/{machine}/small-losses"),
    ],
)
def test_an_operator_cannot_touch_another_line(clock_home: Path, method: str, path: str) -> None:
    app = create_app(clock_home)
    with TestClient(app) as client:
        token = api_login(client, "olga")
        r = call(
            client,
            method,
            path if path != "/api/pareto" else path + "?machine=m2",
            machine="m2",
            headers={"X-CSRF-Token": token},
        )
        assert r.status_code == 403, (method, path, r.status_code, r.text)
        if path.startswith("/api/") or method != "GET":
            assert "Line B" in r.json()["detail"]
        else:  # a person opening a page gets a page saying why
            assert r.headers["content-type"].startswith("text/html") and "Line B" in r.text


@pytest.mark.parametrize(
    "method,path,role",
    [
        ("GET", "/data", "manager"),
        ("GET", "/api/imports", "manager"),
        ("POST", "/api/imports?filename=x.csv", "manager"),
        ("GET", "/api/collectors", "manager"),
        ("GET", "/report/shift", "manager"),
        ("GET", "/settings", "admin"),
        ("POST", "/settings", "admin"),
        ("GET", "/api/plant", "admin"),
        ("PUT", "/api/plant", "admin"),
        ("GET", "/users", "admin"),
        ("POST", "/users", "admin"),
        ("GET", "/api/users", "admin"),
        ("POST", "/api/users", "admin"),
        ("PATCH", "/api/users/olga", "admin"),
        ("DELETE", "/api/users/olga", "admin"),
        ("GET", "/api/tokens", "admin"),
        ("POST", "/api/tokens", "admin"),
        ("DELETE", "/api/tokens/0123456789ab", "admin"),
        ("POST", "/users/olga/delete", "admin"),
        ("POST", "/tokens/0123456789ab/revoke", "admin"),
    ],
)
def test_a_lower_role_gets_403(clock_home: Path, method: str, path: str, role: str) -> None:
    app = create_app(clock_home)
    for who in ("olga", "mia") if role == "admin" else ("olga",):
        with TestClient(app) as client:
            token = api_login(client, who)
            r = client.request(method, path, json=BODY, headers={"X-CSRF-Token": token})
            assert r.status_code == 403, (who, method, path, r.status_code, r.text)
            assert f"needs the {role} role" in r.text
