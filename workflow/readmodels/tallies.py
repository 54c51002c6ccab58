"""The dashboard's counts as the database keeps them: ``measure_tallies`` and ``event_tallies``.

Triggers (migration 0014) keep, in the same transaction as every write to ``measures`` or
``events``, how many measures share a key (part, unit, state, the deadline that sets the light,
closed late or not) and how many submit, sign_off and reopen events fell on each China day. A
reader of the whole ledger (an actor who sees every measure) reads these few rows instead of
scanning the ledger; :func:`measure_rows` answers the same rows as a ``GROUP BY`` over the
measures would, so the two can be compared.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, case, false, func, or_, select
from sqlalchemy.engine import Connection

from .. import spec
from ..models import EventTally, MeasureTally, OrgUnit, Part

T = MeasureTally.__table__
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


def part_rows(conn: Connection) -> list:
    """(no, title, total, closed) per part number, over every measure."""
    total = func.sum(T.c.n)
    return list(conn.execute(
        select(Part.no, func.min(Part.title).label("title"), total.label("total"),
               func.sum(case((T.c.state == spec.CLOSED, T.c.n), else_=0)).label("closed"))
        .select_from(T).join(Part, Part.id == T.c.part_id).group_by(Part.no).having(total > 0)
        .order_by(Part.no)).all())


def event_rows(conn: Connection) -> list[tuple]:
    """(kind, China day, count) of the submit, sign_off and reopen events."""
    n = func.sum(ET.c.n)
    return [(k, d, c) for k, d, c in conn.execute(
        select(ET.c.kind, ET.c.day, n).group_by(ET.c.kind, ET.c.day).having(n > 0))]


def light_condition(light: str, today: dt.date, ladders: dict[int, dict | None]):
    """A SQL condition on the tally rows (joined to their part) whose light today is ``light``: the twin
    of :func:`workflow.readmodels.measures.light_condition` over ``deadline_key``."""
    from .measures import yellow_last

    work = T.c.state.in_(spec.WORK_STATES)
    dated = and_(work, T.c.deadline_key != NO_DEADLINE)
    if light == "done":
        return T.c.state == spec.CLOSED
    if light == "red":
        return and_(dated, T.c.deadline_key < today)
    by_last: dict[dt.date, list[int]] = {}
    for plan_id, overrides in ladders.items():
        by_last.setdefault(yellow_last(today, overrides), []).append(plan_id)
    yellow = or_(false(), *(and_(Part.plan_id.in_(ids), T.c.deadline_key <= last)
                            for last, ids in sorted(by_last.items())))
    yellow = and_(dated, T.c.deadline_key >= today, yellow)
    if light == "yellow":
        return yellow
    if light == "green":
        return and_(T.c.state != spec.CLOSED, or_(~work, T.c.deadline_key == NO_DEADLINE,
                                                  and_(T.c.deadline_key >= today, ~yellow)))
    raise spec.Refused("invalid_input", f"unknown light: {light}")


def count(conn: Connection, today: dt.date, ladders: dict, *, state: str | None = None, light: str | None = None,
          unit: str | None = None, part: int | None = None, plan: int | None = None) -> int:
    """How many measures pass the ledger's filters (all of them combined with AND), summed from the
    tallies in one query; ``ladders`` maps a plan id to its ladder overrides (for the light)."""
    q = select(func.coalesce(func.sum(T.c.n), 0)).select_from(T).join(Part, Part.id == T.c.part_id)
    if state:
        q = q.where(T.c.state == state)
    if unit:
        q = q.join(OrgUnit, OrgUnit.id == T.c.unit_key).where(OrgUnit.name == unit)
    if part:
        q = q.where(Part.no == part)
    if plan:
        q = q.where(Part.plan_id == plan)
    if light:
        q = q.where(light_condition(light, today, ladders))
    return int(conn.execute(q).scalar_one())


def stats(conn: Connection, today: dt.date, ladders: dict[int, dict | None]) -> dict:
    """The dashboard's counts (see :func:`workflow.readmodels.stats`) over every measure: the totals from
    the tallies grouped by plan, state and deadline (a light once per group), the units' in SQL."""
    from .. import workdays
    from .measures import LIGHTS

    rules = {pid: workdays.ladder(o) for pid, o in ladders.items()}
    by_state = {s: 0 for s in spec.STATES}
    by_light = {lt: 0 for lt in LIGHTS}
    total = late = 0
    n = func.sum(T.c.n)
    for r in conn.execute(select(Part.plan_id, T.c.state, T.c.deadline_key, T.c.late, n.label("n")).select_from(T)
                          .join(Part, Part.id == T.c.part_id)
                          .group_by(Part.plan_id, T.c.state, T.c.deadline_key, T.c.late).having(n > 0)):
        deadline = None if r.deadline_key == NO_DEADLINE else r.deadline_key
        lt = workdays.light(r.state, deadline, today, rules.get(r.plan_id))[0]
        count = int(r.n)
        total += count
        by_state[r.state] = by_state.get(r.state, 0) + count
        by_light[lt] += count
        late += count if r.state == spec.CLOSED and r.late else 0

    def when(cond):
        return func.coalesce(func.sum(case((cond, T.c.n), else_=0)), 0)

    closed = T.c.state == spec.CLOSED
    uq = (select(OrgUnit.name.label("unit"), n.label("total"), when(closed).label("closed"),
                 when(light_condition("red", today, ladders)).label("red"),
                 when(light_condition("yellow", today, ladders)).label("yellow"),
                 when(and_(closed, T.c.late == 0)).label("closed_on_time"))
          .select_from(T).join(Part, Part.id == T.c.part_id).outerjoin(OrgUnit, OrgUnit.id == T.c.unit_key)
          .group_by(OrgUnit.name).having(n > 0))
    units = [{"unit": r.unit or "", "total": int(r.total), "closed": int(r.closed), "red": int(r.red),
              "yellow": int(r.yellow), "closed_on_time": int(r.closed_on_time)} for r in conn.execute(uq)]
    return {"total": total, "by_state": by_state, "by_light": by_light,
            "by_unit": sorted(units, key=lambda u: (-u["total"], u["unit"])), "closed_late": late}
