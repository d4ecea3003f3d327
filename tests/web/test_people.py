"""Users and API tokens managed by an admin, in pages and over the API."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from pilotline.web import create_app
from tests.web.conftest import PASSWORD, api_login


def test_an_admin_adds_an_operator_who_then_sees_only_their_line(clock_home: Path) -> None:
    app = create_app(clock_home)
    with TestClient(app) as admin, TestClient(app) as new:
        csrf = api_login(admin, "boss")
        h = {"X-CSRF-Token": csrf}
        r = admin.post(
            "/api/users",
            json={
                "username": "otto",
                "password": PASSWORD,
                "role": "operator",
                "lines": ["Line B"],
            },
            headers=h,
        )
        assert r.status_code == 201 and r.json()["lines"] == ["Line B"]
        api_login(new, "otto")
        assert [m["id"] for m in new.get("/api/machines").json()] == ["m2"]
        r = admin.patch("/api/users/otto", json={"lines": ["Line A"]}, headers=h)
        assert r.status_code == 200
        assert [m["id"] for m in new.get("/api/machines").json()] == ["m1"]
        assert admin.delete("/api/users/otto", headers=h).status_code == 204
        assert new.get("/api/machines").status_code == 401  # the session ends with the user


def test_bad_user_changes_are_refused_with_a_reason(clock_home: Path) -> None:
    with TestClient(create_app(clock_home)) as admin:
        h = {"X-CSRF-Token": api_login(admin, "boss")}
        r = admin.post(
            "/api/users",
            json={"username": "x", "password": PASSWORD, "role": "operator", "lines": ["Line Z"]},
            headers=h,
        )
        assert r.status_code == 422 and "Line Z" in r.json()["detail"]
        r = admin.post(
            "/api/users",
            json={"username": "mia", "password": PASSWORD, "role": "manager"},
            headers=h,
        )
        assert r.status_code == 422 and "already" in r.json()["detail"]
        r = admin.patch("/api/users/boss", json={"role": "manager"}, headers=h)
        assert r.status_code == 422 and "only admin" in r.json()["detail"]
        assert admin.delete("/api/users/boss", headers=h).status_code == 422
        assert admin.patch("/api/users/nobody", json={}, headers=h).status_code == 404
        r = admin.patch("/api/users/mia", json={"password": "short"}, headers=h)
        assert r.status_code == 422


def test_a_revoked_token_stops_working_at_once(clock_home: Path) -> None:
    with TestClient(create_app(clock_home)) as admin, TestClient(create_app(clock_home)) as bot:
        h = {"X-CSRF-Token": api_login(admin, "boss")}
        made = admin.post(
            "/api/tokens", json={"username": "mia", "name": "line display"}, headers=h
        )
        assert made.status_code == 201
        bearer = {"Authorization": f"Bearer {made.json()['token']}"}
        assert bot.get("/api/me", headers=bearer).json()["username"] == "mia"
        listed = admin.get("/api/tokens").json()
        assert [(t["id"], t["username"], t["name"]) for t in listed] == [
            (made.json()["id"], "mia", "line display")
        ]
        assert made.json()["token"] not in admin.get("/api/tokens").text
        assert admin.delete(f"/api/tokens/{made.json()['id']}", headers=h).status_code == 204
        r = bot.get("/api/me", headers=bearer)
        assert r.status_code == 401 and "revoked" in r.json()["detail"]
        assert admin.delete(f"/api/tokens/{made.json()['id']}", headers=h).status_code == 404


def test_users_are_paged_and_filtered(clock_home: Path) -> None:
    with TestClient(create_app(clock_home)) as admin:
        api_login(admin, "boss")
        page = admin.get("/api/users", params={"limit": 1, "offset": 1}).json()
        assert page["total"] == 3 and [u["username"] for u in page["items"]] == ["mia"]
        ops = admin.get("/api/users", params={"role": "operator"}).json()
        assert [u["username"] for u in ops["items"]] == ["olga"]
        assert admin.get("/api/users", params={"role": "boss"}).status_code == 422


def test_the_users_page_adds_a_user_and_shows_a_new_token_once(clock_home: Path) -> None:
    with TestClient(create_app(clock_home)) as admin:
        api_login(admin, "boss")
        csrf = re.search(r'name="csrf" value="([^"]+)"', admin.get("/users").text)
        assert csrf
        r = admin.post(
            "/users",
            data={
                "csrf": csrf.group(1),
                "username": "ivy o'neil",
                "password": PASSWORD,
                "role": "operator",
                "lines": ["Line A", "Line B"],
            },
            follow_redirects=False,
        )
        assert r.status_code == 303
        page = admin.get("/users").text
        assert "ivy o&#39;neil" in page and "ivy o'neil" not in page
        r = admin.post("/users/mia/token", data={"csrf": csrf.group(1), "name": "kiosk"})
        token = re.search(r'id="new-token">(plt_[^<]+)<', r.text)
        assert token and token.group(1) not in admin.get("/users").text
        r = admin.post(
            "/users",
            data={"csrf": csrf.group(1), "username": "x", "password": "short", "role": "operator"},
        )
        assert r.status_code == 422 and "at least 10" in r.text


def test_managers_cannot_manage_users(clock_home: Path) -> None:
    with TestClient(create_app(clock_home)) as client:
        h = {"X-CSRF-Token": api_login(client, "mia")}
        assert client.get("/users", follow_redirects=False).status_code == 403
        assert client.get("/api/users").status_code == 403
        r = client.post("/api/tokens", json={"username": "mia", "name": "mine"}, headers=h)
        assert r.status_code == 403
