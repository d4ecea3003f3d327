"""The tag map in the forwarder: running flag + speed, counters out of order, scaling, repeats."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pilotline.connect import Buffer, Forwarder, Sample, parse_collect_config
from pilotline.connect.samples import to_us
from pilotline.store import EmbeddedStore

T0 = dt.datetime(2026, 3, 2, 6, 0, tzinfo=dt.UTC)

CONFIG = """
[[source]]
kind = "modbus"
name = "plc"

[[source.tag]]
name = "run"
machine = "press-1"
role = "running"
address = 0

[[source.tag]]
name = "speed"
machine = "press-1"
role = "speed"
running_above = 5
address = 1

[[source.tag]]
name = "parts"
machine = "press-2"
role = "part_counter"
bits = 16
address = 2

[[source.tag]]
name = "temp"
machine = "press-2"
role = "value"
address = 3
type = "int16"
scale = 0.1
offset = -40
"""


def at(seconds: float) -> int:
    return to_us(T0 + dt.timedelta(seconds=seconds))


def setup(home: Path) -> tuple[Buffer, Forwarder, dict[tuple[str, str], object]]:
    config = parse_collect_config(CONFIG)
    buffer = Buffer(home / "buffer.sqlite", max_bytes=10**8)
    return buffer, Forwarder(buffer, EmbeddedStore(home), config.tags()), config.tags()  # type: ignore[return-value]


def test_running_flag_and_speed_together_make_the_state(home: Path) -> None:
    buffer, forwarder, _ = setup(home)
    buffer.append(
        [
            Sample("plc", "run", at(0), True),
            Sample("plc", "speed", at(0), 30.0),  # running
            Sample("plc", "speed", at(60), 2.0),  # crawling below 5: stopped
            Sample("plc", "speed", at(90), 28.0),  # running again
            Sample("plc", "run", at(120), False),  # flag off: stopped whatever the speed
            Sample("plc", "run", at(180), None),  # bad quality: no data
        ]
    )
    forwarder.forward_all()
    with EmbeddedStore(home).session() as s:
        rows = s.arrow("SELECT start_ts, state FROM states ORDER BY start_ts").to_pylist()
    naive = T0.replace(tzinfo=None)
    assert [((r["start_ts"] - naive).total_seconds(), r["state"]) for r in rows] == [
        (0, "running"),
        (60, "stopped"),
        (90, "running"),
        (120, "stopped"),
        (180, "no_data"),
    ]


def test_counter_readings_out_of_order_are_dropped_and_counted(home: Path) -> None:
    buffer, forwarder, _ = setup(home)
    buffer.append([Sample("plc", "parts", at(0), 65_530), Sample("plc", "parts", at(60), 5)])
    assert forwarder.forward_all().dropped == {}
    buffer.append([Sample("plc", "parts", at(30), 65_533), Sample("plc", "parts", at(120), 15)])
    result = forwarder.forward_all()
    assert dict(result.dropped) == {("press-2/counter", "out_of_order"): 1}
    with EmbeddedStore(home).session() as s:
        parts = s.arrow("SELECT ts, total FROM counts ORDER BY ts").to_pylist()
    # 65,530 → 5 wraps a 16-bit counter (11 parts); 5 → 15 is 10; the late reading adds nothing.
    assert [p["total"] for p in parts] == [11, 10]


def test_a_repeated_pass_writes_nothing_twice(home: Path) -> None:
    buffer, forwarder, _ = setup(home)
    buffer.append([Sample("plc", "parts", at(0), 100), Sample("plc", "parts", at(60), 150)])
    forwarder.forward_all()
    buffer.mark_forwarded(0)  # as if the process died after the store commit, before the cursor
    forwarder.forward_all()
    with EmbeddedStore(home).session() as s:
        assert s.scalar("SELECT count(*) FROM counter_readings") == 2
        assert s.scalar("SELECT sum(total) FROM counts") == 50


def test_scaled_process_values(home: Path) -> None:
    _, _, tags = setup(home)
    temp = tags[("plc", "temp")]
    assert temp.convert(653) == 653 * 0.1 - 40  # type: ignore[attr-defined]
