"""The people a ledger names: matched to stored users by name (preferring the role and unit), or created.

A person known only by display name gets a stable ASCII username (``u`` and a hash of the name).
Whoever is named as 责任领导 gets the ``leader`` role, whoever is named as 责任人 the ``owner`` role
and membership of the measure's unit. Everything is written at once in the caller's transaction.
"""
from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from .. import planwriter
from ..models import Membership, User, UserRole


@dataclass
class Person:
    id: int
    username: str
    name: str
    roles: set = field(default_factory=set)
    units: set = field(default_factory=set)


def username_for(name: str, taken: set) -> str:
    """A stable ASCII username for a person known only by display name."""
    base = "u" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:10]
    cand, n = base, 1
    while cand in taken:
        n += 1
        cand = f"{base}-{n}"
    return cand


class People:
    """Stored people by name; :meth:`get` finds or creates one with a role, and records what it did."""

    def __init__(self, conn: Connection):
        self.conn = conn
        self.by_name: dict[str, list[Person]] = defaultdict(list)
        self.usernames: set[str] = set()
        self.new_users: dict[str, Person] = {}
        self.grants: list[tuple[str, str, str | None]] = []  # (username, role, unit name)
        self._memo: dict[tuple, Person] = {}
        roles, members = defaultdict(set), defaultdict(set)
        for uid, role in conn.execute(select(UserRole.user_id, UserRole.role)):
            roles[uid].add(role)
        for uid, unit_id in conn.execute(select(Membership.user_id, Membership.unit_id)):
            members[uid].add(unit_id)
        for r in conn.execute(select(User.id, User.username, User.name, User.active).order_by(User.id)):
            self.usernames.add(r.username)
            if r.active:
                self.by_name[r.name].append(Person(r.id, r.username, r.name, roles[r.id], members[r.id]))

    def _pick(self, name: str, role: str, unit_id: int | None) -> Person:
        cands = self.by_name.get(name, [])
        for test in (lambda c: role in c.roles and (unit_id is None or unit_id in c.units),
                     lambda c: role in c.roles, lambda c: True):
            pick = next((c for c in cands if test(c)), None)
            if pick is not None:
                return pick
        username = username_for(name, self.usernames)
        self.usernames.add(username)
        pick = Person(planwriter.user(self.conn, username, name), username, name)
        self.by_name[name].append(pick)
        self.new_users[username] = pick
        return pick

    def get(self, name: str, role: str, unit_id: int | None, unit_name: str | None = None) -> Person:
        """The person called ``name`` with ``role`` (an ``owner`` also a member of ``unit_id``, whose
        name ``unit_name`` the report shows)."""
        key = (name, role, unit_id)
        if key in self._memo:
            return self._memo[key]
        pick = self._pick(name, role, unit_id)
        need_unit = unit_id if role == "owner" else None
        if role not in pick.roles or (need_unit is not None and need_unit not in pick.units):
            self.grants.append((pick.username, role, unit_name if need_unit is not None else None))
            if role not in pick.roles:
                self.conn.execute(insert(UserRole.__table__), {"user_id": pick.id, "role": role})
                pick.roles.add(role)
            if need_unit is not None and need_unit not in pick.units:
                self.conn.execute(insert(Membership.__table__), {"user_id": pick.id, "unit_id": need_unit,
                                                                 "is_head": False})
                pick.units.add(need_unit)
        self._memo[key] = pick
        return pick
