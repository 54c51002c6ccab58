"""The security event log: who did what to whose account, from where, and how it ended.

Each event is a row of ``security_events`` and one log record of the logger ``rectify.security``
(with ``RECTIFY_LOG_FORMAT=json``: one JSON line carrying ``security_event``, ``outcome``,
``actor``, ``subject``, ``ip``, ``at`` and ``detail``). Passwords and tokens are never in either.

Kinds (:data:`KINDS`): ``login`` (success or failure), ``lockout`` (a sign-in refused by the
limit), ``csrf_failed``, ``not_permitted`` (a refusal: a 403, or a trigger the person may not
fire), ``role_change``, ``password_change`` (by an admin or by the person), ``token_create``,
``token_revoke``, ``evidence_damaged`` (a file whose bytes no longer match its hash was asked
for). Outcomes: ``success``, ``failure``, ``refused``.

:func:`record` writes in the caller's transaction (``conn``) or in one of its own; an event about
a refusal must be written in its own, since the refused command's transaction is rolled back.
"""
from __future__ import annotations

import datetime as dt
import json
import logging

from sqlalchemy import insert
from sqlalchemy.engine import Connection, Engine

from . import db
from .clock import utcnow
from .models import SecurityEvent

log = logging.getLogger("rectify.security")
log.addHandler(logging.NullHandler())  # a process that configured no logging (the CLI) prints nothing extra
EVENTS = SecurityEvent.__table__
KINDS = ("login", "lockout", "csrf_failed", "not_permitted", "role_change", "password_change", "token_create",
         "token_revoke", "evidence_damaged")
OUTCOMES = ("success", "failure", "refused")
_LIMITS = {"actor": 80, "subject": 80, "ip": 64}


def _clip(value, limit: int | None = None) -> str | None:
    if value is None:
        return None
    text = str(value).encode("utf-8", "replace").decode("utf-8")
    return text[:limit] if limit else text[:2000]


def record(kind: str, outcome: str, *, actor: str | None = None, subject: str | None = None, ip: str | None = None,
           detail: str | dict | None = None, now: dt.datetime | None = None, engine: Engine | None = None,
           conn: Connection | None = None) -> None:
    """Store one event and log it (``rectify.security``, INFO for a success, WARNING otherwise)."""
    if kind not in KINDS or outcome not in OUTCOMES:
        raise ValueError(f"unknown security event {kind}/{outcome}")
    at = (now or utcnow()).replace(tzinfo=None)
    text = json.dumps(detail, ensure_ascii=False, sort_keys=True) if isinstance(detail, dict) else detail
    row = {"at": at, "kind": kind, "outcome": outcome, "actor": _clip(actor, _LIMITS["actor"]),
           "subject": _clip(subject, _LIMITS["subject"]), "ip": _clip(ip, _LIMITS["ip"]), "detail": _clip(text)}
    with db.write_tx(engine, within=conn) as c:
        c.execute(insert(EVENTS), row)
    level = logging.INFO if outcome == "success" else logging.WARNING
    log.log(level, "security event %s %s: actor=%s subject=%s ip=%s", kind, outcome, row["actor"], row["subject"],
            row["ip"], extra={"security_event": kind, "outcome": outcome, "actor": row["actor"],
                              "subject": row["subject"], "ip": row["ip"], "at": at.isoformat() + "Z",
                              "detail": row["detail"]})
