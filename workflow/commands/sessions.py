"""Signing in to the web app: server-side sessions, failed sign-ins, and the credential check.

Sessions. The browser holds a random token; the ``web_sessions`` table holds only its sha256,
the user, when it began and when it was last used. :func:`start` issues a new token (and
voids the one it replaces); :func:`resolve` answers who a token belongs to while it is neither
idle past ``idle`` nor older than ``absolute``, touching ``last_seen_at`` at most once every
:data:`TOUCH_EVERY` and deleting it once it is stale; :func:`end` deletes it; :func:`expire`
deletes every stale one.

Failed sign-ins are rows in ``login_failures`` keyed by (username, client address) and by client
address; :func:`attempt` counts an attempt before its password is checked and refuses it once
either limit is reached (the address's is the looser), all in one serialised transaction, so
parallel guesses get exactly the limit and no more; :func:`forgive` takes the count back when the
password was right. The count is in the database, so every worker process (and every host
sharing the database) sees the same one.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import math
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, insert, or_, select, text, update
from sqlalchemy.engine import Engine

from .. import db, passwords
from ..models import LoginFailure, User, WebSession
from ..readmodels.people import Identity, identity

WS = WebSession.__table__
LF = LoginFailure.__table__
TOUCH_EVERY = dt.timedelta(seconds=60)  # last_seen_at is refreshed at most this often
MAX_KEY = 200
LOGIN_LOCK = 0x5245435449465931  # the PostgreSQL advisory lock that serialises sign-in attempts


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


def end_all(conn, user_id: int) -> int:
    """End every session of ``user_id`` in the caller's transaction (a password change); return how many."""
    return conn.execute(delete(WS).where(WS.c.user_id == user_id)).rowcount


def expire(*, now: dt.datetime, idle: dt.timedelta, absolute: dt.timedelta, engine: Engine | None = None) -> int:
    """Delete every session idle past ``idle`` or older than ``absolute``; return how many."""
    with db.write_tx(engine) as conn:
        return conn.execute(delete(WS).where(_stale(now, idle, absolute))).rowcount


# --- failed sign-ins ----------------------------------------------------------------

@dataclass(frozen=True)
class Attempt:
    """A sign-in attempt counted before its password is checked: ``wait`` seconds to wait (0: go
    ahead), ``ids`` of the rows that count it (forgiven if the password is right)."""

    wait: int
    ids: tuple[int, ...] = ()
    locked: str | None = None  # which limit refused it: "pair" or "address"


def _pair_key(address: str, username: str) -> str:
    return f"pair:{username.strip().lower()}|{address}"[:MAX_KEY]


def _address_key(address: str) -> str:
    return f"ip:{address}"[:MAX_KEY]


def _serialise(conn) -> None:
    """One attempt at a time: SQLite's BEGIN IMMEDIATE already is; on PostgreSQL a transaction lock."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOGIN_LOCK})


def _wait(conn, key: str, now: dt.datetime, window: dt.timedelta, limit: int) -> float:
    times = [r[0] for r in conn.execute(
        select(LF.c.at).where(LF.c.key == key, LF.c.at > now - window).order_by(LF.c.at.desc()).limit(limit))]
    return (times[-1] + window - now).total_seconds() if len(times) >= limit else 0.0


def attempt(address: str, username: str, *, now: dt.datetime, window: dt.timedelta, limit: int,
            address_limit: int, engine: Engine | None = None) -> Attempt:
    """Count one sign-in attempt as a failure *before* its password is checked, atomically.

    Refused (``wait`` > 0, nothing counted) once ``limit`` failures as ``username`` from
    ``address`` fall within ``window``, or ``address_limit`` from ``address`` whatever the name:
    a guesser elsewhere cannot lock a person out, and one address cannot try many names. Check and
    count are one serialised transaction, so parallel attempts never get past the limit.
    """
    pair, addr = _pair_key(address, username), _address_key(address)
    with db.write_tx(engine) as conn:
        _serialise(conn)
        conn.execute(delete(LF).where(LF.c.at < now - window))
        for key, cap, which in ((pair, limit, "pair"), (addr, address_limit, "address")):
            wait = _wait(conn, key, now, window, cap)
            if wait > 0:
                return Attempt(max(1, math.ceil(wait)), locked=which)
        ids = tuple(conn.execute(insert(LF).returning(LF.c.id), [{"key": pair, "at": now}, {"key": addr, "at": now}])
                    .scalars())
    return Attempt(0, ids)


def forgive(attempt_: Attempt, address: str, username: str, engine: Engine | None = None) -> None:
    """The password was right: the attempt does not count, nor do the earlier failures of the pair."""
    with db.write_tx(engine) as conn:
        if attempt_.ids:
            conn.execute(delete(LF).where(LF.c.id.in_(attempt_.ids)))
        conn.execute(delete(LF).where(LF.c.key == _pair_key(address, username)))


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
