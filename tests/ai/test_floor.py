"""Alarms on the floor: a model in shadow mode stays silent until its pilot is started; then its
alarms show on the overview's tile and the operator's tablet page (switchback: on the pilot's "on"
days only), the operator of that line answers "real problem", the answer is stored and audited,
and the alarm leaves the floor. An operator of another line sees nothing and may not answer."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from pilotline.ai import floor, shadow
from pilotline.ai.data import read_recordings
from pilotline.pilot import load_pilot
from pilotline.pilot.evaluate import Sources
from pilotline.pilot.registry import start as start_pilot
from pilotline.plant import parse_plant
from pilotline.store import EmbeddedStore, Store
from pilotline.web import Users, create_app
from tests.ai.test_shadow import TAGS
from tests.conftest import NOW
from tests.web.conftest import PASSWORD, PLANT, api_login

T0 = (NOW - dt.timedelta(hours=1)).replace(tzinfo=None)  # naive UTC, as the store keeps times
TODAY = NOW.date()


def _fill(store: Store, skab_slice: Path) -> None:
    """SKAB's valve1/1.csv (a valve fault after normal running) as m1's process values from T0."""
    data = read_recordings(skab_slice / "valve1-1.csv")
    rec = data.recordings[0]
    cols = [data.signals.index(t) for t in TAGS]
    n = len(rec.seconds)
    ts = [T0 + dt.timedelta(seconds=i) for i in range(n)]
    table = pa.table(
        {
            "machine": ["m1"] * (n * len(TAGS)),
            "tag": [t for t in TAGS for _ in range(n)],
            "ts": pa.array(ts * len(TAGS), pa.timestamp("us")),
            "value": [float(rec.values[i, c]) for c in cols for i in range(n)],
        }
    )
    with store.session(write=True) as s:
        s.insert_new("process_values", table)
        s.append(  # running since T0: the overview shows tiles
            "states",
            pa.table(
                {
                    "machine": ["m1"],
                    "start_ts": pa.array([T0], pa.timestamp("us")),
                    "end_ts": pa.array([None], pa.timestamp("us")),
                    "state": ["running"],
                    "reason": pa.array([None], pa.string()),
                    "import_id": pa.array([None], pa.int64()),
                }
            ),
        )


def _register(store: Store, home: Path, on: list[dt.date]) -> None:
    """The model's own pilot draft, moved to run from yesterday with alarms on ``on``, started."""
    path = shadow.pilot_draft(store, "watch", home / "pilots")
    text = path.read_text()
    text = re.sub(
        r"\[baseline\]\nstart = .*\nend = .*\n",
        f"[baseline]\nstart = {TODAY - dt.timedelta(days=30)}\nend = {TODAY - dt.timedelta(days=1)}\n",
        text,
    )
    text = re.sub(
        r"\[pilot\]\nstart = .*\nend = .*\n",
        f"[pilot]\nstart = {TODAY - dt.timedelta(days=1)}\nend = {TODAY + dt.timedelta(days=9)}\n",
        text,
    )
    text = re.sub(r"^on = \[.*\]$", f"on = [{', '.join(map(str, on))}]", text, flags=re.M)
    path.write_text(text)
    start_pilot(store, load_pilot(path), sources=Sources(store, parse_plant(PLANT)))


@pytest.fixture
def floor_home(tmp_path: Path, skab_slice: Path) -> Path:
    (tmp_path / "plant.toml").write_text(PLANT)
    store = EmbeddedStore(tmp_path)
    _fill(store, skab_slice)
    users = Users(store)
    users.add("olga", PASSWORD, role="operator", lines=["Line A"])
    users.add("bea", PASSWORD, role="operator", lines=["Line B"])
    shadow.train_on_store(
        store,
        name="watch",
        machine="m1",
        tags=TAGS,
        start=T0.replace(tzinfo=dt.UTC),
        end=T0.replace(tzinfo=dt.UTC) + dt.timedelta(seconds=400),
        trained_by="test",
    )
    return tmp_path


