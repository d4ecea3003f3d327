"""Uploads as an import wizard (issue 15 §7): the form's column mapping suggested from the file
and remembered per source, one-click timestamp formats, every problem in one pass, unknown
machines and reason codes reported (and added to the plant model by an admin), and no CLI flag
in any message the browser shows."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from pilotline.ingest.mapping import Sample, normalise, suggest
from pilotline.plant import load_plant
from pilotline.store import EmbeddedStore
from pilotline.web import create_app
from tests.web.conftest import api_login

#: A German export: ';' separated, day.month.year times to the minute, German words, a
#: byte-order mark, a column Pilotline does not need, a reason code the plant does not know.
GERMAN = (
    "\ufeffMaschine;Zeitstempel;Zustand;Grund;Bemerkung\n"
    "m1;02.03.2026 06:00;läuft;;\n"
    "m1;02.03.2026 07:12;Stillstand;Werkzeugwechsel;Schicht A\n"
    "m1;02.03.2026 07:12;Stillstand;Werkzeugwechsel;Schicht A\n"
    "m1;02.03.2026 07:40;läuft;;\n"
    "m2;02.03.2026 06:00;läuft;;\n"
    "m2;02.03.2026 06:30;Störung;jam;\n"
    "m2;02.03.2026 06:30;läuft;;\n"
)
GERMAN_MAPPING = {
    "Maschine": "machine",
    "Zeitstempel": "ts",
    "Zustand": "state",
    "Grund": "reason",
    "Bemerkung": "",
}
FLAG = re.compile(r"--[a-z]")


def post(client: TestClient, csrf: str, url: str, body: bytes, **q: Any) -> Any:
    return client.post(
        url,
        params=q,
        content=body,
        headers={"X-CSRF-Token": csrf, "Content-Type": "application/octet-stream"},
    )


def no_flags(*responses: Any) -> None:
    """Nothing the browser is shown names a command-line flag."""
    for r in responses:
        text = json.dumps(r, ensure_ascii=False) if isinstance(r, dict) else r.text
        assert not FLAG.search(text), text


def test_a_german_export_is_mapped_imported_and_remembered(clock_home: Path) -> None:
    body = GERMAN.encode("utf-8")
    with TestClient(create_app(clock_home)) as client:
        csrf = api_login(client, "mia")
        look = post(client, csrf, "/api/imports/preview", body, filename="Export_2026-03-02.csv")
        assert look.status_code == 200, look.text
        got = look.json()
        assert got["kind"] == "states" and got["separator"] == ";" and got["encoding"] == "utf-8"
        assert {s["header"]: s["column"] for s in got["suggestions"]["states"]} == {
            "Maschine": "machine",
            "Zeitstempel": "ts",
            "Zustand": "state",
            "Grund": "reason",
            "Bemerkung": None,
        }
        assert got["timestamp_formats"] == {"Zeitstempel": ["%d.%m.%Y %H:%M"]}
        assert got["timestamp_examples"] == {
            "Zeitstempel": {"%d.%m.%Y %H:%M": "02 March 2026, 06:00"}
        }
        assert got["unknown_reasons"] == ["Werkzeugwechsel"] and got["unknown_machines"] == []
        assert got["can_add"] is False and got["remembered"] is None
        # Without the format: one problem for the column, with the format to use.
        first = post(
            client,
            csrf,
            "/api/imports",
            body,
            filename="Export_2026-03-02.csv",
            kind="states",
            mapping=json.dumps(GERMAN_MAPPING),
        )
        assert first.status_code == 422
        hint = first.json()["problems"][0]
        assert hint["row"] is None and "read as '%d.%m.%Y %H:%M'" in hint["message"]
        assert "Use this format" in hint["message"]
        # The detected format, one click: every row reads.
        done = post(
            client,
            csrf,
            "/api/imports",
            body,
            filename="Export_2026-03-02.csv",
            kind="states",
            mapping=json.dumps(GERMAN_MAPPING),
            timestamp_format="%d.%m.%Y %H:%M",
        )
        assert done.status_code == 201, done.text
        result = done.json()
        assert (result["rows"], result["new_rows"]) == (5, 5)
        assert result["unknown_reasons"] == {"Werkzeugwechsel": 1}
        notes = " ".join(result["notes"])
        assert "repeat the row before exactly" in notes and "later state of each minute" in notes
        assert "Werkzeugwechsel" in notes and "plant model" in notes
        no_flags(look, first, done, client.get("/data"), client.get("/static/data.js"))
        remembered_next_time(client, csrf)
    with EmbeddedStore(clock_home).session() as s:
        stored = s.arrow(
            "SELECT machine, strftime(start_ts, '%H:%M') AS t, state, reason FROM states "
            "WHERE import_id = (SELECT min(id) FROM imports WHERE file LIKE 'Export%') "
            "ORDER BY machine, start_ts"
        ).to_pylist()
        audit = s.scalar("SELECT count(*) FROM audit_log WHERE action = 'import'")
    # The round-the-clock plant's zone is UTC: its local times are UTC.
    assert [(r["machine"], r["t"], r["state"], r["reason"]) for r in stored] == [
        ("m1", "06:00", "running", None),
        ("m1", "07:12", "stopped", "Werkzeugwechsel"),
        ("m1", "07:40", "running", None),
        ("m2", "06:00", "running", None),
        ("m2", "06:30", "running", None),
    ]
    assert audit >= 1


def remembered_next_time(client: TestClient, csrf: str) -> None:
    """The choices of an import come back for the next file of the same source."""
    body = GERMAN.replace("02.03.2026", "01.03.2026").encode("utf-8")  # the day before
    later = GERMAN.replace("02.03.2026", "03.03.2026").replace("Bemerkung", "Notiz")
    kept = post(
        client,
        csrf,
        "/api/imports",
        body,
        filename="Export_2026-03-02.csv",
        kind="states",
        mapping=json.dumps(GERMAN_MAPPING | {"Grund": ""}),
        timestamp_format="%d.%m.%Y %H:%M",
    )
    assert kept.status_code == 201, kept.text
    # The same headers again: recognised by them, with every choice made last time.
    same = post(client, csrf, "/api/imports/preview", body, filename="anything.csv").json()
    assert same["remembered"]["by"] == "headers"
    assert same["remembered"]["saved_by"] == "mia"
    assert same["remembered"]["options"] == {"timestamp_format": "%d.%m.%Y %H:%M"}
    chosen = {s["header"]: (s["column"], s["why"]) for s in same["suggestions"]["states"]}
    assert chosen["Grund"] == (None, "remembered")  # left out last time, so again
    assert chosen["Maschine"] == ("machine", "remembered")
    # Another header, same file-name pattern: recognised by the name.
    other = post(
        client,
        csrf,
        "/api/imports/preview",
        later.encode(),
        filename="Export_2026-03-03.csv",
    ).json()
    assert other["remembered"]["by"] == "file name"
    assert other["kind"] == "states"


def test_every_problem_in_one_pass_and_an_admin_adds_what_is_missing(clock_home: Path) -> None:
    """Before: an unmapped column stopped the check, and the unknown machine and the bad rows
    showed only on the next try."""
    body = (
        "Anlage,Zeit,Status,Farbe\n"
        "m1,2026-03-02T06:00:00Z,running,rot\n"
        "m7,2026-03-02T06:10:00Z,running,blau\n"
        "m1,2026-03-02T06:20:00Z,vielleicht,grün\n"
        "m1,gestern,stopped,gelb\n"
    ).encode()
    with TestClient(create_app(clock_home)) as client:
        csrf = api_login(client, "boss")
        r = post(
            client,
            csrf,
            "/api/imports",
            body,
            filename="mixed.csv",
            kind="states",
            mapping=json.dumps({"Anlage": "machine", "Zeit": "ts", "Status": "state"}),
        )
        assert r.status_code == 422
        got = r.json()
        where = {(p["row"], p["column"]) for p in got["problems"]}
        assert {(1, "Farbe"), (3, "machine"), (4, "state"), (5, "ts")} <= where
        assert got["unknown_machines"] == {"m7": 1}
        message = next(p["message"] for p in got["problems"] if p["column"] == "Farbe")
        assert "Ignore extra columns" in message
        unknown = next(p["message"] for p in got["problems"] if p["column"] == "machine")
        assert "unknown machine 'm7'" in unknown and "add it to the plant model" in unknown
        # The form phrases every hint for itself; the command line keeps its flags.
        lost = post(client, csrf, "/api/imports", b"Maschine;Wann\nm1;x\n", filename="x.csv")
        assert lost.status_code == 422 and "What it holds" in lost.text
        no_flags(r, lost)
    admin_adds_what_is_missing(clock_home)


def admin_adds_what_is_missing(clock_home: Path) -> None:
    """Managers import; admins add unknown machines and reason codes to the plant model."""
    with TestClient(create_app(clock_home)) as client:
        csrf = api_login(client, "mia")
        body = {"machines": [{"id": "m7", "line": "Line B", "ideal_cycle_s": 3}]}
        refused = client.post(
            "/api/imports/plant-additions", json=body, headers={"X-CSRF-Token": csrf}
        )
        assert refused.status_code == 403  # managers import; admins change the plant model
        client.post("/logout", headers={"X-CSRF-Token": csrf})
    with TestClient(create_app(clock_home)) as client:
        csrf = api_login(client, "boss")
        look = post(
            client,
            csrf,
            "/api/imports/preview",
            GERMAN.replace("m2;", "m7;").encode(),
            filename="g.csv",
        ).json()
        assert look["can_add"] is True and look["unknown_machines"] == ["m7"]
        added = client.post(
            "/api/imports/plant-additions",
            json=body | {"reasons": {"Werkzeugwechsel": "setup"}},
            headers={"X-CSRF-Token": csrf},
        )
        assert added.status_code == 200, added.text
        bad = client.post(
            "/api/imports/plant-additions",
            json={"reasons": {"x": "coffee"}},
            headers={"X-CSRF-Token": csrf},
        )
        assert bad.status_code == 422 and "not a loss category" in bad.text
        no_flags(look, added, bad)
    plant = load_plant(clock_home / "plant.toml")
    assert {m.id: line.name for line, m in plant.machines}["m7"] == "Line B"
    assert plant.machine("m7").ideal_cycle_s == 3
    assert plant.reason_categories()["werkzeugwechsel"] == "setup"
    assert "Round the clock" in (clock_home / "plant.toml").read_text()  # the rest kept


def test_a_windows_1252_export_with_decimal_commas(clock_home: Path) -> None:
    body = (
        "Maschine;Zeitstempel;Stückzahl;Ausschuss\n"
        "m1;04.03.2026 14:00;1.200;3,0\n"
        "m1;04.03.2026 14:45;1.350,0;0\n"
    ).encode("cp1252")
    with TestClient(create_app(clock_home)) as client:
        csrf = api_login(client, "mia")
        look = post(client, csrf, "/api/imports/preview", body, filename="zaehler.csv").json()
        assert look["encoding"] == "cp1252" and look["decimal_comma"] is True
        assert look["kind"] == "counts"
        mapping = {s["header"]: s["column"] or "" for s in look["suggestions"]["counts"]}
        assert mapping == {
            "Maschine": "machine",
            "Zeitstempel": "ts",
            "Stückzahl": "total",
            "Ausschuss": "reject",
        }
        r = post(
            client,
            csrf,
            "/api/imports",
            body,
            filename="zaehler.csv",
            kind="counts",
            mapping=json.dumps(mapping),
            timestamp_format="%d.%m.%Y %H:%M",
            encoding="cp1252",
        )
        assert r.status_code == 201, r.text
        as_utf8 = post(client, csrf, "/api/imports", body, filename="again.csv", kind="counts")
        assert as_utf8.status_code == 422 and "'Windows-1252' under 'Text encoding'" in as_utf8.text
        no_flags(look, r, as_utf8)
    with EmbeddedStore(clock_home).session() as s:
        rows = s.arrow(
            "SELECT total, reject FROM counts WHERE import_id = (SELECT max(id) FROM imports) "
            "ORDER BY ts"
        ).to_pylist()
    assert rows == [{"total": 1200, "reject": 3}, {"total": 1350, "reject": 0}]


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(["Maschine", "MACHINE_ID", "Équipement", "machine", "Anlage", "Ressource"]),
    st.sampled_from(["Zeitstempel", "Horodatage", "time stamp", "DateTime", "Zeitpunkt"]),
    st.sampled_from(["Zustand", "État", "status", "Machine Status", "statut"]),
    st.sampled_from(["", " ", "_", "  "]),
    st.permutations([0, 1, 2]),
)
def test_the_header_matcher_finds_each_column_whatever_the_spelling(
    machine: str, ts: str, state: str, pad: str, order: list[int]
) -> None:
    headers = [pad + machine + pad, ts.upper() if pad else ts, state]
    headers = [headers[i] for i in order]
    found = {s.header: s.column for s in suggest(Sample(headers), "states")}
    assert sorted(found.values()) == ["machine", "state", "ts"]
    assert normalise(pad + machine + pad) == normalise(machine)


def test_a_german_export_is_mapped_in_the_form_and_imported_in_chromium(
    clock_home: Path, tmp_path: Path
) -> None:
    """The whole wizard in the browser: the file's columns are suggested from their German
    names, one is corrected by hand, the detected format is used with one click, the unknown
    machine is added by the admin, and the import stores the file."""
    from tests.web.conftest import chromium, log_in, serving
    from tests.web.test_operate import AXE, _axe

    export = tmp_path / "Anlagen-Export 2026-03-02.csv"
    export.write_bytes(
        (
            "Maschine;Zeitpunkt;Zustand;Grund;Schicht\n"
            "m1;02.03.2026 06:00;läuft;;Früh\n"
            "m1;02.03.2026 07:12;Stillstand;jam;Früh\n"
            "m9;02.03.2026 07:40;läuft;;Früh\n"
        ).encode("cp1252")
    )
    with serving(clock_home) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(base + "/data")
        log_in(page, "boss")
        page.wait_for_selector("#upload-form")
        page.set_input_files("#file", str(export))
        page.wait_for_selector("#mapping:not([hidden])")
        assert "machine states" in page.inner_text("#detected")
        assert page.input_value("#encoding") == "cp1252"
        assert not page.is_visible("#counter_bits")  # for raw counters only
        row = "#mapping-rows select[data-header='{}']"
        assert page.input_value(row.format("Maschine")) == "machine"
        assert page.input_value(row.format("Zeitpunkt")) == "ts"
        assert page.input_value(row.format("Schicht")) == ""  # left out
        page.select_option(row.format("Grund"), "")  # a person's choice: no reasons this time
        page.select_option(row.format("Grund"), "reason")  # … changed back
        page.click("button.use-format")
        assert page.input_value("#timestamp_format") == "%d.%m.%Y %H:%M"
        # m9 is not in the plant model: the admin adds it from the form.
        page.wait_for_selector("#unknown:not([hidden])")
        page.select_option("#unknown-rows tr[data-machine='m9'] select.line", "Line B")
        page.fill("#unknown-rows tr[data-machine='m9'] input.cycle", "2.5")
        page.click("#add-to-plant")
        page.wait_for_selector("#add-status.ok")
        # Imported without the format: refused, with the format as a button that imports again.
        page.fill("#timestamp_format", "")
        page.click("#upload-form button[type=submit]")
        page.wait_for_selector("#upload-status.bad")
        page.click("#upload-problems button.use-format")
        page.wait_for_selector("#upload-status.ok >> text=new")
        status = page.inner_text("#upload-status")
        assert "3 states row(s), 3 new" in status, status
        page.screenshot(path=str(tmp_path / "data-upload-mapped.png"), full_page=True)
        assert AXE.exists(), "axe-core is not installed: ./run.sh test installs it"
        violations = _axe(page)
        page.close()
    assert (tmp_path / "data-upload-mapped.png").stat().st_size > 10_000
    assert violations == []
    assert load_plant(clock_home / "plant.toml").machine("m9").ideal_cycle_s == 2.5
    with EmbeddedStore(clock_home).session() as s:
        kept = s.arrow("SELECT kind, file_pattern FROM import_mappings").to_pylist()
    assert kept == [{"kind": "states", "file_pattern": "anlagen-export #-#-#.csv"}]
