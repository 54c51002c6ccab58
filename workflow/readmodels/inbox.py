"""The inbox: a person's in-app notifications (outbox rows on the ``inbox`` channel), and the
whole outbox as the command line lists it."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, func, select
from sqlalchemy.engine import Engine

from .. import db
from ..models import Outbox, User
from ..paging import Page, paginate

O = Outbox.__table__


def _mine(user_id: int):
    return and_(O.c.recipient_id == user_id, O.c.channel == "inbox")


@dataclass(frozen=True)
class InboxPage(Page):
    """A page of the inbox, with the number of unread messages in the whole inbox."""

    unread: int = 0


def notifications(user_id: int, *, unread_only: bool = False, page: int = 1, per_page: int = 50,
                  engine: Engine | None = None) -> InboxPage:
    """The user's in-app inbox, newest first."""
    mine = _mine(user_id)
    cond = and_(mine, O.c.read_at.is_(None)) if unread_only else mine
    with db.read_tx(engine) as conn:
        unread = conn.execute(select(func.count()).select_from(O).where(mine, O.c.read_at.is_(None))).scalar_one()
        q = select(O.c.id, O.c.kind, O.c.subject, O.c.body, O.c.measure_id, O.c.level, O.c.created_at,
                   O.c.read_at).where(cond)
        rows = paginate(conn, q, [O.c.id.desc()], page, per_page)
    return rows.map(lambda r: {**dict(r._mapping), "body": without_link(r.body)}).extend(InboxPage, unread=unread)


def without_link(body: str | None) -> str:
    """A message as the inbox shows it: without the address line added for email (the inbox links
    to the measure itself)."""
    lines = (body or "").rstrip().split("\n")
    if len(lines) > 1 and lines[-1].strip().startswith(("http://", "https://")):
        lines.pop()
    return "\n".join(lines)


def unread_count(user_id: int, engine=None) -> int:
    """How many of the user's inbox messages are unread (the bell)."""
    with db.read_tx(engine) as conn:
        return conn.execute(select(func.count()).select_from(O).where(
            _mine(user_id), O.c.read_at.is_(None))).scalar_one()


def list_notifications(limit=None, engine=None) -> list[dict]:
    """The outbox, oldest first: recipient, channel, kind, measure, level, created, sent."""
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
