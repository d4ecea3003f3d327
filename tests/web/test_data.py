"""The data page: uploads checked like `pilotline import`, limits, broken-off uploads, collectors."""

from __future__ import annotations

import http.client
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pilotline.store import EmbeddedStore
from pilotline.web import create_app
from tests.connect.conftest import Mosquitto
from tests.web.conftest import PILOTLINE, api_login, serving

GOOD = b"machine,ts,state,reason\nm2,2026-01-05T06:00:00Z,running,\nm2,2026-01-05T07:00:00Z,stopped,jam\n"
BAD = b"machine,ts,state\nm2,2026-01-05T06:00:00Z,running\nm2,5.1.2026 7 Uhr,stopped\nm2,2026-01-05T08:00:00Z,maybe\n"


def import_count(home: Path) -> int:
    with EmbeddedStore(home).session() as s:
        return int(s.scalar("SELECT count(*) FROM imports"))


def upload(client: TestClient, csrf: str, body: bytes | Iterator[bytes], name: str, **q: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/imports",
        params={"filename": name, **q},
        content=body,
        headers={"X-CSRF-Token": csrf, "Content-Type": "application/octet-stream"},
    )


def test_an_upload_is_imported_once_and_named_by_its_file(clock_home: Path) -> None:
    with TestClient(create_app(clock_home)) as client:
        csrf = api_login(client, "mia")
        r = upload(client, csrf, GOOD, "line-b states.csv")
        assert r.status_code == 201, r.text
        assert r.json() | {"notes": [], "unknown_reasons": {}} == {
            "file": "line-b states.csv",
            "kind": "states",
            "rows": 2,
            "new_rows": 2,
            "skipped": 0,
            "notes": [],
            "unknown_reasons": {},
        }
        again = upload(client, csrf, GOOD, "line-b states.csv")
        assert again.json()["new_rows"] == 0 and again.json()["skipped"] == 2
        listed = client.get("/api/imports", params={"limit": 1}).json()
        assert listed["items"][0]["file"] == "line-b states.csv"
        assert (
            client.get("/api/imports", params={"kind": "counts"}).json()["total"] == 1
        )  # the fixture's
        page = client.get("/data").text
        assert "line-b states.csv" in page
    assert list((clock_home / "uploads").iterdir()) == []


def test_a_bad_file_lists_every_problem_with_row_and_column_and_stores_nothing(
    clock_home: Path,
) -> None:
    before = import_count(clock_home)
    with TestClient(create_app(clock_home)) as client:
        csrf = api_login(client, "mia")
        r = upload(client, csrf, BAD, "../../etc/passwd.csv")
        assert r.status_code == 422
        assert r.headers["content-type"] == "application/problem+json"
        found = {(p["row"], p["column"]) for p in r.json()["problems"]}
        assert (3, "ts") in found and (4, "state") in found
        assert all(p["file"] == "passwd.csv" for p in r.json()["problems"])
        assert str(clock_home) not in r.text
        assert upload(client, csrf, b"%PDF-1.4", "report.pdf").status_code == 415
        assert upload(client, csrf, b"", "empty.csv").status_code == 422
    assert import_count(clock_home) == before


def test_a_file_over_the_limit_is_refused_before_or_while_it_is_read(clock_home: Path) -> None:
    before = import_count(clock_home)
    with TestClient(create_app(clock_home, max_upload_mb=1)) as client:
        csrf = api_login(client, "mia")
        declared = upload(client, csrf, b"x" * 2_000_000, "big.csv")
        assert declared.status_code == 413 and "pilotline import" in declared.json()["detail"]

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted while it streams
            yield GOOD
            for _ in range(30):
                yield b"m2,2026-01-05T08:00:00Z,running,\n" * 2000

        streamed = upload(client, csrf, chunks(), "big.csv")
        assert streamed.status_code == 413
    assert import_count(clock_home) == before
    assert list((clock_home / "uploads").iterdir()) == []


def test_a_100_mb_upload_to_the_real_server_gets_a_clear_refusal(clock_home: Path) -> None:
    with serving(clock_home) as url:
        host, port = url.removeprefix("http://").split(":")
        with TestClient(create_app(clock_home)) as login_client:
            csrf = api_login(login_client, "mia")
            cookie = login_client.cookies.get("pilotline_session")
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        conn.putrequest("POST", "/api/imports?filename=huge.csv")
        conn.putheader("Content-Length", str(100 * 1024 * 1024))
        conn.putheader("Cookie", f"pilotline_session={cookie}")
        conn.putheader("X-CSRF-Token", csrf)
        conn.endheaders()
        conn.send(b"machine,ts,state\n" * 1000)  # the server answers without waiting for the rest
        answer = conn.getresponse()
        body = answer.read()
        conn.close()
        assert answer.status == 413
        assert b"larger than 64 MB" in body


