"""What the public sees without signing in (plans and their notice, progress derived, no people),
and the office's list of the feedback the public sent."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import select

from .. import db, spec, workdays
from ..errors import NotFound
from ..models import Category, Feedback, Inspection, Measure, Part, Plan, Problem
from ..paging import Page, paginate

M = Measure.__table__
F = Feedback.__table__


def public_plans(engine=None) -> list[dict]:
    """Every plan with its inspecting body and target, for the public index."""
    with db.read_tx(engine) as conn:
        return [dict(r._mapping) for r in conn.execute(
            select(Plan.id, Plan.title, Plan.issuer, Inspection.body, Inspection.target)
            .join(Inspection, Inspection.id == Plan.inspection_id).order_by(Plan.id))]


def public_notice(plan_id: int, *, now: dt.datetime, engine=None) -> dict:
    """A plan as published: parts, problems, the published account and the derived progress.

    Only what the notice itself publishes: no people, no internal accounts, no evidence.
    """
    today = workdays.local_today(now)
    with db.read_tx(engine) as conn:
        plan = conn.execute(
            select(Plan.id, Plan.title, Plan.issuer, Plan.preamble, Inspection.body, Inspection.target,
                   Inspection.kind, Inspection.onsite_start, Inspection.onsite_end, Inspection.feedback_date,
                   Inspection.rect_start, Inspection.rect_end)
            .join(Inspection, Inspection.id == Plan.inspection_id).where(Plan.id == plan_id)).first()
        if plan is None:
            raise NotFound(f"no such plan: {plan_id}")
        parts = conn.execute(select(Part.id, Part.no, Part.title).where(Part.plan_id == plan_id)
                             .order_by(Part.no)).all()
        problems = conn.execute(select(Problem.id, Problem.no, Problem.text, Problem.account, Problem.part_id,
                                       Category.no.label("cat_no"), Category.title.label("cat_title"))
                                .outerjoin(Category, Category.id == Problem.category_id)
                                .where(Problem.plan_id == plan_id).order_by(Problem.no)).all()
        states: dict[int, list] = defaultdict(list)
        for m in conn.execute(select(M.c.problem_id, M.c.state, M.c.kind).join(Problem, Problem.id == M.c.problem_id)
                              .where(Problem.plan_id == plan_id)):
            states[m.problem_id].append((m.state, m.kind))
    by_part = defaultdict(list)
    for p in problems:
        by_part[p.part_id].append({"id": p.id, "no": p.no, "text": p.text, "account": p.account,
                                   "category_no": p.cat_no, "category": p.cat_title,
                                   "progress": spec.problem_progress(states[p.id], plan.rect_end, today),
                                   "measures": len(states[p.id])})
    return {"plan": dict(plan._mapping),
            "parts": [{"no": p.no, "title": p.title, "problems": by_part[p.id]} for p in parts],
            "problems": [{"id": p.id, "no": p.no, "text": p.text} for p in problems]}


def feedback_list(*, status: str | None = None, page: int = 1, per_page: int = 50, engine=None) -> Page:
    """The public's feedback, newest first, each with its problem and that problem's measures."""
    with db.read_tx(engine) as conn:
        q = (select(F.c.id, F.c.problem_id, F.c.text, F.c.contact, F.c.status, F.c.created_at,
                    Problem.no.label("problem_no"), Problem.text.label("problem_text"),
                    Plan.id.label("plan_id"), Plan.title.label("plan_title"))
             .join(Problem, Problem.id == F.c.problem_id).join(Plan, Plan.id == Problem.plan_id))
        if status:
            q = q.where(F.c.status == status)
        rows = paginate(conn, q, [F.c.id.desc()], page, per_page)
        pids = sorted({r.problem_id for r in rows.items})
        measures: dict[int, list[dict]] = defaultdict(list)
        if pids:
            for m in conn.execute(select(M.c.id, M.c.problem_id, M.c.seq, M.c.text, M.c.state, M.c.version)
                                  .where(M.c.problem_id.in_(pids)).order_by(M.c.seq)):
                measures[m.problem_id].append(dict(m._mapping))
    return rows.map(lambda r: {**dict(r._mapping), "measures": measures.get(r.problem_id, [])})
