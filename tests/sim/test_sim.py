import datetime as dt
from pathlib import Path

from pilotline.ingest import import_table
from pilotline.measure import Measure
from pilotline.plant import parse_plant
from pilotline.sim import demo_plant_text, simulate
from pilotline.store import EmbeddedStore

START = dt.datetime(2026, 3, 23, tzinfo=dt.UTC)  # a week that crosses the spring-forward change
END = START + dt.timedelta(days=7)


def test_the_same_seed_gives_the_same_plant_and_another_seed_does_not() -> None:
    plant = parse_plant(demo_plant_text(machines=3))
    a, b = (
        simulate(plant, start=START, end=END, seed=4),
        simulate(plant, start=START, end=END, seed=4),
    )
    c = simulate(plant, start=START, end=END, seed=5)
    assert a.states.equals(b.states) and a.counts.equals(b.counts)
    assert not a.states.equals(c.states)


def test_simulated_data_imports_cleanly_and_shows_every_loss(tmp_path: Path) -> None:
    plant = parse_plant(demo_plant_text(machines=3))
    sim = simulate(plant, start=START, end=END, seed=2)
    store = EmbeddedStore(tmp_path)
    assert import_table(store, plant, sim.states, kind="states").new_rows == sim.states.num_rows
    assert import_table(store, plant, sim.counts, kind="counts").new_rows == sim.counts.num_rows
    m = Measure(store, plant)
    (site,) = m.oee(start=START, end=END, by="site", now=END)
    assert 0.35 < site["oee"] < 0.85
    assert site["no_data_s"] == 0
    for key in (
        "breakdown_s",
        "setup_s",
        "unexplained_s",
        "minor_stop_s",
        "speed_loss_s",
        "quality_loss_s",
    ):
        assert site[key] > 0, key
    categories = {r["category"] for r in m.pareto(start=START, end=END, now=END)}
    assert {"breakdown", "setup", "minor_stop", "unexplained"} <= categories
    days = m.oee(start=START, end=END, by="site,day", now=END)
    assert len(days) == 5  # Monday to Friday; the weekend has no shifts
