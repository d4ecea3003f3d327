"""What people enter by hand is bounded and audited: the probes of an attacker's review, kept."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pilotline.ingest import import_table
from pilotline.measure import Measure
from pilotline.plant import load_plant, parse_plant
from pilotline.store import EmbeddedStore
from pilotline.web import Users, create_app
from tests.conftest import NOW
from tests.web.conftest import PASSWORD, PLANT, STOP, api_login

BODY = {"start": STOP[0].isoformat(), "end": STOP[1].isoformat()}


def client_for(home: Path, user: str) -> tuple[TestClient, dict[str, str]]:
    client = TestClient(create_app(home))
    return client, {"X-CSRF-Token": api_login(client, user)}


@pytest.mark.parametrize(
    ("reason", "says"),
    [
        ("scrap", "not a reason a machine stops for"),
        ("reduced speed", "not a reason a machine stops for"),
        ("startup reject", "not a reason a machine stops for"),
        ("jam", "longer than a minor stop"),  # 15 minutes is no minor stop
        ("no orders", "only a manager"),
    ],
)
def test_an_operator_cannot_move_a_stop_out_of_availability(
    clock_home: Path, reason: str, says: str
) -> None:
    client, h = client_for(clock_home, "olga")
    r = client.post("/api/machines/m1/reasons", json={**BODY, "reason": reason}, headers=h)
    assert r.status_code == 422 and says in r.json()["detail"], r.text
    page = client.get("/operate/m1").text
    assert ">jam<" not in page and ">no orders<" not in page  # not offered for this stop either
    assert ">breakdown<" in page


def test_a_manager_may_call_a_long_stop_a_minor_one_and_it_is_audited(clock_home: Path) -> None:
    client, h = client_for(clock_home, "mia")
    r = client.post("/api/machines/m1/reasons", json={**BODY, "reason": "jam"}, headers=h)
    assert r.status_code == 201, r.text
    trail = client.get("/api/audit", params={"machine": "m1"}).json()
    assert [(t["username"], t["action"], t["detail"]["reason"]) for t in trail] == [
        ("mia", "reason", "jam")
    ]


def test_an_uploaded_file_is_in_the_audit_trail_with_who_sent_it(clock_home: Path) -> None:
    client, h = client_for(clock_home, "mia")
    body = f"machine,start,end,reason\nm1,{STOP[0].isoformat()},{STOP[1].isoformat()},no orders\n"
    r = client.post(
        "/api/imports",
        params={"filename": "reasons.csv", "kind": "reasons"},
        content=body.encode(),
        headers={**h, "Content-Type": "application/octet-stream"},
    )
    assert r.status_code == 201, r.text
    entry = client.get("/api/audit").json()[0]
    assert (entry["username"], entry["action"]) == ("mia", "import")
    assert entry["detail"]["file"] == "reasons.csv" and entry["detail"]["kind"] == "reasons"


def test_a_new_user_under_a_removed_users_name_cannot_undo_their_scrap(clock_home: Path) -> None:
    users = Users(EmbeddedStore(clock_home))
    users.add("ivan", PASSWORD, role="operator", lines=["Line A"])
    ivan, h = client_for(clock_home, "ivan")
    made = ivan.post("/api/machines/m1/scrap", json={"count": 2, "reason": "scrap"}, headers=h)
    assert made.status_code == 201, made.text
    entry = made.json()["entry"]
    users.remove("ivan")
    users.add("ivan", PASSWORD, role="operator", lines=["Line A"])  # someone else
    other, h2 = client_for(clock_home, "ivan")
    r = other.delete(f"/api/machines/m1/scrap/{entry}", headers=h2)
    assert r.status_code == 403, r.text


def test_the_maker_undoes_within_five_minutes_and_not_after(clock_home: Path) -> None:
    from pilotline import clock

    client, h = client_for(clock_home, "olga")
    first = client.post("/api/machines/m1/scrap", json={"count": 2, "reason": "scrap"}, headers=h)
    second = client.post("/api/machines/m1/scrap", json={"count": 3, "reason": "scrap"}, headers=h)
    assert first.status_code == second.status_code == 201  # the same frozen instant: both kept
    assert first.json()["entry"] != second.json()["entry"]
    assert (
        client.delete(f"/api/machines/m1/scrap/{first.json()['entry']}", headers=h).status_code
        == 200
    )
    with clock.fixed(NOW + dt.timedelta(minutes=6)):
        late = client.delete(f"/api/machines/m1/scrap/{second.json()['entry']}", headers=h)
        assert late.status_code == 403 and "5 minutes" in late.json()["detail"]
    manager, _ = client_for(clock_home, "mia")
    actions = [t["action"] for t in manager.get("/api/audit", params={"machine": "m1"}).json()]
    assert sorted(actions) == ["scrap", "scrap", "scrap undone"]


def test_scrap_is_bounded_by_parts_made_up_to_now(clock_home: Path) -> None:
    plant = parse_plant(PLANT)
    later = pa.table(
        {
            "machine": ["m1"],
            "ts": pa.array([NOW + dt.timedelta(minutes=30)], pa.timestamp("us", "UTC")),
            "total": [500],
        }
    )
    import_table(EmbeddedStore(clock_home), plant, later, kind="counts", source="ahead")
    client, h = client_for(clock_home, "olga")
    r = client.post(
        "/api/machines/m1/scrap",
        json={"count": 200, "reason": "scrap", "confirmed": True},
        headers=h,
    )
    assert r.status_code == 422 and "180 parts" in r.json()["detail"], r.text


@pytest.mark.parametrize("count", [True, "3", 2.5, None])
def test_a_count_must_be_a_whole_number(clock_home: Path, count: object) -> None:
    client, h = client_for(clock_home, "olga")
    r = client.post("/api/machines/m1/scrap", json={"count": count, "reason": "scrap"}, headers=h)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "count" in r.json()["detail"]


@pytest.mark.parametrize("twin", ["tİna", "TINA", "ｔｉｎａ"])
def test_the_throttle_and_the_login_see_one_name(clock_home: Path, twin: str) -> None:
    Users(EmbeddedStore(clock_home)).add("tina", PASSWORD, role="operator", lines=["Line A"])
    client = TestClient(create_app(clock_home))
    csrf = client.get("/login").text.split('name="csrf" value="')[1].split('"')[0]

    def attempt(name: str, password: str) -> int:
        data = {"username": name, "password": password, "csrf": csrf}
        return client.post("/login", data=data, follow_redirects=False).status_code

    assert [attempt("tina", "wrong guess") for _ in range(5)] == [401] * 5
    assert attempt(twin, PASSWORD) == 429


def test_names_that_look_the_same_are_one_name(store: EmbeddedStore) -> None:
    users = Users(store)
    users.add("Straße", PASSWORD, role="operator")
    users.add("mgr", PASSWORD, role="manager")
    for twin in ("STRASSE", "strasse", "ＭＧＲ", "mGr", "mgř"):
        with pytest.raises(Exception, match="already a user"):
            users.add(twin, PASSWORD, role="admin")


def test_a_page_does_not_repeat_its_address(clock_home: Path) -> None:
    client, _ = client_for(clock_home, "olga")
    page = client.get("/operate/Call 0800 FRAUD now")
    assert page.status_code == 404 and "FRAUD" not in page.text


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    machine=st.integers(0, 5),
    offset_min=st.integers(0, 50 * 60),
    length_min=st.integers(1, 8 * 60),
    now_back_min=st.integers(0, 120),
)
def test_the_taps_quick_stop_check_is_the_timelines_stops(
    home: Path, machine: int, offset_min: int, length_min: int, now_back_min: int
) -> None:
    """The tap checks for a stop with one small query (``Measure.stopped``); it finds exactly
    the stretches of the KPI engine's timeline that are neither running nor without data."""
    plant = load_plant(home / "plant.toml")
    measure = Measure(EmbeddedStore(home), plant)
    mid = [m.id for _, m in plant.machines][machine]
    now = NOW - dt.timedelta(minutes=now_back_min)
    start = NOW - dt.timedelta(hours=50) + dt.timedelta(minutes=offset_min)
    end = start + dt.timedelta(minutes=length_min)
    timeline = measure.timeline(machine=mid, start=start, end=end, now=now)
    # the last state, begun after ``now``, is left out, not given a negative length
    assert all(r["start"] <= r["end"] for r in timeline)
    expected = [
        (max(start, r["start"]), min(end, r["end"]))
        for r in timeline
        if r["category"] not in ("run", "no_data")
        and r["end"] > start
        and r["start"] < end
        and min(end, r["end"]) > max(start, r["start"])
    ]
    assert measure.stopped(machine=mid, start=start, end=end, now=now) == expected


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (STOP[1] - dt.timedelta(seconds=1), STOP[1]),  # the stop's last second
        (STOP[0] + dt.timedelta(minutes=5), STOP[1] + dt.timedelta(minutes=5)),  # from its middle
    ],
)
def test_a_reason_for_the_middle_of_a_stop_is_refused_not_recorded_for_nothing(
    clock_home: Path, start: dt.datetime, end: dt.datetime
) -> None:
    """The engine gives a stop the reason whose range holds the stop's start: a tap for a range
    inside the stop would be stored and audited and change nothing, so it is refused and says
    where the stop began; the whole stop is accepted and shows its reason."""
    client, h = client_for(clock_home, "olga")
    body = {"start": start.isoformat(), "end": end.isoformat(), "reason": "breakdown"}
    r = client.post("/api/machines/m1/reasons", json=body, headers=h)
    assert r.status_code == 422 and "already stopped" in r.json()["detail"], r.text
    assert client.get("/api/audit", params={"machine": "m1"}, headers=h).status_code in (200, 403)
    with EmbeddedStore(clock_home).session() as s:
        assert s.arrow("SELECT * FROM operator_reasons").num_rows == 0
    r = client.post("/api/machines/m1/reasons", json={**BODY, "reason": "breakdown"}, headers=h)
    assert r.status_code == 201, r.text
    stops = client.get("/api/machines/m1/stops").json()
    assert [(s["reason"], s["category"]) for s in stops] == [("breakdown", "breakdown")]
