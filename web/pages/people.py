"""Units and their heads: the administration services behind the units page (people and
roles are :mod:`workflow.commands.people`).

Each function is one write transaction and raises :class:`workflow.spec.Refused` with rule
``invalid_input`` and a message naming the field when the input is bad, writing nothing.
"""
from __future__ import annotations

from sqlalchemy import insert, select, update

from workflow import db, planwriter, spec
from workflow.models import Membership, OrgUnit, User

UNIT_KINDS = ("district", "subdistrict", "community", "department")


def _bad(field: str, message: str):
    return spec.Refused("invalid_input", f"{field}: {message}")


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


def create_unit(name: str, kind: str = "department", parent: str | None = None, engine=None) -> int:
    name = (name or "").strip()
    if not name:
        raise _bad("name", "must not be empty")
    if kind not in UNIT_KINDS:
        raise _bad("kind", "one of " + ", ".join(UNIT_KINDS))
    with db.write_tx(engine) as conn:
        if conn.execute(select(OrgUnit.id).where(OrgUnit.name == name)).first() is not None:
            raise _bad("name", f"{name} already exists")
        _unit_id(conn, parent)
        return planwriter.unit(conn, name, kind, parent or None)


def set_unit_head(unit: str, username: str, engine=None) -> None:
    """Make ``username`` the head of ``unit`` (joining it if need be); the previous head steps down."""
    with db.write_tx(engine) as conn:
        unit_id = _unit_id(conn, unit)
        if unit_id is None:
            raise _bad("unit", "must not be empty")
        uid = conn.execute(select(User.id).where(User.username == username, User.active.is_(True))).scalar()
        if uid is None:
            raise _bad("username", f"no such active user: {username}")
        if conn.execute(select(Membership.user_id).where(Membership.user_id == uid,
                                                         Membership.unit_id == unit_id)).first() is None:
            conn.execute(insert(Membership.__table__), {"user_id": uid, "unit_id": unit_id, "is_head": False})
        _set_head(conn, uid, unit_id, True)
