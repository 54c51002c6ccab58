"""Loading who acts and what they act on, for the rules of :mod:`workflow.spec`.

Roles are read from the database on every command, never cached. Commands and read models both
start here.
"""
from __future__ import annotations

from sqlalchemy import Integer, bindparam, cast, null, select, union_all
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import BindParameter

from . import spec
from .errors import NotFound
from .models import Delegation, Measure, Membership, Plan, Problem, User, UserRole

M = Measure.__table__
U = User.__table__


def _actor_query():
    """The user, their roles, units and delegations in one round trip (one row per fact)."""
    name: BindParameter[str] = bindparam("username")
    ur, ms, dg = UserRole.__table__, Membership.__table__, Delegation.__table__
    nothing = null()
    return union_all(
        select(U.c.id, U.c.username, U.c.name, U.c.active, U.c.target_id, ur.c.role.label("role"),
               cast(nothing, Integer).label("unit_id"), cast(nothing, Integer).label("leader_id"))
        .select_from(U.outerjoin(ur, ur.c.user_id == U.c.id)).where(U.c.username == name),
        select(U.c.id, U.c.username, U.c.name, U.c.active, U.c.target_id, cast(nothing, ur.c.role.type), ms.c.unit_id,
               cast(nothing, Integer))
        .select_from(U.join(ms, ms.c.user_id == U.c.id)).where(U.c.username == name),
        select(U.c.id, U.c.username, U.c.name, U.c.active, U.c.target_id, cast(nothing, ur.c.role.type),
               cast(nothing, Integer),
               dg.c.leader_id)
        .select_from(U.join(dg, dg.c.delegate_id == U.c.id)).where(U.c.username == name),
    )


# built once: a prebuilt statement also keeps its compiled-cache key
_ACTOR_Q = ACTOR_Q = _actor_query()


def load_actor(conn: Connection, username: str) -> spec.Actor:
    """Who ``username`` is, read from the database on every command (roles are never cached)."""
    return actor_from_rows(conn.execute(_ACTOR_Q, {"username": username}).all(), username)


def actor_from_rows(rows, username: str) -> spec.Actor:
    """The :class:`spec.Actor` of the rows of :data:`ACTOR_Q` (one per role, unit or delegation)."""
    if not rows or not rows[0].active:
        raise NotFound(f"no such user: {username}")
    roles = frozenset(r.role for r in rows if r.role is not None)
    units = frozenset(r.unit_id for r in rows if r.unit_id is not None)
    delegate_for: frozenset[int] = frozenset()
    if "leader" in roles:
        delegate_for = frozenset(r.leader_id for r in rows if r.leader_id is not None)
    return spec.Actor(rows[0].id, rows[0].username, roles, units, delegate_for, rows[0].name or "",
                      rows[0].target_id)


_MEASURE_Q = (
    select(M, Plan.evidence_waived, Plan.ladder, Plan.target_id.label("target_id"))
    .join(Problem, Problem.id == M.c.problem_id)
    .join(Plan, Plan.id == Problem.plan_id)
)


_MEASURE_BY_ID = _MEASURE_Q.where(M.c.id == bindparam("measure_id"))
LOCK_MEASURE = select(M.c.id).where(M.c.id == bindparam("measure_id")).with_for_update()


def load_measure(conn: Connection, measure_id: int):
    row = conn.execute(_MEASURE_BY_ID, {"measure_id": measure_id}).first()
    if row is None:
        raise NotFound(f"no such measure: {measure_id}")
    return row


def view_of(row) -> spec.MeasureView:
    return spec.MeasureView(
        id=row.id, state=row.state, owner_id=row.owner_id, unit_id=row.unit_id, leader_id=row.leader_id,
        kind=row.kind, submitter_id=row.submitter_id, evidence_count=row.evidence_count,
        evidence_waived=bool(row.evidence_waived), pending_extension=bool(row.pending_extension),
        approver_id=row.approver_id, account=row.account, reopen_count=row.reopen_count, deadline=row.deadline,
        deadline_original=row.deadline_original, level=row.level, finding=row.finding,
        target_id=row.target_id,
    )
