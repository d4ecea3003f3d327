"""Process maps in the web app: upload a real log, the same figures as `pilotline map`, sliders."""

from __future__ import annotations

import gzip
import json
import re
import shutil
import warnings
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient

from pilotline.map import LogColumns, Miner, read_log, simplify
from pilotline.map.render import human_duration
from pilotline.store import EmbeddedStore, audit
from pilotline.web import create_app
from tests.conftest import write
from tests.web.conftest import api_login, chromium, log_in, serving
from tests.web.test_operate import _axe

DATA = Path(__file__).parents[3] / "shared" / "data"
PRODUCTION = {
    "case": "Case ID",
    "activity": "Activity",
    "timestamp": "Complete Timestamp",
    "timestamp_format": "%Y/%m/%d %H:%M:%S.%f",
}


@pytest.fixture(scope="module")
def mia(home: Path) -> Iterator[tuple[TestClient, str]]:
    """A manager's client on the shared demo plant; the logs uploaded here are removed after."""
    with TestClient(create_app(home)) as client:
        csrf = api_login(client, "mia")
        before = {m["id"] for m in client.get("/api/logs").json()}
        yield client, csrf
        for m in client.get("/api/logs").json():
            if m["id"] not in before:
                shutil.rmtree(home / "logs" / m["id"])


@pytest.fixture(scope="module")
def receipt(mia: tuple[TestClient, str]) -> str:
    """receipt.xes.gz (1,434 cases, 27 activities) uploaded: its id."""
    client, csrf = mia
    r = upload(client, csrf, DATA / "receipt.xes.gz")
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


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
        full = client.get(f"/api/logs/{log_id}/map.svg", params={"activities": 100, "paths": 100})
        assert full.headers["content-type"].startswith("image/svg+xml")
        assert full.text.count('class="node"') == expected["activities"] + 2  # + start and end
        few = client.get(f"/api/logs/{log_id}/map.svg", params={"activities": 20, "paths": 10})
        assert 2 < few.text.count('class="node"') < full.text.count('class="node"')
        assert few.text.count('class="edge"') < full.text.count('class="edge"')
        timed = client.get(f"/api/logs/{log_id}/map.svg", params={"metric": "time"}).text
        assert re.search(r">\d+\.\d (d|h|min)<", timed)
        assert "paths: the median time between the steps" in timed
        assert client.get(f"/api/logs/{log_id}/map.svg", params={"paths": 0}).status_code == 422
        assert [m["id"] for m in client.get("/api/logs").json()] == [log_id]
        assert (
            client.delete(f"/api/logs/{log_id}", headers={"X-CSRF-Token": csrf}).status_code == 204
        )
        assert client.get(f"/maps/{log_id}").status_code == 404
        assert client.get(f"/api/logs/{log_id}/map.svg").status_code == 404  # not from the cache
        entry = audit.trail(EmbeddedStore(clock_home), limit=1)[0]
        assert (entry["username"], entry["action"]) == ("mia", "delete event log")
        assert entry["detail"]["log"] == "production_levy2014.csv"


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


def test_no_activity_floats_whatever_the_sliders() -> None:
    """A node with only a loop onto itself, or a pair reached only from each other, is joined to
    the start and the end by its busiest paths; one that no path joins is left out with a note."""
    dfg = [
        {"source": "a", "target": "b", "count": 90},
        {"source": "b", "target": "b", "count": 80},  # b: only a loop besides its way in
        {"source": "b", "target": "c", "count": 5},
        {"source": "c", "target": "d", "count": 4},
        {"source": "d", "target": "c", "count": 40},  # c ⇄ d: busy between themselves
        {"source": "a", "target": "d", "count": 2},
    ]
    paths = simplify.steps(dfg, {"a": 100}, {"c": 60, "b": 40})
    kept, notes = simplify.keep_paths(paths, 0.3, ["a", "b", "c", "d"])
    pairs = {(r["source"], r["target"]) for r in kept}
    assert notes == []
    assert (None, "a") in pairs and ("a", "b") in pairs
    assert ("b", "c") in pairs  # the only way on from b, however rare
    assert ("c", None) in pairs  # c ends cases; d reaches the end through c
    assert _connected(pairs, {"a", "b", "c", "d"})
    assert len(simplify.keep_paths(paths, 1.0, ["a", "b", "c", "d"])[0]) == len(paths)
    alone, notes = simplify.keep_paths(paths, 1.0, ["a", "b", "c", "d", "e"])
    assert notes == ["e is left out: no path leads to it from the start"]
    assert all("e" not in (r["source"], r["target"]) for r in alone)


