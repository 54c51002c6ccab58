"""Chinese working days and the traffic light of a measure.

Statutory holidays and make-up working days (调休) come from ``chinese-calendar`` for the years it
covers; outside them, Monday to Friday are working days.
"""
from __future__ import annotations

import datetime as dt
from functools import cache, lru_cache
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")

DEFAULT_LADDER = {
    "yellow_within": 3,  # working days before the deadline
    "l2_after": 5,  # working days overdue
    "l3_after": 10,
    "sla_remind_after": 3,  # working days waiting for approval
    "sla_superior_after": 7,
    "recheck_every_days": 90,
}


def ladder(overrides: dict | None = None) -> dict:
    return {**DEFAULT_LADDER, **(overrides or {})}


@cache
def _covered_years() -> frozenset[int]:
    try:
        import chinese_calendar
        from chinese_calendar.constants import holidays
    except Exception:  # pragma: no cover - the package is a hard dependency
        return frozenset()
    del chinese_calendar
    return frozenset(d.year for d in holidays)


@lru_cache(maxsize=8192)
def is_workday(day: dt.date) -> bool:
    """True if ``day`` is a working day in mainland China."""
    if day.year in _covered_years():
        import chinese_calendar

        return chinese_calendar.is_workday(day)
    return day.weekday() < 5


def add_workdays(day: dt.date, n: int) -> dt.date:
    """The n-th working day after ``day`` (n >= 0; n = 0 gives ``day`` itself)."""
    d = day
    while n > 0:
        d += dt.timedelta(days=1)
        if is_workday(d):
            n -= 1
    return d


def workdays_between(start: dt.date, end: dt.date) -> int:
    """Working days in (start, end]; negative if end is before start."""
    if end == start:
        return 0
    if end < start:
        return -workdays_between(end, start)
    return _count(start, end)


@lru_cache(maxsize=65536)
def _count(start: dt.date, end: dt.date) -> int:
    n, d = 0, start
    while d < end:
        d += dt.timedelta(days=1)
        if is_workday(d):
            n += 1
    return n


def local_today(now: dt.datetime) -> dt.date:
    """The date in China at the instant ``now`` (naive values are UTC)."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.UTC)
    return now.astimezone(TZ).date()


def light(state: str, deadline: dt.date | None, today: dt.date, rules: dict | None = None) -> tuple[str, int]:
    """(light, level) of a measure today: done/-1, green/-1, yellow/0, red/1..3.

    Submitted and verified measures are with their approver, so they are green here; the
    approval SLA chases them separately.
    """
    if state == "closed":
        return "done", -1
    if state in ("submitted", "verified") or deadline is None:
        return "green", -1
    r = rules or DEFAULT_LADDER
    if today > deadline:
        late = workdays_between(deadline, today)
        if late >= r["l3_after"]:
            return "red", 3
        if late >= r["l2_after"]:
            return "red", 2
        return "red", 1
    if workdays_between(today, deadline) <= r["yellow_within"]:
        return "yellow", 0
    return "green", -1
