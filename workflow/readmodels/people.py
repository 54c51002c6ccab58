"""People and units: the admin lists, a person's own profile, who a signed-in caller is, and the
command line's list of users."""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import aliased

from .. import db, loading, spec
from ..errors import NotFound
from ..models import Membership, OrgUnit, UnitAlias, User, UserRole


@dataclass(frozen=True)
class Identity:
    """Who a signed-in caller is: the actor the rules take, and the name and unit pages show."""

    actor: spec.Actor
    name: str
    unit: str | None


def identity(conn: Connection, username: str) -> Identity | None:
    """The identity of an active ``username`` (never ``system``); None otherwise."""
    if username == "system":
        return None
    try:
        actor = loading.load_actor(conn, username)
    except NotFound:
        return None
    row = conn.execute(select(User.name, OrgUnit.name.label("unit")).outerjoin(OrgUnit, OrgUnit.id == User.unit_id)
                       .where(User.id == actor.id)).one()
    return Identity(actor, row.name, row.unit)


def _roles_by_user(conn: Connection) -> dict[int, list[str]]:
    roles: dict[int, list[str]] = defaultdict(list)
    for uid, role in conn.execute(select(UserRole.user_id, UserRole.role).order_by(UserRole.role)):
        roles[uid].append(role)
    return roles


def people(engine=None) -> list[dict]:
    """Every person but the system user, with roles, unit and whether they head it."""
    with db.read_tx(engine) as conn:
        roles = _roles_by_user(conn)
        heads = {(r.user_id, r.unit_id) for r in conn.execute(
            select(Membership.user_id, Membership.unit_id).where(Membership.is_head.is_(True)))}
        out = []
        for u in conn.execute(
                select(User.id, User.username, User.name, User.email, User.active, User.unit_id,
                       OrgUnit.name.label("unit"))
                .outerjoin(OrgUnit, OrgUnit.id == User.unit_id)
                .where(User.username != "system").order_by(User.username)):
            d = dict(u._mapping)
            d["roles"] = roles.get(u.id, [])
            d["head"] = (u.id, u.unit_id) in heads
            out.append(d)
    return out


def units(engine=None) -> list[dict]:
    """Org units with their heads, member counts and aliases."""
    with db.read_tx(engine) as conn:
        parent = aliased(OrgUnit)
        rows = conn.execute(select(OrgUnit.id, OrgUnit.name, OrgUnit.kind, OrgUnit.webhook_url,
                                   parent.name.label("parent"))
                            .outerjoin(parent, parent.id == OrgUnit.parent_id).order_by(OrgUnit.name)).all()
        heads: dict[int, list[str]] = defaultdict(list)
        members: Counter = Counter()
        for m in conn.execute(select(Membership.unit_id, Membership.is_head, User.name)
                              .join(User, User.id == Membership.user_id).where(User.active.is_(True))):
            members[m.unit_id] += 1
            if m.is_head:
                heads[m.unit_id].append(m.name)
        aliases: dict[int, list[str]] = defaultdict(list)
        for a in conn.execute(select(UnitAlias.unit_id, UnitAlias.alias).order_by(UnitAlias.alias)):
            aliases[a.unit_id].append(a.alias)
    return [{**dict(r._mapping), "heads": heads.get(r.id, []), "members": members[r.id],
             "aliases": aliases.get(r.id, [])} for r in rows]


def user_profile(actor: spec.Actor, engine: Engine | None = None) -> dict:
    """The actor's own record: name, roles, units (head or not) and whose delegate they are."""
    with db.read_tx(engine) as conn:
        u = conn.execute(select(User.username, User.name, User.email, User.locale, OrgUnit.name.label("unit"))
                         .outerjoin(OrgUnit, OrgUnit.id == User.unit_id).where(User.id == actor.id)).one()
        units = [{"name": r.name, "head": bool(r.is_head)} for r in conn.execute(
            select(OrgUnit.name, Membership.is_head).join(Membership, Membership.unit_id == OrgUnit.id)
            .where(Membership.user_id == actor.id).order_by(OrgUnit.name))]
        delegate_for = [r[0] for r in conn.execute(
            select(User.username).where(User.id.in_(sorted(actor.delegate_for))).order_by(User.username))
        ] if actor.delegate_for else []
    return {"id": actor.id, "username": u.username, "name": u.name, "email": u.email, "locale": u.locale,
            "roles": sorted(actor.roles), "unit": u.unit, "units": units, "delegate_for": delegate_for}


def list_users(engine=None) -> list[dict]:
    """Every person but the system user: username, name, roles, unit."""
    with db.read_tx(engine) as conn:
        roles = _roles_by_user(conn)
        heads = {r[0] for r in conn.execute(select(Membership.user_id).where(Membership.is_head.is_(True)))}
        out = []
        for u in conn.execute(
            select(User.id, User.username, User.name, User.email, OrgUnit.name.label("unit"))
            .outerjoin(OrgUnit, OrgUnit.id == User.unit_id)
            .where(User.username != "system").order_by(User.id)
        ):
            out.append({"username": u.username, "name": u.name, "roles": roles.get(u.id, []),
                        "unit": u.unit, "email": u.email, "unit_head": u.id in heads})
        return out
