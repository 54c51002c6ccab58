"""The work queues: an owner's to-do and waiting lists, a leader's review queue, the sign-off queue.

Each is a narrowing of :func:`workflow.readmodels.measures.selectable` for the asking actor,
so nobody's queue shows a measure they may not see.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select

from .. import db, spec, workdays
from ..models import Extension, Measure
from .history import new_evidence, sent_back
from .measures import row_dict, selectable

M = Measure.__table__
OPEN = (spec.ASSIGNED, spec.IN_PROGRESS)
WITH_APPROVER = (spec.SUBMITTED, spec.VERIFIED)


def todo(actor: spec.Actor, *, now: dt.datetime, engine=None) -> list[dict]:
    """An owner's open work: measures they own (or their unit owns) not yet with an approver.

    What came back (returned, refused at sign-off, reopened) comes first, newest first, each with
    ``came_back``: who sent it back, why and since when; then the rest by deadline.
    """
    if "owner" not in actor.roles:
        return []
    today = workdays.local_today(now)
    mine = [M.c.owner_id == actor.id]
    if actor.unit_ids:
        mine.append(M.c.unit_id.in_(sorted(actor.unit_ids)))
    with db.read_tx(engine) as conn:
        rows = conn.execute(selectable(actor).where(or_(*mine), M.c.state.in_(OPEN))
                            .order_by(M.c.deadline.is_(None), M.c.deadline, M.c.id)).all()
        back = sent_back(conn, [r.id for r in rows if r.state == spec.IN_PROGRESS])
    items = [{**row_dict(r, today), "came_back": back.get(r.id)} for r in rows]
    returned = sorted((i for i in items if i["came_back"]), key=lambda i: i["came_back"]["at"], reverse=True)
    return returned + [i for i in items if not i["came_back"]]


def waiting(actor: spec.Actor, *, now: dt.datetime, engine=None) -> list[dict]:
    """An owner's measures now with an approver (submitted or verified): for information."""
    if "owner" not in actor.roles:
        return []
    today = workdays.local_today(now)
    with db.read_tx(engine) as conn:
        rows = conn.execute(selectable(actor).where(M.c.owner_id == actor.id, M.c.state.in_(WITH_APPROVER))
                            .order_by(M.c.submitted_at, M.c.id)).all()
    return [row_dict(r, today) for r in rows]


def review_queue(actor: spec.Actor, *, now: dt.datetime, engine=None) -> dict:
    """A leader's queue: submissions to approve or return, and extension requests to decide.

    A resubmission carries ``last_sent_back`` (the last return, refused sign-off or reopening) and
    ``new_evidence`` (files added since), so the leader sees what changed.
    """
    if "leader" not in actor.roles:
        return {"submitted": [], "extensions": []}
    today = workdays.local_today(now)
    leads = M.c.leader_id.in_(sorted({actor.id, *actor.delegate_for}))
    with db.read_tx(engine) as conn:
        sub = conn.execute(selectable(actor).where(leads, M.c.state == spec.SUBMITTED)
                           .order_by(M.c.submitted_at, M.c.id)).all()
        ext = conn.execute(selectable(actor).where(leads, M.c.pending_extension.is_(True), M.c.state.in_(OPEN))
                           .order_by(M.c.deadline, M.c.id)).all()
        pending = _pending_extensions(conn, [r.id for r in ext])
        back = sent_back(conn, [r.id for r in sub], current=False)
        fresh = new_evidence(conn, {mid: b["seq"] for mid, b in back.items()})
    extensions = [{**row_dict(r, today), "extension": pending.get(r.id)} for r in ext]
    submitted = [{**row_dict(r, today), "last_sent_back": back.get(r.id), "new_evidence": fresh.get(r.id)}
                 for r in sub]
    return {"submitted": submitted, "extensions": extensions}


def _pending_extensions(conn, ids: list[int]) -> dict[int, dict]:
    if not ids:
        return {}
    return {x.measure_id: dict(x._mapping) for x in conn.execute(
        select(Extension.measure_id, Extension.new_deadline, Extension.old_deadline, Extension.reason)
        .where(Extension.measure_id.in_(ids), Extension.status == "pending"))}


def signoff_queue(actor: spec.Actor, *, now: dt.datetime, engine=None) -> list[dict]:
    """The office's queue: verified measures waiting to be signed off (销号)."""
    if "office" not in actor.roles:
        return []
    today = workdays.local_today(now)
    with db.read_tx(engine) as conn:
        rows = conn.execute(selectable(actor).where(M.c.state == spec.VERIFIED)
                            .order_by(M.c.submitted_at, M.c.id)).all()
    return [row_dict(r, today) for r in rows]
