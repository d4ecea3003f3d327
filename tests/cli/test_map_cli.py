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


def test_a_cut_off_xes_gz_is_an_error_not_an_interruption(tmp_path: Path) -> None:
    whole = (DATA / "receipt.xes.gz").read_bytes()
    cut = tmp_path / "receipt.xes.gz"
    cut.write_bytes(whole[: len(whole) // 3])
    result = run("summary", str(cut), ok=False)
    assert result.returncode == 1, result.stderr  # not 130, as if Ctrl-C had been pressed
    assert "the compressed file is cut off" in result.stderr and "Aborted" not in result.stderr


def test_output_paths_that_cannot_be_files_are_refused_plainly(tmp_path: Path) -> None:
    log = str(DATA / "running-example.xes")
    for target, said in (
        (tmp_path, "is a folder; give a file name"),
        (tmp_path / "no" / "map.svg", "does not exist"),
    ):
        result = run("dfg", log, "--svg", str(target), ok=False)
        assert said in result.stderr and "Traceback" not in result.stderr
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where a folder is expected")
    result = run("dfg", log, "--svg", str(blocked / "x" / "map.svg"), ok=False)
    assert "Traceback" not in result.stderr


def test_csv_output_never_carries_a_live_formula(tmp_path: Path) -> None:
    log = write(
        tmp_path / "evil.csv",
        "case,activity,timestamp,resource\n"
        '1,"=HYPERLINK(""http://x"")",2026-01-05T08:00:00Z,@bob\n'
        "1,-5,2026-01-05T09:00:00Z,+ann\n",
    )
    out = run("dfg", str(log), "--format", "csv").stdout.splitlines()
    assert out[1].startswith('"\'=HYPERLINK(""http://x"")",-5,1,3600.0')
    res = run("resources", str(log), "--resource", "resource", "--format", "csv").stdout
    assert "'@bob" in res and "'+ann" in res


def test_top_variants_and_coverage_keep_the_main_paths() -> None:
    top = json.loads(run("summary", *PRODUCTION, "--top-variants", "2", "--format", "json").stdout)
    assert top["variants"] == 2 and top["cases"] < 225
    all_ = json.loads(run("summary", *PRODUCTION, "--coverage", "1", "--format", "json").stdout)
    assert all_["cases"] == 225
    result = run("summary", *PRODUCTION, "--top-variants", "0", ok=False)
    assert "--top-variants must be 1 or more" in result.stderr
