"""The dashboard and overview: counts by state, light, unit and part, the progress timeline, and
the problems with their derived public progress, all within what the asking actor may see."""
from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

from sqlalchemy import case, func, select
from sqlalchemy.engine import Engine

from .. import db, spec, workdays
from ..models import Category, Event, Inspection, Measure, OrgUnit, Part, Plan, Problem
from ..paging import Page, paginate
from .measures import LIGHTS
from .scope import scope

M = Measure.__table__


def stats(actor: spec.Actor, *, now: dt.datetime, engine: Engine | None = None) -> dict:
    """Counts over the measures ``actor`` may see: by state, by light and by unit."""
    today = workdays.local_today(now)
    by_state = {s: 0 for s in spec.STATES}
    by_light = {lt: 0 for lt in LIGHTS}
    units: dict[str, dict] = {}
    total = overdue_closed = 0
    with db.read_tx(engine) as conn:
        q = (select(M.c.state, M.c.deadline, M.c.deadline_original, M.c.closed_at, Plan.ladder,
                    OrgUnit.name.label("unit"))
             .join(Problem, Problem.id == M.c.problem_id)
             .join(Plan, Plan.id == Problem.plan_id)
             .outerjoin(OrgUnit, OrgUnit.id == M.c.unit_id)
             .where(scope(actor)))
        for r in conn.execution_options(yield_per=1000).execute(q):
            lt, _level = workdays.light(r.state, r.deadline, today, workdays.ladder(r.ladder))
            total += 1
            by_state[r.state] = by_state.get(r.state, 0) + 1
            by_light[lt] += 1
            u = units.setdefault(r.unit or "", {"unit": r.unit or "", "total": 0, "closed": 0, "red": 0,
                                                "yellow": 0, "closed_on_time": 0})
            u["total"] += 1
            if lt in ("red", "yellow"):
                u[lt] += 1
            if r.state == spec.CLOSED:
                u["closed"] += 1
                promised = r.deadline_original or r.deadline
                if promised is None or r.closed_at is None or workdays.local_today(r.closed_at) <= promised:
                    u["closed_on_time"] += 1
                else:
                    overdue_closed += 1
    return {"total": total, "by_state": by_state, "by_light": by_light,
            "by_unit": sorted(units.values(), key=lambda u: (-u["total"], u["unit"])),
            "closed_late": overdue_closed}


def by_part(actor: spec.Actor, engine=None) -> list[dict]:
    """Measures per part (方面): total and closed."""
    with db.read_tx(engine) as conn:
        rows = conn.execute(
            select(Part.no, func.min(Part.title).label("title"), func.count().label("total"),
                   func.sum(case((M.c.state == spec.CLOSED, 1), else_=0)).label("closed"))
            .select_from(M).join(Problem, Problem.id == M.c.problem_id).join(Part, Part.id == Problem.part_id)
            .where(scope(actor)).group_by(Part.no).order_by(Part.no)).all()
    return [{"no": r.no, "title": r.title, "total": r.total, "closed": int(r.closed or 0)} for r in rows]


def timeline(actor: spec.Actor, *, now: dt.datetime, days: int = 120, engine=None) -> dict:
    """Cumulative counts over China dates from the audit events: submitted and signed off."""
    today = workdays.local_today(now)
    start = today - dt.timedelta(days=days)
    since = dt.datetime.combine(start, dt.time()) - dt.timedelta(hours=8)
    E = Event.__table__
    counts: dict[str, Counter] = defaultdict(Counter)
    before: Counter = Counter()
    with db.read_tx(engine) as conn:
        q = (select(E.c.kind, E.c.at).join(M, M.c.id == E.c.measure_id)
             .where(scope(actor), E.c.kind.in_(("submit", "sign_off", "reopen"))))
        for kind, at in conn.execution_options(yield_per=2000).execute(q):
            day = workdays.local_today(at)
            if at < since:
                before[kind] += 1
            else:
                counts[kind][day] += 1
    out = {}
    for kind in ("submit", "sign_off"):
        total = before[kind] - (before["reopen"] if kind == "sign_off" else 0)
        pts = []
        for day in sorted(set(counts[kind]) | (set(counts["reopen"]) if kind == "sign_off" else set())):
            total += counts[kind][day] - (counts["reopen"][day] if kind == "sign_off" else 0)
            pts.append((day, total))
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
