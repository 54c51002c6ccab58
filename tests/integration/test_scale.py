"""What keeps a large ledger cheap stays exactly right: the tallies the triggers keep, pages walked
from the end, lights filtered in SQL, supervision order numbers from a counter, and the audit walk."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import insert, update

from tests import factory
from workflow import audit, db, escalation, planwriter, readmodels
from workflow.commands import fire
from workflow.models import Event, Measure, Plan, Target, User
from workflow.readmodels import dashboard, tallies

NOW = factory.NOW


def _lifecycle(engine, n: int = 12) -> dict:
    """Measures in every state, a granted extension, a reassignment, a reopening and a sweep."""
    ids = factory.build(engine, measures=n, evidence_waived=True, deadline=dt.date(2026, 12, 10))
    with db.write_tx(engine) as conn:
        planwriter.unit(conn, "住建局")
    ms = ids["measures"]

    def go(mid, *steps, at=NOW):
        for trigger, who, kw in steps:
            fire(mid, trigger, who, now=at, engine=engine, **kw)

    start, submit = ("start", "owner1", {}), ("submit", "owner1", {"comment": "已完成"})
    approve, sign_off = ("approve", "leader1", {}), ("sign_off", "office1", {})
    for k, mid in enumerate(ms):
        if k % 6 >= 1:
            go(mid, start)
        if k % 6 >= 2:
            go(mid, submit)
        if k % 6 >= 3:
            go(mid, approve)
        if k % 6 >= 4:  # signed off on the deadline day, before and after 16:00 UTC (midnight in China)
            go(mid, sign_off, at=dt.datetime(2026, 12, 10, 15, 59, 59) if k < 6 else dt.datetime(2026, 12, 10, 16))
        if k % 6 == 5:
            go(mid, ("reopen", "office1", {"reason": "群众不满意", "params": {"category": "rebound"}}))
    go(ms[1], ("request_extension", "owner1", {"reason": "协调", "params": {"new_deadline": "2027-01-20"}}),
       ("grant_extension", "leader1", {}))
    go(ms[min(7, n - 1)], ("reassign", "office1", {"params": {"unit": "住建局"}}))
    escalation.sweep(dt.datetime(2026, 12, 28, 2), engine)
    return ids


def _key(r) -> tuple:
    return (r.unit or "", r.plan_id, r.state, r.deadline or dt.date.min, int(r.late), int(r.n))


def _scanned(conn, actor):
    return sorted(_key(r) for r in conn.execute(dashboard._stats_query(actor, conn.dialect.name)))


def test_the_tallies_the_triggers_keep_equal_a_scan_of_the_measures_after_every_kind_of_write(engine):
    _lifecycle(engine)
    office = readmodels.load_actor("office1", engine=engine)
    with db.read_tx(engine) as conn:
        kept = sorted(_key(r) for r in tallies.measure_rows(conn))
        assert kept == _scanned(conn, office)
        assert {r[2] for r in kept} >= {"assigned", "in_progress", "submitted", "verified", "closed"}
        by_unit: dict = {}
        for unit, plan, state, _deadline, late, n in kept:
            by_unit[(unit, plan, state, late)] = by_unit.get((unit, plan, state, late), 0) + n
        assert sorted((r.unit or "", r.plan_id, r.state, int(r.late), int(r.n)) for r in tallies.unit_rows(conn)) \
            == sorted((*k, n) for k, n in by_unit.items())
        assert any(r[4] for r in kept) and any(r[2] == "closed" and not r[4] for r in kept)
    with db.write_tx(engine) as conn:  # a write behind the engine's back is counted too
        conn.execute(update(Measure.__table__).where(Measure.id == 1).values(state="verified", unit_id=None))
    with db.read_tx(engine) as conn:
        assert sorted(_key(r) for r in tallies.measure_rows(conn)) == _scanned(conn, office)
        assert sum(int(r.n) for r in tallies.unit_rows(conn)) == sum(r[5] for r in _scanned(conn, office))


def test_the_dashboard_of_one_who_sees_everything_equals_that_of_a_scan(engine):
    ids = _lifecycle(engine)
    office = readmodels.load_actor("office1", engine=engine)
    # the same roles' scan: an actor object the tallies do not serve (no global role) but who sees all
    scanning = office.__class__(office.id, office.username, frozenset({"leader"}), frozenset(),
                                frozenset(), office.name)
    with db.write_tx(engine) as conn:  # every measure led by this "leader": the scan sees them all
        conn.execute(update(Measure.__table__).values(leader_id=office.id))
    for days in (0, 12, 40):
        now = dt.datetime(2026, 12, 5, 2) + dt.timedelta(days=days)
        a = readmodels.stats(office, now=now, engine=engine)
        b = readmodels.stats(scanning, now=now, engine=engine)
        assert a == b and a["total"] == len(ids["measures"])
        assert readmodels.timeline(office, now=now, engine=engine) == readmodels.timeline(scanning, now=now,
                                                                                          engine=engine)
    assert readmodels.by_part(office, engine=engine) == readmodels.by_part(scanning, engine=engine)
    assert readmodels.stats(office, now=NOW, engine=engine)["closed_late"] >= 1


def test_a_measure_signed_off_before_midnight_in_china_on_its_deadline_is_on_time(engine):
    ids = factory.build(engine, measures=2, evidence_waived=True, deadline=dt.date(2026, 12, 10))
    for mid, at in zip(ids["measures"], (dt.datetime(2026, 12, 10, 15, 59, 59), dt.datetime(2026, 12, 10, 16))):
        for trigger, who in (("start", "owner1"), ("submit", "owner1"), ("approve", "leader1"),
                             ("sign_off", "office1")):
            fire(mid, trigger, who, comment="已完成" if trigger == "submit" else "", now=at, engine=engine)
    office = readmodels.load_actor("office1", engine=engine)
    s = readmodels.stats(office, now=NOW, engine=engine)
    assert s["closed_late"] == 1 and s["by_unit"][0]["closed_on_time"] == 1


@pytest.mark.parametrize("sort,desc", [("id", False), ("id", True), ("deadline", False), ("state", True),
                                       ("unit", False), ("problem", True)])
def test_every_page_of_the_ledger_is_its_slice_of_the_whole_list_also_when_walked_from_the_end(sqlite_engine,
                                                                                           sort, desc):
    _lifecycle(sqlite_engine, n=23)
    office = readmodels.load_actor("office1", engine=sqlite_engine)
    whole = readmodels.ledger(office, now=NOW, sort=sort, desc=desc, per_page=200, engine=sqlite_engine)
    ids = [r["id"] for r in whole.items]
    assert len(ids) == whole.total == 23
    for per_page in (4, 5, 23):
        pages = -(-23 // per_page)
        for page in range(1, pages + 2):
            got = readmodels.ledger(office, now=NOW, sort=sort, desc=desc, page=page, per_page=per_page,
                                    engine=sqlite_engine)
            assert [r["id"] for r in got.items] == ids[(page - 1) * per_page:page * per_page], (per_page, page)


def test_items_filtered_by_light_in_sql_are_those_whose_light_is_that(engine):
    _lifecycle(engine)
    for now in (NOW, dt.datetime(2026, 12, 8, 2), dt.datetime(2026, 12, 30, 2)):
        every = list(readmodels.iter_items(now=now, engine=engine))
        for light in ("green", "yellow", "red", "done"):
            got = [r["id"] for r in readmodels.iter_items(light=light, now=now, engine=engine)]
            assert got == [r["id"] for r in every if r["light"] == light], (now, light)


def test_supervision_order_numbers_count_up_per_year_from_one_upsert(engine):
    with db.write_tx(engine) as conn:
        got = [escalation.next_order_no(conn, 2026) for _ in range(3)] + [escalation.next_order_no(conn, 2027)]
    assert got == ["DB-2026-0001", "DB-2026-0002", "DB-2026-0003", "DB-2027-0001"]
    with db.write_tx(engine) as conn:
        assert escalation.next_order_no(conn, 2026) == "DB-2026-0004"


def test_audit_verify_walking_the_streams_names_a_chain_whose_events_are_all_gone(engine):
    ids = _lifecycle(engine, n=6)
    assert audit.verify(engine) is None
    victim = ids["measures"][2]
    with db.write_tx(engine) as conn:
        conn.execute(Event.__table__.delete().where(Event.measure_id == victim))
    broken = audit.verify(engine)
    assert broken is not None and broken.measure_id == victim and "all events missing" in broken.reason


def test_items_json_is_one_streamed_document(sqlite_engine, monkeypatch, capsys):
    from workflow.cli import emit_json_rows

    _lifecycle(sqlite_engine, n=6)
    emit_json_rows(readmodels.iter_items(now=NOW, engine=sqlite_engine))
    data = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in data] == sorted(r["id"] for r in data) and len(data) == 6
    emit_json_rows(iter(()))
    assert json.loads(capsys.readouterr().out) == []


def test_the_ledger_count_from_the_tallies_is_the_number_of_rows_its_filters_pass(engine):
    ids = _lifecycle(engine)
    office = readmodels.load_actor("office1", engine=engine)
    now = dt.datetime(2026, 12, 8, 2)
    every = list(readmodels.iter_items(now=now, engine=engine))
    for state in (None, "assigned", "in_progress", "closed"):
        for light in (None, "green", "yellow", "red", "done"):
            for unit in (None, "水利局", "住建局"):
                page = readmodels.ledger(office, now=now, state=state, light=light, unit=unit, per_page=200,
                                         plan=ids["plan"], part=1, engine=engine)
                want = [r["id"] for r in every if (not state or r["state"] == state)
                        and (not light or r["light"] == light) and (not unit or r["unit"] == unit)]
                assert page.total == len(want) and [r["id"] for r in page.items] == want, (state, light, unit)


def test_an_office_tied_to_one_target_and_a_keyword_search_are_counted_from_their_rows_not_the_tallies(engine):
    ids = _lifecycle(engine)
    now = dt.datetime(2026, 12, 8, 2)
    with db.write_tx(engine) as conn:
        here, elsewhere = (conn.execute(insert(Target).values(name=name, created_at=NOW)).inserted_primary_key[0]
                           for name in ("示例县", "另一县"))
        conn.execute(update(Plan.__table__).where(Plan.id == ids["plan"]).values(target_id=here))
        conn.execute(update(User.__table__).where(User.username == "office1").values(target_id=elsewhere))
    office = readmodels.load_actor("office1", engine=engine)
    assert readmodels.stats(office, now=now, engine=engine)["total"] == 0
    assert readmodels.ledger(office, now=now, engine=engine).total == 0
    assert sum(p["total"] for p in readmodels.by_part(office, engine=engine)) == 0
    with db.write_tx(engine) as conn:
        conn.execute(update(User.__table__).where(User.username == "office1").values(target_id=here))
    office = readmodels.load_actor("office1", engine=engine)
    assert readmodels.stats(office, now=now, engine=engine)["total"] == len(ids["measures"])
    with db.write_tx(engine) as conn:
        conn.execute(update(Measure.__table__).where(Measure.id == ids["measures"][0]).values(text="雨污分流管网改造"))
    page = readmodels.ledger(office, now=now, q="雨污分流", engine=engine)
    assert page.total == 1 and [r["id"] for r in page.items] == [ids["measures"][0]]
