"""The statements of :func:`workflow.commands.fire`, precompiled and run on the driver's cursor.

Each is SQLAlchemy Core, compiled once per dialect (:mod:`workflow.precompiled`) and executed in
the command's own transaction. Loading the measure also reads the channels of its owner and
leader (their e-mail, their unit's webhook), so the usual notices need no further read; on
PostgreSQL the same SELECT takes the row lock (``FOR UPDATE OF measures``).
"""
from __future__ import annotations

from sqlalchemy import and_, bindparam, insert, or_, select, update
from sqlalchemy.orm import aliased

from .. import notify
from ..errors import Conflict, NotFound
from ..loading import ACTOR_Q, actor_from_rows
from ..models import (
    Escalation, Event, Evidence, Extension, LightChange, Measure, MeasureEvidence, Membership, OrgUnit, Outbox, Plan,
    Problem, User, UserRole,
)
from ..precompiled import Cursor, Statements

M = Measure.__table__
U = User.__table__
OU = OrgUnit.__table__
STATEMENTS = Statements()
# what the rules, the effects and the writes read of the measure (see loading.view_of)
MEASURE_COLUMNS = ("id", "state", "owner_id", "unit_id", "leader_id", "kind", "submitter_id", "evidence_count",
                   "pending_extension", "approver_id", "account", "reopen_count", "deadline", "deadline_original",
                   "level", "light", "version", "head_seq", "head_hash", "finding", "spread_id", "problem_id")


def _measure(dialect: str):
    owner, leader = aliased(U), aliased(U)
    owner_unit, leader_unit = aliased(OU), aliased(OU)
    q = (select(*(M.c[k] for k in MEASURE_COLUMNS), Plan.evidence_waived, Plan.target_id.label("target_id"), owner.c.email.label("owner_email"),
                owner_unit.c.webhook_url.label("owner_webhook"), leader.c.email.label("leader_email"),
                leader_unit.c.webhook_url.label("leader_webhook"))
         .join(Problem, Problem.id == M.c.problem_id)
         .join(Plan, Plan.id == Problem.plan_id)
         .outerjoin(owner, owner.c.id == M.c.owner_id)
         .outerjoin(owner_unit, owner_unit.c.id == owner.c.unit_id)
         .outerjoin(leader, leader.c.id == M.c.leader_id)
         .outerjoin(leader_unit, leader_unit.c.id == leader.c.unit_id)
         .where(M.c.id == bindparam("measure_id")))
    # SQLite: BEGIN IMMEDIATE already made us the only writer; PostgreSQL: one writer per measure
    return q if dialect == "sqlite" else q.with_for_update(of=M)


def _channels(who):
    return (select(who, U.c.email, OU.c.webhook_url).select_from(U).outerjoin(OU, OU.c.id == U.c.unit_id))


STATEMENTS.define("actor", lambda _d: ACTOR_Q)
STATEMENTS.define("measure", _measure)
STATEMENTS.define("evidence_seen", lambda _d: select(MeasureEvidence.sha256).where(
    MeasureEvidence.measure_id == bindparam("measure_id"), MeasureEvidence.removed_seq.is_(None)))
STATEMENTS.define("event", lambda _d: insert(Event.__table__),
                  ("measure_id", "seq", "kind", "actor", "from_state", "to_state", "body", "at", "prev_hash", "hash"))
STATEMENTS.define("update", lambda _d: update(M).where(and_(M.c.id == bindparam("b_id"),
                                                             M.c.version == bindparam("b_version"))))
STATEMENTS.define("light", lambda _d: insert(LightChange.__table__), ("measure_id", "light", "level", "at"))
STATEMENTS.define("user_channels", lambda _d: _channels(U.c.id).where(U.c.id == bindparam("user_id")))
# the office and supervisors who see the measure: tied to no target, or to its plan's
STATEMENTS.define("role_channels", lambda _d: _channels(U.c.id).join(UserRole, UserRole.user_id == U.c.id)
                  .where(UserRole.role == bindparam("role"), U.c.active.is_(True),
                         or_(U.c.target_id.is_(None), U.c.target_id == bindparam("target_id")))
                  .order_by(UserRole.user_id))
STATEMENTS.define("head_channels", lambda _d: _channels(U.c.id).join(Membership, Membership.user_id == U.c.id)
                  .where(Membership.unit_id == bindparam("unit_id"), Membership.is_head.is_(True))
                  .order_by(Membership.user_id))
