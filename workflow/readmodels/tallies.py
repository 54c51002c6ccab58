"""The dashboard's counts as the database keeps them: ``measure_tallies``, ``unit_tallies``, ``event_tallies``.

Triggers (migration 0007) keep, in the same transaction as every write to ``measures`` or
``events``, how many measures share a key (part, unit, state, the deadline that sets the light,
closed late or not; and the same without the deadline, a few rows per unit) and how many submit,
sign_off and reopen events fell on each China day. A reader of the whole ledger (an actor who
sees every measure) reads these instead of scanning the ledger: the counts that need no light from
``unit_tallies``, red and yellow as a range of deadlines (up to the last that is yellow today) of
``measure_tallies`` through its (state, deadline) index, green as what is left. So the cost follows
the units and the measures late or nearly due, not the ledger's size. :func:`measure_rows` and
:func:`unit_rows` answer the same rows as a ``GROUP BY`` over the measures would.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, case, func, select
from sqlalchemy.engine import Connection

from .. import spec, workdays
from ..models import EventTally, MeasureTally, OrgUnit, Part, UnitTally

T = MeasureTally.__table__
UT = UnitTally.__table__
ET = EventTally.__table__
NO_DEADLINE = dt.date(1900, 1, 1)  # deadline_key of a measure whose light no deadline sets


def measure_rows(conn: Connection) -> list:
    """(unit, plan_id, state, deadline, late, n) over every measure; deadline None where none sets the light."""
    n = func.sum(T.c.n)
    q = (select(OrgUnit.name.label("unit"), Part.plan_id, T.c.state, T.c.deadline_key, T.c.late, n.label("n"))
         .select_from(T).join(Part, Part.id == T.c.part_id).outerjoin(OrgUnit, OrgUnit.id == T.c.unit_key)
         .group_by(OrgUnit.name, Part.plan_id, T.c.state, T.c.deadline_key, T.c.late).having(n > 0))
    return [_Row(r.unit, r.plan_id, r.state, None if r.deadline_key == NO_DEADLINE else r.deadline_key, r.late, r.n)
            for r in conn.execute(q)]


class _Row(tuple):
    __slots__ = ()
    unit = property(lambda self: self[0])
    plan_id = property(lambda self: self[1])
    state = property(lambda self: self[2])
    deadline = property(lambda self: self[3])
    late = property(lambda self: self[4])
    n = property(lambda self: self[5])

    def __new__(cls, *values):
        return super().__new__(cls, values)


def unit_rows(conn: Connection) -> list:
    """(unit, plan_id, state, late, n) over every measure."""
    n = func.sum(UT.c.n)
    return list(conn.execute(
        select(OrgUnit.name.label("unit"), Part.plan_id, UT.c.state, UT.c.late, n.label("n"))
        .select_from(UT).join(Part, Part.id == UT.c.part_id).outerjoin(OrgUnit, OrgUnit.id == UT.c.unit_key)
        .group_by(OrgUnit.name, Part.plan_id, UT.c.state, UT.c.late).having(n > 0)).all())


def part_rows(conn: Connection) -> list:
    """(no, title, total, closed) per part number, over every measure."""
    total = func.sum(UT.c.n)
    return list(conn.execute(
        select(Part.no, func.min(Part.title).label("title"), total.label("total"),
               func.sum(case((UT.c.state == spec.CLOSED, UT.c.n), else_=0)).label("closed"))
        .select_from(UT).join(Part, Part.id == UT.c.part_id).group_by(Part.no).having(total > 0)
        .order_by(Part.no)).all())


def event_rows(conn: Connection) -> list[tuple]:
    """(kind, China day, count) of the submit, sign_off and reopen events."""
    n = func.sum(ET.c.n)
    return [(k, d, c) for k, d, c in conn.execute(
        select(ET.c.kind, ET.c.day, n).group_by(ET.c.kind, ET.c.day).having(n > 0))]


def light_condition(light: str, today: dt.date, ladders: dict[int, dict | None]):
    """A SQL condition on the tally rows (joined to their part) whose light today is ``light``:
    :func:`workflow.readmodels.measures.light_condition` over ``deadline_key``."""
    from .measures import light_condition as on_columns

    return on_columns(light, today, ladders, state=T.c.state, deadline=T.c.deadline_key, plan=Part.plan_id,
                      undated=T.c.deadline_key == NO_DEADLINE)


def _last_yellow(today: dt.date, ladders: dict[int, dict | None]) -> dt.date:
    """The latest deadline any plan's ladder still calls yellow today: red and yellow lie at or before it."""
    from .measures import yellow_last

    return max((yellow_last(today, o) for o in ladders.values()), default=today)


