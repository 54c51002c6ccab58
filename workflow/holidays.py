"""The working-day calendar the office keeps: imported holiday schedules, loaded for counting.

Storage. Each import of a year is a row of ``calendar_imports`` (source ``notice`` or ``csv``,
file name, the text itself and its sha256, who and when); its days are rows of ``calendar_days``.
The newest import of a year is in force: re-importing a year removes the days of the older ones
and keeps their rows as history. An import is one transaction: all its years or nothing. A year
held here overrides ``chinese-calendar`` for that year (see :mod:`workflow.workdays`).

Loading. Counting never queries: :func:`refresh` reads the stored days once and hands them to
:func:`workflow.workdays.use_overlay`. Later calls check a generation token (count, newest id
and newest time of the imports: one query over a table of a few rows a year) and reload only
when it changed, or not at all within ``max_age`` seconds of the last check. Commands, ``tick``
and each scheduler job refresh when they start (``max_age=0``); the web app before a request, at
most every few seconds. An import made in this process takes effect at once. Which database was
loaded is remembered by URL, so one process may serve several (the tests do).

What "counts a year" means. A command counts the days from the earliest to the latest of today
and the deadlines of the open (not signed-off) measures: lateness runs from a deadline to today,
the yellow window from today to a deadline. The years of that span that neither an import nor
the package covers are counted as weekends only, and :func:`warning` (every command and
scheduler job that counts), :func:`uncovered` (the dashboard's banner) and the weekly digest to
the office say so every time, naming the years: ``2027年节假日安排尚未录入``.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import threading
import time
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError, ProgrammingError

from . import db, spec, workdays
from .holiday_schedule import WORKDAY, Schedule, ScheduleError, decode, read, read_file
from .models import CalendarDay, CalendarImport, Measure, User

IMPORTS = CalendarImport.__table__
DAYS = CalendarDay.__table__
M = Measure.__table__

WEB_RECHECK_SECONDS = 5.0

__all__ = ["Schedule", "ScheduleError", "read", "read_file", "refresh", "import_schedule", "show", "overview",
           "counted_years", "uncovered_years", "uncovered", "missing_text", "warning", "forget"]

_TOKEN_Q = select(func.count(IMPORTS.c.id), func.max(IMPORTS.c.id), func.max(IMPORTS.c.imported_at))  # a few rows
_YEARS_Q = select(IMPORTS.c.year).distinct()
_DAYS_Q = select(CalendarDay.day, CalendarDay.kind, CalendarImport.year).join(IMPORTS, IMPORTS.c.id == DAYS.c.import_id)
# each bound through the (state, deadline) index: O(log n), not a scan of the open measures
_SPAN_Q = select(*[select(agg(M.c.deadline)).where(M.c.state == s).scalar_subquery()
                   for agg in (func.min, func.max) for s in spec.OPEN_STATES])


# --- loading -----------------------------------------------------------------------------------

def load(conn: Connection) -> workdays.Overlay:
    """The stored schedules as the counting functions use them."""
    years = frozenset(r[0] for r in conn.execute(_YEARS_Q))
    own: dict[dt.date, bool] = {}
    spill: dict[dt.date, bool] = {}  # a day another year's notice settles (2026年12月26日上班 for 2027)
    for day, kind, year in conn.execute(_DAYS_Q):
        (own if day.year == year else spill)[day] = kind == WORKDAY
    return workdays.Overlay({**spill, **own}, years)


_lock = threading.Lock()
_loaded: dict[str, tuple[tuple, workdays.Overlay]] = {}  # by database URL


@dataclass
class _Checked:
    """Which database is loaded (by URL) and when it was last checked (monotonic seconds)."""

    url: str | None = None
    checked: float = 0.0


_active = _Checked()


def _key(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _no_table(e: Exception) -> bool:
    text = str(getattr(e, "orig", None) or e)
    return "no such table" in text or "does not exist" in text


def refresh(engine: Engine | None = None, max_age: float = 0.0) -> workdays.Overlay:
    """Count with ``engine``'s stored schedules; reload them only if they changed since last time."""
    engine = engine or db.get_engine()
    url = _key(engine)
    now = time.monotonic()
    if _active.url == url and now - _active.checked < max_age:
        return workdays.current_overlay()
    cached = _loaded.get(url)
    try:
        with db.read_tx(engine) as conn:
            token = tuple(conn.execute(_TOKEN_Q).one())
            if cached is None or cached[0] != token:
                cached = (token, load(conn))
    except (OperationalError, ProgrammingError) as e:
        if cached is None and not _no_table(e):
            raise
        # a passing failure keeps what was loaded; a schema from before the calendar has nothing to load
        cached = cached or ((), workdays.NO_OVERLAY)
    with _lock:
        if len(_loaded) > 32:
            _loaded.clear()
        _loaded[url] = cached
        workdays.use_overlay(cached[1])
        _active.url, _active.checked = url, now
    return cached[1]


