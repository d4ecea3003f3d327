"""``pilotline map``: the summary contract, the drawn map and conformance from the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import clock_env, write

PILOTLINE = str(Path(sys.executable).parent / "pilotline")
DATA = Path(__file__).parents[3] / "shared" / "data"
PRODUCTION = [
    str(DATA / "production_levy2014.csv"),
    "--case",
    "Case ID",
    "--activity",
    "Activity",
    "--timestamp",
    "Complete Timestamp",
    "--timestamp-format",
    "%Y/%m/%d %H:%M:%S.%f",
    "--resource",
    "Resource",
]


def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [PILOTLINE, "map", *args],
        capture_output=True,
        text=True,
        check=False,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", **clock_env()},
    )
    assert (result.returncode == 0) == ok, result.stdout + result.stderr
    return result


def test_summary_json_contract() -> None:
    s = json.loads(run("summary", *PRODUCTION, "--format", "json").stdout)
    for key in (
        "events",
        "cases",
        "activities",
        "variants",
        "start_activities",
        "end_activities",
        "case_duration_mean_s",
        "case_duration_median_s",
        "dfg",
    ):
        assert key in s
    assert (s["events"], s["cases"], s["variants"]) == (4953, 225, 217)
    assert s["start_activities"] == {"Start": 225}
    assert set(s["dfg"][0]) >= {"source", "target", "count", "mean_s", "median_s"}


def test_dfg_draws_an_svg_map(tmp_path: Path) -> None:
    svg = tmp_path / "map.svg"
    run("dfg", str(DATA / "running-example.xes"), "--svg", str(svg), "--metric", "time")
    text = svg.read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text
    assert "register request" in text and "decide" in text


def test_grouping_collapsing_and_automation_on_the_job_shop() -> None:
    out = run(
        "variants",
        *PRODUCTION,
        "--group-pattern",
        r"^([A-Za-z]+)",
        "--collapse-repeats",
        "--format",
        "json",
    ).stdout
    assert len(json.loads(out)) < 217  # grouping and collapsing merge near-identical routings
    verdicts = json.loads(run("automation", *PRODUCTION, "--format", "json").stdout)
    assert {v["verdict"] for v in verdicts} <= {
        "candidate for automation",
        "stabilise the process first",
    }
    assert all(v["reasons"] for v in verdicts)


def test_conform_from_a_routing_file(tmp_path: Path) -> None:
    model = write(
        tmp_path / "routing.toml",
        """
start = ["register request"]
end = ["pay compensation", "reject request"]
[transitions]
"register request" = ["examine casually", "examine thoroughly", "check ticket"]
"examine casually" = ["check ticket", "decide"]
"examine thoroughly" = ["check ticket", "decide"]
"check ticket" = ["examine casually", "examine thoroughly", "decide"]
"decide" = ["pay compensation", "reject request", "reinitiate request"]
"reinitiate request" = ["examine casually", "examine thoroughly", "check ticket"]
""",
    )
    result = json.loads(
        run(
            "conform", str(DATA / "running-example.xes"), "--model", str(model), "--format", "json"
        ).stdout
    )
    assert result["cases"] == 6 and result["fitting_cases"] == 6 and result["mean_fitness"] == 1.0
    strict = write(
        tmp_path / "strict.toml",
        'start = ["register request"]\nend = ["pay compensation"]\n'
        '[transitions]\n"register request" = ["check ticket"]\n',
    )
    out = run("conform", str(DATA / "running-example.xes"), "--model", str(strict)).stdout
    assert "of 6 cases follow the routing" in out and "unexpected step" in out


def test_bad_input_gives_one_clear_message(tmp_path: Path) -> None:
    result = run("summary", str(DATA / "production_levy2014.csv"), ok=False)
    assert "no case column 'case'" in result.stderr and "Traceback" not in result.stderr
    bad_model = write(tmp_path / "m.toml", "start = []\n")
    result = run("conform", str(DATA / "running-example.xes"), "--model", str(bad_model), ok=False)
    assert "not a valid routing model" in result.stderr


def test_conform_replays_a_state_machine_net(tmp_path: Path) -> None:
    from pilotline.map.petri import StateMachine, write_pnml

    net = StateMachine(
        {
            "register request": ("start", "registered"),
            "examine casually": ("registered", "examined"),
            "check ticket": ("examined", "checked"),
            "decide": ("checked", "decided"),
            "reject request": ("decided", "end"),
            "pay compensation": ("decided", "end"),
        },
        "start",
        "end",
    )
    write_pnml(net, tmp_path / "route.pnml")
    result = json.loads(
        run(
            "conform",
            str(DATA / "running-example.xes"),
            "--model",
            str(tmp_path / "route.pnml"),
            "--format",
            "json",
        ).stdout
    )
    assert result["cases"] == 6 and 0 < result["fitting_cases"] < 6
    assert 0 < result["log_fitness"] < 1
    out = run("conform", str(DATA / "running-example.xes"), "--model", str(tmp_path / "route.pnml"))
    assert "cases fit the net" in out.stdout and "token-based replay" in out.stdout
    (tmp_path / "and.pnml").write_text(
        (tmp_path / "route.pnml")
        .read_text()
        .replace("</page>", '<arc id="extra" source="t0" target="end" /></page>')  # a 2nd output
    )
    refused = run(
        "conform",
        str(DATA / "running-example.xes"),
        "--model",
        str(tmp_path / "and.pnml"),
        "--method",
        "replay",
        ok=False,
    )
    assert "is not a state-machine net" in refused.stderr