def test_an_upload_that_breaks_off_imports_nothing(clock_home: Path) -> None:
    before = import_count(clock_home)
    with serving(clock_home) as url:
        host, port = url.removeprefix("http://").split(":")
        with TestClient(create_app(clock_home)) as login_client:
            csrf = api_login(login_client, "mia")
            cookie = login_client.cookies.get("pilotline_session")
        head = (
            "POST /api/imports?filename=half.csv HTTP/1.1\r\n"
            f"Host: {host}\r\nContent-Type: application/octet-stream\r\n"
            f"Content-Length: {len(GOOD) * 2}\r\nX-CSRF-Token: {csrf}\r\n"
            f"Cookie: pilotline_session={cookie}\r\n\r\n"
        ).encode()
        with socket.create_connection((host, int(port))) as sock:
            sock.sendall(head + GOOD)  # half of what was announced, then the line drops
            time.sleep(0.5)
        spool = clock_home / "uploads"
        deadline = (
            time.monotonic() + 60
        )  # a loaded machine may take its time; no figure depends on it
        while spool.exists() and any(spool.iterdir()) and time.monotonic() < deadline:
            time.sleep(0.1)
    # The server has stopped (after finishing what it was doing): nothing kept, nothing imported.
    assert not spool.exists() or list(spool.iterdir()) == []
    assert import_count(clock_home) == before


@pytest.fixture
def line_b(tmp_path: Path) -> Iterator[Path]:
    """A real broker on 127.0.0.1 and a collector configuration reading m2 from it."""
    (tmp_path / "broker").mkdir()
    broker = Mosquitto(tmp_path / "broker")
    broker.start()
    config = tmp_path / "line-b.toml"
    config.write_text(
        f'[[source]]\nkind = "mqtt"\nname = "line-b broker"\nhost = "127.0.0.1"\n'
        f'port = {broker.port}\nqos = 1\nclient_id = "web-test"\n\n'
        '[[source.tag]]\nname = "m2 state"\nmachine = "m2"\nrole = "state"\n'
        'topic = "plant/m2"\npath = "state"\nstates = { "1" = "running", "0" = "stopped" }\n'
    )
    try:
        yield config
    finally:
        broker.stop()


@contextmanager
def collecting(home: Path, config: Path, seconds: int) -> Iterator[subprocess.Popen[bytes]]:
    """`pilotline collect CONFIG --for SECONDS` in its own process, killed if still running."""
    proc = subprocess.Popen(
        [PILOTLINE, "--home", str(home), "collect", str(config), "--for", str(seconds)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def test_the_data_page_shows_a_live_collector_and_when_it_stopped(
    clock_home: Path, line_b: Path
) -> None:
    with collecting(clock_home, line_b, 8) as proc, TestClient(create_app(clock_home)) as client:
        api_login(client, "mia")
        deadline = time.monotonic() + 20
        seen: list[dict[str, object]] = []
        while time.monotonic() < deadline:
            seen = client.get("/api/collectors").json()
            if seen and seen[0]["sources"][0]["state"] == "online":  # type: ignore[index]
                break
            time.sleep(0.2)
        assert seen and seen[0]["name"] == "line-b" and seen[0]["running"] is True
        assert "line-b broker" in client.get("/data").text
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err.decode()
        after = client.get("/api/collectors").json()[0]
        assert after["running"] is False
        assert {s["state"] for s in after["sources"]} == {"stopped"}


def test_the_collector_table_refreshes_itself_in_the_browser(
    clock_home: Path, line_b: Path
) -> None:
    from tests.web.conftest import chromium, log_in

    with serving(clock_home) as base, chromium() as browser:
        page = browser.new_page()
        page.goto(base + "/data")
        log_in(page, "mia")
        page.wait_for_selector("#collectors")
        assert "No collector has run here yet" in page.inner_text("#collectors")
        with collecting(clock_home, line_b, 6) as proc:
            # No reload: the page's script paints the collector once it reports.
            page.wait_for_selector("#collectors .ok", timeout=20_000)
            assert "line-b broker" in page.inner_text("#collectors")
            proc.wait(30)
            page.wait_for_selector("#collectors .bad", timeout=20_000)
            assert "not running" in page.inner_text("#collectors")
