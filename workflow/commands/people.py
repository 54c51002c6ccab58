"""People and their roles: the administration commands behind the admin pages.

Each function is one write transaction and raises :class:`workflow.spec.Refused` with rule
``invalid_input`` and a message naming the field when the input is bad, writing nothing (a
password that breaks the policy of :mod:`workflow.passwords` names its own rule).
:func:`unit_id` and :func:`set_head` are shared with the commands on units.

A new password (set by an admin, or changed by the person with :func:`change_own_password`)
ends every session and revokes every API token of the person in the same transaction. Password
and role changes are security events (:mod:`workflow.security_log`) naming who made them.
"""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection, Engine

from .. import db, passwords, planwriter, security_log, spec, text as free_text
from ..clock import utcnow
from ..models import Membership, OrgUnit, User, UserRole
from . import sessions, tokens

USERNAME = re.compile(r"^[A-Za-z0-9_.-]{2,80}$")
MIN_PASSWORD = passwords.MIN_LENGTH
MS = Membership.__table__


def _bad(field: str, message: str) -> spec.Refused:
    return spec.Refused("invalid_input", f"{field}: {message}")


def _check_roles(roles) -> list[str]:
    roles = sorted(set(roles))
    bad = set(roles) - set(spec.ROLES)
    if bad:
        raise _bad("roles", "unknown role(s): " + ", ".join(sorted(bad)))
    return roles


def _check_password(password: str | None, username: str) -> None:
    passwords.policy(password, username)


def set_password(conn: Connection, user_id: int, password: str) -> dict:
    """Store a new password hash for ``user_id`` (already checked) and end every session and token
    of the person, in the caller's transaction; return how many of each were ended."""
    conn.execute(update(User.__table__).where(User.id == user_id).values(
        password_hash=passwords.hash_password(password)))
    return {"sessions": sessions.end_all(conn, user_id), "tokens": tokens.revoke_all(conn, user_id)}


def _roles_of(conn: Connection, user_id: int) -> list[str]:
    return sorted(conn.execute(select(UserRole.role).where(UserRole.user_id == user_id)).scalars())


def unit_id(conn: Connection, name: str | None) -> int | None:
    """The id of the unit called ``name`` (None for no name); Refused naming ``unit`` if unknown."""
    if not name:
        return None
    uid = conn.execute(select(OrgUnit.id).where(OrgUnit.name == name)).scalar()
    if uid is None:
        raise _bad("unit", f"no such unit: {name}")
    return uid


def set_head(conn: Connection, user_id: int, unit_id: int, head: bool) -> None:
    """Make the member ``user_id`` the head of ``unit_id`` (the previous head steps down), or not."""
    if head:  # one head per unit
        conn.execute(update(MS).where(MS.c.unit_id == unit_id, MS.c.user_id != user_id).values(is_head=False))
    conn.execute(update(MS).where(MS.c.unit_id == unit_id, MS.c.user_id == user_id).values(is_head=head))


def create_user(username: str, name: str, password: str, roles, unit: str | None = None,
                email: str | None = None, head: bool = False, by: str | None = None, ip: str | None = None,
                now: dt.datetime | None = None, engine: Engine | None = None) -> int:
    """A new person with a password, roles and (optionally) a unit they belong to or head."""
    username, name = (username or "").strip(), free_text.clean(name or "", "name", 200)
    if not USERNAME.match(username) or username == "system":
        raise _bad("username", "2–80 letters, digits, '.', '_' or '-'")
    if not name:
        raise _bad("name", "must not be empty")
    _check_password(password, username)
    roles = _check_roles(roles)
    with db.write_tx(engine) as conn:
        if conn.execute(select(User.id).where(User.username == username)).first() is not None:
            raise _bad("username", f"{username} already exists")
        unit_of = unit_id(conn, unit)
        uid = planwriter.user(conn, username, name, roles, unit or None, password=password, email=email or None,
                              head=False)
        if unit_of is not None and head:
            set_head(conn, uid, unit_of, True)
        security_log.record("role_change", "success", actor=by, subject=username, ip=ip,
                            detail={"from": [], "to": roles, "created": True}, now=now, conn=conn)
    return uid


def update_user(username: str, *, name: str, roles, unit: str | None, email: str | None, active: bool,
                head: bool, password: str | None = None, by: str | None = None, ip: str | None = None,
                now: dt.datetime | None = None, engine: Engine | None = None) -> None:
    """Change a person's name, roles, unit (and whether they head it), address and active flag;
    with ``password``, set a new one (every session and token of the person ends)."""
    name = free_text.clean(name or "", "name", 200)
    if not name:
        raise _bad("name", "must not be empty")
    roles = _check_roles(roles)
    if password:
        _check_password(password, username)
    with db.write_tx(engine) as conn:
        uid = conn.execute(select(User.id).where(User.username == username, User.username != "system")).scalar()
        if uid is None:
            raise _bad("username", f"no such user: {username}")
        unit_of = unit_id(conn, unit)
        values = {"name": name, "email": (email or "").strip() or None, "active": bool(active), "unit_id": unit_of}
        conn.execute(update(User.__table__).where(User.id == uid).values(**values))
        before = _roles_of(conn, uid)
        set_roles(conn, uid, roles)
        _set_membership(conn, uid, unit_of, head)
        if before != roles:
            security_log.record("role_change", "success", actor=by, subject=username, ip=ip,
                                detail={"from": before, "to": roles}, now=now, conn=conn)
        if password:
            ended = set_password(conn, uid, password)
            security_log.record("password_change", "success", actor=by, subject=username, ip=ip,
                                detail={"by": "admin", **ended}, now=now, conn=conn)


def change_own_password(username: str, current: str, new: str, *, ip: str | None = None,
                        now: dt.datetime | None = None, engine: Engine | None = None) -> dict:
    """A person changes their own password: the current one must be right (``password_wrong``) and
    the new one must keep the policy and differ from it. Every session and token of theirs ends;
    returns how many of each."""
    at = (now or utcnow()).replace(tzinfo=None)
    user_id = sessions.check_credentials(username, current or "", engine=engine)
    if user_id is None:
        security_log.record("password_change", "failure", actor=username, ip=ip, detail={"by": "self"}, now=at,
                            engine=engine)
        raise spec.Refused("password_wrong", "the current password is not right")
    _check_password(new, username)
    if new == current:
        raise spec.Refused("password_unchanged", "the new password must differ from the current one")
    with db.write_tx(engine) as conn:
        ended = set_password(conn, user_id, new)
        security_log.record("password_change", "success", actor=username, ip=ip, detail={"by": "self", **ended},
                            now=at, conn=conn)
    return ended


def set_roles(conn: Connection, user_id: int, roles) -> None:
    """Replace the person's roles with ``roles`` (already checked)."""
    conn.execute(delete(UserRole.__table__).where(UserRole.user_id == user_id))
    if roles:
        conn.execute(insert(UserRole.__table__), [{"user_id": user_id, "role": r} for r in roles])


def _set_membership(conn: Connection, user_id: int, unit_of: int | None, head: bool) -> None:
    """The person's unit is their one membership; other memberships end."""
    if unit_of is None:
        conn.execute(delete(MS).where(MS.c.user_id == user_id))
        return
    conn.execute(delete(MS).where(MS.c.user_id == user_id, MS.c.unit_id != unit_of))
    if conn.execute(select(MS.c.user_id).where(MS.c.user_id == user_id, MS.c.unit_id == unit_of)).first() is None:
        conn.execute(insert(MS), {"user_id": user_id, "unit_id": unit_of, "is_head": False})
    set_head(conn, user_id, unit_of, head)
