"""The security event log as the admin page reads it: newest first, filtered, one page at a time."""
from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.engine import Engine

from .. import db
from ..models import SecurityEvent
from ..paging import Page, paginate

SE = SecurityEvent.__table__


def security_events(*, kind: str | None = None, user: str | None = None, outcome: str | None = None,
                    page: int = 1, per_page: int = 50, engine: Engine | None = None) -> Page:
    """Security events, newest first; ``user`` matches the actor or the subject."""
    q = select(SE)
    if kind:
        q = q.where(SE.c.kind == kind)
    if outcome:
        q = q.where(SE.c.outcome == outcome)
    if user:
        q = q.where(or_(SE.c.actor == user, SE.c.subject == user))
    with db.read_tx(engine) as conn:
        rows = paginate(conn, q, [SE.c.at.desc(), SE.c.id.desc()], page, per_page)
    return rows.map(lambda r: dict(r._mapping))
