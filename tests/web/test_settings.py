"""Settings: the plant model edited in the browser or over the API, with validation and conflicts."""

from __future__ import annotations

import re
import threading
from pathlib import Path

from fastapi.testclient import TestClient

from pilotline.plant import load_plant
from pilotline.web import create_app
from tests.web.conftest import api_login


def form_fields(html: str) -> dict[str, str]:
    csrf = re.search(r'name="csrf" value="([^"]+)"', html)
    version = re.search(r'name="version" value="([^"]+)"', html)
    assert csrf and version
    return {"csrf": csrf.group(1), "version": version.group(1)}


def test_an_admin_changes_an_ideal_cycle_time_and_the_old_model_is_kept(clock_home: Path) -> None:
    with TestClient(create_app(clock_home)) as client:
        csrf = api_login(client, "boss")
        got = client.get("/api/plant")
        assert got.status_code == 200 and got.headers["etag"] == f'"{got.json()["version"]}"'
        text = got.json()["toml"].replace("ideal_cycle_s = 2.0", "ideal_cycle_s = 2.5", 1)
        r = client.put(
            "/api/plant",
            json={"toml": text},
            headers={"X-CSRF-Token": csrf, "If-Match": got.headers["etag"]},
        )
        assert r.status_code == 200, r.text
        assert load_plant(clock_home / "plant.toml").machine("m1").ideal_cycle_s == 2.5
        [old] = (clock_home / "plant-history").glob("plant-*-before-boss.toml")
        assert old.read_text() == got.json()["toml"]
        assert r.json()["outline"]["lines"][0]["machines"][0]["ideal_cycle_s"] == 2.5


def test_the_second_of_two_concurrent_edits_gets_a_conflict_and_keeps_its_text(
    clock_home: Path,
) -> None:
    app = create_app(clock_home)
    with TestClient(app) as first, TestClient(app) as second:
        api_login(first, "boss")
        api_login(second, "boss")
        a = form_fields(first.get("/settings").text)
        b = form_fields(second.get("/settings").text)
        original = (clock_home / "plant.toml").read_text()
        mine = original.replace('name = "Round the clock"', 'name = "First edit"')
        theirs = original.replace('name = "Line B"', 'name = "Line Bee"').replace(
            'lines = ["Line B"]', 'lines = ["Line Bee"]'
        )
        r1 = first.post("/settings", data={**a, "toml": mine}, follow_redirects=False)
        assert r1.status_code == 303
        r2 = second.post("/settings", data={**b, "toml": theirs})
        assert r2.status_code == 409
        assert "changed by someone else" in r2.text
        assert "Line Bee" in r2.text  # their edit is still in the editor …
        assert "-name = &#34;First edit&#34;" in r2.text  # the diff shows what was saved meanwhile
        assert (clock_home / "plant.toml").read_text() == mine  # … and the first edit stands
        # With the new version from the conflict page, the merge can be saved.
        c = form_fields(r2.text)
        merged = mine.replace('name = "Line B"', 'name = "Line Bee"')
        r3 = second.post("/settings", data={**c, "toml": merged}, follow_redirects=False)
        assert r3.status_code == 303
        assert load_plant(clock_home / "plant.toml").lines[1].name == "Line Bee"


def test_many_writers_with_the_same_base_version_exactly_one_wins(clock_home: Path) -> None:
    app = create_app(clock_home)
    with TestClient(app) as client:
        csrf = api_login(client, "boss")
        got = client.get("/api/plant").json()
        codes: list[int] = []

        def save(i: int) -> None:
            text = got["toml"].replace('name = "Round the clock"', f'name = "Edit {i}"')
            r = client.put(
                "/api/plant",
                json={"toml": text, "version": got["version"]},
                headers={"X-CSRF-Token": csrf},
            )
            codes.append(r.status_code)

        threads = [threading.Thread(target=save, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(codes) == [200] + [409] * 7
        assert len(list((clock_home / "plant-history").glob("*.toml"))) == 1


def test_an_invalid_model_is_refused_with_the_field_named_and_nothing_written(
    clock_home: Path,
) -> None:
    before = (clock_home / "plant.toml").read_text()
    with TestClient(create_app(clock_home)) as client:
        csrf = api_login(client, "boss")
        version = client.get("/api/plant").json()["version"]
        headers = {"X-CSRF-Token": csrf}
        bad_field = before.replace("ideal_cycle_s = 2.0", "ideal_cycle_s = -1", 1)
        r = client.put("/api/plant", json={"toml": bad_field, "version": version}, headers=headers)
        assert r.status_code == 422
        assert "lines[0].machines[0].ideal_cycle_s" in r.json()["detail"]
        bad_toml = before + "\n[site\n"
        r = client.put("/api/plant", json={"toml": bad_toml, "version": version}, headers=headers)
        assert r.status_code == 422 and "line" in r.json()["detail"]
        unknown_calendar = before.replace('calendar = "always"', 'calendar = "never"', 1)
        page = client.post(
            "/settings",
            data={**form_fields(client.get("/settings").text), "toml": unknown_calendar},
        )
        assert page.status_code == 422 and "never" in page.text
        r = client.put("/api/plant", json={"toml": before}, headers=headers)
        assert r.status_code == 428
    assert (clock_home / "plant.toml").read_text() == before
    assert not (clock_home / "plant-history").exists()


def test_names_with_html_are_escaped_on_the_settings_page(clock_home: Path) -> None:
    with TestClient(create_app(clock_home)) as client:
        api_login(client, "boss")
        html = client.get("/settings").text
        assert "Press <b>one</b>" not in html
        assert "Press &lt;b&gt;one&lt;/b&gt;" in html


def test_managers_and_operators_cannot_open_the_settings(clock_home: Path) -> None:
    app = create_app(clock_home)
    for who in ("mia", "olga"):
        with TestClient(app) as client:
            csrf = api_login(client, who)
            assert client.get("/settings", follow_redirects=False).status_code == 403
            assert client.get("/api/plant").status_code == 403
            r = client.put(
                "/api/plant", json={"toml": "", "version": "x"}, headers={"X-CSRF-Token": csrf}
            )
            assert r.status_code == 403
