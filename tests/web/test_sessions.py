"""Sessions end when they should, and the login and pages resist the usual abuse."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pilotline import clock
from pilotline.errors import InputError
from pilotline.store import EmbeddedStore
from pilotline.web import Users, create_app
from tests.conftest import NOW
from tests.web.conftest import PASSWORD, api_login

NEW_PASSWORD = "another long passphrase"


def stolen_copy(client: TestClient, app: object) -> TestClient:
    """A second browser holding a copy of the session cookie."""
    thief = TestClient(app)  # type: ignore[arg-type]
    thief.cookies.set("pilotline_session", client.cookies["pilotline_session"])
    return thief


def still_in(client: TestClient) -> bool:
    return client.get("/api/me").status_code == 200


def test_logout_ends_the_session_for_every_copy_of_the_cookie(clock_home: Path) -> None:
    app = create_app(clock_home)
    with TestClient(app) as client:
        csrf = api_login(client, "mia")
        thief = stolen_copy(client, app)
        assert still_in(thief)
        client.post("/logout", data={"csrf": csrf})
        assert not still_in(client) and not still_in(thief)


@pytest.mark.parametrize(
    "change",
    [
        {"password": NEW_PASSWORD},
        {"role": "operator", "lines": ["Line A"]},
    ],
    ids=["password change", "role change"],
)
def test_a_password_or_role_change_ends_the_users_sessions(
    clock_home: Path, change: dict[str, object]
) -> None:
    app = create_app(clock_home)
    with TestClient(app) as mia, TestClient(app) as admin:
        api_login(mia, "mia")
        h = {"X-CSRF-Token": api_login(admin, "boss")}
        assert admin.patch("/api/users/mia", json=change, headers=h).status_code == 200
        assert not still_in(mia)
        assert still_in(admin)  # nobody else is logged out


def test_a_removed_user_is_out_and_a_new_user_of_that_name_gets_nothing_of_theirs(
    clock_home: Path,
) -> None:
    app = create_app(clock_home)
    with TestClient(app) as mia, TestClient(app) as admin:
        api_login(mia, "mia")
        h = {"X-CSRF-Token": api_login(admin, "boss")}
        assert admin.delete("/api/users/mia", headers=h).status_code == 204
        assert not still_in(mia)
        # Someone else is later created under the same name, as an admin: the old cookie is dead.
        made = admin.post(
            "/api/users",
            json={"username": "mia", "password": NEW_PASSWORD, "role": "admin"},
            headers=h,
        )
        assert made.status_code == 201, made.text
        assert not still_in(mia)


def test_a_change_from_the_command_line_ends_sessions_in_the_web_app(clock_home: Path) -> None:
    app = create_app(clock_home)
    with TestClient(app) as mia:
        api_login(mia, "mia")
        Users(EmbeddedStore(clock_home)).update("mia", password=NEW_PASSWORD)  # another process
        assert not still_in(mia)


def test_a_session_expires_after_twelve_hours(clock_home: Path) -> None:
    import datetime as dt

    app = create_app(clock_home)
    with TestClient(app) as mia:
        api_login(mia, "mia")
        with clock.fixed(NOW + dt.timedelta(hours=11, minutes=59)):
            assert still_in(mia)
        with clock.fixed(NOW + dt.timedelta(hours=12, seconds=1)):
            assert not still_in(mia)


def test_user_names_are_one_per_person_and_printable(store: EmbeddedStore) -> None:
    users = Users(store)
    users.add("Mia", PASSWORD, role="manager")
    for twin in ("mia", "MIA", " Mia ", "Mi\u200ba", "Mia\u00a0", "M\u0131a"[:0] + "mia"):
        with pytest.raises(InputError):
            users.add(twin, PASSWORD, role="admin")
    for bad in ("a/b", "back\\slash", "<i>x</i>", "tab\there", "x\u202ey", "", "two  spaces"):
        with pytest.raises(InputError):
            users.add(bad, PASSWORD, role="operator")
    assert users.check("mia", PASSWORD) == users.get("Mia")  # a tablet that capitalises or not
    assert users.check("MIA", "wrong password") is None


@pytest.mark.parametrize("password", [" " * 12, "\t" * 10 + "  ", "short", "x" * 1025])
def test_weak_or_absurd_passwords_are_refused(store: EmbeddedStore, password: str) -> None:
    with pytest.raises(InputError, match="password"):
        Users(store).add("ivy", password, role="operator")


def test_the_login_throttle_ignores_forwarded_for_and_counts_per_name(clock_home: Path) -> None:
    with TestClient(create_app(clock_home)) as client:
        page = client.get("/login").text
        csrf = page.split('name="csrf" value="')[1].split('"')[0]
        codes = []
        for i in range(8):
            r = client.post(
                "/login",
                data={"username": "mia", "password": "guess", "csrf": csrf},
                headers={"X-Forwarded-For": f"10.0.0.{i}"},
                follow_redirects=False,
            )
            codes.append(r.status_code)
        assert codes[:5] == [401] * 5 and codes[5:] == [429] * 3


def test_pages_cannot_be_framed_and_load_only_their_own_scripts(clock_home: Path) -> None:
    with TestClient(create_app(clock_home)) as client:
        for path in ("/login", "/healthz"):
            headers = client.get(path).headers
            csp = headers["content-security-policy"]
            assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
            assert headers["x-frame-options"] == "DENY"
            assert headers["x-content-type-options"] == "nosniff"
        # No inline script unless a page is one of the few that carry it.
        for path in ("/", "/login", "/operate", "/pilots", "/report/shift", "/users", "/x"):
            csp = client.get(path, follow_redirects=False).headers["content-security-policy"]
            assert "script-src 'self';" in csp and "unsafe-inline' ;" not in csp, path
        for path in ("/api/docs", "/pilots/p1/a3", "/assess/roadmap.html"):
            csp = client.get(path, follow_redirects=False).headers["content-security-policy"]
            assert "script-src 'self' 'unsafe-inline'" in csp, path


def test_the_operator_page_does_not_echo_the_address_bar(clock_home: Path) -> None:
    with TestClient(create_app(clock_home)) as client:
        api_login(client, "olga")
        page = client.get("/operate/m1", params={"done": "Call 0800 FRAUD now"}).text
        assert "FRAUD" not in page
