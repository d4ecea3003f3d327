import pytest

from pilotline.errors import PlantModelError
from pilotline.plant import DEFAULT_REASONS, example_plant_text, parse_plant
from tests.conftest import WORKED_EXAMPLE_PLANT


def test_the_example_written_by_init_is_a_valid_plant() -> None:
    plant = parse_plant(example_plant_text())
    assert plant.site.timezone == "Europe/London"
    assert [m.id for _, m in plant.machines] == ["press-1", "press-2", "cnc-1"]
    assert plant.reason_categories()["die change"] == "setup"


def test_plant_reasons_override_the_defaults() -> None:
    plant = parse_plant(WORKED_EXAMPLE_PLANT + '\n[reasons]\n"Breakdown" = "setup"\n')
    assert DEFAULT_REASONS["breakdown"] == "breakdown"
    assert plant.reason_categories()["breakdown"] == "setup"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('timezone = "UTC"', 'timezone = "Mars/Olympus"'), "unknown time zone 'Mars/Olympus'"),
        (('calendar = "day"', 'calendar = "nights"'), "calendar 'nights', which is not defined"),
        (("ideal_cycle_s = 1.0", "ideal_cycle_s = -1"), "lines[0].machines[0].ideal_cycle_s"),
        (('start = "06:00"', 'start = "6 o\'clock"'), "expected a time of day as HH:MM"),
        (('id = "m2"', 'id = "m1"'), "machine ids must be unique"),
    ],
)
def test_an_invalid_plant_says_which_field_is_wrong(change: tuple[str, str], message: str) -> None:
    with pytest.raises(PlantModelError, match="not a valid plant model") as info:
        parse_plant(WORKED_EXAMPLE_PLANT.replace(*change, 1))
    assert message in str(info.value)


def test_unknown_loss_category_is_refused() -> None:
    with pytest.raises(PlantModelError, match="unknown loss category 'coffee'"):
        parse_plant(WORKED_EXAMPLE_PLANT + '\n[reasons]\n"tea" = "coffee"\n')


def test_toml_syntax_error_names_the_line() -> None:
    with pytest.raises(PlantModelError, match="line 2"):
        parse_plant("[site]\nname = \n")
