"""The inbox: marking a person's in-app notifications read."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import and_, select, update
from sqlalchemy.engine import Engine

from .. import db
from ..errors import NotFound
from ..models import Outbox

O = Outbox.__table__


def mark_read(user_id: int, ids: Iterable[int] | None = None, *, now: dt.datetime,
              engine: Engine | None = None) -> int:
    """Mark the user's inbox messages read (``ids``, or all when None); return how many changed.

    NotFound when a single named message is not the user's: nobody learns of others' messages.
    """
    mine = and_(O.c.recipient_id == user_id, O.c.channel == "inbox")
    cond = and_(mine, O.c.read_at.is_(None))
    now = now.replace(tzinfo=None)
    with db.write_tx(engine) as conn:
        if ids is not None:
            ids = sorted(set(int(i) for i in ids))
            owned = {r[0] for r in conn.execute(select(O.c.id).where(O.c.id.in_(ids), mine))}
            if len(ids) == 1 and not owned:
                raise NotFound("no such notification")
            cond = and_(cond, O.c.id.in_(sorted(owned)))
        return conn.execute(update(O).where(cond).values(read_at=now)).rowcount
