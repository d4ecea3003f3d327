"""Shadow mode on the live path: SKAB pump readings published to a real Mosquitto on loopback,
stored by a running collector as process values, scored by a model trained on their normal
start; the fault raises an alarm, the alarm is stored, the operator's answer is recorded. The
same with the simulator's injected valve fault."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from pilotline import clock
from pilotline.ai import shadow
from pilotline.ai.data import read_recordings
from pilotline.plant import example_plant_text
from pilotline.sim.faults import SIGNALS, simulate_fault
from pilotline.store import EmbeddedStore
from tests.connect.conftest import Mosquitto, start_collector

T0 = dt.datetime(2026, 3, 2, 6, 0, tzinfo=dt.UTC)
TAGS = ["Accelerometer1RMS", "Current", "Pressure", "Volume Flow RateRMS"]


def _live(
    tmp_path: Path, tags: list[str], values: np.ndarray, fault: int, train: int
) -> tuple[EmbeddedStore, list[dt.datetime]]:
    """Publish ``values`` (rows × tags, one row a second from T0) up to three minutes into the
    fault to a real Mosquitto, stored by a running collector as press-1's process values; train
    on the first ``train`` rows, run shadow mode; the store and the alarms' starts."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "plant.toml").write_text(example_plant_text())
    (tmp_path / "broker").mkdir()
    broker = Mosquitto(tmp_path / "broker")
    broker.start()
    tag_config = "".join(
        f'\n[[source.tag]]\nname = "{t}"\nmachine = "press-1"\nrole = "value"\n'
        f'topic = "pump/press-1"\npath = "{t}"\nts_path = "ts"\n'
        for t in tags
    )
    config = f'forward_every_s = 0.2\n\n[[source]]\nkind = "mqtt"\nname = "broker"\nport = {broker.port}\n{tag_config}'
    rows = fault + 180  # normal running, then three minutes of the fault
    run = start_collector(config, home)
    try:
        run.wait_for(lambda: run.collector.statuses[0].state == "online")
        pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="pump")
        pub.connect("127.0.0.1", broker.port)
        pub.loop_start()
        last = None
        for i in range(rows):
            body = {"ts": (T0 + dt.timedelta(seconds=i)).isoformat()}
            body.update({t: float(values[i, j]) for j, t in enumerate(tags)})
            last = pub.publish("pump/press-1", json.dumps(body).encode(), qos=1)
        assert last is not None
        last.wait_for_publish(10)
        n = rows * len(tags)
        run.wait_for(lambda: run.collector.statuses[0].stored >= n, timeout=60)
        run.wait_for(lambda: run.collector.buffer.backlog() == 0, timeout=60)
        pub.loop_stop()
        pub.disconnect()
    finally:
        run.stop()
        broker.stop()
    store = EmbeddedStore(home, lock_timeout_s=10)
    shadow.train_on_store(store, name="pump", machine="press-1", tags=tags, start=T0,
                          end=T0 + dt.timedelta(seconds=train), trained_by="test")  # fmt: skip
    result = shadow.run(store, "pump", until=T0 + dt.timedelta(hours=1))
    assert result.rows == rows - train
    with store.session() as s:
        alarms = s.arrow("SELECT start_ts FROM ai_alarms ORDER BY start_ts").to_pylist()
    return store, [a["start_ts"].replace(tzinfo=dt.UTC) for a in alarms]


@pytest.fixture
def wall_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(clock.ENV, raising=False)  # the collector runs on the wall clock
    monkeypatch.setattr(clock, "_set_at", None)


def test_live_collector_to_shadow_alarm(tmp_path: Path, skab_slice: Path, wall_clock: None) -> None:
    data = read_recordings(skab_slice / "valve1-1.csv")
    rec = data.recordings[0]
    assert rec.label is not None
    values = rec.values[:, [data.signals.index(t) for t in TAGS]]
    fault_row = int(rec.label.argmax())
    store, found = _live(tmp_path, TAGS, values, fault_row, 400)
    fault = T0 + dt.timedelta(seconds=fault_row)
    hit = [t for t in found if fault <= t <= fault + dt.timedelta(minutes=2)]
    assert hit, (fault, found)
    shadow.answer(store, "pump", hit[0], real=True, by="olga")
    with store.session() as s:
        assert s.scalar("SELECT answer FROM ai_alarms WHERE answered_by = 'olga'") == "real"


def test_live_collector_simulated_valve_fault(tmp_path: Path, wall_clock: None) -> None:
    """The simulator's valve sticking, through Mosquitto and a collector, raises an alarm."""
    run = simulate_fault("valve", start=T0, rows=1200, fault_start=800, fault_rows=300, seed=0)
    _, found = _live(tmp_path, list(SIGNALS), run.values, 800, 400)
    fault = T0 + dt.timedelta(seconds=800)
    assert [t for t in found if fault <= t <= fault + dt.timedelta(minutes=2)], found
    assert not [t for t in found if t < fault]  # normal running after training: silence