STATEMENTS.define("outbox", lambda _d: insert(Outbox.__table__), notify.OUTBOX_KEYS)
STATEMENTS.define("version", lambda _d: select(M.c.version).where(M.c.id == bindparam("measure_id")))
# what the effects ask of the store (person, unit, extensions, orders) and the evidence links
STATEMENTS.define("person", lambda _d: select(U.c.id, U.c.active).where(U.c.username == bindparam("username")))
STATEMENTS.define("holds_role", lambda _d: select(UserRole.role).where(
    UserRole.user_id == bindparam("user_id"), UserRole.role == bindparam("role")))
STATEMENTS.define("unit", lambda _d: select(OU.c.id).where(OU.c.name == bindparam("name")))
STATEMENTS.define("open_extension", lambda _d: insert(Extension.__table__),
                  ("measure_id", "requested_by", "old_deadline", "new_deadline", "reason", "status", "created_at"))
STATEMENTS.define("pending_extension", lambda _d: select(Extension.id, Extension.new_deadline).where(
    Extension.measure_id == bindparam("measure_id"), Extension.status == "pending"))
STATEMENTS.define("decide_extension", lambda _d: update(Extension.__table__).where(
    Extension.id == bindparam("b_id")), ("status", "decided_by", "decided_at"))
STATEMENTS.define("latest_order", lambda _d: select(Escalation.order_no).where(
    Escalation.measure_id == bindparam("measure_id"), Escalation.order_no.is_not(None))
    .order_by(Escalation.id.desc()).limit(1))
STATEMENTS.define("evidence_known", lambda _d: select(Evidence.sha256).where(Evidence.sha256 == bindparam("sha256")))
STATEMENTS.define("evidence_file", lambda _d: insert(Evidence.__table__), ("sha256", "size", "mime", "created_at"))
STATEMENTS.define("evidence_link", lambda _d: insert(MeasureEvidence.__table__),
                  ("measure_id", "sha256", "name", "event_seq"))


def load(cur: Cursor, username: str, measure_id: int):
    """(actor, measure row) for a command; NotFound for an unknown user or measure."""
    who = actor_from_rows(cur.all("actor", {"username": username}), username)
    row = cur.one("measure", {"measure_id": measure_id})
    if row is None:
        raise NotFound(f"no such measure: {measure_id}")
    return who, row


def evidence_seen(cur: Cursor, measure_id: int) -> list[str]:
    return sorted(r[0] for r in cur.all("evidence_seen", {"measure_id": measure_id}))


def insert_event(cur: Cursor, values: dict) -> None:
    cur.execute("event", values)


def insert_light(cur: Cursor, values: dict) -> None:
    cur.execute("light", values)


def write_checked(cur: Cursor, measure_id: int, version: int, values: dict) -> None:
    """The version-checked UPDATE of :func:`workflow.commands.write_checked`, precompiled per set of columns."""
    keys = tuple(sorted(values))
    if cur.rowcount("update", {**values, "b_id": measure_id, "b_version": version}, keys) != 1:
        raise Conflict(measure_id, version, cur.scalar("version", {"measure_id": measure_id}))


def recipients(cur: Cursor, audience: tuple[str, ...], row, values: dict) -> tuple[list, dict]:
    """(user ids in the notice's order, {user id: (email, webhook_url)}) of a notice's audience,
    the measure as it is after the trigger (``values`` may name a new owner, leader or unit)."""
    uids: list = []
    found: dict = {}
    for who in audience:
        if who in ("owner", "leader"):
            uid = values.get(f"{who}_id", getattr(row, f"{who}_id"))
            if uid is None:
                continue
            if f"{who}_id" in values:
                ch = cur.one("user_channels", {"user_id": uid})
                if ch is not None:
                    found[uid] = (ch.email, ch.webhook_url)
            elif getattr(row, f"{who}_email") is not None or getattr(row, f"{who}_webhook") is not None:
                found[uid] = (getattr(row, f"{who}_email"), getattr(row, f"{who}_webhook"))
            uids.append(uid)
        elif who in ("office", "supervisors"):
            role = "office" if who == "office" else "supervisor"
            for r in cur.all("role_channels", {"role": role, "target_id": row.target_id}):
                uids.append(r.id)
                found[r.id] = (r.email, r.webhook_url)
        elif who == "unit_heads":
            unit = values.get("unit_id", row.unit_id)
            for r in cur.all("head_channels", {"unit_id": unit}) if unit is not None else ():
                uids.append(r.id)
                found[r.id] = (r.email, r.webhook_url)
        else:
            raise ValueError(f"unknown audience {who!r}")
    return uids, found


def notify_rows(cur: Cursor, rows: list[dict]) -> int:
    if rows:
        cur.many("outbox", rows)
    return len(rows)


