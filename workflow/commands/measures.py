"""The lifecycle's command on a measure: :func:`fire`, the hot path, one transaction.

It loads the actor and the measure, asks :mod:`workflow.spec` whether the trigger may fire, runs the
trigger's declared effect, then in one transaction updates the measure under a version check,
appends the audit event and writes the outbox rows the trigger's :class:`workflow.spec.Notice`
names. Nothing here knows any trigger by name: it dispatches on the declaration. A stale version
raises :class:`workflow.errors.Conflict`; a refused rule raises :class:`workflow.spec.Refused`.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import and_, bindparam, func, select, update
from sqlalchemy.engine import Connection, Engine

from .. import audit, db, evidence as ev, notify, spec, vocabulary, workdays
from ..clock import utcnow
from ..effects import Change
from ..errors import Conflict, NotFound
from ..evidence import Stored
from ..loading import view_of
from ..models import Measure, Problem, Spread
from ..precompiled import Cursor
from ..spec import Refused
from . import hot

M = Measure.__table__


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
    repeated: list[str] = field(default_factory=list)  # files given that the measure already had (by name)


def fire(measure_id: int, trigger: str, actor: str, *, comment: str = "", reason: str = "",
         evidence: Iterable[Stored] = (), params: dict | None = None, expected_version: int | None = None,
         now: dt.datetime | None = None, engine: Engine | None = None, conn: Connection | None = None) -> Result:
    """Fire ``trigger`` on a measure as ``actor`` (a username), all in one transaction.

    ``evidence`` are files already checked and stored by :func:`workflow.evidence.store`.
    ``expected_version`` (the caller's If-Match) makes a stale caller a :class:`Conflict`.
    ``conn``: run inside the caller's write transaction (see :func:`workflow.db.write_tx`).
    """
    now = (now or utcnow()).replace(tzinfo=None)
    evidence = list(evidence)
    t = spec.TRIGGERS.get(trigger)
    if t is None or (not t.public and actor != "system"):
        raise Refused("unknown_trigger", f"unknown trigger {trigger!r}")
    if conn is not None or t.on_connection:  # the caller's transaction, or an effect that writes a measure
        with db.write_tx(engine, within=conn) as conn:
            cur = Cursor.of(conn, hot.STATEMENTS)
            try:
                return _fire(cur, t, measure_id, actor, comment, reason, evidence, params, expected_version, now,
                             conn)
            finally:
                cur.close()
    with db.raw_write_tx(engine) as (driver, dialect):
        cur = Cursor(driver, dialect, hot.STATEMENTS)
        try:
            return _fire(cur, t, measure_id, actor, comment, reason, evidence, params, expected_version, now)
        finally:
            cur.close()


def _fire(cur: Cursor, t: spec.Trigger, measure_id: int, actor: str, comment: str, reason: str,
          evidence: list[Stored], params: dict | None, expected_version: int | None, now: dt.datetime,
          conn: Connection | None = None) -> Result:
    who, row = hot.load(cur, actor, measure_id)
    view = view_of(row)
    if who.target_id is not None and not spec.can_see(spec.Ctx(who, view)):
        # tied to another target: the measure is not theirs to act on, answered as the read models do
        raise NotFound(f"no such measure: {measure_id}")
    if expected_version is not None and row.version != expected_version:
        raise Conflict(measure_id, expected_version, row.version)
    if evidence:
        evidence = not_yet_attached(hot.evidence_seen(cur, measure_id), evidence)
    ctx = spec.Ctx(who, view, comment=comment or "", reason=reason or "",
                   new_evidence=len(evidence), params=dict(params or {}), today=workdays.local_today(now))
    dest = spec.check(t.name, ctx)
    return _apply(cur, t, row, dest, ctx, evidence, now, conn)


_UPDATE_CHECKED = update(M).where(and_(M.c.id == bindparam("b_id"), M.c.version == bindparam("b_version")))


def not_yet_attached(attached: Iterable[str], evidence: list[Stored]) -> list[Stored]:
    """The files not already on the measure (``attached``: their sha256), each once: the same file uploaded
    again is not attached again."""
    seen = set(attached)
    fresh = []
    for e in evidence:
        if e.sha256 not in seen:
            seen.add(e.sha256)
            fresh.append(e)
    return fresh


def write_checked(conn: Connection, measure_id: int, version: int, values: dict) -> None:
    """Write ``values`` to the measure if it is still at ``version``; else raise :class:`Conflict`.

    SET takes the columns named in ``values``; the WHERE is the version check.
    """
    res = conn.execute(_UPDATE_CHECKED, {**values, "b_id": measure_id, "b_version": version})
    if res.rowcount != 1:
        actual = conn.execute(select(M.c.version).where(M.c.id == measure_id)).scalar()
        raise Conflict(measure_id, version, actual)


class _Store:
    """What an effect may ask of the database, inside the command's transaction."""

    def __init__(self, cur: Cursor, row, actor: spec.Actor, now: dt.datetime, conn: Connection | None = None):
        self.cur, self.row, self.actor, self.now = cur, row, actor, now
        self.conn = conn  # the SQLAlchemy connection of a trigger declared ``on_connection``

    def evidence_seen(self) -> list[str]:
        return hot.evidence_seen(self.cur, self.row.id)

    def person(self, username: str, role: str | None) -> int:
        """An active person who holds ``role`` (never the scheduler's ``system``)."""
        row = self.cur.one("person", {"username": username})
        if row is None or not row.active or username == "system":
            raise Refused("invalid_input", f"no such active person: {username}")
        if role and self.cur.one("holds_role", {"user_id": row.id, "role": role}) is None:
            raise Refused("invalid_input", f"{username} does not hold the role {role}")
        return row.id

    def unit(self, name: str) -> int:
        uid = self.cur.scalar("unit", {"name": name})
        if uid is None:
            raise Refused("invalid_input", f"no such unit: {name}")
        return uid

    def open_extension(self, new_deadline: dt.date, reason: str) -> None:
        self.cur.execute("open_extension", {
            "measure_id": self.row.id, "requested_by": self.actor.id, "old_deadline": self.row.deadline,
            "new_deadline": new_deadline, "reason": reason, "status": "pending", "created_at": self.now})

    def decide_extension(self, granted: bool) -> dt.date:
        ext = self.cur.one("pending_extension", {"measure_id": self.row.id})
        if ext is None:  # the flag on the measure says pending: the two disagree, refuse rather than guess
            raise Refused("no_pending_extension", "there is no pending extension request")
        self.cur.execute("decide_extension", {"b_id": ext.id, "status": "granted" if granted else "denied",
                                              "decided_by": self.actor.id, "decided_at": self.now})
        return ext.new_deadline

    def record_finding(self, finding: str, account: str) -> int | None:
        """存在: a measure of its own under the same problem, for the same unit and people, due the spread's
        ``fix_days`` after today; its id. 不存在: nothing more (the self-check goes on to be signed off)."""
        if finding != "exists":
            return None
        from .. import planwriter

        if self.conn is None:
            raise RuntimeError("record_finding runs on a trigger declared on_connection")
        row = self.row
        days = self.conn.execute(select(Spread.fix_days).where(Spread.id == row.spread_id)).scalar() or 30
        # PostgreSQL: the problem's row orders two findings numbering a measure under it at once
        self.conn.execute(select(Problem.id).where(Problem.id == row.problem_id).with_for_update())
        seq = (self.conn.execute(select(func.max(M.c.seq)).where(M.c.problem_id == row.problem_id)).scalar() or 0) + 1
        text = f"自查发现同类问题：{account.strip()}"[:2000]
        deadline = workdays.local_today(self.now) + dt.timedelta(days=int(days))
        mid = planwriter.measure(self.conn, row.problem_id, seq, text, kind="time_bound", leader_id=row.leader_id,
                                 unit_id=row.unit_id, owner_id=row.owner_id, deadline=deadline, now=self.now,
                                 actor=self.actor.username, extra={"found_by": row.id})
        self.conn.execute(update(M).where(M.c.id == mid).values(found_by=row.id))
        return mid

    def latest_order(self) -> str | None:
        return self.cur.scalar("latest_order", {"measure_id": self.row.id})


def _apply(cur: Cursor, t: spec.Trigger, row, dest: str, ctx: spec.Ctx, evidence: list[Stored],
           now: dt.datetime, conn: Connection | None = None) -> Result:
    change = Change()
    for name in ("comment", "reason"):
        value = getattr(ctx, name)
        if value and t.param(name) is not None:
            change.body[name] = value
    if t.effect is not None:
        t.effect(ctx, now, _Store(cur, row, ctx.actor, now, conn), change)
    values, body = change.values, change.body
    if evidence:
        body["evidence"] = [{"sha256": e.sha256, "name": e.name, "size": e.size, "mime": e.mime} for e in evidence]
        values["evidence_count"] = row.evidence_count + len(evidence)
    event = audit.event_values(row.id, row.head_seq, row.head_hash, t.name, ctx.actor.username,
                               row.state if t.changes_state else None, dest if t.changes_state else None, body, now)
    seq, h = event["seq"], event["hash"]
    hot.insert_event(cur, event)
    values.update(state=dest, version=row.version + 1, head_seq=seq, head_hash=h)
    _record_light(cur, row, dest, values, now)
    hot.write_checked(cur, row.id, row.version, values)
    for e in sorted(evidence, key=lambda e: e.sha256):  # the files' locks in one order: commands never deadlock
        _link_evidence(cur, row.id, e, seq, now)
    notified = _notify(cur, t, row, ctx, change, now) if t.notice is not None else 0
    return Result(row.id, t.name, row.state, dest, row.version + 1, seq, h, notified, [e.sha256 for e in evidence])


def _record_light(cur: Cursor, row, dest: str, values: dict, now: dt.datetime) -> None:
    """Lights are history: recovery when the measure goes to an approver or its deadline moves (the sweep
    then starts that deadline's ladder), and done when it is closed."""
    if (dest in spec.AWAITING_STATES or "deadline" in values) and row.light in ("yellow", "red"):
        values.update(light="green", level=-1)
        hot.insert_light(cur, {"measure_id": row.id, "light": "green", "level": -1, "at": now})
    elif dest == spec.CLOSED and row.light != "done":
        hot.insert_light(cur, {"measure_id": row.id, "light": "done", "level": -1, "at": now})


def _notify(cur: Cursor, t: spec.Trigger, row, ctx: spec.Ctx, change: Change, now: dt.datetime) -> int:
    n = t.notice
    assert n is not None
    uids, found = hot.recipients(cur, n.audience, row, change.values)
    fmt = {"id": row.id, "actor": ctx.actor.display, "reason": ctx.reason, "comment": ctx.comment,
           "deadline": row.deadline, "new_deadline": change.body.get("new_deadline", ""),
           "order_no": change.body.get("order_no", ""),
           "finding": vocabulary.label("finding", change.body.get("finding"))}
    rows = notify.outbox_rows(uids, found, n.kind, n.subject.format(**fmt), n.text.format(**fmt), now,
                              measure_id=row.id)
    return hot.notify_rows(cur, rows)


def _link_evidence(cur: Cursor, measure_id: int, e: Stored, seq: int, now: dt.datetime) -> None:
    if cur.one("evidence_known", {"sha256": e.sha256}) is None:
        ev.claim_on(cur, e.sha256)  # still there: a failed command's cleanup may have taken the same bytes
        # asked again under the lock: a command attaching the same bytes may have stored them while we waited
        if cur.one("evidence_known", {"sha256": e.sha256}) is None:
            cur.execute("evidence_file", {"sha256": e.sha256, "size": e.size, "mime": e.mime, "created_at": now})
    cur.execute("evidence_link", {"measure_id": measure_id, "sha256": e.sha256, "name": e.name, "event_seq": seq})


def record_creation(conn: Connection, measure_id: int, actor: str, body: dict, now: dt.datetime,
                    kind: str = "create", to_state: str = "assigned") -> tuple[int, str]:
    """The first link of a new measure's chain (``create`` or ``import``); sets the head."""
    seq, h = audit.append(conn, measure_id, 0, audit.GENESIS, kind, actor, None, to_state, body, now)
    conn.execute(update(M).where(M.c.id == measure_id).values(head_seq=seq, head_hash=h))
    return seq, h
