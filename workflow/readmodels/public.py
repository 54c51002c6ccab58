"""What the public sees without signing in: the notices the office published (frozen versions, never
a draft; no people, no internal accounts), and the office's list of the feedback the public sent."""
from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select

from .. import db, publication
from ..models import Feedback, Inspection, Measure, NoticeVersion, Plan, Problem
from ..paging import Page, paginate

M = Measure.__table__
F = Feedback.__table__
NV = NoticeVersion.__table__


def public_plans(engine=None) -> list[dict]:
    """The plans with a published notice, for the public index: inspecting body, target, and the
    newest version with its date. A plan nothing was published for is not listed."""
    newest = (select(NV.c.plan_id, func.max(NV.c.version).label("version"),
                     func.max(NV.c.published_at).label("published_at")).group_by(NV.c.plan_id)).subquery()
    with db.read_tx(engine) as conn:
        return [dict(r._mapping) for r in conn.execute(
            select(Plan.id, Plan.title, Plan.issuer, Inspection.body, Inspection.target, newest.c.version,
                   newest.c.published_at)
            .join(Inspection, Inspection.id == Plan.inspection_id).join(newest, newest.c.plan_id == Plan.id)
            .order_by(newest.c.published_at.desc(), Plan.id))]


def published_notice(plan_id: int, version: int | None = None, *, engine=None) -> dict:
    """A published version of a plan's notice (the newest when ``version`` is None), as the public
    reads it: ``{plan: {id, title}, version: {version, title, published_at, sha256}, doc, versions,
    problems}``: ``doc`` the frozen :class:`workflow.render.Doc`, ``versions`` every published version
    newest first with its date, ``problems`` the plan's problems (id, no) for the feedback form.

    Never a draft: NotFound when the plan has no published version (or not that one).
    """
    meta, doc = publication.published_doc(plan_id, version, engine=engine)
    with db.read_tx(engine) as conn:
        plan = conn.execute(select(Plan.id, Plan.title).where(Plan.id == plan_id)).one()
        versions = [dict(r._mapping) for r in conn.execute(
            select(NV.c.version, NV.c.title, NV.c.published_at).where(NV.c.plan_id == plan_id)
            .order_by(NV.c.version.desc()))]
        problems = [dict(r._mapping) for r in conn.execute(
            select(Problem.id, Problem.no, Problem.text).where(Problem.plan_id == plan_id).order_by(Problem.no))]
    return {"plan": dict(plan._mapping), "version": meta, "doc": doc, "versions": versions, "problems": problems}


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
