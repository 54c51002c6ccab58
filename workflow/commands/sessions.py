"""Signing in to the web app: server-side sessions, failed sign-ins, and the credential check.

Sessions. The browser holds a random token; the ``web_sessions`` table holds only its sha256,
the user, when it began and when it was last used. :func:`start` issues a new token (and
voids the one it replaces); :func:`resolve` answers who a token belongs to while it is neither
idle past ``idle`` nor older than ``absolute``, touching ``last_seen_at`` at most once every
:data:`TOUCH_EVERY` and deleting it once it is stale; :func:`end` deletes it; :func:`expire`
deletes every stale one.

Failed sign-ins are rows in ``login_failures`` keyed by client address and by username;
``limit`` of either within ``window`` make :func:`retry_after` answer how long to wait. The
count is in the database, so every worker process (and every host sharing the database) sees
the same one.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import math
import secrets

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.engine import Engine

from .. import db, passwords
from ..models import LoginFailure, User, WebSession
from ..readmodels.people import Identity, identity

WS = WebSession.__table__
LF = LoginFailure.__table__
TOUCH_EVERY = dt.timedelta(seconds=60)  # last_seen_at is refreshed at most this often
MAX_KEY = 200


def token_hash(token: str) -> str:
    """The sha256 (hex) under which a session or API token is stored; never the token itself."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _stale(now: dt.datetime, idle: dt.timedelta, absolute: dt.timedelta):
    return or_(WS.c.last_seen_at < now - idle, WS.c.created_at < now - absolute)


# --- sessions ---------------------------------------------------------------------

def start(user_id: int, *, now: dt.datetime, idle: dt.timedelta, absolute: dt.timedelta,
          replaces: str | None = None, engine: Engine | None = None) -> str:
    """A new session for ``user_id``; return its token. ``replaces`` (the browser's previous
    token, if any) ends in the same transaction, as do all stale sessions."""
    token = secrets.token_urlsafe(32)
    with db.write_tx(engine) as conn:
        conn.execute(delete(WS).where(_stale(now, idle, absolute)))
        if replaces:
            conn.execute(delete(WS).where(WS.c.id == token_hash(replaces)))
        conn.execute(insert(WS), {"id": token_hash(token), "user_id": user_id, "created_at": now,
                                  "last_seen_at": now})
    return token


def resolve(token: str, *, now: dt.datetime, idle: dt.timedelta, absolute: dt.timedelta,
            engine: Engine | None = None) -> Identity | None:
    """Who holds the session ``token``, or None (unknown, stale, or its user inactive).

    A read, plus a write only when needed: a stale session (or one whose user can no longer
    sign in) is deleted; a live one is touched once :data:`TOUCH_EVERY` has passed.
    """
    key = token_hash(token)
    with db.read_tx(engine) as conn:
        row = conn.execute(select(WS.c.created_at, WS.c.last_seen_at, User.username, User.active)
                           .join(User, User.id == WS.c.user_id).where(WS.c.id == key)).first()
        if row is None:
            return None
        fresh = row.active and now - row.last_seen_at <= idle and now - row.created_at <= absolute
        who = identity(conn, row.username) if fresh else None
    if who is None:
        end(token, engine=engine)
    elif now - row.last_seen_at >= TOUCH_EVERY:
        touch(token, now=now, engine=engine)
    return who


def touch(token: str, *, now: dt.datetime, engine: Engine | None = None) -> None:
    """Record that the session ``token`` was used at ``now``."""
    with db.write_tx(engine) as conn:
        conn.execute(update(WS).where(WS.c.id == token_hash(token)).values(last_seen_at=now))


def end(token: str, engine: Engine | None = None) -> None:
    """End the session ``token`` (sign-out): the cookie stops working everywhere at once."""
    with db.write_tx(engine) as conn:
        conn.execute(delete(WS).where(WS.c.id == token_hash(token)))


def expire(*, now: dt.datetime, idle: dt.timedelta, absolute: dt.timedelta, engine: Engine | None = None) -> int:
    """Delete every session idle past ``idle`` or older than ``absolute``; return how many."""
    with db.write_tx(engine) as conn:
        return conn.execute(delete(WS).where(_stale(now, idle, absolute))).rowcount


# --- failed sign-ins ----------------------------------------------------------------

def _keys(address: str, username: str) -> list[str]:
    keys = [f"ip:{address}"[:MAX_KEY]]
    if username:
        keys.append(_user_key(username))
    return keys


def _user_key(username: str) -> str:
    return f"user:{username.lower()}"[:MAX_KEY]


def retry_after(address: str, username: str, *, now: dt.datetime, window: dt.timedelta, limit: int,
                engine: Engine | None = None) -> int:
    """Seconds until another sign-in from ``address`` or as ``username`` is allowed (0: now)."""
    wait = 0.0
    with db.read_tx(engine) as conn:
        for key in _keys(address, username):
            times = [r[0] for r in conn.execute(
                select(LF.c.at).where(LF.c.key == key, LF.c.at > now - window).order_by(LF.c.at.desc()).limit(limit))]
            if len(times) >= limit:
                wait = max(wait, (times[-1] + window - now).total_seconds())
    return max(0, math.ceil(wait))


def record_failure(address: str, username: str, *, now: dt.datetime, window: dt.timedelta,
                   engine: Engine | None = None) -> None:
    """Count one failed sign-in against the address and the username; forget those past ``window``."""
    with db.write_tx(engine) as conn:
        conn.execute(delete(LF).where(LF.c.at < now - window))
        conn.execute(insert(LF), [{"key": k, "at": now} for k in _keys(address, username)])


def clear_failures(username: str, engine: Engine | None = None) -> None:
    """Forget the failed sign-ins as ``username`` (after a successful one)."""
    with db.write_tx(engine) as conn:
        conn.execute(delete(LF).where(LF.c.key == _user_key(username)))


# --- the credential check --------------------------------------------------------------

_DUMMY_HASH: list[str] = []


def check_credentials(username: str, password: str, engine: Engine | None = None) -> int | None:
    """The user id if ``username`` may sign in with ``password``; None otherwise.

    An unknown name costs one password hash as well, so timing does not reveal who exists.
    """
    with db.read_tx(engine) as conn:
        row = conn.execute(select(User.id, User.password_hash, User.active)
                           .where(User.username == username, User.username != "system")).first()
    if row is None or not row.password_hash or not row.active:
        if not _DUMMY_HASH:
            _DUMMY_HASH.append(passwords.hash_password(secrets.token_hex(16)))
        passwords.check_password(_DUMMY_HASH[0], password)
        return None
    return row.id if passwords.check_password(row.password_hash, password) else None
