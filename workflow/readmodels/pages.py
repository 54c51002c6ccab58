"""Read models for the pages that :mod:`workflow.readmodels.measures` does not already answer.

Every function that returns measures takes the asking :class:`workflow.spec.Actor` and goes
through :func:`workflow.scoped.scope`, the one rule of who sees what.
"""
from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import aliased

from .. import db, spec, workdays
from ..errors import NotFound
from ..models import (
    Category, Escalation, Event, Feedback, Inspection, Measure, Membership, OrgUnit, Part, Plan, Problem, UnitAlias,
    User, UserRole,
)
from . import measures as scoped

M = Measure.__table__

SORTS = {
    "id": (M.c.id,),
    "deadline": (M.c.deadline,),
    "problem": (Problem.no, M.c.seq),
    "unit": (OrgUnit.name,),
    "state": (M.c.state,),
}


def _base():
    owner, leader = aliased(User), aliased(User)
    return (
        select(M.c.id, M.c.seq, M.c.text, M.c.kind, M.c.state, M.c.version, M.c.deadline, M.c.deadline_original,
               M.c.reopen_count, M.c.evidence_count, M.c.pending_extension, M.c.submitted_at, M.c.closed_at,
               M.c.account, M.c.problem_id, Problem.no.label("problem_no"), Problem.text.label("problem_text"),
               Part.no.label("part"), Plan.id.label("plan_id"), Plan.title.label("plan_title"), Plan.ladder,
               owner.username.label("owner"), owner.name.label("owner_name"),
               leader.username.label("leader"), leader.name.label("leader_name"), OrgUnit.name.label("unit"))
        .join(Problem, Problem.id == M.c.problem_id)
        .join(Part, Part.id == Problem.part_id)
        .join(Plan, Plan.id == Problem.plan_id)
        .outerjoin(owner, owner.id == M.c.owner_id)
        .outerjoin(leader, leader.id == M.c.leader_id)
        .outerjoin(OrgUnit, OrgUnit.id == M.c.unit_id)
    )


def _row(r, today: dt.date) -> dict:
    d = dict(r._mapping)
    d["light"], d["level"] = workdays.light(r.state, r.deadline, today, workdays.ladder(r.ladder))
    d.pop("ladder", None)
    return d


# --- the work queues ------------------------------------------------------------

def todo(actor: spec.Actor, *, now: dt.datetime, engine=None) -> list[dict]:
    """An owner's open work: measures they own (or their unit owns) not yet with an approver."""
    today = workdays.local_today(now)
    if "owner" not in actor.roles:
        return []
    mine = [M.c.owner_id == actor.id]
    if actor.unit_ids:
        mine.append(M.c.unit_id.in_(sorted(actor.unit_ids)))
    with db.read_tx(engine) as conn:
        rows = conn.execute(_base().where(
            or_(*mine), M.c.state.in_((spec.ASSIGNED, spec.IN_PROGRESS)))
            .order_by(M.c.deadline.is_(None), M.c.deadline, M.c.id)).all()
    return [_row(r, today) for r in rows]


def waiting(actor: spec.Actor, *, now: dt.datetime, engine=None) -> list[dict]:
    """An owner's measures now with an approver (submitted or verified): for information."""
    today = workdays.local_today(now)
    if "owner" not in actor.roles:
        return []
    with db.read_tx(engine) as conn:
        rows = conn.execute(_base().where(
            M.c.owner_id == actor.id, M.c.state.in_((spec.SUBMITTED, spec.VERIFIED)))
            .order_by(M.c.submitted_at, M.c.id)).all()
    return [_row(r, today) for r in rows]


