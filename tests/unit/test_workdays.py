"""Chinese working days and the escalation ladder's lights, without a database."""
from __future__ import annotations

import datetime as dt

import pytest

from workflow import workdays
from workflow.workdays import add_workdays, is_workday, light, workdays_between

D = dt.date


# --- the calendar --------------------------------------------------------------------

@pytest.mark.parametrize("day", [D(2025, 10, d) for d in range(1, 9)])
def test_a_statutory_holiday_is_not_a_working_day(day):
    assert not is_workday(day)


def test_national_day_weekdays_are_holidays_even_though_they_are_monday_to_friday():
    assert D(2025, 10, 1).weekday() == 2 and not is_workday(D(2025, 10, 1))
    assert D(2025, 10, 8).weekday() == 2 and not is_workday(D(2025, 10, 8))


@pytest.mark.parametrize("day", [D(2025, 9, 28), D(2025, 10, 11)])
def test_a_make_up_working_day_on_a_weekend_is_a_working_day(day):
    assert day.weekday() >= 5
    assert is_workday(day)


def test_an_ordinary_weekend_is_not_a_working_day_and_an_ordinary_weekday_is():
    assert not is_workday(D(2025, 9, 27))  # Saturday
    assert not is_workday(D(2025, 10, 12))  # Sunday after the make-up Saturday
    assert is_workday(D(2025, 10, 9))  # Thursday after the holiday


def test_spring_festival_2026_is_a_holiday():
    assert not is_workday(D(2026, 2, 17))


def test_outside_the_calendar_years_weekends_are_the_only_days_off():
    assert is_workday(D(2099, 1, 1))  # a Thursday; no holiday table that far ahead
    assert not is_workday(D(2099, 1, 3))  # Saturday


def test_adding_one_working_day_skips_the_whole_national_day_break():
    assert add_workdays(D(2025, 9, 30), 1) == D(2025, 10, 9)
    assert add_workdays(D(2025, 9, 30), 0) == D(2025, 9, 30)
    assert add_workdays(D(2025, 9, 26), 1) == D(2025, 9, 28)  # Friday -> the make-up Sunday


def test_working_days_between_counts_the_half_open_interval_and_is_antisymmetric():
    assert workdays_between(D(2025, 9, 30), D(2025, 10, 9)) == 1
    assert workdays_between(D(2025, 9, 30), D(2025, 10, 8)) == 0
    assert workdays_between(D(2025, 9, 26), D(2025, 10, 13)) == 7  # 9-28, 29, 30, 10-9, 10, 11, 13
    assert workdays_between(D(2025, 10, 13), D(2025, 9, 26)) == -7
    assert workdays_between(D(2025, 10, 9), D(2025, 10, 9)) == 0


def test_local_today_is_the_date_in_china():
    assert workdays.local_today(dt.datetime(2025, 9, 30, 15, 59)) == D(2025, 9, 30)
    assert workdays.local_today(dt.datetime(2025, 9, 30, 16, 0)) == D(2025, 10, 1)
    aware = dt.datetime(2025, 9, 30, 23, 0, tzinfo=workdays.TZ)
    assert workdays.local_today(aware) == D(2025, 9, 30)


# --- lights at the ladder's boundaries ---------------------------------------------------

DEADLINE = D(2025, 11, 14)  # a Friday, no holiday nearby


@pytest.mark.parametrize("today,expected", [
    (D(2025, 11, 7), ("green", -1)),  # 5 working days to go
    (D(2025, 11, 10), ("green", -1)),  # 4 working days to go
    (D(2025, 11, 11), ("yellow", 0)),  # 3 working days to go: the yellow edge
    (D(2025, 11, 13), ("yellow", 0)),
    (D(2025, 11, 14), ("yellow", 0)),  # the deadline itself
    (D(2025, 11, 15), ("red", 1)),  # a day late, though Saturday
    (D(2025, 11, 17), ("red", 1)),  # 1 working day late
    (D(2025, 11, 20), ("red", 1)),  # 4 working days late
    (D(2025, 11, 21), ("red", 2)),  # 5: L2
    (D(2025, 11, 27), ("red", 2)),  # 9
    (D(2025, 11, 28), ("red", 3)),  # 10: L3
    (D(2026, 3, 2), ("red", 3)),
])
def test_lights_change_exactly_at_the_ladder_boundaries(today, expected):
    assert light("in_progress", DEADLINE, today) == expected


def test_yellow_counts_working_days_across_the_national_day_break():
    deadline = D(2025, 10, 10)
    # from the make-up Sunday 9-28: 29, 30, 10-9, 10-10 = 4 working days -> still green
    assert light("assigned", deadline, D(2025, 9, 28)) == ("green", -1)
    # eleven calendar days before, but only 3 working days: yellow
    assert light("assigned", deadline, D(2025, 9, 29)) == ("yellow", 0)


def test_a_deadline_before_the_holiday_is_red_l1_throughout_the_holiday():
    deadline = D(2025, 9, 30)
    for d in range(1, 9):
        assert light("in_progress", deadline, D(2025, 10, d)) == ("red", 1)


