"""People and roles as commands, on SQLite and PostgreSQL: bad input names its field and
writes nothing; a person's unit is their one membership, with at most one head per unit."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests import factory
from workflow import db, readmodels, spec
from workflow.commands import people, sessions
from workflow.models import Membership, OrgUnit, User, UserRole


@pytest.fixture
def world(engine):
    return factory.build(engine, measures=1)


def everything(engine):
    with db.read_tx(engine) as conn:
        return tuple(conn.execute(select(t.__table__).order_by(*t.__table__.primary_key.columns)).all()
                     for t in (User, UserRole, Membership, OrgUnit))


def person(engine, username):
    return next(p for p in readmodels.people(engine) if p["username"] == username)


def test_an_admin_creates_a_person_who_heads_their_unit_and_can_sign_in(engine, world):
    uid = people.create_user(" owner9 ", " 水利局副局长 ", "pw-owner9-long", ["owner", "leader", "owner"],
                             unit="水利局", email="owner9@example.test", head=True, engine=engine)
    p = person(engine, "owner9")
    assert (p["id"], p["name"], p["roles"], p["unit"], p["head"], p["email"]) == (
        uid, "水利局副局长", ["leader", "owner"], "水利局", True, "owner9@example.test")
    assert person(engine, "head1")["head"] is False  # one head per unit
    assert sessions.check_credentials("owner9", "pw-owner9-long", engine=engine) == uid


@pytest.mark.parametrize("kw, field", [
    ({"username": "x"}, "username"),
    ({"username": "system"}, "username"),
    ({"username": "owner1"}, "username"),
    ({"name": "  "}, "name"),
    ({"password": "short"}, "password"),
    ({"roles": ["owner", "king"]}, "roles"),
    ({"unit": "不存在的局"}, "unit"),
])
def test_a_bad_new_person_is_refused_naming_the_field_and_writes_nothing(engine, world, kw, field):
    args = {"username": "owner9", "name": "测试县教育局责任人", "password": "pw-owner9-long", "roles": ["owner"],
            "unit": "水利局", **kw}
    before = everything(engine)
    with pytest.raises(spec.Refused) as e:
        people.create_user(args.pop("username"), args.pop("name"), args.pop("password"), args.pop("roles"),
                           engine=engine, **args)
    # a password that breaks the policy names the policy's own rule (workflow.passwords)
    assert e.value.rule == ("password_too_short" if field == "password" else "invalid_input")
    assert e.value.message.startswith(field + ":")
    assert everything(engine) == before


def test_updating_a_person_moves_their_one_membership_and_replaces_their_roles(engine, world):
    people.update_user("head1", name="住建局局长", roles=["owner", "leader"], unit="住建局", email=" ",
                       active=True, head=True, engine=engine)
    p = person(engine, "head1")
    assert (p["name"], p["roles"], p["unit"], p["head"], p["email"]) == ("住建局局长", ["leader", "owner"],
                                                                       "住建局", True, None)
    with db.read_tx(engine) as conn:
        units = conn.execute(select(OrgUnit.name).join(Membership, Membership.unit_id == OrgUnit.id)
                             .where(Membership.user_id == world["head"])).scalars().all()
    assert units == ["住建局"]
    people.update_user("head1", name="住建局局长", roles=[], unit=None, email=None, active=False, head=False,
                       password="pw-new-long-1", engine=engine)
    p = person(engine, "head1")
    assert (p["roles"], p["unit"], p["active"]) == ([], None, False)
    assert sessions.check_credentials("head1", "pw-new-long-1", engine=engine) is None  # inactive


@pytest.mark.parametrize("kw, field", [
    ({"username": "nobody"}, "username"),
    ({"username": "system"}, "username"),
    ({"name": ""}, "name"),
    ({"roles": ["emperor"]}, "roles"),
    ({"unit": "不存在的局"}, "unit"),
    ({"password": "short"}, "password"),
])
def test_a_bad_update_is_refused_naming_the_field_and_writes_nothing(engine, world, kw, field):
    args = {"username": "owner2", "name": "水利局科员", "roles": ["owner"], "unit": "水利局", "email": None,
            "active": True, "head": False, **kw}
    before = everything(engine)
    with pytest.raises(spec.Refused) as e:
        people.update_user(args.pop("username"), engine=engine, **args)
    assert e.value.rule == ("password_too_short" if field == "password" else "invalid_input")
    assert e.value.message.startswith(field + ":")
    assert everything(engine) == before
