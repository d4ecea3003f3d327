"""Quality prediction per batch on SKAB slices cut into 30-second batches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pilotline.ai.data import read_recordings
from pilotline.ai.quality import (
    batches_from_recording,
    cost_threshold,
    plain_importance,
    predict_quality,
)
from pilotline.errors import InputError


def test_models_beside_baselines(skab_slice: Path) -> None:
    data = read_recordings(skab_slice)
    xs, ys = [], []
    for rec in data.recordings[:1]:
        assert rec.label is not None
        x, y = batches_from_recording(rec.values, rec.label, 10)
        xs.append(x)
        ys.append(y)
    x, y = np.vstack(xs), np.concatenate(ys)
    names = [f"{s} mean" for s in data.signals] + [f"{s} spread" for s in data.signals]
    rep = predict_quality(x, y, names, cost_false_alarm=50, cost_missed=500, folds=3)
    by = {r.name: r for r in rep.results}
    assert set(by) == {
        "always_pass", "flag_all", "spc_limits", "logistic_regression", "gradient_boosting"
    }  # fmt: skip
    assert by["flag_all"].recall == 1.0
    assert by["always_pass"].balanced_error == 0.5 and by["always_pass"].recall == 0.0
    assert by["always_pass"].cost == pytest.approx(500 * int(y[len(y) - 3 * (len(y) // 4) :].sum()))
    assert 0 < rep.base_rate < 1
    assert rep.importance and rep.importance[0][0] in names
    assert plain_importance(rep.importance)[0]
    assert rep.verdict


def test_cost_threshold_by_hand() -> None:
    y = np.array([0, 0, 1, 1], dtype=bool)
    p = np.array([0.1, 0.6, 0.4, 0.9])
    # flagging from 0.4 on: 1 false alarm (cost 1), no miss; from 0.6: 1 FA + 1 miss (cost 11)
    assert cost_threshold(y, p, 1.0, 10.0) == 0.4
    assert cost_threshold(y, p, 100.0, 1.0) > 0.6  # false alarms dear: flag only the surest


def test_too_few_parts_or_one_outcome() -> None:
    with pytest.raises(InputError, match="too few"):
        predict_quality(np.zeros((20, 2)), np.zeros(20, dtype=bool), ["a", "b"])
    with pytest.raises(InputError, match="same outcome"):
        predict_quality(
            np.random.default_rng(0).normal(size=(80, 2)), np.zeros(80, dtype=bool), ["a", "b"]
        )


def test_quality_command(skab_slice: Path, tmp_path: Path) -> None:
    """One row per 30-second batch of a SKAB run, the outcome 1 where the batch held the fault."""
    import json

    from typer.testing import CliRunner

    from pilotline.cli.app import app

    rec = read_recordings(skab_slice / "valve1-0.csv").recordings[0]
    assert rec.label is not None
    x, y = batches_from_recording(rec.values[:, :3], rec.label, 10)
    lines = ["datetime;vib_mean;vib2_mean;current_mean;vib_sd;vib2_sd;current_sd;failed"]
    for i, (row, bad) in enumerate(zip(x, y, strict=True)):
        lines.append(
            f"2026-02-01 {6 + i // 60:02d}:{i % 60:02d}:00;"
            + ";".join(f"{v:.6g}" for v in row)
            + f";{int(bad)}"
        )
    path = tmp_path / "batches.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = CliRunner().invoke(
        app, ["--home", str(tmp_path / "home"), "ai", "quality", str(path), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["rows"] == len(x) and out["folds"] == 5
    assert {r["name"] for r in out["results"]} == {
        "always_pass", "flag_all", "spc_limits", "logistic_regression", "gradient_boosting"
    }  # fmt: skip
    assert isinstance(out["leaks"], list)
    assert out["verdict"]