def review_queue(actor: spec.Actor, *, now: dt.datetime, engine=None) -> dict:
    """A leader's queue: submissions to approve or return, and extension requests to decide."""
    today = workdays.local_today(now)
    if "leader" not in actor.roles:
        return {"submitted": [], "extensions": []}
    leads = M.c.leader_id.in_(sorted({actor.id, *actor.delegate_for}))
    with db.read_tx(engine) as conn:
        sub = conn.execute(_base().where(leads, M.c.state == spec.SUBMITTED)
                           .order_by(M.c.submitted_at, M.c.id)).all()
        ext = conn.execute(_base().where(leads, M.c.pending_extension.is_(True),
                                         M.c.state.in_((spec.ASSIGNED, spec.IN_PROGRESS)))
                           .order_by(M.c.deadline, M.c.id)).all()
        pending = _pending_extensions(conn, [r.id for r in ext])
    out_ext = []
    for r in ext:
        d = _row(r, today)
        d["extension"] = pending.get(r.id)
        out_ext.append(d)
    return {"submitted": [_row(r, today) for r in sub], "extensions": out_ext}


def _pending_extensions(conn, ids):
    from workflow.models import Extension

    if not ids:
        return {}
    return {x.measure_id: dict(x._mapping) for x in conn.execute(
        select(Extension.measure_id, Extension.new_deadline, Extension.old_deadline, Extension.reason)
        .where(Extension.measure_id.in_(ids), Extension.status == "pending"))}


def signoff_queue(actor: spec.Actor, *, now: dt.datetime, engine=None) -> list[dict]:
    """The office's queue: verified measures waiting to be signed off (销号)."""
    today = workdays.local_today(now)
    if "office" not in actor.roles:
        return []
    with db.read_tx(engine) as conn:
        rows = conn.execute(_base().where(scoped.scope(actor), M.c.state == spec.VERIFIED)
                            .order_by(M.c.submitted_at, M.c.id)).all()
    return [_row(r, today) for r in rows]


# --- the ledger -----------------------------------------------------------------

def ledger(actor: spec.Actor, *, now: dt.datetime, plan: int | None = None, part: int | None = None,
           unit: str | None = None, state: str | None = None, light: str | None = None, sort: str = "id",
           desc: bool = False, page: int = 1, per_page: int = 25, engine=None) -> dict:
    """One page of the ledger the actor may see; the order is stable (ties broken by id)."""
    page, per_page = max(1, int(page)), min(scoped.MAX_PER_PAGE, max(1, int(per_page)))
    today = workdays.local_today(now)
    cols = SORTS.get(sort, SORTS["id"])
    with db.read_tx(engine) as conn:
        q = _filtered(conn, _base().where(scoped.scope(actor)), today, plan, part, unit, state, light)
        order = [c.desc() if desc else c.asc() for c in cols]
        order.append(M.c.id.desc() if desc else M.c.id.asc())
        total, rows = scoped.page_of(conn, q, order, page, per_page)
    return {"items": [_row(r, today) for r in rows], "page": page, "per_page": per_page, "total": total,
            "pages": max(1, math.ceil(total / per_page))}


def ledger_ids(actor: spec.Actor, *, now: dt.datetime, plan=None, part=None, unit=None, state=None,
               light=None, engine=None) -> list[int]:
    """Every measure id of the filtered ledger (for the export), in id order."""
    today = workdays.local_today(now)
    with db.read_tx(engine) as conn:
        q = select(M.c.id).join(Problem, Problem.id == M.c.problem_id).join(Part, Part.id == Problem.part_id) \
            .join(Plan, Plan.id == Problem.plan_id).outerjoin(OrgUnit, OrgUnit.id == M.c.unit_id) \
            .where(scoped.scope(actor))
        q = _filtered(conn, q, today, plan, part, unit, state, light)
        return [r[0] for r in conn.execute(q.order_by(M.c.id))]


def _filtered(conn, q, today, plan, part, unit, state, light):
    """``q`` narrowed by the ledger's filters (they combine with AND)."""
    if plan:
        q = q.where(Plan.id == plan)
    if part:
        q = q.where(Part.no == part)
    if unit:
        q = q.where(OrgUnit.name == unit)
    if state:
        q = q.where(M.c.state == state)
    if light:
        ladders = {r.id: r.ladder for r in conn.execute(select(Plan.id, Plan.ladder))}
        q = q.where(scoped.light_condition(light, today, ladders))
    return q


