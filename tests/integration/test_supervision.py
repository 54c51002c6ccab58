"""督办 as a supervisor reads it: each escalated measure once, at its level now, its ladder folded in.

On SQLite and PostgreSQL, with escalations written by the real sweep and the approval SLA.
"""
from __future__ import annotations

import datetime as dt

import pytest

from tests import factory
from workflow import commands, escalation, readmodels
from tests.conftest import png_bytes
from workflow import evidence as ev

LATE = dt.datetime(2027, 1, 25, 2, 0)  # 2026-12-31 is far behind: level 3 for every open measure


@pytest.fixture
def world(engine):
    return engine, factory.build(engine, measures=4)


def page(engine, who="super1", **kw):
    return readmodels.escalations(readmodels.load_actor(who, engine=engine), now=LATE, engine=engine, **kw)


def test_each_late_measure_is_listed_once_at_its_level_with_its_ladder(world):
    engine, ids = world
    for day in (dt.datetime(2026, 12, 28, 2), dt.datetime(2027, 1, 4, 2), LATE):  # yellow, L1, then L3
        escalation.sweep(day, engine)
    p = page(engine)
    assert p.total == 4 and [m["id"] for m in p.items] == ids["measures"]
    first = p.items[0]
    assert first["esc_level"] == 3 and first["escalated_now"] and first["order_no"].startswith("DB-2027-")
    assert [x["level"] for x in first["ladder"]] == [0, 1, 2, 3]
    assert first["late_workdays"] > 10
    assert p.counts == {3: 4, 2: 0, 1: 0, 0: 0, 10: 0}  # measures, not escalations
    assert page(engine, level=1).total == 0 and page(engine, level=3).total == 4


def test_a_granted_extension_takes_the_measure_off_the_list_until_it_is_late_again(world):
    engine, ids = world
    escalation.sweep(LATE, engine)
    m = ids["measures"][0]
    commands.fire(m, "start", "owner1", now=LATE, engine=engine)
    commands.fire(m, "request_extension", "owner1", reason="汛期", params={"new_deadline": "2027-03-31"}, now=LATE,
                  engine=engine)
    commands.fire(m, "grant_extension", "leader1", now=LATE, engine=engine)
    assert m not in [x["id"] for x in page(engine).items]
    assert page(engine).counts[3] == 3
    everything = {x["id"]: x for x in page(engine, open_only=False).items}
    assert everything[m]["esc_level"] == 3 and not everything[m]["escalated_now"]


def test_urges_are_folded_into_the_ladder_and_closed_measures_leave(world):
    engine, ids = world
    escalation.sweep(LATE, engine)
    a, b = ids["measures"][:2]
    commands.fire(a, "urge", "super1", comment="请加快", now=LATE, engine=engine)
    for t, who, kw in (("start", "owner1", {}), ("submit", "owner1", {"comment": "完成",
                       "evidence": [ev.store(png_bytes(b), "x.png")]}), ("approve", "leader1", {}),
                       ("sign_off", "office1", {})):
        commands.fire(b, t, who, now=LATE, engine=engine, **kw)
    items = {x["id"]: x for x in page(engine).items}
    assert [u["by_name"] for u in items[a]["urges"]] == ["纪工委监督员"]
    assert b not in items


def test_a_submission_past_the_approval_sla_is_listed_under_its_own_tab(world):
    engine, ids = world
    m = ids["measures"][0]
    for t, who, kw in (("start", "owner1", {}), ("submit", "owner1", {"comment": "完成",
                       "evidence": [ev.store(png_bytes(m), "x.png")]})):
        commands.fire(m, t, who, now=factory.NOW, engine=engine, **kw)
    escalation.approval_sla(factory.NOW + dt.timedelta(days=14), engine)
    p = readmodels.escalations(readmodels.load_actor("super1", engine=engine), now=factory.NOW, level=10,
                               engine=engine)
    assert [(x["id"], x["esc_level"]) for x in p.items] == [(m, 11)]
    assert p.counts[10] == 1


def test_a_leader_sees_only_the_measures_they_lead(world):
    engine, ids = world
    escalation.sweep(LATE, engine)
    assert page(engine, who="leader1").total == 4 and page(engine, who="leader2").total == 0
