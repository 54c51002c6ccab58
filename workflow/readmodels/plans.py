"""Plans as the office reviews and publishes them: the list, and one plan with its computed draft
notice, the imported notice's own text (history) and the versions published so far.

The draft is :func:`workflow.report.notice_doc` computed now; its :func:`workflow.publication.fingerprint`
goes with the 发布 form, so what is published is exactly what was reviewed. The imported text
(``Plan.preamble`` and each problem's published account) is shown as history, never as current.
"""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine

from .. import db, publication, report, stats
from ..models import Inspection, Measure, NoticeVersion, Part, Plan, Problem
from ..render import Doc, Heading, Para, Signature
from ..vocabulary import cn_numeral

M = Measure.__table__
NV = NoticeVersion.__table__
_OWN_NUMBER = re.compile(r"^\s*问题\s*[0-9一二三四五六七八九十百]+\s*[：:]\s*")


def plans(engine: Engine | None = None) -> list[dict]:
    """Every plan with its inspection, its counts and its newest published version (None if none)."""
    problems = (select(Problem.plan_id, func.count().label("n")).group_by(Problem.plan_id)).subquery()
    measures = (select(Problem.plan_id, func.count().label("n"))
                .select_from(M).join(Problem, Problem.id == M.c.problem_id).group_by(Problem.plan_id)).subquery()
    versions = (select(NV.c.plan_id, func.max(NV.c.version).label("version"),
                       func.max(NV.c.published_at).label("published_at"))
                .group_by(NV.c.plan_id)).subquery()
    q = (select(Plan.id, Plan.title, Plan.issuer, Inspection.body, Inspection.target,
                func.coalesce(problems.c.n, 0).label("problems"), func.coalesce(measures.c.n, 0).label("measures"),
                versions.c.version, versions.c.published_at)
         .join(Inspection, Inspection.id == Plan.inspection_id)
         .outerjoin(problems, problems.c.plan_id == Plan.id).outerjoin(measures, measures.c.plan_id == Plan.id)
         .outerjoin(versions, versions.c.plan_id == Plan.id).order_by(Plan.id))
    with db.read_tx(engine) as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def plan_review(plan_id: int, *, now: dt.datetime, engine: Engine | None = None) -> dict:
    """One plan for the office: ``{plan, draft, fingerprint, imported, published}``.

    ``draft`` is the notice computed now (a :class:`workflow.render.Doc`), ``fingerprint`` its
    sha256 as it would be published, ``imported`` the imported notice's own text (a Doc, or None
    for a plan that came from a ledger), ``published`` the versions, newest first. NotFound if no plan.
    """
    with db.read_tx(engine) as conn:
        plan = stats.resolve_plan(conn, plan_id)
        insp = conn.execute(select(Inspection.body, Inspection.target, Inspection.rect_start, Inspection.rect_end)
                            .where(Inspection.id == plan.inspection_id)).first()
        draft = report.notice_doc(plan.id, now, conn=conn)
        imported = imported_notice(conn, plan)
    info = {"id": plan.id, "title": plan.title, "issuer": plan.issuer,
            **({k: getattr(insp, k) for k in ("body", "target", "rect_start", "rect_end")} if insp else {})}
    return {"plan": info, "draft": draft, "fingerprint": publication.fingerprint(draft), "imported": imported,
            "published": publication.published(plan.id, engine=engine)}


def imported_notice(conn: Connection, plan) -> Doc | None:
    """The notice a plan was imported from, as it was written (its summary sentences included):
    history, laid out like the original. None when the plan was not imported from a notice."""
    pre = dict(plan.preamble or {})
    if not pre:
        return None
    doc = Doc(pre.get("title") or plan.title, issuer=pre.get("issuer") or None)
    doc.blocks += [Para(t) for t in pre.get("intro") or []]
    n = 0
    if pre.get("org_heading"):
        n += 1
        doc.blocks.append(Heading(f"{cn_numeral(n)}、{pre['org_heading']}", 1))
    doc.blocks += [Para(t) for t in pre.get("org_paragraphs") or []]
    if pre.get("problems_heading"):
        n += 1
        doc.blocks.append(Heading(f"{cn_numeral(n)}、{pre['problems_heading']}", 1))
    doc.blocks += [Para(t) for t in pre.get("problems_intro") or []]
    parts = conn.execute(select(Part.id, Part.no, Part.title).where(Part.plan_id == plan.id).order_by(Part.no)).all()
    rows = conn.execute(select(Problem.part_id, Problem.no, Problem.text, Problem.account)
                        .where(Problem.plan_id == plan.id).order_by(Problem.no)).all()
    for part in parts:
        doc.blocks.append(Heading(f"（{cn_numeral(part.no)}）{part.title}", 2))
        for p in (r for r in rows if r.part_id == part.id):
            doc.blocks.append(Para(_OWN_NUMBER.sub("", p.text or ""), lead=f"问题{p.no}："))
            if p.account:
                doc.blocks.append(Para(p.account, lead="落实情况："))
    if pre.get("next_heading"):
        n += 1
        doc.blocks.append(Heading(f"{cn_numeral(n)}、{pre['next_heading']}", 1))
    doc.blocks += [Para(t) for t in (pre.get("next_paragraphs") or []) + (pre.get("closing") or [])]
    doc.blocks += [Para(t) for t in pre.get("contact") or []]
    signed = [x for x in (pre.get("signature"), _cn(pre.get("signed_on"))) if x]
    if signed:
        doc.blocks.append(Signature(signed))
    return doc


def _cn(iso: str | None) -> str | None:
    if not iso:
        return None
    try:
        return stats.cn_date(dt.date.fromisoformat(iso))
    except ValueError:
        return iso
