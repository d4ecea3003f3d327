"""Fuzzing the plant model reader: whatever plant.toml holds, it loads as a plant whose every
number is finite and in range, or it is refused with a PlantModelError naming the file; never a
traceback (a RecursionError from deep nesting included). A plant that loads also works: its
shifts turn into planned time without an error."""

from __future__ import annotations

import datetime as dt
import math
import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pilotline.errors import PlantModelError
from pilotline.measure.periods import segments_table
from pilotline.plant import Plant, load_plant, parse_plant
from pilotline.plant.model import MAX_CYCLE_S, MIN_CYCLE_S
from tests.conftest import LONDON_NIGHTS_PLANT, WORKED_EXAMPLE_PLANT

EXAMPLES = int(os.environ.get("PILOTLINE_FUZZ_EXAMPLES", "40"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
BASES = [WORKED_EXAMPLE_PLANT, LONDON_NIGHTS_PLANT]


def load_or_refuse(text: str) -> Plant | None:
    try:
        plant = parse_plant(text, source="fuzz.toml")
    except PlantModelError as exc:
        assert str(exc).startswith("fuzz.toml"), exc
        return None
    assert_in_range(plant)
    return plant


def assert_in_range(plant: Plant) -> None:
    for _, machine in plant.machines:
        assert MIN_CYCLE_S <= machine.ideal_cycle_s <= MAX_CYCLE_S
    for product in plant.products:
        assert all(MIN_CYCLE_S <= s <= MAX_CYCLE_S for s in product.ideal_cycle_s.values())
    for calendar in plant.calendars:
        for shift in calendar.shifts:
            assert all(0 < b.minutes <= 1440 and math.isfinite(b.minutes) for b in shift.breaks)
    assert math.isfinite(plant.cleaning.minor_stop_s) and plant.cleaning.minor_stop_s >= 0
    assert 0 < plant.cleaning.performance_flag <= 10
    # A plant that loads works: a week of its shifts becomes planned and unplanned time.
    start = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    for planned in (True, False):
        segments_table(
            plant,
            start,
            start + dt.timedelta(days=7),
            now=(start + dt.timedelta(days=8)).timestamp(),
            planned=planned,
        )


numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(
        lambda x: {math.inf: "inf", -math.inf: "-inf"}.get(x, "nan" if math.isnan(x) else repr(x))
    ),
    st.integers(-(10**30), 10**30).map(str),
    st.sampled_from(["inf", "+inf", "-inf", "nan", "1e308", "1e-300", "0", "-0.0", "0x10"]),
)
clocks = st.one_of(
    st.times().map(lambda t: t.strftime("%H:%M")),
    st.sampled_from(["24:00", "25:61", "", "6", "06:00:00.5", "noon"]),
)


@st.composite
def mutated_plants(draw: st.DrawFn) -> str:
    """A valid plant with some of its values replaced by awkward ones."""
    text = draw(st.sampled_from(BASES))
    for field in ("ideal_cycle_s = 1.0", "minutes = 15", "minutes = 30"):
        if field in text and draw(st.booleans()):
            key = field.split(" = ")[0]
            text = text.replace(field, f"{key} = {draw(numbers)}", 1)
    if draw(st.booleans()):
        text = text.replace('start = "06:00"', f'start = "{draw(clocks)}"', 1)
    if draw(st.booleans()):
        section = draw(
            st.sampled_from(
                [
                    f"\n[cleaning]\nminor_stop_s = {draw(numbers)}\n",
                    f"\n[cleaning]\nperformance_flag = {draw(numbers)}\n",
                    f"\noee_target = {draw(numbers)}\n",
                ]
            )
        )
        text = section.strip() + "\n" + text if "oee_target" in section else text + section
    if draw(st.integers(0, 3)) == 0:  # stray text somewhere
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.text(max_size=5)) + text[at:]
    return text


@FUZZ
@given(mutated_plants())
def test_mutated_plant_models_load_in_range_or_are_refused(text: str) -> None:
    load_or_refuse(text)


toml_scalars = st.one_of(
    numbers,
    st.text(max_size=8).map(lambda s: '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'),
    st.sampled_from(["true", "false", "2026-03-02", "06:00:00", "2026-03-02T06:00:00Z"]),
)


def _nested(depth: int, scalar: str, kind: str) -> str:
    if kind == "array":
        return "[" * depth + scalar + "]" * depth
    return "{a = " * depth + scalar + "}" * depth


@FUZZ
@given(
    st.sampled_from(["site", "calendars", "lines", "products", "reasons", "cleaning", "x"]),
    st.integers(0, 2_000),
    toml_scalars,
    st.sampled_from(["array", "table"]),
)
def test_deep_nesting_anywhere_is_refused_clearly(
    key: str, depth: int, scalar: str, kind: str
) -> None:
    text = WORKED_EXAMPLE_PLANT + f"\n{key} = {_nested(depth, scalar, kind)}\n"
    load_or_refuse(text)


@FUZZ
@given(st.binary(max_size=300))
def test_any_bytes_as_a_plant_file_are_refused_or_loaded_never_a_traceback(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "plant.toml"
        path.write_bytes(data)
        try:
            assert_in_range(load_plant(path))
        except PlantModelError as exc:
            assert str(path) in str(exc)


def test_a_folder_or_latin_1_where_the_plant_file_should_be_is_said_plainly(
    tmp_path: Path,
) -> None:
    (tmp_path / "dir.toml").mkdir()
    (tmp_path / "latin.toml").write_bytes('[site]\nname = "Gießerei"\n'.encode("latin-1"))
    for name, said in (("dir.toml", "cannot be read"), ("latin.toml", "not UTF-8 text")):
        try:
            load_plant(tmp_path / name)
        except PlantModelError as exc:
            assert said in str(exc)
        else:
            raise AssertionError(f"{name} loaded")
