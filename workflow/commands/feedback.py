"""Public feedback on a published notice, and what the office does with it.

- :func:`submit` records one piece of feedback, rate limited per sender: the ``feedback`` table
  keeps a keyed hash of the sender's address (never the address), and the limit is counted
  over those rows in the same transaction as the insert, so every worker process and host
  sees the same count.
- :func:`reopen` turns feedback into a ``reopen`` (群众不满意) of a measure of its problem: the
  measure's command and the closing of the feedback are one transaction, so a refused or
  conflicting reopen leaves the feedback open and a successful one changes both.
- :func:`forward` passes feedback on a problem whose measures are still open to the owner of one
  of them, as a comment on its record (there is nothing closed to reopen yet).
- :func:`dismiss` closes feedback without a reopen.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac

from sqlalchemy import func, insert, select, text as sql, update
from sqlalchemy.engine import Connection, Engine

from .. import db, notify, spec, text as free_text
from ..errors import NotFound
from ..models import Feedback, Measure, Problem
from .measures import Result, fire

F = Feedback.__table__
M = Measure.__table__
MAX_TEXT = 2000
MAX_CONTACT = 200
WINDOW = dt.timedelta(hours=1)
REOPEN_CATEGORY = "public_dissatisfaction"
STATUSES = ("new", "reopened", "forwarded", "dismissed")


class RateLimited(Exception):
    """The sender has sent ``limit`` pieces of feedback within :data:`WINDOW`."""


class NotOfProblem(spec.Refused):
    """The measure chosen for a reopen is not one of the feedback's problem."""

    def __init__(self, measure_id):
        super().__init__("invalid_input", f"measure: {measure_id} is not a measure of the feedback's problem")


def source_hash(key: str | bytes, address: str) -> str:
    """The keyed hash of a sender's address that the rate limit counts (the address is never kept)."""
    key = key if isinstance(key, bytes) else str(key).encode()
    return hmac.new(key, f"feedback:{address}".encode(), hashlib.sha256).hexdigest()


def _lock_sender(conn: Connection, source: str) -> None:
    """PostgreSQL: one submission per sender at a time, so two at once cannot both pass the count.
    (SQLite: ``BEGIN IMMEDIATE`` already made this transaction the only writer.)"""
    if conn.dialect.name == "postgresql":
        conn.execute(sql("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": "feedback:" + source})


def submit(plan_id: int, problem_id: int, text: str, contact: str, source: str, *, at: dt.datetime,
           limit: int, engine: Engine | None = None) -> int:
    """Record one piece of public feedback on a problem of the plan; return its id.

    ``source`` is :func:`source_hash` of the sender. Refused (``comment_required``,
    ``invalid_input`` naming the field) for bad input; :class:`RateLimited` once the sender has
    sent ``limit`` within the last hour. Either way nothing is written.
    """
    text, contact = (text or "").strip(), (contact or "").strip()
    if not text:
        raise spec.Refused("comment_required", "text: must not be empty")
    text = free_text.clean(text, "text")  # no control, direction-changing or only invisible characters
    contact = free_text.clean(contact, "contact")
    if len(text) > MAX_TEXT or len(contact) > MAX_CONTACT:
        raise spec.Refused("invalid_input",
                           f"text: at most {MAX_TEXT} characters; contact: at most {MAX_CONTACT}")
    at = at.replace(tzinfo=None)
    with db.write_tx(engine) as conn:
        ok = conn.execute(select(Problem.id).where(Problem.id == problem_id, Problem.plan_id == plan_id)).first()
        if ok is None:
            raise spec.Refused("invalid_input", f"problem: not a problem of plan {plan_id}")
        _lock_sender(conn, source)
        recent = conn.execute(select(func.count()).select_from(F).where(
            F.c.source_hash == source, F.c.created_at > at - WINDOW)).scalar_one()
        if recent >= limit:
            raise RateLimited()
        return conn.execute(insert(F).returning(F.c.id), {
            "problem_id": problem_id, "text": text, "contact": contact or None, "status": "new",
            "created_at": at, "source_hash": source}).scalar_one()


def _problem_of(conn: Connection, feedback_id: int) -> int:
    problem_id = conn.execute(select(F.c.problem_id).where(F.c.id == feedback_id).with_for_update()).scalar()
    if problem_id is None:
        raise NotFound(f"no such feedback: {feedback_id}")
    return problem_id


def reopen(feedback_id: int, measure_id: int | None, actor: str, *, reason: str,
           expected_version: int | None = None, now: dt.datetime, engine: Engine | None = None) -> Result:
    """Reopen ``measure_id`` (群众不满意, ``reason`` given) and mark the feedback ``reopened``.

    One transaction: NotFound for unknown feedback; :class:`NotOfProblem` if the measure is not
    one of the feedback's problem; any refusal or :class:`workflow.errors.Conflict` of the
    reopen itself leaves the feedback as it was.
    """
    with db.write_tx(engine) as conn:
        problem_id = _problem_of(conn, feedback_id)
        if measure_id is None or conn.execute(
                select(M.c.id).where(M.c.id == measure_id, M.c.problem_id == problem_id)).first() is None:
            raise NotOfProblem(measure_id)
        result = fire(measure_id, "reopen", actor, reason=reason, params={"category": REOPEN_CATEGORY},
                      expected_version=expected_version, now=now, conn=conn)
        conn.execute(update(F).where(F.c.id == feedback_id).values(status="reopened", measure_id=measure_id))
    return result


def forward(feedback_id: int, measure_id: int | None, actor: str, *, text: str,
            expected_version: int | None = None, now: dt.datetime, engine: Engine | None = None) -> Result:
    """Pass the feedback to the owner of ``measure_id`` (one of its problem's measures) as a comment on
    its record, tell the owner, and mark the feedback ``forwarded``; one transaction, as :func:`reopen`."""
    with db.write_tx(engine) as conn:
        problem_id = _problem_of(conn, feedback_id)
        ok = conn.execute(select(M.c.id, M.c.owner_id).where(M.c.id == (measure_id or 0),
                                                             M.c.problem_id == problem_id)).first()
        if ok is None:
            raise NotOfProblem(measure_id)
        result = fire(ok.id, "comment", actor, comment=text, expected_version=expected_version, now=now, conn=conn)
        notify.enqueue(conn, [ok.owner_id], "feedback_forwarded", f"群众反馈：整改措施 {measure_id}",
                       f"整改办转来群众对整改措施 {measure_id} 的反馈：{text.strip()}", now, measure_id=measure_id)
        conn.execute(update(F).where(F.c.id == feedback_id).values(status="forwarded", measure_id=measure_id))
    return result


def dismiss(feedback_id: int, engine: Engine | None = None) -> None:
    """Mark feedback handled without a reopen (已处理); NotFound if there is no such feedback."""
    with db.write_tx(engine) as conn:
        _problem_of(conn, feedback_id)
        conn.execute(update(F).where(F.c.id == feedback_id).values(status="dismissed", measure_id=None))
