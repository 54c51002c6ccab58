"""举一反三: one problem checked everywhere — a self-check task (自查) for each chosen unit.

:func:`start` gives every chosen unit (by name, or every unit of a kind) a self-check: a measure of kind
``self_check`` under the same problem, owned by the unit's head, approved by the problem's responsible
leader, due on the spread's deadline, with the lifecycle, ladder and audit chain of any measure. The unit
answers with ``report_finding`` (存在 / 不存在, an account, evidence); an answer of 存在 starts a measure of
its own under the same problem (:meth:`workflow.commands.measures._Store.record_finding`), due ``fix_days``
after the answer. One transaction; the spread itself is recorded in :mod:`workflow.records`.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Engine

from .. import db, loading, planwriter, records, spec
from ..clock import utcnow
from ..errors import NotFound
from ..models import Measure, Membership, OrgUnit, Problem, Spread, User, UserRole

M = Measure.__table__


def _units(conn, names: list[str] | None, kind: str | None) -> list[tuple[int, str]]:
    if kind:
        rows = conn.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.kind == kind).order_by(OrgUnit.name)).all()
        if not rows:
            raise spec.Refused("invalid_input", f"unit_kind: no unit of kind {kind}")
        return [(r.id, r.name) for r in rows]
    writer = planwriter.PlanWriter(conn, now=utcnow())
    out = []
    for name in dict.fromkeys(n.strip() for n in names or () if n and n.strip()):
        uid = writer.find_unit(name)
        if uid is None:
            raise spec.Refused("invalid_input", f"units: no such unit: {name}")
        out.append((uid, conn.execute(select(OrgUnit.name).where(OrgUnit.id == uid)).scalar_one()))
    if not out:
        raise spec.Refused("invalid_input", "units: choose at least one unit, or a kind of unit")
    return out


def _owner(conn, unit_id: int) -> int | None:
    """The unit's head, else its first member who holds the owner role."""
    q = (select(Membership.user_id).join(User, User.id == Membership.user_id)
         .join(UserRole, (UserRole.user_id == Membership.user_id) & (UserRole.role == "owner"))
         .where(Membership.unit_id == unit_id, User.active.is_(True))
         .order_by(Membership.is_head.desc(), Membership.user_id).limit(1))
    return conn.execute(q).scalar()


def start(problem_id: int, actor: str, *, deadline: dt.date, units: list[str] | None = None,
          unit_kind: str | None = None, fix_days: int = 30, now: dt.datetime | None = None,
          engine: Engine | None = None) -> dict:
    """Start a self-check of ``problem_id`` in the chosen units; the office only.

    Returns ``{spread_id, problem_id, measures: [{id, unit}]}``.
    """
    now = (now or utcnow()).replace(tzinfo=None)
    if not 1 <= int(fix_days) <= 365:
        raise spec.Refused("invalid_input", "fix_days: between 1 and 365")
    with db.write_tx(engine) as conn:
        who = loading.load_actor(conn, actor)
        if "office" not in who.roles:
            raise spec.Refused("not_permitted", "only the rectification office starts a self-check")
        prob = conn.execute(select(Problem.id, Problem.text, Problem.no).where(Problem.id == problem_id)).first()
        if prob is None:
            raise NotFound(f"no such problem: {problem_id}")
        if deadline < now.date():
            raise spec.Refused("invalid_input", "deadline: not in the past")
        chosen = _units(conn, units, unit_kind)
        leader = conn.execute(select(M.c.leader_id).where(M.c.problem_id == problem_id, M.c.leader_id.is_not(None))
                              .order_by(M.c.seq).limit(1)).scalar()
        spread_id = conn.execute(insert(Spread.__table__).returning(Spread.id), {
            "problem_id": problem_id, "deadline": deadline, "fix_days": int(fix_days), "created_by": who.id,
            "created_at": now}).scalar_one()
        seq = conn.execute(select(func.max(M.c.seq)).where(M.c.problem_id == problem_id)).scalar() or 0
        made = []
        for unit_id, name in chosen:
            seq += 1
            text = f"举一反三自查（{name}）：对照问题{prob.no}，检查本单位是否存在同类问题。"
            mid = planwriter.measure(conn, problem_id, seq, text, kind="self_check", leader_id=leader,
                                     unit_id=unit_id, owner_id=_owner(conn, unit_id), deadline=deadline, now=now,
                                     actor=who.username, extra={"spread": spread_id})
            conn.execute(M.update().where(M.c.id == mid).values(spread_id=spread_id))
            made.append({"id": mid, "unit": name})
        records.append(conn, "spread_started", f"problem:{problem_id}",
                       {"spread": spread_id, "units": [m["unit"] for m in made], "deadline": deadline.isoformat(),
                        "fix_days": int(fix_days)}, who.username, now)
    return {"spread_id": spread_id, "problem_id": problem_id, "measures": made}
