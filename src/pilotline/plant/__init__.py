"""The plant model (site, lines, machines, products, calendars, reasons) and shift arithmetic."""

from pilotline.plant.calendar import ShiftInstance, shift_instances
from pilotline.plant.losses import CATEGORY_BY_KEY, DEFAULT_REASONS, LOSS_CATEGORIES, LossCategory
from pilotline.plant.model import (
    Break,
    Calendar,
    Cleaning,
    Company,
    Line,
    Machine,
    Plant,
    Product,
    Shift,
    Site,
    load_plant,
    parse_plant,
)

__all__ = [
    "CATEGORY_BY_KEY",
    "DEFAULT_REASONS",
    "LOSS_CATEGORIES",
    "Break",
    "Calendar",
    "Cleaning",
    "Company",
    "Line",
    "LossCategory",
    "Machine",
    "Plant",
    "Product",
    "Shift",
    "ShiftInstance",
    "Site",
    "load_plant",
    "parse_plant",
    "shift_instances",
]


def example_plant_text() -> str:
    """The commented example plant model that ``pilotline init`` writes."""
    from importlib.resources import files

    return (files("pilotline.plant") / "example.toml").read_text(encoding="utf-8")
