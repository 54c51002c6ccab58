"""People and their roles: the administration commands behind the admin pages.

Each function is one write transaction and raises :class:`workflow.spec.Refused` with rule
``invalid_input`` and a message naming the field when the input is bad, writing nothing.
:func:`unit_id` and :func:`set_head` are shared with the commands on units.
"""
from __future__ import annotations

import re

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection, Engine

from .. import db, passwords, planwriter, spec
from ..models import Membership, OrgUnit, User, UserRole

USERNAME = re.compile(r"^[A-Za-z0-9_.-]{2,80}$")
MIN_PASSWORD = 8
MS = Membership.__table__


def _bad(field: str, message: str) -> spec.Refused:
    return spec.Refused("invalid_input", f"{field}: {message}")


def _check_roles(roles) -> list[str]:
    roles = sorted(set(roles))
    bad = set(roles) - set(spec.ROLES)
    if bad:
        raise _bad("roles", "unknown role(s): " + ", ".join(sorted(bad)))
    return roles


def _check_password(password: str | None) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise _bad("password", f"at least {MIN_PASSWORD} characters")


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
                email: str | None = None, head: bool = False, engine: Engine | None = None) -> int:
    """A new person with a password, roles and (optionally) a unit they belong to or head."""
    username, name = (username or "").strip(), (name or "").strip()
    if not USERNAME.match(username) or username == "system":
        raise _bad("username", "2–80 letters, digits, '.', '_' or '-'")
    if not name:
        raise _bad("name", "must not be empty")
    _check_password(password)
    roles = _check_roles(roles)
    with db.write_tx(engine) as conn:
        if conn.execute(select(User.id).where(User.username == username)).first() is not None:
            raise _bad("username", f"{username} already exists")
        unit_of = unit_id(conn, unit)
        uid = planwriter.user(conn, username, name, roles, unit or None, password=password, email=email or None,
                              head=False)
        if unit_of is not None and head:
            set_head(conn, uid, unit_of, True)
    return uid


def update_user(username: str, *, name: str, roles, unit: str | None, email: str | None, active: bool,
                head: bool, password: str | None = None, engine: Engine | None = None) -> None:
    """Change a person's name, roles, unit (and whether they head it), address and active flag."""
    name = (name or "").strip()
    if not name:
        raise _bad("name", "must not be empty")
    roles = _check_roles(roles)
    if password:
        _check_password(password)
    with db.write_tx(engine) as conn:
        uid = conn.execute(select(User.id).where(User.username == username, User.username != "system")).scalar()
        if uid is None:
            raise _bad("username", f"no such user: {username}")
        unit_of = unit_id(conn, unit)
        values = {"name": name, "email": (email or "").strip() or None, "active": bool(active), "unit_id": unit_of}
        if password:
            values["password_hash"] = passwords.hash_password(password)
        conn.execute(update(User.__table__).where(User.id == uid).values(**values))
        set_roles(conn, uid, roles)
        _set_membership(conn, uid, unit_of, head)


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
