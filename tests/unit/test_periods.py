"""Periods in China time: each instant lies in exactly the period its start says, for every kind."""
from __future__ import annotations

import datetime as dt

from hypothesis import example, given, settings, strategies as st

from workflow import periods, workdays

INSTANTS = st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2035, 12, 31))
TIMES = st.times().map(lambda t: t.replace(microsecond=0))


def start_of(d: dt.date, at: dt.time) -> dt.datetime:
    """The naive-UTC instant of ``d`` at ``at`` China time."""
    return dt.datetime.combine(d, at, tzinfo=workdays.TZ).astimezone(dt.UTC).replace(tzinfo=None)


@settings(derandomize=True, max_examples=300)
@given(INSTANTS, TIMES)
@example(dt.datetime(2026, 12, 1, 16, 29), dt.time(0, 30))  # 00:29 in China: still the day before
@example(dt.datetime(2026, 12, 1, 16, 30), dt.time(0, 30))
def test_a_daily_period_starts_at_its_hour_and_lasts_a_day(now, at):
    d = periods.day(now, at)
    assert start_of(d, at) <= now < start_of(d + dt.timedelta(days=1), at)


@settings(derandomize=True, max_examples=300)
@given(INSTANTS, TIMES, st.integers(0, 6))
@example(dt.datetime(2026, 12, 7, 0, 59), dt.time(9, 0), 0)  # Monday 08:59 in China: last week's
@example(dt.datetime(2026, 12, 7, 1, 0), dt.time(9, 0), 0)
def test_a_weekly_period_starts_on_its_weekday_and_lasts_a_week(now, at, weekday):
    d = periods.week(now, at, weekday)
    assert d.weekday() == weekday
    assert start_of(d, at) <= now < start_of(d + dt.timedelta(days=7), at)


@settings(derandomize=True, max_examples=300)
@given(INSTANTS, TIMES)
@example(dt.datetime(2026, 12, 1, 0, 59), dt.time(9, 0))  # the 1st, 08:59 in China: last month's
def test_a_monthly_period_starts_on_the_first_and_lasts_to_the_next(now, at):
    d = periods.month(now, at)
    following = (d + dt.timedelta(days=32)).replace(day=1)
    assert d.day == 1 and start_of(d, at) <= now < start_of(following, at)


def test_period_keys_name_the_job_and_the_period():
    assert periods.day_key("checkpoint", dt.date(2026, 12, 2)) == "checkpoint:2026-12-02"
    assert periods.week_key("weekly", dt.date(2026, 11, 30)) == "weekly:2026-W49"
    assert periods.week_key("weekly", dt.date(2027, 1, 4)) == "weekly:2027-W01"
    assert periods.month_key("monthly", 2026, 11) == "monthly:2026-11"
