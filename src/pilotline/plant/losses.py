"""Loss categories and default reason codes (the Nakajima / TPM six big losses), as data.

Each stop reason maps to one loss category; each category sits in one bucket of the OEE time model:

* ``planned``      – removed from planned production time (breaks, no orders, planned maintenance)
* ``availability`` – a stop that takes time out of run time (breakdowns, setups, unexplained stops)
* ``performance``  – time inside run time that made no parts (minor stops, reduced speed)
* ``quality``      – parts made but not good (startup and production rejects)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Bucket = Literal["planned", "availability", "performance", "quality", "no_data"]


@dataclass(frozen=True)
class LossCategory:
    key: str
    label: str
    bucket: Bucket
    description: str


LOSS_CATEGORIES: tuple[LossCategory, ...] = (
    LossCategory(
        "planned_stop",
        "Planned stop",
        "planned",
        "Scheduled time without production: breaks, no orders, planned maintenance.",
    ),
    LossCategory(
        "breakdown",
        "Breakdown",
        "availability",
        "Equipment failure: the machine cannot run until repaired.",
    ),
    LossCategory(
        "setup",
        "Setup / changeover",
        "availability",
        "Changeovers, setups and adjustments between products or orders.",
    ),
    LossCategory(
        "unexplained",
        "Stop, no reason given",
        "availability",
        "A stop longer than the minor-stop limit for which nobody gave a reason.",
    ),
    LossCategory(
        "minor_stop",
        "Minor stop",
        "performance",
        "Short stops (jams, blocked sensors); unexplained stops up to the minor-stop limit.",
    ),
    LossCategory(
        "reduced_speed",
        "Reduced speed",
        "performance",
        "Running slower than the ideal cycle time; measured, not entered.",
    ),
    LossCategory(
        "startup_reject",
        "Startup reject",
        "quality",
        "Parts scrapped while the process settles after a start or changeover.",
    ),
    LossCategory(
        "production_reject",
        "Production reject",
        "quality",
        "Parts scrapped or reworked in steady production.",
    ),
    LossCategory(
        "no_data",
        "No data",
        "no_data",
        "Planned time with no signal from the machine; never counted as a breakdown.",
    ),
)

CATEGORY_BY_KEY: dict[str, LossCategory] = {c.key: c for c in LOSS_CATEGORIES}

#: Reason codes every plant starts with; ``[reasons]`` in plant.toml adds to or overrides them.
DEFAULT_REASONS: dict[str, str] = {
    "break": "planned_stop",
    "no orders": "planned_stop",
    "planned maintenance": "planned_stop",
    "cleaning": "planned_stop",
    "breakdown": "breakdown",
    "electrical fault": "breakdown",
    "mechanical fault": "breakdown",
    "tool failure": "breakdown",
    "waiting for material": "breakdown",
    "waiting for operator": "breakdown",
    "changeover": "setup",
    "setup": "setup",
    "adjustment": "setup",
    "jam": "minor_stop",
    "blocked sensor": "minor_stop",
    "minor stop": "minor_stop",
    "reduced speed": "reduced_speed",
    "startup reject": "startup_reject",
    "scrap": "production_reject",
    "rework": "production_reject",
}
