"""The web app in process (FastAPI's test client over the real store and plant)."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pilotline.web import create_app
from tests.conftest import clock_env
from tests.web.conftest import PASSWORD


@pytest.fixture
def client(home: Path) -> Iterator[TestClient]:
    with TestClient(create_app(home)) as c:
        yield c


def login(client: TestClient, user: str, password: str = PASSWORD) -> int:
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    r = client.post(
        "/login",
        data={"username": user, "password": password, "csrf": csrf.group(1), "next": "/"},
        follow_redirects=False,
    )
    return r.status_code


def test_anonymous_pages_go_to_login_and_the_api_says_401(client: TestClient) -> None:
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    api = client.get("/api/overview")
    assert api.status_code == 401
    assert api.headers["content-type"] == "application/problem+json"
    assert api.json()["title"] == "Log in first"


def test_manager_sees_every_line_and_names_are_escaped(client: TestClient) -> None:
    assert login(client, "mia") == 303
    page = client.get("/")
    assert page.status_code == 200
    assert "Line 1" in page.text and "Line 2" in page.text
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    data = client.get("/api/overview").json()
    tiles = [m for line in data["lines"] for m in line["machines"]]
    assert len(tiles) == 6
    assert {m["state"] for m in tiles} <= {"running", "stopped", "no_data"}
    assert all(m["target"] == 0.85 for m in tiles)


def test_operator_sees_only_the_assigned_line(client: TestClient) -> None:
    assert login(client, "olga") == 303
    data = client.get("/api/overview").json()
    assert [line["line"] for line in data["lines"]] == ["Line 2"]
    assert "Line 1" not in client.get("/").text
    me = client.get("/api/me").json()
    assert {k: me[k] for k in ("username", "role", "lines")} == {
        "username": "olga",
        "role": "operator",
        "lines": ["Line 2"],
    }


def test_wrong_password_then_rate_limited(client: TestClient) -> None:
    for _ in range(5):
        assert login(client, "boss", "not the password") == 401
    assert login(client, "boss") == 429  # even the right password waits now
    assert login(client, "mia") == 303  # another user is not blocked


def test_forms_need_the_csrf_token(client: TestClient) -> None:
    r = client.post("/login", data={"username": "mia", "password": PASSWORD, "csrf": "forged"})
    assert r.status_code == 403
    assert login(client, "mia") == 303
    assert client.post("/logout", data={"csrf": "forged"}).status_code == 403
    assert client.get("/api/me").status_code == 200


def test_login_cannot_redirect_to_another_site(client: TestClient) -> None:
    page = client.get("/login?next=//evil.example/x")
    assert 'name="next" value="/"' in page.text


def test_openapi_document(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    assert {"/api/overview", "/api/me"} <= set(doc["paths"])


def test_machine_page_and_its_api(client: TestClient) -> None:
    assert login(client, "mia") == 303
    page = client.get("/machines/cnc-4", params={"by": "day"})
    assert page.status_code == 200, page.text
    assert page.text.count('class="figure"') >= 3  # trend, waterfall, Pareto, timeline
    assert '<script src="/assets/plotly.min.js">' in page.text
    js = client.get("/assets/plotly.min.js")
    assert js.status_code == 200 and len(js.content) > 1_000_000  # from the package, no CDN
    rows = client.get("/api/machines/cnc-4/oee", params={"by": "shift"}).json()
    assert rows and all(r["machine"] == "cnc-4" for r in rows)
    assert all(0 <= r["oee"] <= 1.5 for r in rows if r["oee"] is not None)
    bad = client.get("/api/machines/cnc-4/oee", params={"start": "yesterday"})
    assert bad.status_code == 422 and "2026-03-02" in bad.json()["detail"]
    assert client.get("/api/machines/cnc-4/oee", params={"by": "fortnight"}).status_code == 422
    assert client.get("/api/machines/nope/oee").status_code == 404


def test_micro_stops_and_slow_cycles_on_the_machine_page(client: TestClient) -> None:
    assert login(client, "mia") == 303
    page = client.get("/machines/press-2").text
    assert "Micro-stops and slow cycles" in page and "Stops by length" in page
    small = client.get("/api/machines/press-2/small-losses").json()
    assert small["stops"] and small["cycles"]
    limit = small["minor_stop_limit_s"]
    assert small["minor_stops"] == sum(s["seconds"] <= limit for s in small["stops"])
    assert all(c["cycle_s"] > 0 and c["parts"] > 0 for c in small["cycles"])
    wide = client.get(
        "/api/machines/press-2/small-losses", params={"start": "2026-01-01", "end": "2026-03-01"}
    )
    assert wide.status_code == 422 and "31 days" in wide.json()["detail"]


def test_shift_report_page_for_managers_only(client: TestClient) -> None:
    assert login(client, "mia") == 303
    report = client.get("/report/shift")
    assert report.status_code == 200 and "Downtime by reason" in report.text
    client.post("/logout", data={"csrf": client.get("/api/me").json()["csrf"]})
    assert login(client, "olga") == 303
    assert client.get("/report/shift").status_code == 403


def test_users_and_api_tokens_from_the_command_line(home: Path, client: TestClient) -> None:
    pilotline = str(Path(sys.executable).parent / "pilotline")

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [pilotline, "--home", str(home), "user", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env={"COLUMNS": "120", "PATH": "/usr/bin:/bin", **clock_env()},
            check=False,
        )

    added = run(
        "add",
        "robot",
        "--role",
        "operator",
        "--line",
        "Line 1",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert added.returncode == 0, added.stderr
    assert "robot (operator, lines: Line 1)" in added.stdout
    assert (
        "no line called 'Line 9'"
        in run("add", "x", "--line", "Line 9", "--password-stdin", stdin=PASSWORD).stderr
    )
    assert "at least 10 characters" in run("add", "y", "--password-stdin", stdin="short").stderr
    assert "robot" in run("list").stdout
    token = run("token", "robot", "--label", "line-1 andon").stdout.strip()
    assert token.startswith("plt_")
    bearer = {"Authorization": f"Bearer {token}"}
    data = client.get("/api/overview", headers=bearer).json()
    assert [line["line"] for line in data["lines"]] == ["Line 1"]
    assert (
        client.get("/api/overview", headers={"Authorization": "Bearer plt_wrong"}).status_code
        == 401
    )
    # A script writes without a CSRF token: browsers never send a bearer token on their own.
    r = client.post(
        "/api/machines/press-1/scrap", json={"count": 1, "reason": "scrap"}, headers=bearer
    )
    assert r.status_code == 201, r.text
    listed = run("tokens", "robot").stdout
    assert "line-1 andon" in listed and token not in listed
    token_id = re.search(r"\b([0-9a-f]{12})\W+robot", listed).group(1)  # type: ignore[union-attr]
    assert run("revoke", token_id).returncode == 0
    assert client.get("/api/overview", headers=bearer).status_code == 401
    assert run("remove", "robot").returncode == 0
    assert "robot" not in run("list").stdout


def test_stops_are_filtered_and_paged(client: TestClient) -> None:
    assert login(client, "mia") == 303
    everything = client.get("/api/machines/press-2/stops", params={"limit": 1000})
    full = everything.json()
    assert len(full) >= 3 and everything.headers["x-total-count"] == str(len(full))
    assert client.get("/api/machines/press-2/stops", params={"limit": 1, "offset": 1}).json() == [
        full[1]
    ]

    def keys(stops: list[dict[str, str]]) -> list[tuple[str, str, str]]:
        # the oldest start moves with the 12-hour window, an ongoing stop's end with the clock
        return [("now" if s["ongoing"] else s["end"], s["category"], s["reason"]) for s in stops]

    category = full[0]["category"]
    same = client.get("/api/machines/press-2/stops", params={"category": category}).json()
    assert keys(same) == keys([s for s in full if s["category"] == category])
    open_ = client.get("/api/machines/press-2/stops", params={"unexplained": True}).json()
    assert keys(open_) == keys([s for s in full if not s["reason"]])