def test_l2_and_l3_arrive_later_in_calendar_days_across_the_holiday():
    deadline = D(2025, 9, 30)
    # working days after 9-30: 10-9, 10-10, 10-11 (make-up Saturday), 10-13, 10-14 ...
    assert light("in_progress", deadline, D(2025, 10, 13)) == ("red", 1)  # 4 late
    assert light("in_progress", deadline, D(2025, 10, 14)) == ("red", 2)  # 5 late
    assert light("in_progress", deadline, D(2025, 10, 20)) == ("red", 2)  # 9 late
    assert light("in_progress", deadline, D(2025, 10, 21)) == ("red", 3)  # 10 late


def test_the_make_up_saturday_counts_towards_lateness():
    deadline = D(2025, 10, 9)
    assert light("in_progress", deadline, D(2025, 10, 10)) == ("red", 1)
    # 10-10, 10-11 (Sat, worked), 10-13, 10-14, 10-15 = 5
    assert light("in_progress", deadline, D(2025, 10, 15)) == ("red", 2)


@pytest.mark.parametrize("state", ["submitted", "verified"])
def test_measures_waiting_for_approval_are_green_however_late(state):
    assert light(state, DEADLINE, D(2026, 6, 1)) == ("green", -1)


def test_closed_measures_are_done_and_a_missing_deadline_is_green():
    assert light("closed", DEADLINE, D(2026, 6, 1)) == ("done", -1)
    assert light("in_progress", None, D(2026, 6, 1)) == ("green", -1)


def test_a_plan_can_override_the_ladder():
    rules = workdays.ladder({"yellow_within": 1, "l2_after": 2, "l3_after": 3})
    assert rules["sla_remind_after"] == workdays.DEFAULT_LADDER["sla_remind_after"]
    assert light("in_progress", DEADLINE, D(2025, 11, 12), rules) == ("green", -1)
    assert light("in_progress", DEADLINE, D(2025, 11, 13), rules) == ("yellow", 0)
    assert light("in_progress", DEADLINE, D(2025, 11, 18), rules) == ("red", 2)
    assert light("in_progress", DEADLINE, D(2025, 11, 19), rules) == ("red", 3)


def test_the_default_ladder_is_the_designed_one():
    assert workdays.DEFAULT_LADDER["yellow_within"] == 3
    assert workdays.DEFAULT_LADDER["l2_after"] == 5
    assert workdays.DEFAULT_LADDER["l3_after"] == 10
    assert workdays.ladder(None) == workdays.DEFAULT_LADDER


# --- the office's imported schedules (an overlay over the package) -----------------------------

@pytest.fixture
def overlay():
    """Count with the given overlay for one test, then with the package alone again."""
    def use(days: dict, years) -> None:
        workdays.use_overlay(workdays.Overlay(days, frozenset(years)))

    yield use
    workdays.use_overlay(None)


def test_a_year_past_the_package_is_not_covered_until_a_schedule_is_imported(overlay):
    assert not workdays.covered(2027) and workdays.source(2027) is None
    assert is_workday(D(2027, 1, 1))  # a Friday: without a schedule only weekends are off
    overlay({D(2027, 1, 1): False, D(2027, 2, 14): True}, {2027})
    assert workdays.covered(2027) and workdays.source(2027) == "imported"
    assert not is_workday(D(2027, 1, 1))
    assert is_workday(D(2027, 2, 14))  # a make-up Sunday
    assert not is_workday(D(2027, 2, 21))  # an ordinary Sunday of the imported year
    assert is_workday(D(2027, 3, 1))  # an ordinary Monday


def test_an_imported_year_overrides_the_package_for_that_year_only(overlay):
    assert workdays.source(2025) == "package" and not is_workday(D(2025, 10, 8))
    overlay({D(2025, 10, 1): False}, {2025})
    assert workdays.source(2025) == "imported"
    assert not is_workday(D(2025, 10, 1)) and is_workday(D(2025, 10, 8))  # not listed: an ordinary Wednesday
    assert not is_workday(D(2025, 9, 28))  # the package's make-up Sunday no longer applies
    assert not is_workday(D(2026, 2, 17))  # 2026 still comes from the package


def test_a_listed_day_of_a_year_not_imported_settles_that_day_alone(overlay):
    overlay({D(2026, 12, 26): True}, {2027})  # a 2027 notice's make-up Saturday in 2026
    assert is_workday(D(2026, 12, 26))
    assert workdays.source(2026) == "package" and not is_workday(D(2026, 2, 17))


def test_counts_made_before_a_schedule_arrives_are_not_reused_after(overlay):
    start, end = D(2026, 12, 31), D(2027, 1, 8)
    assert workdays_between(start, end) == 6  # 1, 4, 5, 6, 7, 8
    overlay({D(2027, 1, d): False for d in (1, 2, 3)}, {2027})
    assert workdays_between(start, end) == 5
    assert light("in_progress", start, end) == ("red", 2)
    workdays.use_overlay(None)
    assert workdays_between(start, end) == 6


def test_the_special_days_of_a_year_are_the_breaks_and_the_worked_weekend_days(overlay):
    off, worked = workdays.special_days(2025)
    assert D(2025, 10, 4) in off and len(off) == 28  # a Saturday inside the National Day break counts
    assert worked == [D(2025, 1, 26), D(2025, 2, 8), D(2025, 4, 27), D(2025, 9, 28), D(2025, 10, 11)]
    assert workdays.special_days(2027) == ([], [])
    overlay({D(2027, 1, 1): False, D(2027, 2, 14): True}, {2027})
    assert workdays.special_days(2027) == ([D(2027, 1, 1)], [D(2027, 2, 14)])