def filter_choices(engine=None) -> dict:
    """Plans, part numbers and units for the ledger's filters."""
    with db.read_tx(engine) as conn:
        plans = [dict(r._mapping) for r in conn.execute(select(Plan.id, Plan.title).order_by(Plan.id))]
        parts = [dict(r._mapping) for r in conn.execute(
            select(Part.no, func.min(Part.title).label("title")).group_by(Part.no).order_by(Part.no))]
        units = [r[0] for r in conn.execute(
            select(OrgUnit.name).where(OrgUnit.id.in_(select(M.c.unit_id).distinct())).order_by(OrgUnit.name))]
    return {"plans": plans, "parts": parts, "units": units}


# --- supervision ----------------------------------------------------------------

def escalations(actor: spec.Actor, *, now: dt.datetime, level: int | None = None, open_only: bool = True,
                page: int = 1, per_page: int = 50, engine=None) -> dict:
    """Escalations written by the scheduler, joined to their measures (newest first)."""
    E = Escalation.__table__
    today = workdays.local_today(now)
    page, per_page = max(1, int(page)), min(scoped.MAX_PER_PAGE, max(1, int(per_page)))
    with db.read_tx(engine) as conn:
        base = _base().add_columns(E.c.id.label("esc_id"), E.c.level.label("esc_level"),
                                   E.c.deadline.label("esc_deadline"), E.c.created_at.label("esc_at"),
                                   E.c.order_no).join(E, E.c.measure_id == M.c.id).where(scoped.scope(actor))
        if level is not None:
            base = base.where(E.c.level == level)
        if open_only:
            base = base.where(M.c.state != spec.CLOSED)
        total = conn.execute(select(func.count()).select_from(base.subquery())).scalar_one()
        rows = conn.execute(base.order_by(E.c.created_at.desc(), E.c.id.desc())
                            .limit(per_page).offset((page - 1) * per_page)).all()
        counts = dict(conn.execute(
            select(E.c.level, func.count()).join(M, M.c.id == E.c.measure_id)
            .where(scoped.scope(actor), *( [M.c.state != spec.CLOSED] if open_only else []))
            .group_by(E.c.level)).all())
    return {"items": [_row(r, today) for r in rows], "page": page, "per_page": per_page, "total": total,
            "pages": max(1, math.ceil(total / per_page)), "counts": counts}


# --- the dashboard --------------------------------------------------------------

def by_part(actor: spec.Actor, engine=None) -> list[dict]:
    """Measures per part (方面): total and closed."""
    with db.read_tx(engine) as conn:
        rows = conn.execute(
            select(Part.no, func.min(Part.title).label("title"), func.count().label("total"),
                   func.sum(case((M.c.state == spec.CLOSED, 1), else_=0)).label("closed"))
            .select_from(M).join(Problem, Problem.id == M.c.problem_id).join(Part, Part.id == Problem.part_id)
            .where(scoped.scope(actor)).group_by(Part.no).order_by(Part.no)).all()
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
             .where(scoped.scope(actor), E.c.kind.in_(("submit", "sign_off", "reopen"))))
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


# --- people and units (admin) ---------------------------------------------------

def people(engine=None) -> list[dict]:
    """Every person but the system user, with roles, unit and whether they head it."""
    with db.read_tx(engine) as conn:
        roles: dict[int, list[str]] = defaultdict(list)
        for uid, role in conn.execute(select(UserRole.user_id, UserRole.role).order_by(UserRole.role)):
            roles[uid].append(role)
        heads = {(r.user_id, r.unit_id) for r in conn.execute(
            select(Membership.user_id, Membership.unit_id).where(Membership.is_head.is_(True)))}
        out = []
        for u in conn.execute(
                select(User.id, User.username, User.name, User.email, User.active, User.unit_id,
                       OrgUnit.name.label("unit"))
                .outerjoin(OrgUnit, OrgUnit.id == User.unit_id)
                .where(User.username != "system").order_by(User.username)):
            d = dict(u._mapping)
            d["roles"] = roles.get(u.id, [])
            d["head"] = (u.id, u.unit_id) in heads
            out.append(d)
    return out


