"""Small slices of SKAB (the real labelled pump data) for the AI tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

SKAB = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "skab"


@pytest.fixture(scope="session")
def skab_slice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four SKAB experiments (two valve faults, two other faults) in one folder."""
    assert SKAB.exists(), "the SKAB data set is missing from ../shared/data/skab"
    folder = tmp_path_factory.mktemp("skab")
    for part in ("valve1/0.csv", "valve1/1.csv", "other/9.csv", "valve2/1.csv"):
        shutil.copy(SKAB / part, folder / part.replace("/", "-"))
    return folder
