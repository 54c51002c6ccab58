"""Writing notifications to the outbox, inside the caller's transaction.

Delivery (inbox, email, webhook) is the scheduler's job; here we only decide who is told what,
on which channels, under an optional exactly-once key.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import bindparam, insert, or_, select
from sqlalchemy.engine import Connection

from . import settings
from .models import OrgUnit, Outbox, User, UserRole

OUTBOX = Outbox.__table__


def base_url() -> str:
    """The address people use (``RECTIFY_BASE_URL``), without a trailing slash."""
    return settings.get().base_url


def measure_link(measure_id: int | None) -> str:
    return f"{base_url()}/measures/{measure_id}" if measure_id else base_url()


# statements built once (they are on every command's path): compiled-cache keys are reused
_WITH_ROLE = (select(UserRole.user_id).join(User, User.id == UserRole.user_id)
              .where(UserRole.role == bindparam("role"), User.active.is_(True)).order_by(UserRole.user_id))
_CHANNELS_MANY = (select(User.id, User.email, OrgUnit.webhook_url).outerjoin(OrgUnit, OrgUnit.id == User.unit_id)
                  .where(User.id.in_(bindparam("user_ids", expanding=True))))
_INSERT = insert(OUTBOX)


EVERY_TARGET = object()  # users_with_role's default: people tied to any target or to none


def users_with_role(conn: Connection, role: str, target=EVERY_TARGET) -> list[int]:
    """Active holders of ``role``; with ``target`` (a plan's target id, or None), only those who see its
    measures: people tied to no target, and those tied to that one."""
    if target is EVERY_TARGET:
        return [r[0] for r in conn.execute(_WITH_ROLE, {"role": role})]
    q = _WITH_ROLE.where(or_(User.target_id.is_(None), User.target_id == target))
    return [r[0] for r in conn.execute(q, {"role": role})]


def channels(email: str | None, webhook_url: str | None) -> list[str]:
    """Every user has the in-app inbox; email if they have an address; webhook if their unit has one."""
    out = ["inbox"]
    if email:
        out.append("email")
    if webhook_url:
        out.append("webhook")
    return out


def enqueue(conn: Connection, recipients, kind: str, subject: str, body: str, now: dt.datetime,
            measure_id: int | None = None, level: int | None = None, key: str | None = None) -> int:
    """Write one outbox row per recipient and channel; return how many were written.

    With ``key``, each row's key is ``key:recipient:channel`` and unique, so the same message
    is never queued twice (the caller's insert fails; escalations use this).
    """
    uids = [uid for uid in dict.fromkeys(recipients) if uid is not None]
    if not uids:
        return 0
    found = {r.id: (r.email, r.webhook_url) for r in conn.execute(_CHANNELS_MANY, {"user_ids": uids})}
    rows = outbox_rows(uids, found, kind, subject, body, now, measure_id=measure_id, level=level, key=key)
    if rows:
        conn.execute(_INSERT, rows)
    return len(rows)


OUTBOX_KEYS = ("key", "recipient_id", "channel", "kind", "measure_id", "level", "subject", "body", "created_at",
               "attempts", "dead", "next_attempt_at")


def outbox_rows(recipients, found: dict, kind: str, subject: str, body: str, now: dt.datetime,
                measure_id: int | None = None, level: int | None = None, key: str | None = None) -> list[dict]:
    """The outbox rows (:data:`OUTBOX_KEYS`) for ``recipients`` (user ids, the first of each kept,
    None skipped); ``found`` maps a user id to its ``(email, webhook_url)`` (a user missing from it
    gets the inbox alone)."""
    rows = []
    now = now.replace(tzinfo=None)
    text = f"{body}\n{measure_link(measure_id)}"
    for uid in dict.fromkeys(recipients):
        if uid is None:
            continue
        email, webhook_url = found.get(uid, (None, None))
        for channel in channels(email, webhook_url):
            rows.append({
                "key": f"{key}:{uid}:{channel}" if key else None,
                "recipient_id": uid, "channel": channel, "kind": kind, "measure_id": measure_id,
                "level": level, "subject": subject, "body": text, "created_at": now,
                "attempts": 0, "dead": False, "next_attempt_at": now,
            })
    return rows
