"""Process maps in the web app: upload a real log, the same figures as `pilotline map`, sliders."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pilotline.map import LogColumns, Miner, read_log
from pilotline.web import create_app
from pilotline.web.maps import paths_kept
from tests.web.conftest import api_login

DATA = Path(__file__).parents[3] / "shared" / "data"
PRODUCTION = {
    "case": "Case ID",
    "activity": "Activity",
    "timestamp": "Complete Timestamp",
    "timestamp_format": "%Y/%m/%d %H:%M:%S.%f",
}


def upload(client: TestClient, csrf: str, path: Path, **columns: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/logs",
        params={"filename": path.name, **columns},
        content=path.read_bytes(),
        headers={"X-CSRF-Token": csrf, "Content-Type": "application/octet-stream"},
    )


def test_an_erp_export_becomes_a_map_with_the_cli_figures(clock_home: Path) -> None:
    with TestClient(create_app(clock_home)) as client:
        csrf = api_login(client, "mia")
        r = upload(client, csrf, DATA / "production_levy2014.csv", **PRODUCTION)
        assert r.status_code == 201, r.text
        log_id = r.json()["id"]
        expected = Miner(
            read_log(
                DATA / "production_levy2014.csv",
                LogColumns(
                    "Case ID",
                    "Activity",
                    "Complete Timestamp",
                    timestamp_format=PRODUCTION["timestamp_format"],
                ),
            )
        ).summary()
        got = client.get(f"/api/logs/{log_id}/summary").json()
        assert got["summary"] == expected
        assert r.json()["cases"] == expected["cases"] == 225
        assert {a["verdict"] for a in got["automation"]} <= {
            "candidate for automation",
            "stabilise the process first",
        }
        page = client.get(f"/maps/{log_id}")
        assert page.status_code == 200 and "Ready to automate?" in page.text
        assert f"{expected['events']:,} events" in page.text
        full = client.get(f"/api/logs/{log_id}/map.svg")
        assert full.headers["content-type"].startswith("image/svg+xml")
        assert full.text.count('class="node"') == expected["activities"] + 2  # + start and end
        few = client.get(f"/api/logs/{log_id}/map.svg", params={"activities": 20, "paths": 10})
        assert 2 < few.text.count('class="node"') < full.text.count('class="node"')
        assert few.text.count('class="edge"') < full.text.count('class="edge"')
        timed = client.get(f"/api/logs/{log_id}/map.svg", params={"metric": "time"}).text
        assert re.search(r">\d+\.\d (d|h|min)<", timed)
        assert client.get(f"/api/logs/{log_id}/map.svg", params={"paths": 0}).status_code == 422
        assert [m["id"] for m in client.get("/api/logs").json()] == [log_id]
        assert (
            client.delete(f"/api/logs/{log_id}", headers={"X-CSRF-Token": csrf}).status_code == 204
        )
        assert client.get(f"/maps/{log_id}").status_code == 404
        assert client.get(f"/api/logs/{log_id}/map.svg").status_code == 404  # not from the cache


def test_xes_needs_no_columns_and_a_bad_log_keeps_nothing(clock_home: Path, tmp_path: Path) -> None:
    with TestClient(create_app(clock_home)) as client:
        csrf = api_login(client, "mia")
        r = upload(client, csrf, DATA / "running-example.xes")
        assert r.status_code == 201 and r.json()["cases"] == 6
        bad = tmp_path / "orders.csv"
        bad.write_text("order,step,when\n1,receive,2026-01-05T08:00:00Z\n")
        r = upload(client, csrf, bad)  # the default column names are not in this file
        assert r.status_code == 422
        assert "no case column 'case'" in r.text
        assert len(client.get("/api/logs").json()) == 1
        assert len(list((clock_home / "logs").iterdir())) == 1
        r = upload(client, csrf, bad, case="order", activity="step", timestamp="when")
        assert r.status_code == 201


def test_operators_cannot_see_process_maps(clock_home: Path) -> None:
    with TestClient(create_app(clock_home)) as client:
        api_login(client, "olga")
        assert client.get("/maps", follow_redirects=False).status_code == 403
        assert client.get("/api/logs").status_code == 403


def test_the_paths_slider_keeps_every_activity_connected() -> None:
    dfg = [
        {"source": "a", "target": "b", "count": 90},
        {"source": "b", "target": "c", "count": 80},
        {"source": "c", "target": "d", "count": 5},
        {"source": "a", "target": "d", "count": 2},
    ]
    kept = {(r["source"], r["target"]) for r in paths_kept(dfg, 0.5)}
    # the busiest path covers half; c → d is d's busiest way in and c's way out
    assert kept == {("a", "b"), ("b", "c"), ("c", "d")}
    assert len(paths_kept(dfg, 1.0)) == 4


def test_a_log_is_checked_against_a_routing_or_a_petri_net(
    clock_home: Path, tmp_path: Path
) -> None:
    from pilotline.map.conformance import load_routing
    from pilotline.map.petri import StateMachine, write_pnml

    routing = tmp_path / "route.toml"
    routing.write_text(
        'start = ["register request"]\nend = ["pay compensation", "reject request"]\n'
        '[transitions]\n"register request" = ["examine casually", "check ticket"]\n'
        '"examine casually" = ["check ticket"]\n"check ticket" = ["decide"]\n'
        '"decide" = ["pay compensation", "reject request"]\n'
    )
    net = StateMachine(
        {
            "register request": ("start", "registered"),
            "examine casually": ("registered", "examined"),
            "check ticket": ("examined", "checked"),
            "decide": ("checked", "decided"),
            "pay compensation": ("decided", "end"),
            "reject request": ("decided", "end"),
        },
        "start",
        "end",
    )
    write_pnml(net, tmp_path / "route.pnml")
    log = read_log(DATA / "running-example.xes")
    with TestClient(create_app(clock_home)) as client:
        csrf = api_login(client, "mia")
        log_id = upload(client, csrf, DATA / "running-example.xes").json()["id"]
        h = {"X-CSRF-Token": csrf, "Content-Type": "application/octet-stream"}
        url = f"/api/logs/{log_id}/conform"
        r = client.post(
            url, params={"filename": "route.toml"}, content=routing.read_bytes(), headers=h
        )
        assert r.status_code == 200, r.text
        expected = Miner(log).conform(load_routing(routing))
        assert (r.json()["cases"], r.json()["fitting_cases"]) == (6, expected["fitting_cases"])
        assert r.json()["by_kind"] == expected["by_kind"] and r.json()["kind"] == "routing"
        r = client.post(
            url,
            params={"filename": "route.pnml"},
            content=(tmp_path / "route.pnml").read_bytes(),
            headers=h,
        )
        assert r.status_code == 200, r.text
        assert r.json()["log_fitness"] == Miner(log).replay(net)["log_fitness"]
        assert len(r.json()["worst_cases"]) == 6
        bad = client.post(url, params={"filename": "route.toml"}, content=b"start = [", headers=h)
        assert bad.status_code == 422 and "not valid TOML" in bad.json()["detail"]
        assert str(clock_home) not in bad.text
        other = client.post(url, params={"filename": "route.bpmn"}, content=b"<x/>", headers=h)
        assert other.status_code == 415


def test_no_uploaded_name_reaches_the_log_folders_own_files(
    clock_home: Path, tmp_path: Path
) -> None:
    """An OCEL log called meta.json once overwrote the folder's metadata: uploads now sit in a
    folder of their own, and a name with folders in it keeps only its last part."""
    ocel = Path(__file__).parents[1] / "map" / "data" / "orders-ocel2.json"
    with TestClient(create_app(clock_home)) as client:
        csrf = api_login(client, "mia")
        named = tmp_path / "meta.json"
        named.write_bytes(ocel.read_bytes())
        r = upload(client, csrf, named, object_type="order")
        assert r.status_code == 201, r.text
        log_id = r.json()["id"]
        folder = clock_home / "logs" / log_id
        assert json.loads((folder / "meta.json").read_text())["name"] == "meta.json"
        assert (folder / "log" / "meta.json").read_bytes() == ocel.read_bytes()
        assert client.get(f"/api/logs/{log_id}/summary").status_code == 200
        r = client.post(
            "/api/logs",
            params={"filename": "../../meta.json", "object_type": "order"},
            content=ocel.read_bytes(),
            headers={"X-CSRF-Token": csrf, "Content-Type": "application/octet-stream"},
        )
        assert r.status_code == 201 and r.json()["name"] == "meta.json"
        assert sorted(p.name for p in (clock_home / "logs").iterdir()) == sorted(
            [log_id, r.json()["id"]]
        )


def test_an_upload_is_bounded_in_unpacked_size_and_time(
    clock_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pilotline.web import maps

    xml = (DATA / "running-example.xes").read_bytes()
    bomb = tmp_path / "bomb.xes.gz"
    bomb.write_bytes(gzip.compress(xml + b"<!--" + b" " * 3_000_000 + b"-->"))
    with TestClient(create_app(clock_home, max_upload_mb=0.1)) as client:
        csrf = api_login(client, "mia")
        assert bomb.stat().st_size < 100_000
        r = upload(client, csrf, bomb)
        assert r.status_code == 422 and "unpacks to more than 1 MB of XML" in r.text, r.text
        assert str(clock_home) not in r.text
        monkeypatch.setattr(maps, "UPLOAD_TIME_LIMIT_S", 0.0)
        r = upload(client, csrf, DATA / "running-example.xes")
        assert r.status_code == 422 and "took longer than 0 s" in r.text, r.text
        assert not list((clock_home / "logs").iterdir())
