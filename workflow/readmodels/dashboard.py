"""The dashboard and overview: counts by state, light, unit and part, the progress timeline, and
the problems with their derived public progress, all within what the asking actor may see."""
from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

from sqlalchemy import and_, case, func, select
from sqlalchemy.engine import Engine

from .. import db, spec, workdays
from ..models import Category, Event, Inspection, Measure, OrgUnit, Part, Plan, Problem
from ..paging import Page, paginate
from . import sqltime, tallies
from .measures import LIGHTS, plan_ladders
from .scope import scope, sees_all

M = Measure.__table__


def stats(actor: spec.Actor, *, now: dt.datetime, engine: Engine | None = None) -> dict:
    """Counts over the measures ``actor`` may see: by state, by light and by unit.

    An actor who sees everything gets the counts from the tallies the database keeps
    (:func:`.tallies.stats`): the cost follows the number of kept groups, not the ledger's size.
    Others get the measures they may see grouped by unit, plan, state, the deadline that sets a light
    (open work only) and whether a closed measure was closed late, the light decided once per group.
    """
    today = workdays.local_today(now)
    by_state = {s: 0 for s in spec.STATES}
    by_light = {lt: 0 for lt in LIGHTS}
    units: dict[str, dict] = {}
    total = overdue_closed = 0
    with db.read_tx(engine) as conn:
        if sees_all(actor):
            return tallies.stats(conn, today, plan_ladders(conn))
        ladders = {pid: workdays.ladder(lad) for pid, lad in plan_ladders(conn).items()}
        lights: dict[tuple, str] = {}  # a light once per (plan, state, deadline), whatever the units
        for r in conn.execute(_stats_query(actor, conn.dialect.name)):
            lt = lights.get((r.plan_id, r.state, r.deadline))
            if lt is None:
                lt = lights[(r.plan_id, r.state, r.deadline)] = workdays.light(
                    r.state, r.deadline, today, ladders.get(r.plan_id))[0]
            total += r.n
            by_state[r.state] = by_state.get(r.state, 0) + r.n
            by_light[lt] += r.n
            u = units.setdefault(r.unit or "", {"unit": r.unit or "", "total": 0, "closed": 0, "red": 0,
                                                "yellow": 0, "closed_on_time": 0})
            u["total"] += r.n
            if lt in ("red", "yellow"):
                u[lt] += r.n
            if r.state == spec.CLOSED:
                u["closed"] += r.n
                if r.late:
                    overdue_closed += r.n
                else:
                    u["closed_on_time"] += r.n
    return {"total": total, "by_state": by_state, "by_light": by_light,
            "by_unit": sorted(units.values(), key=lambda u: (-u["total"], u["unit"])),
            "closed_late": overdue_closed}


def _stats_query(actor: spec.Actor, dialect: str):
    """Measures counted by unit, plan, state, light deadline and lateness (see :func:`stats`)."""
    light_deadline = case((M.c.state.in_(spec.WORK_STATES), M.c.deadline), else_=None).label("deadline")
    promised = func.coalesce(M.c.deadline_original, M.c.deadline)
    late = case((and_(M.c.state == spec.CLOSED, M.c.closed_at.is_not(None), promised.is_not(None),
                      M.c.closed_at >= sqltime.end_of_local_day(promised, dialect)), 1), else_=0).label("late")
    return (select(OrgUnit.name.label("unit"), Problem.plan_id, M.c.state, light_deadline, late,
                   func.count().label("n"))
            .select_from(M).join(Problem, Problem.id == M.c.problem_id)
            .outerjoin(OrgUnit, OrgUnit.id == M.c.unit_id)
            .where(scope(actor))
            .group_by(OrgUnit.name, Problem.plan_id, M.c.state, light_deadline, late))


def by_part(actor: spec.Actor, engine=None) -> list[dict]:
    """Measures per part (方面): total and closed."""
    with db.read_tx(engine) as conn:
        if sees_all(actor):
            return [{"no": r.no, "title": r.title, "total": int(r.total), "closed": int(r.closed or 0)}
                    for r in tallies.part_rows(conn)]
        rows = conn.execute(
            select(Part.no, func.min(Part.title).label("title"), func.count().label("total"),
                   func.sum(case((M.c.state == spec.CLOSED, 1), else_=0)).label("closed"))
            .select_from(M).join(Problem, Problem.id == M.c.problem_id).join(Part, Part.id == Problem.part_id)
            .where(scope(actor)).group_by(Part.no).order_by(Part.no)).all()
    return [{"no": r.no, "title": r.title, "total": r.total, "closed": int(r.closed or 0)} for r in rows]