def forget() -> None:
    """Drop what was loaded: count with the package and weekends only until the next refresh."""
    with _lock:
        _loaded.clear()
        _active.url, _active.checked = None, 0.0
        workdays.use_overlay(None)


# --- importing -----------------------------------------------------------------------------------

def _home(day: dt.date, years: tuple[int, ...]) -> int:
    """The year whose import a day belongs to: its own, else the nearest one imported with it."""
    return day.year if day.year in years else min(years, key=lambda y: abs(y - day.year))


def import_schedule(schedule: Schedule, actor: str, now: dt.datetime, filename: str | None = None,
                    engine: Engine | None = None) -> dict:
    """Store ``schedule``, replacing each year it covers, in one transaction; a summary per year."""
    engine = engine or db.get_engine()
    sha = hashlib.sha256(schedule.text.encode("utf-8")).hexdigest()
    off_by_year: dict[int, int] = {}
    worked_by_year: dict[int, int] = {}
    summary = {"years": list(schedule.years), "source": schedule.source, "sha256": sha, "filename": filename,
               "holidays": off_by_year, "workdays": worked_by_year}
    with db.write_tx(engine) as conn:
        ids = {}
        for year in schedule.years:
            older = select(IMPORTS.c.id).where(IMPORTS.c.year == year).scalar_subquery()
            conn.execute(delete(DAYS).where(DAYS.c.import_id.in_(older)))
            off, worked = len(schedule.holidays(year)), len(schedule.workdays(year))
            ids[year] = conn.execute(insert(IMPORTS).returning(IMPORTS.c.id), {
                "year": year, "source": schedule.source, "filename": (filename or "")[:255] or None, "sha256": sha,
                "text": schedule.text, "imported_by": actor, "imported_at": now.replace(tzinfo=None),
                "holidays": off, "workdays": worked}).scalar_one()
            off_by_year[year], worked_by_year[year] = off, worked
        rows = [{"import_id": ids[_home(d, schedule.years)], "day": d, "kind": k}
                for d, k in sorted(schedule.days.items())]
        if rows:
            conn.execute(insert(DAYS), rows)
    refresh(engine)
    return summary


def import_text(text: str | bytes, actor: str, now: dt.datetime, year: int | None = None,
                filename: str | None = None, engine: Engine | None = None) -> dict:
    """Read a notice or CSV (pasted text, or an uploaded file's bytes) and store it.

    See :func:`import_schedule`; :class:`ScheduleError` naming the line if it cannot be read.
    """
    if isinstance(text, bytes):
        text = decode(text, filename)
    return import_schedule(read(text, year, filename), actor, now, filename, engine)


# --- reading ---------------------------------------------------------------------------------------

