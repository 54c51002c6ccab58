"""API bearer tokens: made by ``rectify token create USER``; only their sha256 is stored."""
from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from .. import db
from ..clock import utcnow
from ..errors import NotFound
from ..models import ApiToken, User
from ..readmodels.people import Identity, identity
from .sessions import token_hash

MAX_TOKEN = 200


def create(username: str, *, now: dt.datetime | None = None, engine: Engine | None = None) -> str:
    """A new bearer token for the active user ``username`` (never ``system``); NotFound otherwise.

    The token is returned once and never stored: the database keeps its sha256.
    """
    token = secrets.token_urlsafe(32)
    at = (now or utcnow()).replace(tzinfo=None)
    with db.write_tx(engine) as conn:
        uid = conn.execute(select(User.id).where(User.username == username, User.active.is_(True))).scalar()
        if uid is None or username == "system":
            raise NotFound(f"no such user: {username}")
        conn.execute(insert(ApiToken.__table__), {"user_id": uid, "token_hash": token_hash(token),
                                                  "created_at": at, "revoked": False})
    return token


def resolve(token: str, engine: Engine | None = None) -> Identity | None:
    """Who a live (unrevoked) token of an active user belongs to; None for anything else."""
    if not token or len(token) > MAX_TOKEN:
        return None
    with db.read_tx(engine) as conn:
        username = conn.execute(
            select(User.username).join(ApiToken, ApiToken.user_id == User.id)
            .where(ApiToken.token_hash == token_hash(token), ApiToken.revoked.is_(False), User.active.is_(True))
        ).scalar()
        return identity(conn, username) if username is not None else None
