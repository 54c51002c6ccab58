"""A short-lived stash of what a refused form held, so a page can answer a refusal with a redirect.

Post-redirect-get: a form that is refused (a rule, a conflict, bad input) does not answer with a
page of its own, which a refresh would post again; the web app :func:`put`\\ s the typed values and
the message here and redirects to the page the person came from, which :func:`take`\\ s them once
and shows the form open, filled in, with the message. A stash is its owner's alone and lives at
most :data:`KEEP`; older ones are removed whenever a new one is written.
"""
from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import and_, delete, insert, select
from sqlalchemy.engine import Engine

from .. import db
from ..models import FormStash

S = FormStash.__table__
KEEP = dt.timedelta(hours=1)
MAX_TEXT = 20000  # the longest value a form of the lifecycle takes


def put(user_id: int | None, data: dict, *, now: dt.datetime, engine: Engine | None = None) -> str:
    """Keep ``data`` (JSON-able: the form's name, its values, the message) for ``user_id``; the token."""
    now = now.replace(tzinfo=None)
    token = secrets.token_hex(16)
    values = {k: (v[:MAX_TEXT] if isinstance(v, str) else v) for k, v in (data.get("values") or {}).items()}
    with db.write_tx(engine) as conn:
        conn.execute(delete(S).where(S.c.created_at < now - KEEP))
        conn.execute(insert(S), {"id": token, "user_id": user_id, "data": {**data, "values": values},
                                 "created_at": now})
    return token


def take(token: str, user_id: int | None, *, now: dt.datetime, engine: Engine | None = None) -> dict | None:
    """The stash ``token`` of ``user_id``, removed as it is read; None if it is not theirs or too old."""
    if not isinstance(token, str) or not token.isalnum() or len(token) > 64:
        return None
    now = now.replace(tzinfo=None)
    mine = and_(S.c.id == token, S.c.user_id.is_(None) if user_id is None else S.c.user_id == user_id)
    with db.write_tx(engine) as conn:
        row = conn.execute(select(S.c.data, S.c.created_at).where(mine)).first()
        if row is None:
            return None
        conn.execute(delete(S).where(S.c.id == token))
    return dict(row.data) if row.created_at >= now - KEEP else None
