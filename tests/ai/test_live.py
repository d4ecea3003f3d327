"""Shadow mode on the live path: SKAB pump readings published to a real Mosquitto on loopback,
stored by a running collector as process values, scored by a model trained on their normal
start; the fault raises an alarm, the alarm is stored, the operator's answer is recorded."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from pilotline import clock
from pilotline.ai import shadow
from pilotline.ai.data import read_recordings
from pilotline.plant import example_plant_text
from pilotline.store import EmbeddedStore
from tests.connect.conftest import Mosquitto, start_collector

T0 = dt.datetime(2026, 3, 2, 6, 0, tzinfo=dt.UTC)
TAGS = ["Accelerometer1RMS", "Current", "Pressure", "Volume Flow RateRMS"]


def test_live_collector_to_shadow_alarm(
    tmp_path: Path, skab_slice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(clock.ENV, raising=False)  # the collector runs on the wall clock
    monkeypatch.setattr(clock, "_set_at", None)
    home = tmp_path / "home"
    home.mkdir()
    (home / "plant.toml").write_text(example_plant_text())
    (tmp_path / "broker").mkdir()
    broker = Mosquitto(tmp_path / "broker")
    broker.start()
    tags = "".join(
        f'\n[[source.tag]]\nname = "{t}"\nmachine = "press-1"\nrole = "value"\n'
        f'topic = "pump/press-1"\npath = "{t}"\nts_path = "ts"\n'
        for t in TAGS
    )
    config = f'forward_every_s = 0.2\n\n[[source]]\nkind = "mqtt"\nname = "broker"\nport = {broker.port}\n{tags}'
    data = read_recordings(skab_slice / "valve1-1.csv")
    rec = data.recordings[0]
    assert rec.label is not None
    cols = [data.signals.index(t) for t in TAGS]
    run = start_collector(config, home)
    try:
        run.wait_for(lambda: run.collector.statuses[0].state == "online")
        pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="pump")
        pub.connect("127.0.0.1", broker.port)
        pub.loop_start()
        last = None
        rows = int(rec.label.argmax()) + 180  # normal running, then three minutes of the fault
        for i in range(rows):
            body = {"ts": (T0 + dt.timedelta(seconds=i)).isoformat()}
            body.update({t: float(rec.values[i, c]) for t, c in zip(TAGS, cols, strict=True)})
            last = pub.publish("pump/press-1", json.dumps(body).encode(), qos=1)
        assert last is not None
        last.wait_for_publish(10)
        n = rows * len(TAGS)
        run.wait_for(lambda: run.collector.statuses[0].stored >= n, timeout=60)
        run.wait_for(lambda: run.collector.buffer.backlog() == 0, timeout=60)
        pub.loop_stop()
        pub.disconnect()
    finally:
        run.stop()
        broker.stop()
    store = EmbeddedStore(home, lock_timeout_s=10)
    shadow.train_on_store(store, name="pump", machine="press-1", tags=TAGS, start=T0,
                          end=T0 + dt.timedelta(seconds=400), trained_by="test")  # fmt: skip
    result = shadow.run(store, "pump", until=T0 + dt.timedelta(hours=1))
    assert result.rows == rows - 400
    with store.session() as s:
        alarms = s.arrow("SELECT start_ts FROM ai_alarms ORDER BY start_ts").to_pylist()
    fault = T0 + dt.timedelta(seconds=int(rec.label.argmax()))
    found = [a["start_ts"].replace(tzinfo=dt.UTC) for a in alarms]
    hit = [t for t in found if fault <= t <= fault + dt.timedelta(minutes=2)]
    assert hit, (fault, found)
    shadow.answer(store, "pump", hit[0], real=True, by="olga")
    with store.session() as s:
        assert s.scalar("SELECT answer FROM ai_alarms WHERE answered_by = 'olga'") == "real"
