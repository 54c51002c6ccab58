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

from sqlalchemy import case, func, select
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
    return conn.execute(
        select(Part.no, func.min(Part.title).label("title"), total.label("total"),
               func.sum(case((T.c.state == spec.CLOSED, T.c.n), else_=0)).label("closed"))
        .select_from(T).join(Part, Part.id == T.c.part_id).group_by(Part.no).having(total > 0)
        .order_by(Part.no)).all()


def event_rows(conn: Connection) -> list[tuple[str, dt.date, int]]:
    """(kind, China day, count) of the submit, sign_off and reopen events."""
    n = func.sum(ET.c.n)
    return [(k, d, c) for k, d, c in conn.execute(
        select(ET.c.kind, ET.c.day, n).group_by(ET.c.kind, ET.c.day).having(n > 0))]


def count(conn: Connection, today: dt.date, ladders: dict, *, state: str | None = None, light: str | None = None,
          unit: str | None = None, part: int | None = None, plan: int | None = None) -> int:
    """How many measures pass the ledger's filters (all of them combined with AND), from the tallies;
    ``ladders`` maps a plan id to its escalation rules (for the light)."""
    from .. import workdays

    n = func.sum(T.c.n)
    q = (select(Part.plan_id, T.c.state, T.c.deadline_key, n.label("n")).select_from(T)
         .join(Part, Part.id == T.c.part_id).group_by(Part.plan_id, T.c.state, T.c.deadline_key))
    if state:
        q = q.where(T.c.state == state)
    if unit:
        q = q.outerjoin(OrgUnit, OrgUnit.id == T.c.unit_key).where(OrgUnit.name == unit)
    if part:
        q = q.where(Part.no == part)
    if plan:
        q = q.where(Part.plan_id == plan)
    total = 0
    for r in conn.execute(q):
        deadline = None if r.deadline_key == NO_DEADLINE else r.deadline_key
        if light and workdays.light(r.state, deadline, today, ladders.get(r.plan_id))[0] != light:
            continue
        total += int(r.n)
    return total