def units(engine=None) -> list[dict]:
    """Org units with their heads, member counts and aliases."""
    with db.read_tx(engine) as conn:
        parent = aliased(OrgUnit)
        rows = conn.execute(select(OrgUnit.id, OrgUnit.name, OrgUnit.kind, OrgUnit.webhook_url,
                                   parent.name.label("parent"))
                            .outerjoin(parent, parent.id == OrgUnit.parent_id).order_by(OrgUnit.name)).all()
        heads: dict[int, list[str]] = defaultdict(list)
        members: Counter = Counter()
        for m in conn.execute(select(Membership.unit_id, Membership.is_head, User.name)
                              .join(User, User.id == Membership.user_id).where(User.active.is_(True))):
            members[m.unit_id] += 1
            if m.is_head:
                heads[m.unit_id].append(m.name)
        aliases: dict[int, list[str]] = defaultdict(list)
        for a in conn.execute(select(UnitAlias.unit_id, UnitAlias.alias).order_by(UnitAlias.alias)):
            aliases[a.unit_id].append(a.alias)
    return [{**dict(r._mapping), "heads": heads.get(r.id, []), "members": members[r.id],
             "aliases": aliases.get(r.id, [])} for r in rows]


# --- the public notice and feedback ---------------------------------------------

def public_plans(engine=None) -> list[dict]:
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
            "problems": [{"id": p.id, "no": p.no} for p in problems]}


def feedback_list(*, status: str | None = None, page: int = 1, per_page: int = 50, engine=None) -> dict:
    F = Feedback.__table__
    page, per_page = max(1, int(page)), min(scoped.MAX_PER_PAGE, max(1, int(per_page)))
    with db.read_tx(engine) as conn:
        q = (select(F.c.id, F.c.problem_id, F.c.text, F.c.contact, F.c.status, F.c.created_at,
                    Problem.no.label("problem_no"), Problem.text.label("problem_text"),
                    Plan.id.label("plan_id"), Plan.title.label("plan_title"))
             .join(Problem, Problem.id == F.c.problem_id).join(Plan, Plan.id == Problem.plan_id))
        if status:
            q = q.where(F.c.status == status)
        total = conn.execute(select(func.count()).select_from(q.subquery())).scalar_one()
        rows = conn.execute(q.order_by(F.c.id.desc()).limit(per_page).offset((page - 1) * per_page)).all()
        pids = sorted({r.problem_id for r in rows})
        measures: dict[int, list[dict]] = defaultdict(list)
        if pids:
            for m in conn.execute(select(M.c.id, M.c.problem_id, M.c.seq, M.c.text, M.c.state, M.c.version)
                                  .where(M.c.problem_id.in_(pids)).order_by(M.c.seq)):
                measures[m.problem_id].append(dict(m._mapping))
    items = []
    for r in rows:
        d = dict(r._mapping)
        d["measures"] = measures.get(r.problem_id, [])
        items.append(d)
    return {"items": items, "page": page, "per_page": per_page, "total": total,
            "pages": max(1, math.ceil(total / per_page))}


def unread_count(user_id: int, engine=None) -> int:
    from workflow.models import Outbox

    O = Outbox.__table__
    with db.read_tx(engine) as conn:
        return conn.execute(select(func.count()).select_from(O).where(
            and_(O.c.recipient_id == user_id, O.c.channel == "inbox", O.c.read_at.is_(None)))).scalar_one()


def version_of(actor: spec.Actor, measure_id: int, engine=None) -> int:
    """The current version of a measure the actor may see; NotFound otherwise."""
    with db.read_tx(engine) as conn:
        v = conn.execute(select(M.c.version).where(M.c.id == measure_id, scoped.scope(actor))).scalar()
    if v is None:
        raise NotFound(f"no such measure: {measure_id}")
    return v