def _connected(pairs: set[tuple[str | None, str | None]], nodes: set[str]) -> bool:
    """Every node reached from the start (None as source) and reaching the end (None)."""
    for a, b in ((0, 1), (1, 0)):
        seen: set[str | None] = {None}
        grew = True
        while grew:
            more = {p[b] for p in pairs if p[a] in seen} - seen
            grew = bool(more)
            seen |= more
        if not nodes <= seen:
            return False
    return True


def _drawn(svg: str) -> tuple[set[str], set[tuple[str | None, str | None]]]:
    """The activities and paths of a drawn map, from their element ids."""
    nodes = {unquote(i) for i in re.findall(r'<g id="a:([^":]+)" class="node"', svg)}
    pairs = {
        (unquote(a) or None, unquote(b) or None)
        for a, b in re.findall(r'<g id="e:([^":]*):([^":]*)" class="edge"', svg)
    }
    return nodes, pairs


def test_the_default_map_is_a_readable_few_activities_all_joined(
    mia: tuple[TestClient, str], receipt: str
) -> None:
    """Disco's first map, not spaghetti: at most 12 activities covering most events, at most two
    paths per activity, every one joined to the start and the end; medians by default."""
    client, _ = mia
    log_id = receipt
    m = client.get(f"/api/logs/{log_id}/map").json()
    nodes, pairs = _drawn(m["svg"])
    assert 3 <= len(nodes) == m["activities_shown"] <= simplify.MAX_ACTIVITIES
    assert len(pairs) == m["paths_shown"] <= 2 * len(nodes)
    assert _connected(pairs, nodes) and m["notes"] == []
    assert m["activities"] == 21 and len(nodes) == 6  # of 27: 80 % of the events
    assert m["statistic"] == "median"
    page = client.get(f"/maps/{log_id}").text
    assert f'id="activities" min="1" max="100" value="{m["activities"]}"' in page
    assert f'id="paths" min="1" max="100" value="{m["paths"]}"' in page
    assert "(median)" in page
    # the whole log, as the sliders' right ends give it
    everything = client.get(
        f"/api/logs/{log_id}/map", params={"activities": 100, "paths": 100}
    ).json()
    assert everything["activities_shown"] == 27 and everything["paths_shown"] > 100


def test_a_log_of_thousands_of_activities_draws_at_most_a_hundred(
    mia: tuple[TestClient, str], tmp_path: Path
) -> None:
    """Review R15: 10^5 activities gave a default map of 1,000 (2 MB of SVG, 107,000 pt wide)
    and 10 % of them a minute of Graphviz per request before a 422."""
    client, csrf = mia
    rows = "".join(
        f"{i},act{i},2026-01-01T00:00:00Z\n{i},end,2026-01-01T01:00:00Z\n" for i in range(5000)
    )
    path = write(tmp_path / "wide-log.csv", "case,activity,ts\n" + rows)
    r = upload(client, csrf, path, case="case", activity="activity", timestamp="ts")
    assert r.status_code == 201, r.text
    log_id = r.json()["id"]
    m = client.get(f"/api/logs/{log_id}/map").json()
    assert m["activities"] == 1 and m["activities_shown"] == 50  # the slider's least: 1 %
    m = client.get(f"/api/logs/{log_id}/map", params={"activities": 100, "paths": 100}).json()
    assert m["activities_shown"] == simplify.MAX_DRAWN
    assert "Only the 100 most frequent of the 5,001 activities" in m["notes"][0]
    assert client.get(f"/api/logs/{log_id}/cases", params={"activity": "end"}).status_code == 200


def test_map_pages_run_no_inline_script(mia: tuple[TestClient, str], receipt: str) -> None:
    """Review R15: the map's SVG is inline, its names come from any ERP; the CSP allowed inline
    script on every page, so an escaping slip would have run."""
    client, _ = mia
    for path in (f"/maps/{receipt}", f"/api/logs/{receipt}/map.svg", "/maps", "/data", "/start"):
        csp = client.get(path).headers["content-security-policy"]
        assert "script-src 'self';" in csp and "unsafe-inline' ; " not in csp, path


def test_times_are_medians_unless_another_statistic_is_chosen(
    mia: tuple[TestClient, str],
) -> None:
    client, csrf = mia
    log_id = upload(client, csrf, DATA / "running-example.xes").json()["id"]
    dfg = Miner(read_log(DATA / "running-example.xes")).summary()["dfg"]
    step = next(r for r in dfg if (r["source"], r["target"]) == ("decide", "reject request"))
    assert step["median_s"] != step["mean_s"]
    for stat, seconds in (("median", step["median_s"]), ("mean", step["mean_s"])):
        q = {"activities": 100, "paths": 100, "metric": "time", "statistic": stat}
        svg = client.get(f"/api/logs/{log_id}/map.svg", params=q).text
        edge = svg.split('id="e:decide:reject%20request"')[1].split("</g>\n</g>")[0]
        assert f">{human_duration(seconds)}<" in edge
        assert f"paths: the {stat} time between the steps" in svg
    page = client.get(f"/maps/{log_id}", params={"statistic": "mean"}).text
    assert "Case duration (mean)" in page and "(mean)." in page
    bad = client.get(f"/maps/{log_id}", params={"statistic": "mode"})
    assert bad.status_code == 422


