"""Chinese working days and the traffic light of a measure.

Where a day's status comes from, first match wins:

1. the office's imported schedules (:mod:`workflow.holidays` loads them from the database and
   hands them here with :func:`use_overlay`): a date they list is a holiday or a make-up working
   day (调休); any other date of a year they cover is a working day from Monday to Friday;
2. ``chinese-calendar`` for the years it covers (2004–2026 in 1.11);
3. Monday to Friday, for a year nobody covers (:func:`covered` is False for it, and every
   place that counts such a year says so; see :mod:`workflow.holidays`).

Counting reads memory only: the overlay is swapped as a whole, and caches are keyed by it, so a
newly imported year takes effect at once and never mixes with the old one.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
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
    """The escalation rules: the defaults with a plan's overrides."""
    return {**DEFAULT_LADDER, **(overrides or {})}


@cache
def package_years() -> frozenset[int]:
    """The years ``chinese-calendar`` has holidays for."""
    try:
        from chinese_calendar.constants import holidays
    except Exception:  # pragma: no cover - the package is a hard dependency
        return frozenset()
    return frozenset(d.year for d in holidays)


@dataclass(frozen=True, eq=False)  # hashed by identity: caches keyed by it never outlive it
class Overlay:
    """The office's schedules: listed dates (True = working day) and the years they cover."""

    days: Mapping[dt.date, bool] = field(default_factory=dict)
    years: frozenset[int] = frozenset()


NO_OVERLAY = Overlay()
_overlay: Overlay = NO_OVERLAY
_memo: dict[dt.date, bool] = {}  # is_workday under the current overlay
MEMO_MAX = 50_000


def use_overlay(overlay: Overlay | None) -> None:
    """Count with ``overlay`` from now on (None: the package and weekends only)."""
    global _overlay, _memo
    overlay = overlay or NO_OVERLAY
    if overlay is not _overlay:
        _overlay, _memo = overlay, {}


def current_overlay() -> Overlay:
    return _overlay


def covered(year: int) -> bool:
    """True if an imported schedule or the package says which days of ``year`` are holidays."""
    return year in _overlay.years or year in package_years()


def source(year: int) -> str | None:
    """Where ``year``'s holidays come from: ``imported``, ``package``, or None (weekends only)."""
    if year in _overlay.years:
        return "imported"
    return "package" if year in package_years() else None


@lru_cache(maxsize=8192)
def _package_is_workday(day: dt.date) -> bool:
    if day.year in package_years():
        import chinese_calendar

        return chinese_calendar.is_workday(day)
    return day.weekday() < 5


def is_workday(day: dt.date) -> bool:
    """True if ``day`` is a working day in mainland China."""
    known = _memo.get(day)
    if known is None:
        memo = _memo
        if len(memo) > MEMO_MAX:
            memo.clear()
        known = memo[day] = _is_workday(day, _overlay)
    return known


def _is_workday(day: dt.date, o: Overlay) -> bool:
    listed = o.days.get(day)
    if listed is not None:
        return listed
    if day.year in o.years:
        return day.weekday() < 5
    return _package_is_workday(day)


def special_days(year: int) -> tuple[list[dt.date], list[dt.date]]:
    """(days off in the holiday breaks, make-up working days) of ``year``, as counting sees them.

    Days off include the weekend days inside a break (as the notice's 共N天 counts them); make-up
    working days are the weekend days that are worked.
    """
    listed = {d: w for d, w in _overlay.days.items() if d.year == year}
    if year not in _overlay.years and year in package_years():
        from chinese_calendar.constants import holidays, workdays

        base = {d: False for d in holidays if d.year == year} | {d: True for d in workdays if d.year == year}
        listed = base | listed
    return sorted(d for d, w in listed.items() if not w), sorted(d for d, w in listed.items() if w)


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
    return _count(start, end, _overlay)


@lru_cache(maxsize=65536)
def _count(start: dt.date, end: dt.date, _overlay_key: Overlay) -> int:
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
