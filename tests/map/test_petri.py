"""Token-based replay on state-machine nets: the same figures as pm4py's, case by case."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from pilotline.errors import InputError
from pilotline.map import LogColumns, Miner, read_log
from pilotline.map.petri import StateMachine, main_route, read_pnml, write_pnml
from tests.conftest import write

DATA = Path(__file__).parents[3] / "shared" / "data"


@pytest.mark.parametrize("name", ["receipt.xes.gz", "bpic2012.xes.gz"])
def test_token_replay_equals_pm4py_case_by_case(name: str, tmp_path: Path) -> None:
    miner = Miner(read_log(DATA / name))
    s = miner.summary()
    net = main_route(s["dfg"], s["start_activities"], s["end_activities"])
    write_pnml(net, tmp_path / "route.pnml")
    assert read_pnml(tmp_path / "route.pnml") == net
    ours = miner.replay(net)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pm4py

        df = pm4py.read_xes(str(DATA / name), variant="iterparse", show_progress_bar=False)
        df = pm4py.format_dataframe(
            df,
            case_id="case:concept:name",
            activity_key="concept:name",
            timestamp_key="time:timestamp",
        )
        pn, im, fm = pm4py.read_pnml(str(tmp_path / "route.pnml"))
        log = pm4py.convert_to_event_log(df)
        diagnostics = pm4py.conformance_diagnostics_token_based_replay(log, pn, im, fm)
        from pm4py.algo.evaluation.replay_fitness.variants import token_replay as evaluation

        overall = evaluation.evaluate(diagnostics)  # pm4py's log figures, without a second replay
    by_case = {c["case"]: c for c in ours["per_case"]}
    assert len(by_case) == len(diagnostics)
    for trace, d in zip(log, diagnostics, strict=True):
        c = by_case[trace.attributes["concept:name"]]
        assert (c["missing"], c["consumed"], c["remaining"], c["produced"]) == (
            d["missing_tokens"],
            d["consumed_tokens"],
            d["remaining_tokens"],
            d["produced_tokens"],
        )
    assert ours["log_fitness"] == pytest.approx(overall["log_fitness"], abs=1e-12)
    assert ours["mean_fitness"] == pytest.approx(overall["average_trace_fitness"], abs=1e-12)
    assert ours["fitting_share"] * 100 == pytest.approx(overall["percentage_of_fitting_traces"])
    assert 0 < ours["fitting_share"] < 1  # the model really lets some cases fail


def test_replay_by_hand_with_a_skipped_unknown_activity(tmp_path: Path) -> None:
    log = """
case,activity,time
1,receive,2026-01-05T08:00:00Z
1,pick,2026-01-05T09:00:00Z
1,ship,2026-01-05T10:00:00Z
2,receive,2026-01-05T08:00:00Z
2,ship,2026-01-05T09:00:00Z
2,pick,2026-01-05T10:00:00Z
3,call,2026-01-05T08:00:00Z
"""
    net = StateMachine({"receive": ("i", "a"), "pick": ("a", "b"), "ship": ("b", "o")}, "i", "o")
    miner = Miner(read_log(write(tmp_path / "l.csv", log), LogColumns("case", "activity", "time")))
    got = {c["case"]: c for c in miner.replay(net)["per_case"]}
    assert (got["1"]["missing"], got["1"]["remaining"], got["1"]["fitness"]) == (0, 0, 1.0)
    # ship finds no token in b (missing 1, leaves one in o); pick then takes a's token and
    # leaves one in b; the final marking takes o's token: remaining 1
    assert (got["2"]["missing"], got["2"]["consumed"], got["2"]["remaining"]) == (1, 4, 1)
    assert got["2"]["fitness"] == pytest.approx(0.5 * (1 - 1 / 4) + 0.5 * (1 - 1 / 4))
    # "call" is not in the net and is skipped: the token stays in i and o gets none
    assert (got["3"]["missing"], got["3"]["consumed"], got["3"]["remaining"]) == (1, 1, 1)


def test_a_net_that_is_not_a_state_machine_is_refused_with_the_reasons(tmp_path: Path) -> None:
    pnml = tmp_path / "and.pnml"
    pnml.write_text(
        """<?xml version="1.0"?><pnml><net id="n" type="x"><page id="p">
<place id="i"><initialMarking><text>1</text></initialMarking></place>
<place id="a"/><place id="b"/><place id="o"/>
<transition id="t1"><name><text>split</text></name></transition>
<transition id="t2"><name><text>tau</text></name><toolspecific tool="ProM" version="6.4" activity="$invisible$"/></transition>
<arc id="1" source="i" target="t1"/><arc id="2" source="t1" target="a"/><arc id="3" source="t1" target="b"/>
<arc id="4" source="a" target="t2"/><arc id="5" source="t2" target="o"/>
</page><finalmarkings><marking><place idref="o"><text>1</text></place></marking></finalmarkings></net></pnml>"""
    )
    with pytest.raises(InputError) as err:
        read_pnml(pnml)
    message = str(err.value)
    assert "1 silent transition(s) (t2)" in message
    assert "parallel branches): split" in message
    assert "--method align" in message
    broken = tmp_path / "broken.pnml"
    broken.write_text("<pnml><net>")
    with pytest.raises(InputError, match="line 1, column 11"):
        read_pnml(broken)
