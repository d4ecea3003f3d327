import datetime as dt

from pilotline.plant import Plant, shift_instances

UTC = dt.UTC


def _nights(plant: Plant, day: dt.date) -> list:
    start = dt.datetime.combine(day, dt.time(0), tzinfo=UTC)
    return shift_instances(plant.calendars[0], plant.tz, start, start + dt.timedelta(days=1))


def test_night_shift_across_spring_forward_lasts_seven_real_hours(london_plant: Plant) -> None:
    (night,) = _nights(london_plant, dt.date(2026, 3, 28))
    assert night.start == dt.datetime(2026, 3, 28, 22, 0, tzinfo=UTC)  # GMT
    assert night.end == dt.datetime(2026, 3, 29, 5, 0, tzinfo=UTC)  # 06:00 BST
    assert night.seconds == 7 * 3600


def test_night_shift_across_fall_back_lasts_nine_real_hours(london_plant: Plant) -> None:
    (night,) = _nights(london_plant, dt.date(2026, 10, 24))
    assert night.start == dt.datetime(2026, 10, 24, 21, 0, tzinfo=UTC)  # 22:00 BST
    assert night.end == dt.datetime(2026, 10, 25, 6, 0, tzinfo=UTC)  # 06:00 GMT
    assert night.seconds == 9 * 3600


def test_ordinary_night_is_eight_hours_and_breaks_are_cut_out(worked_plant: Plant) -> None:
    start = dt.datetime(2026, 3, 2, tzinfo=UTC)
    (day,) = shift_instances(
        worked_plant.calendars[0], worked_plant.tz, start, start + dt.timedelta(days=1)
    )
    planned = sum((b - a).total_seconds() for a, b in day.planned_segments())
    assert day.seconds == 480 * 60
    assert planned == 420 * 60


def test_holidays_have_no_shifts(london_plant: Plant) -> None:
    calendar = london_plant.calendars[0].model_copy(update={"holidays": [dt.date(2026, 12, 25)]})
    start = dt.datetime(2026, 12, 25, tzinfo=UTC)
    shifts = shift_instances(calendar, london_plant.tz, start, start + dt.timedelta(days=2))
    assert [s.production_date for s in shifts] == [dt.date(2026, 12, 26)]