def timeline(actor: spec.Actor, *, now: dt.datetime, days: int = 120, engine=None) -> dict:
    """Cumulative counts over China dates from the audit events: submitted and signed off.

    The database counts the events by kind and China date; only those counts come back.
    """
    today = workdays.local_today(now)
    start = today - dt.timedelta(days=days)
    E = Event.__table__
    counts: dict[str, Counter] = defaultdict(Counter)
    before: Counter = Counter()
    with db.read_tx(engine) as conn:
        day = sqltime.local_date(E.c.at, conn.dialect.name).label("day")
        q = (select(E.c.kind, day, func.count().label("n")).join(M, M.c.id == E.c.measure_id)
             .where(scope(actor), E.c.kind.in_(("submit", "sign_off", "reopen"))).group_by(E.c.kind, day))
        rows = tallies.event_rows(conn) if sees_all(actor) else conn.execute(q)
        for kind, d, n in rows:
            d = sqltime.as_date(d)
            if d < start:
                before[kind] += n
            else:
                counts[kind][d] += n
    out = {}
    for kind in ("submit", "sign_off"):
        total = before[kind] - (before["reopen"] if kind == "sign_off" else 0)
        pts = []
        for d in sorted(set(counts[kind]) | (set(counts["reopen"]) if kind == "sign_off" else set())):
            total += counts[kind][d] - (counts["reopen"][d] if kind == "sign_off" else 0)
            pts.append((d, total))
        if pts and pts[-1][0] != today:
            pts.append((today, total))
        out[kind] = pts
    return out


def list_problems(actor: spec.Actor, *, now: dt.datetime, page: int = 1, per_page: int = 50,
                  engine=None) -> Page:
    """Problems with at least one measure ``actor`` may see, with their derived public progress.

    ``progress`` is the public status over all the problem's measures (it is published in the
    notice); ``measure_ids`` lists only the measures ``actor`` may see.
    """
    today = workdays.local_today(now)
    with db.read_tx(engine) as conn:
        visible = select(M.c.problem_id).where(scope(actor)).distinct().subquery()
        q = (select(Problem.id, Problem.no, Problem.text, Problem.plan_id, Part.no.label("part"),
                    Part.title.label("part_title"), Category.title.label("category"),
                    Problem.amount_involved, Problem.amount_recovered, Inspection.rect_end)
             .join(visible, visible.c.problem_id == Problem.id)
             .join(Part, Part.id == Problem.part_id)
             .outerjoin(Category, Category.id == Problem.category_id)
             .join(Plan, Plan.id == Problem.plan_id)
             .join(Inspection, Inspection.id == Plan.inspection_id))
        rows = paginate(conn, q, [Problem.plan_id, Problem.no, Problem.id], page, per_page)
        ids = [r.id for r in rows.items]
        states: dict[int, list[tuple[str, str]]] = {i: [] for i in ids}
        seen: dict[int, list[int]] = {i: [] for i in ids}
        if ids:
            for m in conn.execute(select(M.c.id, M.c.problem_id, M.c.state, M.c.kind,
                                         scope(actor).label("visible"))
                                  .where(M.c.problem_id.in_(ids)).order_by(M.c.id)):
                states[m.problem_id].append((m.state, m.kind))
                if m.visible:
                    seen[m.problem_id].append(m.id)

    def item(r) -> dict:
        return {
            "id": r.id, "plan_id": r.plan_id, "no": r.no, "text": r.text, "part": r.part,
            "part_title": r.part_title, "category": r.category,
            "progress": spec.problem_progress(states[r.id], r.rect_end, today),
            "amount_involved": r.amount_involved, "amount_recovered": r.amount_recovered,
            "measures": len(states[r.id]), "closed": sum(1 for s, _ in states[r.id] if s == spec.CLOSED),
            "measure_ids": seen[r.id],
        }

    return rows.map(item)