def _near(today: dt.date, ladders: dict[int, dict | None]):
    """Tally rows of open work with a deadline up to the last yellow one (an index range)."""
    return and_(T.c.state.in_(spec.WORK_STATES), T.c.deadline_key > NO_DEADLINE,
                T.c.deadline_key <= _last_yellow(today, ladders))


def _filtered(q, table, *, state=None, unit=None, part=None, plan=None):
    if state:
        q = q.where(table.c.state == state)
    if unit:
        q = q.join(OrgUnit, OrgUnit.id == table.c.unit_key).where(OrgUnit.name == unit)
    if part:
        q = q.where(Part.no == part)
    if plan:
        q = q.where(Part.plan_id == plan)
    return q


def count(conn: Connection, today: dt.date, ladders: dict, *, state: str | None = None, light: str | None = None,
          unit: str | None = None, part: int | None = None, plan: int | None = None) -> int:
    """How many measures pass the ledger's filters (all of them combined with AND), from the tallies;
    ``ladders`` maps a plan id to its ladder overrides (for the light)."""
    filters = {"state": state, "unit": unit, "part": part, "plan": plan}

    def units(*conds) -> int:
        q = select(func.coalesce(func.sum(UT.c.n), 0)).select_from(UT).join(Part, Part.id == UT.c.part_id)
        return int(conn.execute(_filtered(q, UT, **filters).where(*conds)).scalar_one())

    def near(lt: str) -> int:
        q = (select(func.coalesce(func.sum(T.c.n), 0)).select_from(T).join(Part, Part.id == T.c.part_id)
             .where(_near(today, ladders), light_condition(lt, today, ladders)))
        return int(conn.execute(_filtered(q, T, **filters)).scalar_one())

    if not light:
        return units()
    if light == "done":
        return units(UT.c.state == spec.CLOSED)
    if light in ("red", "yellow"):
        return near(light)
    if light == "green":
        return units(UT.c.state != spec.CLOSED) - near("red") - near("yellow")
    raise spec.Refused("invalid_input", f"unknown light: {light}")


def stats(conn: Connection, today: dt.date, ladders: dict[int, dict | None]) -> dict:
    """The dashboard's counts (see :func:`workflow.readmodels.stats`) over every measure: states, units
    and lateness from ``unit_tallies``; red and yellow from the near deadlines of ``measure_tallies``."""
    from .measures import LIGHTS

    rules = {pid: workdays.ladder(o) for pid, o in ladders.items()}
    by_state = {s: 0 for s in spec.STATES}
    by_light = {lt: 0 for lt in LIGHTS}
    units: dict[str, dict] = {}
    total = late = 0
    for r in unit_rows(conn):
        n = int(r.n)
        total += n
        by_state[r.state] = by_state.get(r.state, 0) + n
        u = units.setdefault(r.unit or "", {"unit": r.unit or "", "total": 0, "closed": 0, "red": 0, "yellow": 0,
                                            "closed_on_time": 0})
        u["total"] += n
        if r.state == spec.CLOSED:
            by_light["done"] += n
            u["closed"] += n
            late += n if r.late else 0
            u["closed_on_time"] += 0 if r.late else n
    near = (select(OrgUnit.name.label("unit"), Part.plan_id, T.c.state, T.c.deadline_key, func.sum(T.c.n).label("n"))
            .select_from(T).join(Part, Part.id == T.c.part_id).outerjoin(OrgUnit, OrgUnit.id == T.c.unit_key)
            .where(_near(today, ladders)).group_by(OrgUnit.name, Part.plan_id, T.c.state, T.c.deadline_key)
            .having(func.sum(T.c.n) > 0))  # a key emptied by a move (n = 0) names no unit
    for r in conn.execute(near):
        lt = workdays.light(r.state, r.deadline_key, today, rules.get(r.plan_id))[0]
        if lt in ("red", "yellow"):
            by_light[lt] += int(r.n)
            units.setdefault(r.unit or "", {"unit": r.unit or "", "total": 0, "closed": 0, "red": 0, "yellow": 0,
                                            "closed_on_time": 0})[lt] += int(r.n)
    by_light["green"] = total - by_light["done"] - by_light["red"] - by_light["yellow"]
    return {"total": total, "by_state": by_state, "by_light": by_light,
            "by_unit": sorted(units.values(), key=lambda u: (-u["total"], u["unit"])), "closed_late": late}