def test_alarms_reach_the_floor_once_the_pilot_is_on(floor_home: Path) -> None:
    store = EmbeddedStore(floor_home)
    # shadow mode before the pilot: recorded, not shown, nothing on the floor
    before = shadow.run(store, "watch", until=NOW - dt.timedelta(minutes=50))
    _register(store, floor_home, on=[TODAY])
    later = shadow.run(store, "watch", until=NOW)
    assert later.alarms >= 1 and later.shown == later.alarms
    with store.session() as s:
        rows = s.arrow("SELECT start_ts, shown FROM ai_alarms ORDER BY start_ts").to_pylist()
        assert len(rows) == before.alarms + later.alarms
        assert [r["shown"] for r in rows] == [False] * before.alarms + [True] * later.alarms
        assert len(floor.open_alarms(s, NOW)) == later.alarms
    first = min(r["start_ts"] for r in rows if r["shown"])
    start = first.replace(tzinfo=dt.UTC).isoformat()

    app = create_app(floor_home)
    with TestClient(app) as other:  # an operator of Line B sees none and may not answer
        csrf = api_login(other, "bea")
        assert other.get("/api/alarms").json() == []
        refused = other.post(
            "/operate/m1/alarm",
            data={"csrf": csrf, "model": "watch", "start": start, "answer": "false"},
            follow_redirects=False,
        )
        assert refused.status_code == 403
    with TestClient(app) as client:
        csrf = api_login(client, "olga")
        shown = client.get("/api/alarms").json()
        assert {(a["model"], a["machine"]) for a in shown} == {("watch", "m1")}
        assert start in {a["start"] for a in shown}
        board = client.get("/").text
        tile = board.split('data-machine="m1"')[1].split("</article>")[0]
        assert "AI alarm at" in tile and "(watch)" in tile
        assert "/static/alarms.js" in board
        page = client.get("/operate/m1").text
        assert "Real problem" in page and "False alarm" in page and start in page
        bad = client.post(
            "/operate/m1/alarm",
            data={"csrf": csrf, "model": "watch", "start": start, "answer": "maybe"},
            follow_redirects=False,
        )
        assert bad.status_code == 422 and "real problem" in bad.json()["detail"]
        forged = client.post(
            "/operate/m1/alarm",
            data={"csrf": "x", "model": "watch", "start": start, "answer": "real"},
            follow_redirects=False,
        )
        assert forged.status_code == 403
        done = client.post(
            "/operate/m1/alarm",
            data={"csrf": csrf, "model": "watch", "start": start, "answer": "real"},
            follow_redirects=False,
        )
        assert done.status_code == 303 and done.headers["location"] == "/operate/m1"
        assert "recorded as a real problem" in client.get("/operate/m1").text
        assert start not in {a["start"] for a in client.get("/api/alarms").json()}
        again = client.post(
            "/operate/m1/alarm",
            data={"csrf": csrf, "model": "watch", "start": start, "answer": "false"},
            follow_redirects=False,
        )
        assert again.status_code == 404  # answered already: the first answer stands
    with store.session() as s:
        got = s.arrow(
            "SELECT answer, answered_by FROM ai_alarms WHERE start_ts = ?", [first]
        ).to_pylist()
        trail = s.arrow(
            "SELECT username, machine, detail FROM audit_log WHERE action = 'alarm answered'"
        ).to_pylist()
    assert got == [{"answer": "real", "answered_by": "olga"}]
    assert len(trail) == 1 and trail[0]["username"] == "olga" and trail[0]["machine"] == "m1"
    assert '"answer": "real"' in trail[0]["detail"]


def test_switchback_off_days_and_decisions(floor_home: Path) -> None:
    store = EmbeddedStore(floor_home)
    _register(store, floor_home, on=[TODAY + dt.timedelta(days=1)])  # today is an "off" day
    assert shadow.run(store, "watch", until=NOW).shown == 0
    with store.session() as s:
        assert floor.open_alarms(s, NOW) == []
        plan = floor.schedules(s)["watch"]
    assert not plan.shows(TODAY) and plan.shows(TODAY + dt.timedelta(days=1))
    assert not plan.shows(TODAY + dt.timedelta(days=9))  # after the pilot's end
    alternate = floor.Schedule("x", TODAY, TODAY + dt.timedelta(days=4), alternate=True)
    assert [alternate.shows(TODAY + dt.timedelta(days=i)) for i in range(5)] == [
        True, False, True, False, False,
    ]  # fmt: skip
    with store.session(write=True) as s:
        fingerprint = s.pilot_versions("ai-watch")[-1]["fingerprint"]
        s.record_decision(title="ai-watch", fingerprint=fingerprint, decision="adopt",
                          reason="test", verdict=None, effect=None, low=None, high=None)  # fmt: skip
        adopted = floor.schedules(s)["watch"]
        assert adopted.shows(TODAY) and adopted.shows(TODAY + dt.timedelta(days=400))
        s.record_decision(title="ai-watch", fingerprint=fingerprint, decision="abandon",
                          reason="test", verdict=None, effect=None, low=None, high=None)  # fmt: skip
        assert floor.schedules(s) == {}


