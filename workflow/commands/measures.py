"""Commands on measures: each one a single transaction.

:func:`fire` is the hot path. It loads the actor and the measure, asks :mod:`workflow.spec`
whether the trigger may fire, then in one transaction updates the measure under a version check,
appends the audit event and writes the outbox rows. A stale version raises :class:`workflow.errors.Conflict`;
a refused rule raises :class:`workflow.spec.Refused`.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import and_, bindparam, insert, select, update
from sqlalchemy.engine import Connection, Engine

from .. import audit, db, notify, spec
from ..clock import utcnow
from ..errors import Conflict
from ..evidence import Stored
from ..loading import LOCK_MEASURE, load_actor, load_measure, view_of
from ..models import Extension, LightChange, Measure, MeasureEvidence, Membership, OrgUnit, User
from ..spec import Refused

M = Measure.__table__
U = User.__table__


@dataclass
class Result:
    measure_id: int
    trigger: str
    from_state: str
    state: str
    version: int
    seq: int
    hash: str
    notified: int = 0
    evidence: list[str] = field(default_factory=list)


def _user_id(conn: Connection, username: str) -> int:
    uid = conn.execute(select(U.c.id).where(U.c.username == username)).scalar()
    if uid is None:
        raise Refused("invalid_input", f"no such user: {username}")
    return uid


def _unit_id(conn: Connection, name: str) -> int:
    uid = conn.execute(select(OrgUnit.id).where(OrgUnit.name == name)).scalar()
    if uid is None:
        raise Refused("invalid_input", f"no such unit: {name}")
    return uid


def _unit_heads(conn: Connection, unit_id: int | None) -> list[int]:
    if unit_id is None:
        return []
    return [r[0] for r in conn.execute(
        select(Membership.user_id).where(Membership.unit_id == unit_id, Membership.is_head.is_(True)))]


def _parse_date(value) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise Refused("invalid_input", f"not a date (YYYY-MM-DD): {value}") from None


# --- the command -----------------------------------------------------------

NOTICE_TEXT = {
    "submit": ("awaiting_approval", "待审核：整改措施 {id} 已提交", "{actor} 提交了整改措施 {id} 的落实情况，请审核。"),
    "approve": ("awaiting_sign_off", "待销号：整改措施 {id} 已审核", "整改措施 {id} 已由 {actor} 审核通过，请对账销号。"),
    "return": ("returned", "已退回：整改措施 {id}", "整改措施 {id} 被 {actor} 退回，原因：{reason}"),
    "sign_off": ("signed_off", "已销号：整改措施 {id}", "整改措施 {id} 已由 {actor} 销号。"),
    "reject": ("sign_off_rejected", "不予销号：整改措施 {id}", "整改措施 {id} 不予销号，原因：{reason}"),
    "reopen": ("reopened", "重新整改：整改措施 {id}", "整改措施 {id} 需重新整改，原因：{reason}"),
    "reassign": ("assigned", "改派：整改措施 {id}", "整改措施 {id} 已改派，请及时开始整改。"),
    "urge": ("urged", "催办：整改措施 {id}", "{actor} 催办整改措施 {id}（完成时限 {deadline}）。{comment}"),
    "request_extension": ("extension_requested", "延期申请：整改措施 {id}",
                          "{actor} 申请将整改措施 {id} 的完成时限延至 {new_deadline}，理由：{reason}"),
    "grant_extension": ("extension_granted", "同意延期：整改措施 {id}", "整改措施 {id} 的完成时限已延至 {new_deadline}。"),
    "deny_extension": ("extension_denied", "不同意延期：整改措施 {id}", "整改措施 {id} 的延期申请未获同意，原因：{reason}"),
}


def _recipients(conn: Connection, trigger: str, row, actor: spec.Actor, new_owner=None, new_leader=None) -> list[int]:
    if trigger in ("submit", "request_extension"):
        return [row.leader_id]
    if trigger == "approve":
        return notify.users_with_role(conn, "office")
    if trigger in ("return", "sign_off", "grant_extension", "deny_extension"):
        return [row.owner_id]
    if trigger in ("reject", "reopen"):
        return [row.owner_id, row.leader_id]
    if trigger == "urge":
        return [row.owner_id, *_unit_heads(conn, row.unit_id)]
    if trigger == "reassign":
        return [new_owner or row.owner_id, new_leader or row.leader_id]
    return []


def fire(measure_id: int, trigger: str, actor: str, *, comment: str = "", reason: str = "",
         evidence: Iterable[Stored] = (), params: dict | None = None, expected_version: int | None = None,
         now: dt.datetime | None = None, engine: Engine | None = None, conn: Connection | None = None) -> Result:
    """Fire ``trigger`` on a measure as ``actor`` (a username), all in one transaction.

    ``evidence`` are files already checked and stored by :func:`workflow.evidence.store`.
    ``expected_version`` (the caller's If-Match) makes a stale caller a :class:`Conflict`.
    ``conn``: run inside the caller's write transaction (see :func:`workflow.db.write_tx`).
    """
    now = (now or utcnow()).replace(tzinfo=None)
    params = dict(params or {})
    evidence = list(evidence)
    if trigger not in spec.TRIGGERS or trigger == "escalate" and actor != "system":
        raise Refused("unknown_trigger", f"unknown trigger {trigger!r}")
    with db.write_tx(engine, within=conn) as conn:
        who = load_actor(conn, actor)
        if conn.dialect.name != "sqlite":  # SQLite: BEGIN IMMEDIATE already made us the only writer
            conn.execute(LOCK_MEASURE, {"measure_id": measure_id})  # PostgreSQL: one writer per measure
        row = load_measure(conn, measure_id)
        if expected_version is not None and row.version != expected_version:
            raise Conflict(measure_id, expected_version, row.version)
        ctx = spec.Ctx(who, view_of(row), comment=comment or "", reason=reason or "",
                       new_evidence=len(evidence), params=params)
        dest = spec.check(trigger, ctx)
        return _apply(conn, trigger, who, row, dest, ctx, evidence, now)


_EVIDENCE_SEEN = select(MeasureEvidence.sha256).where(MeasureEvidence.measure_id == bindparam("measure_id"))
_INSERT_LIGHT = insert(LightChange.__table__)
_UPDATE_CHECKED = update(M).where(and_(M.c.id == bindparam("b_id"), M.c.version == bindparam("b_version")))


def write_checked(conn: Connection, measure_id: int, version: int, values: dict) -> None:
    """Write ``values`` to the measure if it is still at ``version``; else raise :class:`Conflict`.

    SET takes the columns named in ``values``; the WHERE is the version check.
    """
    res = conn.execute(_UPDATE_CHECKED, {**values, "b_id": measure_id, "b_version": version})
    if res.rowcount != 1:
        actual = conn.execute(select(M.c.version).where(M.c.id == measure_id)).scalar()
        raise Conflict(measure_id, version, actual)


def _apply(conn: Connection, trigger: str, who: spec.Actor, row, dest: str, ctx: spec.Ctx,
           evidence: list[Stored], now: dt.datetime) -> Result:
    values: dict = {}
    body: dict = {}
    if ctx.comment:
        body["comment"] = ctx.comment
    if ctx.reason:
        body["reason"] = ctx.reason
    new_owner = new_leader = None
    if trigger == "submit":
        values.update(account=ctx.comment, submitter_id=who.id, submitted_at=now)
    elif trigger == "approve":
        seen = sorted(r[0] for r in conn.execute(_EVIDENCE_SEEN, {"measure_id": row.id}))
        body["evidence_seen"] = seen
        body["account_seen"] = row.account or ""
    elif trigger == "sign_off":
        values.update(closed_at=now, light="done", level=-1)
    elif trigger in ("reject",):
        values.update(closed_at=None)
    elif trigger == "reopen":
        values.update(closed_at=None, reopen_count=row.reopen_count + 1, light="green", level=-1)
        body["category"] = ctx.params["category"]
    elif trigger == "reassign":
        p = ctx.params
        if p.get("owner"):
            new_owner = values["owner_id"] = _user_id(conn, p["owner"])
            body["owner"] = p["owner"]
        if p.get("leader"):
            new_leader = values["leader_id"] = _user_id(conn, p["leader"])
            body["leader"] = p["leader"]
        if p.get("unit"):
            values["unit_id"] = _unit_id(conn, p["unit"])
            body["unit"] = p["unit"]
    elif trigger == "request_extension":
        new_deadline = _parse_date(ctx.params["new_deadline"])
        if row.deadline and new_deadline <= row.deadline:
            raise Refused("invalid_input", "the new deadline must be later than the one in force")
        conn.execute(insert(Extension.__table__), {
            "measure_id": row.id, "requested_by": who.id, "old_deadline": row.deadline,
            "new_deadline": new_deadline, "reason": ctx.reason, "status": "pending", "created_at": now,
        })
        values["pending_extension"] = True
        body["new_deadline"] = new_deadline.isoformat()
    elif trigger in ("grant_extension", "deny_extension"):
        ext = conn.execute(select(Extension.__table__).where(
            Extension.measure_id == row.id, Extension.status == "pending")).first()
        granted = trigger == "grant_extension"
        conn.execute(update(Extension.__table__).where(Extension.id == ext.id).values(
            status="granted" if granted else "denied", decided_by=who.id, decided_at=now))
        values["pending_extension"] = False
        body["new_deadline"] = ext.new_deadline.isoformat()
        if granted:
            values["deadline"] = ext.new_deadline
            if row.deadline_original is None:
                values["deadline_original"] = row.deadline
    elif trigger == "urge":
        body["deadline"] = row.deadline.isoformat() if row.deadline else None
    if ctx.params.get("level") is not None:
        body["level"] = ctx.params["level"]
    if evidence:
        body["evidence"] = [{"sha256": e.sha256, "name": e.name, "size": e.size, "mime": e.mime} for e in evidence]
        values["evidence_count"] = row.evidence_count + len(evidence)

    from_state = row.state
    changes = spec.TRIGGERS[trigger].changes_state
    seq, h = audit.append(conn, row.id, row.head_seq, row.head_hash, trigger, who.username,
                          from_state if changes else None, dest if changes else None, body, now)
    values.update(state=dest, version=row.version + 1, head_seq=seq, head_hash=h)
    # recovery: with the approver, or a new deadline (the sweep then starts that deadline's ladder)
    if (dest in ("submitted", "verified") or trigger == "grant_extension") and row.light in ("yellow", "red"):
        values.update(light="green", level=-1)
        conn.execute(_INSERT_LIGHT, {"measure_id": row.id, "light": "green", "level": -1, "at": now})
    elif dest == "closed" and row.light != "done":
        conn.execute(_INSERT_LIGHT, {"measure_id": row.id, "light": "done", "level": -1, "at": now})
    write_checked(conn, row.id, row.version, values)
    for e in evidence:
        _link_evidence(conn, row.id, e, seq, now)
    notified = 0
    if trigger in NOTICE_TEXT:
        kind, subject, text = NOTICE_TEXT[trigger]
        fmt = {"id": row.id, "actor": who.username, "reason": ctx.reason, "comment": ctx.comment,
               "deadline": row.deadline, "new_deadline": body.get("new_deadline", "")}
        notified = notify.enqueue(conn, _recipients(conn, trigger, row, who, new_owner, new_leader),
                                  kind, subject.format(**fmt), text.format(**fmt), now, measure_id=row.id)
    return Result(row.id, trigger, from_state, dest, row.version + 1, seq, h, notified,
                  [e.sha256 for e in evidence])


def _link_evidence(conn: Connection, measure_id: int, e: Stored, seq: int, now: dt.datetime) -> None:
    from ..models import Evidence

    if conn.execute(select(Evidence.sha256).where(Evidence.sha256 == e.sha256)).first() is None:
        conn.execute(insert(Evidence.__table__), {"sha256": e.sha256, "size": e.size, "mime": e.mime, "created_at": now})
    conn.execute(insert(MeasureEvidence.__table__),
                 {"measure_id": measure_id, "sha256": e.sha256, "name": e.name, "event_seq": seq})


def record_creation(conn: Connection, measure_id: int, actor: str, body: dict, now: dt.datetime,
                    kind: str = "create", to_state: str = "assigned") -> tuple[int, str]:
    """The first link of a new measure's chain (``create`` or ``import``); sets the head."""
    seq, h = audit.append(conn, measure_id, 0, audit.GENESIS, kind, actor, None, to_state, body, now)
    conn.execute(update(M).where(M.c.id == measure_id).values(head_seq=seq, head_hash=h))
    return seq, h
