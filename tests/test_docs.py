"""Docs that run: the tutorial's commands work, and generated references are current."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from pilotline.cli import docs
from tests.conftest import clock_env

ROOT = Path(__file__).parents[1]
PILOTLINE = Path(sys.executable).parent / "pilotline"


@pytest.mark.parametrize("name", sorted(docs.DOCS))
def test_generated_reference_is_current(name: str) -> None:
    on_disk = (ROOT / "docs" / name).read_text(encoding="utf-8")
    assert on_disk == docs.DOCS[name](), (
        f"docs/{name} is stale: run python -m pilotline.cli.docs docs"
    )


def _run_guide(name: str, tmp_path: Path, *, expect: int, home: bool) -> list[str]:
    """Run every ``$ pilotline …`` line of a guide's console blocks, in order; return the outputs.
    Output files named in the guide are written to ``tmp_path`` instead."""
    text = (ROOT / "docs" / name).read_text(encoding="utf-8")
    commands = [
        line[2:]
        for block in re.findall(r"```console\n(.*?)```", text, re.S)
        for line in block.splitlines()
        if line.startswith("$ ")
    ]
    assert len(commands) == expect
    outputs = []
    for command in commands:
        args = shlex.split(command)
        assert args[0] == "pilotline"
        args = [str(tmp_path / a) if a.endswith((".html", ".svg")) else a for a in args[1:]]
        prefix = ["--home", str(tmp_path / "home")] if home else []
        result = subprocess.run(
            [str(PILOTLINE), *prefix, *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env={"COLUMNS": "160", "PATH": "/usr/bin:/bin", **clock_env()},
            check=False,
        )
        assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
        outputs.append(result.stdout)
    return outputs


def test_the_getting_started_tutorial_runs_as_written(tmp_path: Path) -> None:
    outputs = _run_guide("getting-started.md", tmp_path, expect=5, home=True)
    assert "states row(s)" in outputs[1] and "counts row(s)" in outputs[1]
    assert "press-1" in outputs[2] and "%" in outputs[2]
    assert "Fully productive time" in outputs[3]
    report = (tmp_path / "shift-report.html").read_text(encoding="utf-8")
    assert "Downtime by reason" in report and "State timeline" in report


def test_every_setting_and_kpi_is_documented() -> None:
    text = (ROOT / "docs" / "kpis.md").read_text(encoding="utf-8")
    from pilotline.measure import KPIS
    from pilotline.settings import SETTINGS

    for s in SETTINGS:
        assert f"`{s.env}`" in text
    for k in KPIS:
        assert f"`{k.key}`" in text


def test_the_process_mining_guide_runs_as_written(tmp_path: Path) -> None:
    outputs = _run_guide("process-mining.md", tmp_path, expect=6, home=False)
    assert "21 events in 5 cases" in outputs[0]
    assert "<svg" in (tmp_path / "orders-map.svg").read_text()
    assert "2 of 5 cases follow the routing" in outputs[4]
    assert "stabilise the process first" in outputs[5]


def test_the_live_data_guide_configuration_is_valid_for_the_example_plant() -> None:
    from pilotline.connect import parse_collect_config
    from pilotline.plant import example_plant_text, parse_plant

    text = (ROOT / "docs" / "live-data.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```toml\n(.*?)```", text, re.S)
    assert len(blocks) == 2
    plant = parse_plant(example_plant_text())
    configs = [parse_collect_config(b, source="docs/live-data.md") for b in blocks]
    for config in configs:
        config.check_plant(plant)
    assert {s.kind for s in configs[0].sources} == {"mqtt", "opcua", "modbus"}
    assert configs[1].sources[0].kind == "mqtt" and configs[1].sources[0].format == "sparkplug"