def _pm4py_cases() -> dict[str, list[str]]:
    """Each case's activities in order, as pm4py reads receipt.xes.gz (ties in file order)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pm4py

        df = pm4py.read_xes(str(DATA / "receipt.xes.gz"), show_progress_bar=False)
    df = df.reset_index(drop=True)
    df["_row"] = range(len(df))
    df = df.sort_values(["case:concept:name", "time:timestamp", "_row"], kind="stable")
    traces: dict[str, list[str]] = {}
    for case, act in zip(df["case:concept:name"], df["concept:name"], strict=True):
        traces.setdefault(str(case), []).append(str(act))
    return traces


def test_an_activity_and_a_path_give_their_cases_as_pm4py_counts_them(
    mia: tuple[TestClient, str], receipt: str
) -> None:
    client, _ = mia
    log_id = receipt
    traces = _pm4py_cases()
    activity = "T06 Determine necessity of stop advice"
    source, target = "T02 Check confirmation of receipt", "T04 Determine confirmation of receipt"
    with_activity = sorted(c for c, t in traces.items() if activity in t)
    with_step = sorted(
        c for c, t in traces.items() if any(p == (source, target) for p in pairwise(t))
    )
    starting = sorted(c for c, t in traces.items() if t[0] == "Confirmation of receipt")
    url = f"/api/logs/{log_id}/cases"
    a = client.get(url, params={"activities": 100, "activity": activity}).json()
    assert a["cases"] == len(with_activity) and a["share"] == len(with_activity) / 1434
    assert a["times"] == sum(t.count(activity) for t in traces.values())
    assert a["case_ids"] == with_activity[:100]
    assert a["variant_count"] == len({tuple(traces[c]) for c in with_activity})
    assert sum(v["cases"] for v in a["variants"]) <= a["cases"]
    top = max(
        {tuple(traces[c]) for c in with_activity},
        key=[tuple(traces[c]) for c in with_activity].count,
    )
    assert tuple(a["variants"][0]["activities"]) == top
    csv_rows = client.get(a["csv"]).text.splitlines()
    assert [r.split(",")[0] for r in csv_rows[1:]] == with_activity
    p = client.get(url, params={"activities": 100, "source": source, "target": target}).json()
    assert p["cases"] == len(with_step) and p["case_ids"] == with_step[:100]
    assert p["times"] == sum(
        1 for t in traces.values() for pair in pairwise(t) if pair == (source, target)
    )
    s = client.get(url, params={"activities": 100, "target": "Confirmation of receipt"})
    assert s.json()["cases"] == len(starting)
    gone = client.get(url, params={"activities": 100, "activity": "no such step"})
    assert gone.status_code == 404 and "no activity 'no such step'" in gone.json()["detail"]
    assert client.get(url).status_code == 422


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
        # 1 of 6 follow it: red, not green, and the five others listed with what went wrong
        assert r.json()["fitting_cases"] == 1 and r.json()["verdict"] == "bad"
        failing = {c["case"]: c for c in r.json()["failing"]}
        assert (
            sorted(failing)
            == ["1", "2", "3", "4", "5"]
            == sorted(c["case"] for c in expected["per_case"] if c["deviations"])
        )
        assert all(len(c["problems"]) == c["deviations"] for c in failing.values())
        # case 2: register request, check ticket, examine casually, decide, reject request
        assert {p["what"] for p in failing["2"]["problems"]} == {"wrong order"}
        assert {p["what"] for p in failing["1"]["problems"]} == {"extra"}
        assert "examine thoroughly: a step the routing does not have" in str(failing["1"])
        page = client.get(f"/maps/{log_id}").text
        assert 'class="verdict verdict-bad"' in page and "Does not follow the model" in page
        assert "1 of 6 cases (16.7 %) follow route.toml" in page
        table = page.split('id="failing"')[1].split("</table>")[0]
        assert table.count("<tr>") == 1 + 5 and "wrong order" in table
        rows = client.get(f"/api/logs/{log_id}/conformance.csv").text.splitlines()
        assert rows[0] == "case,fitness,what went wrong,detail"
        assert len(rows) == 1 + sum(c["deviations"] for c in failing.values())
        assert {r.split(",")[0] for r in rows[1:]} == set(failing)
        # a model every case follows is green
        dfg = Miner(log).summary()
        follow = tmp_path / "all.toml"
        follow.write_text(
            f"start = {json.dumps(sorted(dfg['start_activities']))}\n"
            f"end = {json.dumps(sorted(dfg['end_activities']))}\n[transitions]\n"
            + "".join(
                f"{json.dumps(a)} = {json.dumps(sorted({r['target'] for r in dfg['dfg'] if r['source'] == a}))}\n"
                for a in sorted({r["source"] for r in dfg["dfg"]})
            )
        )
        ok = client.post(
            url, params={"filename": "all.toml"}, content=follow.read_bytes(), headers=h
        )
        assert ok.json()["verdict"] == "good" and ok.json()["failing"] == []
        assert 'class="verdict verdict-good"' in client.get(f"/maps/{log_id}").text
        r = client.post(
            url,
            params={"filename": "route.pnml"},
            content=(tmp_path / "route.pnml").read_bytes(),
            headers=h,
        )
        assert r.status_code == 200, r.text
        assert r.json()["log_fitness"] == Miner(log).replay(net)["log_fitness"]
        replayed = {c["case"]: c for c in Miner(log).replay(net)["per_case"]}
        assert {c["case"] for c in r.json()["failing"]} == {
            k for k, c in replayed.items() if c["fitness"] < 1
        }
        for c in r.json()["failing"]:  # each missing token is named: a missing step or the order
            named = [p for p in c["problems"] if p["what"] in ("missing", "wrong order")]
            assert len(named) == replayed[c["case"]]["missing"], c
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


def test_a_manager_zooms_into_the_map_and_clicks_an_activity_for_its_cases(
    clock_home: Path, tmp_path: Path
) -> None:
    """In Chromium: the map is drawn readable (every label at least 12 px), zooms with the
    buttons and the wheel, pans by dragging; a click on an activity lists its cases; the log is
    deleted from its page after a confirmation."""
    with serving(clock_home) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(base + "/maps")
        log_in(page, "mia")
        page.wait_for_selector("#no-logs >> text=Upload an event log above")
        assert _axe(page) == []
        page.set_input_files("#log-file", str(DATA / "running-example.xes"))
        page.click("#log-form button")
        page.wait_for_url(base + "/maps/*", timeout=30_000)
        page.wait_for_selector("#map-view[data-ready='1'] svg g.node")
        smallest = page.evaluate(
            "Math.min(...Array.from(document.querySelectorAll('#map-view svg text'))"
            ".map(t => parseFloat(t.getAttribute('font-size')) * t.getScreenCTM().a))"
        )
        assert smallest >= 12, smallest
        scale = lambda: float(page.get_attribute("#map-view", "data-scale") or 0)  # noqa: E731
        before = scale()
        page.click("#zoom-in")
        assert scale() == pytest.approx(before * 1.25)
        page.locator("#map-view").scroll_into_view_if_needed()  # 48 px header links push it
        box = page.locator("#map-view").bounding_box()
        assert box is not None
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.wheel(0, -400)
        page.wait_for_timeout(100)
        assert scale() > before * 1.25
        view_box = page.get_attribute("#map-view svg", "viewBox")
        page.mouse.down()
        page.mouse.move(
            box["x"] + box["width"] / 2 + 120, box["y"] + box["height"] / 2 + 60, steps=5
        )
        page.mouse.up()
        assert page.get_attribute("#map-view svg", "viewBox") != view_box
        # two fingers moving apart zoom in (the events a touch screen sends)
        before = scale()
        page.evaluate(
            """() => {
            const v = document.getElementById('map-view'), r = v.getBoundingClientRect();
            const at = (id, type, x) => v.dispatchEvent(new PointerEvent(type, {pointerId: id,
                bubbles: true, clientX: r.left + x, clientY: r.top + 200, pointerType: 'touch'}));
            at(11, 'pointerdown', 300); at(12, 'pointerdown', 400);
            at(12, 'pointermove', 500); at(11, 'pointerup', 300); at(12, 'pointerup', 500);
        }"""
        )
        assert scale() == pytest.approx(before * 2)
        page.click("#zoom-fit")
        page.click("[id='a:decide']")
        page.wait_for_selector("#detail-facts")
        assert page.inner_text("#detail-title") == "decide"
        assert "6 cases (100.0 % of all)" in page.inner_text("#detail-facts")
        assert "median case duration" in page.inner_text("#detail-facts")
        assert page.inner_text("#detail-cases") == "1, 2, 3, 4, 5, 6"
        assert page.locator("#detail-body a[download]").count() == 1
        assert _axe(page) == []
        page.screenshot(path=str(tmp_path / "process-map.png"), full_page=True)
        page.click("text=Delete running-example.xes…")
        page.click("#delete-confirm")
        page.wait_for_selector("#deleted >> text=running-example.xes was deleted")
        assert page.locator("#no-logs").count() == 1
        page.close()
