"""Who sees what: the one rule every read model applies to measures.

- admin, office, supervisor, inspector and the inspection office see every measure — of their target
  when they are tied to one (``users.target_id``), of every target otherwise;
- an owner sees the measures they own and those of the units they belong to;
- a leader sees the measures they lead, or lead as someone's delegate.

:func:`scope` is the SQL twin of :func:`workflow.spec.can_see`; :func:`may_see` applies the
spec's rule to one loaded row. A measure the actor may not see is reported exactly like one
that does not exist (:class:`workflow.errors.NotFound`), so nothing leaks its existence.
"""
from __future__ import annotations

from sqlalchemy import false, or_, select, true
from sqlalchemy.engine import Connection, Engine

from .. import db, loading, spec
from ..errors import NotFound
from ..models import Measure, Plan, Problem

M = Measure.__table__
GLOBAL_ROLES = frozenset({"admin", "office", "supervisor", "inspector", "inspection_office"})


def load_actor(username: str, engine: Engine | None = None) -> spec.Actor:
    """The actor for ``username`` (roles, units, delegations); NotFound if unknown or inactive."""
    with db.read_tx(engine) as conn:
        return loading.load_actor(conn, username)


def sees_all(actor: spec.Actor) -> bool:
    """Whether ``actor`` sees every measure of every target (the kept tallies count for them)."""
    return bool(GLOBAL_ROLES & actor.roles) and actor.target_id is None


def of_target(target_id: int):
    """A SQL condition on ``measures``: those of the target's plans."""
    return M.c.problem_id.in_(select(Problem.id).join(Plan, Plan.id == Problem.plan_id)
                              .where(Plan.target_id == target_id))


def scope(actor: spec.Actor):
    """A SQL condition on ``measures`` selecting exactly what ``actor`` may see."""
    if GLOBAL_ROLES & actor.roles:
        return true() if actor.target_id is None else of_target(actor.target_id)
    conds = []
    if "owner" in actor.roles:
        conds.append(M.c.owner_id == actor.id)
        if actor.unit_ids:
            conds.append(M.c.unit_id.in_(sorted(actor.unit_ids)))
    if "leader" in actor.roles:
        conds.append(M.c.leader_id.in_(sorted({actor.id, *actor.delegate_for})))
    return or_(*conds) if conds else false()


def may_see(actor: spec.Actor, row) -> bool:
    """The rule of :mod:`workflow.spec` for one loaded measure row."""
    return spec.can_see(spec.Ctx(actor, loading.view_of(row)))


def visible_row(conn: Connection, actor: spec.Actor, measure_id: int):
    """The loaded measure (see :func:`workflow.loading.load_measure`) if ``actor`` may see it."""
    try:
        row = loading.load_measure(conn, measure_id)
    except NotFound:
        raise NotFound(f"no such measure: {measure_id}") from None
    if not may_see(actor, row):
        raise NotFound(f"no such measure: {measure_id}")
    return row