def _current_imports(conn: Connection) -> dict[int, dict]:
    newest = select(func.max(IMPORTS.c.id)).group_by(IMPORTS.c.year)
    q = (select(IMPORTS.c.id, IMPORTS.c.year, IMPORTS.c.source, IMPORTS.c.filename, IMPORTS.c.sha256,
                IMPORTS.c.imported_by, IMPORTS.c.imported_at, IMPORTS.c.holidays, IMPORTS.c.workdays,
                User.name.label("by_name"))
         .outerjoin(User, User.username == IMPORTS.c.imported_by).where(IMPORTS.c.id.in_(newest)))
    return {r.year: {"source": r.source, "filename": r.filename, "sha256": r.sha256, "by": r.imported_by,
                     "by_name": r.by_name or r.imported_by, "at": r.imported_at, "holidays": r.holidays,
                     "workdays": r.workdays}
            for r in conn.execute(q)}


def show(year: int, engine: Engine | None = None) -> dict:
    """``{year, covered, source, holidays, workdays, import}`` as counting sees ``year`` (ISO dates).

    ``holidays``: every day off in the year's breaks, weekend days inside a break included;
    ``workdays``: the weekend days that are worked (调休). ``import``: who imported the year, when,
    from what (null unless imported).
    """
    engine = engine or db.get_engine()
    refresh(engine)
    off, worked = workdays.special_days(year)
    src = workdays.source(year)
    with db.read_tx(engine) as conn:
        imported = _current_imports(conn).get(year)
    if imported:
        imported = {**imported, "at": imported["at"].isoformat()}
    return {"year": year, "covered": src is not None, "source": src, "holidays": [d.isoformat() for d in off],
            "workdays": [d.isoformat() for d in worked], "import": imported if src == "imported" else None}


def overview(now: dt.datetime, engine: Engine | None = None) -> list[dict]:
    """One row per year worth showing (around today, imported, or counted): source, counts, import."""
    engine = engine or db.get_engine()
    refresh(engine)
    today = workdays.local_today(now)
    with db.read_tx(engine) as conn:
        imports = _current_imports(conn)
        counted = set(counted_years(conn, today))
    years = sorted(set(range(today.year - 1, today.year + 2)) | set(imports) | counted)
    rows = []
    for year in years:
        off, worked = workdays.special_days(year)
        src = workdays.source(year)
        rows.append({"year": year, "source": src, "covered": src is not None, "holidays": len(off),
                     "workdays": len(worked), "counted": year in counted,
                     "import": imports.get(year) if src == "imported" else None})
    return rows


# --- which years are counted, and saying so -------------------------------------------------------

def counted_years(conn: Connection, today: dt.date) -> range:
    """The years from the earliest to the latest of ``today`` and the open measures' deadlines."""
    bounds = [d for d in conn.execute(_SPAN_Q).one() if d is not None] + [today]
    return range(min(bounds).year, max(bounds).year + 1)


def uncovered_years(conn: Connection, today: dt.date) -> list[int]:
    """The counted years that no import and not the package covers (counted as weekends only)."""
    held = {r[0] for r in conn.execute(_YEARS_Q)}
    return [y for y in counted_years(conn, today) if y not in held and y not in workdays.package_years()]


def uncovered(now: dt.datetime, engine: Engine | None = None) -> list[int]:
    """:func:`uncovered_years` at the instant ``now``, in its own read transaction."""
    with db.read_tx(engine) as conn:
        return uncovered_years(conn, workdays.local_today(now))


def missing_text(years: list[int]) -> str:
    """``2027年节假日安排尚未录入`` (the years joined with 、)."""
    return "、".join(f"{y}年" for y in years) + "节假日安排尚未录入"


def warning(now: dt.datetime, engine: Engine | None = None) -> str | None:
    """Refresh the calendar; the one-line warning (Chinese, then English) if a counted year is uncovered."""
    engine = engine or db.get_engine()
    refresh(engine)
    years = uncovered(now, engine)
    if not years:
        return None
    return (f"警告：{missing_text(years)}，工作日暂按周末计算，请录入国务院办公厅的放假通知（rectify calendar import） "
            f"(warning: no holiday schedule for {', '.join(map(str, years))}; working days count weekends only)")
