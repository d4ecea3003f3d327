"""The generated assessment reference is current, and every question, gate and step is in it."""

from __future__ import annotations

from pathlib import Path

from pilotline.assess.catalogue import steps
from pilotline.assess.gates import gates
from pilotline.assess.questionnaire import questions
from pilotline.assess.reference import NAME, reference

DOCS = Path(__file__).parents[2] / "docs"


def test_the_reference_is_current() -> None:
    on_disk = (DOCS / NAME).read_text(encoding="utf-8")
    assert on_disk == reference(), (
        f"docs/{NAME} is stale: run python -m pilotline.assess.reference docs"
    )


def test_every_question_gate_and_step_is_documented() -> None:
    text = (DOCS / NAME).read_text(encoding="utf-8")
    for key in [*questions(), *gates(), *steps()]:
        assert f"`{key}`" in text
    guide = (DOCS / "assess.md").read_text(encoding="utf-8")
    assert "assess-reference.md" in guide