def test_operator_answers_an_alarm_on_the_tablet(floor_home: Path) -> None:
    """In a browser, on a tablet: the badge on the tile, the two big buttons, one tap."""
    from tests.web.conftest import ARTIFACTS, chromium, log_in, serving

    store = EmbeddedStore(floor_home)
    _register(store, floor_home, on=[TODAY])
    assert shadow.run(store, "watch", until=NOW).shown >= 1
    with serving(floor_home) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 800, "height": 1280}, has_touch=True)
        page.goto(base + "/login")
        log_in(page, "olga")
        badge = page.locator('.tile[data-machine="m1"] .ai-alarm')
        badge.wait_for()
        assert "AI alarm at" in badge.inner_text() and "(watch)" in badge.inner_text()
        for _ in range(30):  # /static/alarms.js repaints it from /api/alarms every 5 s
            if badge.get_attribute("data-shown"):
                break
            page.wait_for_timeout(500)
        assert badge.get_attribute("data-shown"), "the badge was not repainted"
        assert badge.inner_text().startswith("⚑ AI alarm at") and "(watch)" in badge.inner_text()
        page.goto(base + "/operate/m1")
        real = page.locator(".ai-alarms button.ai-real").first
        box = real.bounding_box()
        assert box is not None and box["height"] >= 48  # a tap target for gloves
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "operate-ai-alarm.png"), full_page=True)
        shown = page.locator(".ai-alarms .ai-alarm-item").count()
        real.tap()
        page.wait_for_selector(".done")
        assert "recorded as a real problem" in page.locator(".done").inner_text()
        assert page.locator(".ai-alarms .ai-alarm-item").count() == shown - 1
    with store.session() as s:
        assert s.scalar("SELECT count(*) FROM ai_alarms WHERE answered_by = 'olga'") == 1


def test_two_tablets_answering_at_once_keep_the_first_answer(floor_home: Path) -> None:
    """Two answers to one alarm sent at the same moment: one is kept and audited, the other is
    refused (before, both passed the page's check and the second overwrote the first, with both
    in the audit trail)."""
    import threading

    from pilotline.errors import NotFound

    store = EmbeddedStore(floor_home)
    _register(store, floor_home, on=[TODAY])
    assert shadow.run(store, "watch", until=NOW).shown >= 1
    with store.session() as s:
        first = s.scalar("SELECT min(start_ts) FROM ai_alarms WHERE shown")
    gate = threading.Barrier(2)
    refused: list[str] = []

    def tap(verdict: bool, who: str) -> None:
        gate.wait()
        try:
            shadow.answer(store, "watch", first.replace(tzinfo=dt.UTC), real=verdict, by=who,
                          machine="m1", audited=True, first_only=True)  # fmt: skip
        except NotFound:
            refused.append(who)

    taps = [threading.Thread(target=tap, args=a) for a in ((True, "olga"), (False, "otto"))]
    for t in taps:
        t.start()
    for t in taps:
        t.join()
    assert len(refused) == 1
    with store.session() as s:
        got = s.arrow("SELECT answer, answered_by FROM ai_alarms WHERE start_ts = ?", [first])
        trail = s.arrow("SELECT username, detail FROM audit_log WHERE action = 'alarm answered'")
    kept = got.to_pylist()[0]
    assert kept["answered_by"] not in refused
    assert [r["username"] for r in trail.to_pylist()] == [kept["answered_by"]]
    assert f'"answer": "{kept["answer"]}"' in trail.to_pylist()[0]["detail"]


def test_switchback_days_are_the_plants_dates_across_daylight_saving() -> None:
    """An alarm is shown when it starts on an "on" day in the plant's time zone: on the night
    British Summer Time begins (28 March 2027), 23:30 UTC on the 28th is already the 29th in
    London, and on the night it ends (31 October 2027), 23:30 UTC is still the 31st."""
    from zoneinfo import ZoneInfo

    london = ZoneInfo("Europe/London")
    plan = floor.Schedule("x", dt.date(2027, 3, 20), dt.date(2027, 11, 20),
                          on=frozenset({dt.date(2027, 3, 28), dt.date(2027, 10, 31)}))  # fmt: skip

    def shown(utc: str) -> bool:
        return plan.shows(floor.local_day(dt.datetime.fromisoformat(utc), london))

    assert not shown("2027-03-27T23:30:00")  # 23:30 GMT on the 27th
    assert shown("2027-03-28T00:30:00")  # 00:30 GMT on the 28th
    assert shown("2027-03-28T22:59:00")  # 23:59 BST on the 28th
    assert not shown("2027-03-28T23:30:00")  # 00:30 BST on the 29th: an "off" day
    assert shown("2027-10-30T23:30:00")  # 00:30 BST on the 31st, though the 30th in UTC
    assert shown("2027-10-31T23:30:00")  # 23:30 GMT on the 31st
    assert not shown("2027-11-01T00:30:00")


def test_a_model_is_not_retrained_while_its_pilot_is_under_way(floor_home: Path) -> None:
    """Retraining under the same name replaced the record silently, even onto another machine,
    while the pilot measuring it ran."""
    from pilotline.errors import InputError

    store = EmbeddedStore(floor_home)
    _register(store, floor_home, on=[TODAY])
    window = {
        "start": T0.replace(tzinfo=dt.UTC),
        "end": T0.replace(tzinfo=dt.UTC) + dt.timedelta(seconds=400),
    }
    with pytest.raises(InputError, match="pilot under way"):
        shadow.train_on_store(
            store, name="watch", machine="m1", tags=TAGS, trained_by="t", **window
        )
    shadow.train_on_store(store, name="watch-2", machine="m1", tags=TAGS, trained_by="t", **window)
