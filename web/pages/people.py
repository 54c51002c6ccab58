"""People and roles: the administration services behind the admin pages (units: workflow.commands.units).

Each function is one write transaction and raises :class:`workflow.spec.Refused` with rule
``invalid_input`` and a message naming the field when the input is bad, writing nothing.
"""
from __future__ import annotations

import re

from sqlalchemy import delete, insert, select, update

from workflow import db, passwords, planwriter, spec
from workflow.models import Membership, OrgUnit, User, UserRole

USERNAME = re.compile(r"^[A-Za-z0-9_.-]{2,80}$")
MIN_PASSWORD = 8


def _bad(field: str, message: str):
    return spec.Refused("invalid_input", f"{field}: {message}")


def _check_roles(roles) -> list[str]:
    roles = sorted(set(roles))
    bad = set(roles) - set(spec.ROLES)
    if bad:
        raise _bad("roles", "unknown role(s): " + ", ".join(sorted(bad)))
    return roles


def _check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise _bad("password", f"at least {MIN_PASSWORD} characters")


def _unit_id(conn, name: str | None) -> int | None:
    if not name:
        return None
    uid = conn.execute(select(OrgUnit.id).where(OrgUnit.name == name)).scalar()
    if uid is None:
        raise _bad("unit", f"no such unit: {name}")
    return uid


def _set_head(conn, user_id: int, unit_id: int, head: bool) -> None:
    if head:  # one head per unit
        conn.execute(update(Membership.__table__).where(Membership.unit_id == unit_id, Membership.user_id != user_id)
                     .values(is_head=False))
    conn.execute(update(Membership.__table__).where(Membership.unit_id == unit_id, Membership.user_id == user_id)
                 .values(is_head=head))


def create_user(username: str, name: str, password: str, roles, unit: str | None = None,
                email: str | None = None, head: bool = False, engine=None) -> int:
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
        _unit_id(conn, unit)
        uid = planwriter.user(conn, username, name, roles, unit or None, password=password, email=email or None,
                          head=False)
        if unit and head:
            _set_head(conn, uid, _unit_id(conn, unit), True)
    return uid


def update_user(username: str, *, name: str, roles, unit: str | None, email: str | None, active: bool,
                head: bool, password: str | None = None, engine=None) -> None:
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
        unit_id = _unit_id(conn, unit)
        values = {"name": name, "email": (email or "").strip() or None, "active": bool(active), "unit_id": unit_id}
        if password:
            values["password_hash"] = passwords.hash_password(password)
        conn.execute(update(User.__table__).where(User.id == uid).values(**values))
        conn.execute(delete(UserRole.__table__).where(UserRole.user_id == uid))
        if roles:
            conn.execute(insert(UserRole.__table__), [{"user_id": uid, "role": r} for r in roles])
        if unit_id is not None:
            # the person's unit is their membership; other memberships end
            conn.execute(delete(Membership.__table__).where(Membership.user_id == uid, Membership.unit_id != unit_id))
            if conn.execute(select(Membership.user_id).where(Membership.user_id == uid,
                                                             Membership.unit_id == unit_id)).first() is None:
                conn.execute(insert(Membership.__table__), {"user_id": uid, "unit_id": unit_id, "is_head": False})
            _set_head(conn, uid, unit_id, head)
        else:
            conn.execute(delete(Membership.__table__).where(Membership.user_id == uid))
