"""API bearer tokens: made by ``rectify token create USER``; only their sha256 is stored.

A token expires (``RECTIFY_TOKEN_DAYS``, 90 by default, or ``--days``), can be listed
(:func:`listing`) and revoked (:func:`revoke`), and every token of a person is revoked when their
password changes (:func:`revoke_all`). Making and revoking one is a security event.
"""
from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection, Engine

from .. import db, security_log, settings
from ..clock import utcnow
from ..errors import NotFound
from ..models import ApiToken, User
from ..readmodels.people import Identity, identity
from .sessions import token_hash

MAX_TOKEN = 200
T = ApiToken.__table__


def create(username: str, *, now: dt.datetime | None = None, days: int | None = None, by: str | None = None,
           ip: str | None = None, engine: Engine | None = None) -> str:
    """A new bearer token for the active user ``username`` (never ``system``); NotFound otherwise.

    It expires ``days`` (default ``RECTIFY_TOKEN_DAYS``) after ``now``. The token is returned
    once and never stored: the database keeps its sha256.
    """
    token = secrets.token_urlsafe(32)
    at = (now or utcnow()).replace(tzinfo=None)
    days = days or settings.get().token_days
    with db.write_tx(engine) as conn:
        uid = conn.execute(select(User.id).where(User.username == username, User.active.is_(True))).scalar()
        if uid is None or username == "system":
            raise NotFound(f"no such user: {username}")
        token_id = conn.execute(insert(T).returning(T.c.id), {
            "user_id": uid, "token_hash": token_hash(token), "created_at": at, "revoked": False,
            "expires_at": at + dt.timedelta(days=days)}).scalar_one()
        security_log.record("token_create", "success", actor=by, subject=username, ip=ip,
                            detail={"token": token_id, "days": days}, now=at, conn=conn)
    return token


def resolve(token: str, *, now: dt.datetime | None = None, engine: Engine | None = None) -> Identity | None:
    """Who a live token (unrevoked, not expired at ``now``) of an active user belongs to; None otherwise."""
    if not token or len(token) > MAX_TOKEN:
        return None
    at = (now or utcnow()).replace(tzinfo=None)
    with db.read_tx(engine) as conn:
        username = conn.execute(
            select(User.username).join(ApiToken, ApiToken.user_id == User.id)
            .where(ApiToken.token_hash == token_hash(token), ApiToken.revoked.is_(False), User.active.is_(True),
                   ApiToken.expires_at > at)
        ).scalar()
        return identity(conn, username) if username is not None else None


def state(revoked: bool, expires_at: dt.datetime | None, now: dt.datetime) -> str:
    """``revoked``, ``expired`` or ``live``."""
    if revoked:
        return "revoked"
    return "expired" if expires_at is None or expires_at <= now else "live"


def listing(username: str | None = None, *, now: dt.datetime | None = None, engine: Engine | None = None) -> list[dict]:
    """Every token (or ``username``'s): ``{id, user, created_at, expires_at, state}``, newest first.

    NotFound for an unknown ``username``. Tokens themselves are never shown (only their hashes are kept).
    """
    at = (now or utcnow()).replace(tzinfo=None)
    with db.read_tx(engine) as conn:
        q = select(T.c.id, User.username, T.c.created_at, T.c.expires_at, T.c.revoked).join(User, User.id == T.c.user_id)
        if username is not None:
            if conn.execute(select(User.id).where(User.username == username)).first() is None:
                raise NotFound(f"no such user: {username}")
            q = q.where(User.username == username)
        rows = conn.execute(q.order_by(T.c.id.desc())).all()
    return [{"id": r.id, "user": r.username, "created_at": r.created_at, "expires_at": r.expires_at,
             "state": state(r.revoked, r.expires_at, at)} for r in rows]


def revoke(token_id: int, *, by: str | None = None, ip: str | None = None, now: dt.datetime | None = None,
           engine: Engine | None = None) -> dict:
    """Revoke the token ``token_id`` (at once, everywhere); NotFound if there is none. Idempotent."""
    at = (now or utcnow()).replace(tzinfo=None)
    with db.write_tx(engine) as conn:
        row = conn.execute(select(T.c.id, T.c.revoked, User.username).join(User, User.id == T.c.user_id)
                           .where(T.c.id == token_id)).first()
        if row is None:
            raise NotFound(f"no such token: {token_id}")
        if not row.revoked:
            conn.execute(update(T).where(T.c.id == token_id).values(revoked=True))
            security_log.record("token_revoke", "success", actor=by, subject=row.username, ip=ip,
                                detail={"token": token_id}, now=at, conn=conn)
    return {"id": token_id, "user": row.username, "state": "revoked"}


def revoke_all(conn: Connection, user_id: int) -> int:
    """Revoke every live token of ``user_id`` in the caller's transaction; return how many."""
    return conn.execute(update(T).where(T.c.user_id == user_id, T.c.revoked.is_(False)).values(revoked=True)).rowcount
