"""Read models: the ledger rows, people and the outbox, streamed rather than loaded whole."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import aliased

from .. import db, workdays
from ..models import Measure, Membership, OrgUnit, Outbox, Part, Plan, Problem, User, UserRole

M = Measure.__table__


def list_users(engine=None) -> list[dict]:
    """Every person but the system user: username, name, roles, unit."""
    with db.read_tx(engine) as conn:
        roles: dict[int, list[str]] = {}
        for uid, role in conn.execute(select(UserRole.user_id, UserRole.role).order_by(UserRole.role)):
            roles.setdefault(uid, []).append(role)
        heads = {r[0] for r in conn.execute(select(Membership.user_id).where(Membership.is_head.is_(True)))}
        out = []
        for u in conn.execute(
            select(User.id, User.username, User.name, User.email, OrgUnit.name.label("unit"))
            .outerjoin(OrgUnit, OrgUnit.id == User.unit_id)
            .where(User.username != "system").order_by(User.id)
        ):
            out.append({"username": u.username, "name": u.name, "roles": roles.get(u.id, []),
                        "unit": u.unit, "email": u.email, "unit_head": u.id in heads})
        return out


def items_query(state=None, unit=None, plan_id=None, part_no=None, measure_ids=None):
    owner, leader = aliased(User), aliased(User)
    q = (
        select(M.c.id, Problem.no.label("problem_no"), Part.no.label("part"), M.c.state, M.c.deadline,
               M.c.deadline_original, M.c.version, M.c.kind, M.c.seq, M.c.text,
               owner.username.label("owner"), leader.username.label("leader"), OrgUnit.name.label("unit"),
               Plan.ladder, Plan.id.label("plan_id"))
        .join(Problem, Problem.id == M.c.problem_id)
        .join(Part, Part.id == Problem.part_id)
        .join(Plan, Plan.id == Problem.plan_id)
        .outerjoin(owner, owner.id == M.c.owner_id)
        .outerjoin(leader, leader.id == M.c.leader_id)
        .outerjoin(OrgUnit, OrgUnit.id == M.c.unit_id)
        .order_by(M.c.id)
    )
    if state:
        q = q.where(M.c.state == state)
    if unit:
        q = q.where(OrgUnit.name == unit)
    if plan_id:
        q = q.where(Plan.id == plan_id)
    if part_no:
        q = q.where(Part.no == part_no)
    if measure_ids is not None:
        q = q.where(M.c.id.in_(list(measure_ids)))
    return q


def iter_items(state=None, unit=None, light=None, now: dt.datetime | None = None, engine=None,
               **filters) -> Iterator[dict]:
    """Ledger rows with the light in force at ``now``; streamed in batches."""
    today = workdays.local_today(now or dt.datetime.utcnow())
    with db.read_tx(engine) as conn:
        result = conn.execution_options(stream_results=True, yield_per=1000).execute(
            items_query(state=state, unit=unit, **filters))
        for r in result:
            lt, level = workdays.light(r.state, r.deadline, today, workdays.ladder(r.ladder))
            if light and lt != light:
                continue
            yield {
                "id": r.id, "problem_no": r.problem_no, "part": r.part, "state": r.state, "light": lt,
                "level": level, "owner": r.owner, "leader": r.leader, "unit": r.unit,
                "deadline": r.deadline.isoformat() if r.deadline else None,
                "deadline_original": r.deadline_original.isoformat() if r.deadline_original else None,
                "version": r.version, "kind": r.kind,
            }


def list_notifications(limit=None, engine=None) -> list[dict]:
    with db.read_tx(engine) as conn:
        q = (select(Outbox.channel, Outbox.kind, Outbox.measure_id, Outbox.level, Outbox.created_at,
                    Outbox.sent_at, Outbox.attempts, Outbox.dead, Outbox.subject, User.username)
             .join(User, User.id == Outbox.recipient_id).order_by(Outbox.id))
        if limit:
            q = q.limit(limit)
        return [{
            "recipient": r.username, "channel": r.channel, "kind": r.kind, "measure_id": r.measure_id,
            "level": r.level, "created_at": r.created_at.isoformat() if r.created_at else None,
            "sent_at": r.sent_at.isoformat() if r.sent_at else None, "attempts": r.attempts,
            "dead": bool(r.dead), "subject": r.subject,
        } for r in conn.execute(q)]
