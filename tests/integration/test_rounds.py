"""Rounds, recurrence and 举一反三 on a real database (SQLite and PostgreSQL)."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select, text, update

from tests.conftest import png_bytes
from tests.data import rounds as R
from workflow import (
    audit, commands, db, evidence, importing, planwriter, readmodels, records, recurrence, report, rounds, spec, stats,
)
from workflow.commands import spread
from workflow.models import Inspection, Measure, Plan, Target

NOW1 = dt.datetime(2023, 9, 2, 2, 0)
NOW2 = dt.datetime(2025, 9, 2, 2, 0)


def import_text(tmp_path, name: str, body: str, problems, year: int, progress: str, now, engine, target=R.TARGET):
    path = tmp_path / name
    path.write_text(R.notice(body, problems, year=year, progress=progress, target=target), encoding="utf-8")
    return importing.import_file(path, now=now, engine=engine)


@pytest.fixture
def two_rounds(engine, tmp_path):
    with db.write_tx(engine) as conn:
        planwriter.user(conn, "office1", "整改办工作人员", ["office"], "整改办")
        planwriter.unit(conn, "水利局")
    first = import_text(tmp_path, "r1.txt", "县委第一巡察组", R.ROUND1, 2023, "已完成，长期坚持", NOW1, engine)
    second = import_text(tmp_path, "r2.txt", "县委第三巡察组", R.ROUND2, 2025, "正在整改", NOW2, engine)
    return first, second


def test_a_second_notice_for_the_same_target_starts_its_second_round(engine, two_rounds):
    first, second = two_rounds
    with db.read_tx(engine) as conn:
        rows = conn.execute(select(Plan.id, Inspection.round_no, Inspection.body, Target.name)
                            .join(Inspection, Inspection.id == Plan.inspection_id)
                            .join(Target, Target.id == Plan.target_id).order_by(Plan.id)).all()
    assert [(r.round_no, r.body, r.name) for r in rows] == [
        (1, "县委第一巡察组", R.TARGET), (2, "县委第三巡察组", R.TARGET)]
    assert [r.id for r in rows] == [first["plan_id"], second["plan_id"]]
    assert first["recurrence_candidates"] == 0


def test_the_restated_problems_are_found_again_and_the_new_ones_are_not(engine, two_rounds):
    _first, second = two_rounds
    links = recurrence.links(second["plan_id"], engine=engine)
    assert second["recurrence_candidates"] == len(links)
    found = {(r["problem_no"], r["earlier_problem_no"]) for r in links}
    assert found == {(i, i) for i in range(1, 6)}  # problems 1-5 restate round 1's 1-5; 6-10 are new
    assert {r["status"] for r in links} == {"candidate"}
    assert all(r["earlier_measures"] and r["earlier_measures"][0]["state"] == "closed" for r in links)


def test_confirming_a_link_records_it_counts_it_and_reopens_the_earlier_long_term_measures(engine, two_rounds):
    first, second = two_rounds
    link = recurrence.links(second["plan_id"], engine=engine)[0]
    out = recurrence.confirm(link["id"], "office1", now=NOW2, engine=engine)
    assert out["status"] == "confirmed" and out["reopened"]
    with db.read_tx(engine) as conn:
        states = conn.execute(select(Measure.state, Measure.reopen_count).where(Measure.id.in_(out["reopened"]))).all()
        events = conn.execute(text("SELECT body FROM events WHERE kind = 'reopen'")).scalars().all()
    assert {s for s, _n in states} == {"in_progress"} and {n for _s, n in states} == {1}
    assert all(json.loads(b)["category"] == "rebound" for b in events)
    assert [r["kind"] for r in records.of(f"link:{link['id']}", engine=engine)] == ["recurrence_confirmed"]
    assert stats.compute(second["plan_id"], NOW2, engine=engine).recurred == 1
    md = report.render(report.notice_doc(second["plan_id"], NOW2, engine=engine), "md").decode()
    assert "其中1个问题在上轮巡察中已反馈" in md
    assert audit.verify(engine) is None and records.verify(engine) is None
    with pytest.raises(spec.Refused) as info:
        recurrence.dismiss(link["id"], "office1", engine=engine)
    assert info.value.rule == "already_decided"


def test_a_dismissed_link_changes_nothing_but_its_status(engine, two_rounds):
    _first, second = two_rounds
    link = recurrence.links(second["plan_id"], engine=engine)[-1]
    recurrence.dismiss(link["id"], "office1", now=NOW2, engine=engine)
    with db.read_tx(engine) as conn:
        assert conn.execute(text("SELECT count(*) FROM events WHERE kind = 'reopen'")).scalar() == 0
    assert stats.compute(second["plan_id"], NOW2, engine=engine).recurred == 0
    assert recurrence.links(second["plan_id"], status="dismissed", engine=engine)[0]["id"] == link["id"]


def test_only_the_office_decides_a_link(engine, two_rounds):
    _first, second = two_rounds
    with db.write_tx(engine) as conn:
        planwriter.user(conn, "insp1", "巡察组联络员", ["inspector"], "巡察组")
    link = recurrence.links(second["plan_id"], engine=engine)[0]
    with pytest.raises(spec.Refused) as info:
        recurrence.confirm(link["id"], "insp1", engine=engine)
    assert info.value.rule == "not_permitted"


def test_the_rounds_overview_shows_each_round_of_the_target(engine, two_rounds):
    first, second = two_rounds
    rows = rounds.overview(spec.Actor(0, "x", frozenset({"inspection_office"})), now=NOW2, engine=engine)
    assert [(r["target"], r["round"], r["problems"], r["problems_done"]) for r in rows] == [
        (R.TARGET, 1, 10, 10), (R.TARGET, 2, 10, 0)]
    assert rows[0]["rate"] == 100.0 and rows[1]["rate"] == 0.0
    with pytest.raises(spec.Refused):
        rounds.overview(spec.Actor(0, "x", frozenset({"owner"})), now=NOW2, engine=engine)


# --- 举一反三 -----------------------------------------------------------------------------------

UNITS = ("一号街道", "二号街道", "三号街道", "四号街道", "五号街道")


@pytest.fixture
def spread_world(engine):
    from tests import factory

    ids = factory.build(engine, measures=1)
    with db.write_tx(engine) as conn:
        for i, name in enumerate(UNITS, 1):
            planwriter.unit(conn, name, "subdistrict")
            planwriter.user(conn, f"street{i}", f"{name}负责人", ["owner"], name, head=True)
    return ids


def walk(engine, mid, owner, at, *, finding=None):
    """start, (report the finding), submit with evidence, approve, sign off."""
    def fire(trigger, who, minutes, **kw):
        return commands.fire(mid, trigger, who, now=at + dt.timedelta(minutes=minutes), engine=engine, **kw)

    fire("start", owner, 1)
    started = None
    if finding:
        started = fire("report_finding", owner, 2, comment=f"自查情况：{finding}", params={"finding": finding})
    fire("submit", owner, 3, comment="已完成", evidence=[evidence.store(png_bytes(mid), "佐证.png")])
    fire("approve", "leader1", 4)
    assert fire("sign_off", "office1", 5).state == "closed"
    return started


def test_a_self_check_spread_to_five_units_with_two_findings_ends_with_two_new_measures(engine, spread_world):
    problem = spread_world["problem"]
    at = dt.datetime(2026, 12, 1, 2, 0)
    out = spread.start(problem, "office1", deadline=dt.date(2026, 12, 20), unit_kind="subdistrict", fix_days=20,
                       now=at, engine=engine)
    assert [m["unit"] for m in out["measures"]] == sorted(UNITS)
    by_unit = {m["unit"]: m["id"] for m in out["measures"]}
    for i, name in enumerate(UNITS, 1):
        walk(engine, by_unit[name], f"street{i}", at, finding="exists" if i <= 2 else "none")
    with db.read_tx(engine) as conn:
        found = conn.execute(select(Measure.id, Measure.found_by, Measure.kind, Measure.deadline)
                             .where(Measure.found_by.is_not(None)).order_by(Measure.id)).all()
    assert len(found) == 2 and {f.found_by for f in found} == {by_unit[UNITS[0]], by_unit[UNITS[1]]}
    assert all(f.kind == "time_bound" and f.deadline == dt.date(2026, 12, 21) for f in found)
    owners = {by_unit[UNITS[0]]: "street1", by_unit[UNITS[1]]: "street2"}
    for f in found:  # each finding is a measure of its own: the whole lifecycle
        walk(engine, f.id, owners[f.found_by], at + dt.timedelta(days=3))
    st = stats.compute(spread_world["plan"], at + dt.timedelta(days=4), engine=engine)
    assert (st.self_checks, st.self_checks_done, st.self_checks_found) == (5, 5, 2)
    assert st.measures == 1 + 2  # the factory's measure and the two found; self-checks apart
    md = report.render(report.notice_doc(spread_world["plan"], at + dt.timedelta(days=4), engine=engine), "md").decode()
    assert "举一反三开展自查5项，已完成5项，发现同类问题2个" in md
    assert [r["kind"] for r in records.of(f"problem:{problem}", engine=engine)] == ["spread_started"]
    assert audit.verify(engine) is None and records.verify(engine) is None


def test_a_spread_is_the_office_s_and_names_real_units(engine, spread_world):
    problem = spread_world["problem"]
    with pytest.raises(spec.Refused) as info:
        spread.start(problem, "owner1", deadline=dt.date(2026, 12, 20), units=["一号街道"], engine=engine)
    assert info.value.rule == "not_permitted"
    with pytest.raises(spec.Refused) as info:
        spread.start(problem, "office1", deadline=dt.date(2026, 12, 20), units=["不存在的单位"], engine=engine)
    assert info.value.rule == "invalid_input"
    with db.read_tx(engine) as conn:
        assert conn.execute(select(func.count()).select_from(Measure).where(Measure.kind == "self_check")).scalar() == 0


def test_an_office_tied_to_one_target_reads_only_its_plans(engine, two_rounds, tmp_path):
    first, second = two_rounds
    other = import_text(tmp_path, "other.txt", "县委第二巡察组", R.ROUND1[:2], 2024, "正在整改", NOW2, engine,
                        target="测试县教育局")
    with db.write_tx(engine) as conn:
        tid = conn.execute(select(Target.id).where(Target.name == R.TARGET)).scalar()
        planwriter.user(conn, "office_t", "本单位整改办", ["office"], "整改办")
        conn.execute(text("UPDATE users SET target_id = :t WHERE username = 'office_t'"), {"t": tid})
        per_plan = dict(conn.execute(text("SELECT p.plan_id, count(*) FROM measures m JOIN problems p "
                                          "ON p.id = m.problem_id GROUP BY p.plan_id")).all())
    actor = readmodels.load_actor("office_t", engine=engine)
    seen = readmodels.list_measures(actor, now=NOW2, per_page=200, engine=engine)
    assert seen.total == per_plan[first["plan_id"]] + per_plan[second["plan_id"]]
    assert per_plan[other["plan_id"]] > 0
    rows = rounds.overview(actor, now=NOW2, engine=engine)
    assert {r["target"] for r in rows} == {R.TARGET}
    everyone = rounds.overview(spec.Actor(0, "x", frozenset({"inspection_office"})), now=NOW2, engine=engine)
    assert {r["target"] for r in everyone} == {R.TARGET, "测试县教育局"}


def test_the_inspection_office_hears_weekly_which_targets_moved(engine, two_rounds):
    first, second = two_rounds
    with db.write_tx(engine) as conn:
        planwriter.user(conn, "xuncha1", "巡察办工作人员", ["inspection_office"], "巡察办")
    monday = dt.datetime(2025, 9, 8, 1, 30)  # Monday 09:30 in China
    r1 = rounds.run_weekly(monday, engine)
    assert r1.changed == [] and r1.notified == 0  # nothing to compare with yet
    assert rounds.run_weekly(monday + dt.timedelta(hours=2), engine).done_before
    # during the week: one problem of round 2 rectified
    with db.read_tx(engine) as conn:
        mids = conn.execute(text("SELECT m.id FROM measures m JOIN problems p ON p.id = m.problem_id "
                                 "WHERE p.plan_id = :p AND p.no = 6 ORDER BY m.seq"),
                            {"p": second["plan_id"]}).scalars().all()
    with db.write_tx(engine) as conn:  # the imported measures get their people
        owner = planwriter.user(conn, "waterboss", "水利局负责人", ["owner"], "水利局")
        leader = planwriter.user(conn, "leader9", "分管领导", ["leader"], "局领导")
        conn.execute(update(Measure.__table__).where(Measure.id.in_(mids)).values(owner_id=owner, leader_id=leader))
    at = monday + dt.timedelta(days=2)
    for mid in mids:
        state = commands.fire(mid, "submit", "waterboss", comment="已完成", evidence=[evidence.store(png_bytes(mid), "a.png")],
                              now=at, engine=engine).state
        assert state == "submitted"
        commands.fire(mid, "approve", "leader9", now=at, engine=engine)
        commands.fire(mid, "sign_off", "office1", now=at, engine=engine)
    r2 = rounds.run_weekly(monday + dt.timedelta(days=7), engine)
    assert len(r2.changed) == 1 and "第2轮" in r2.changed[0] and "0.0% → 10.0%" in r2.changed[0]
    with db.read_tx(engine) as conn:
        told = conn.execute(text("SELECT u.username FROM outbox o JOIN users u ON u.id = o.recipient_id "
                                 "WHERE o.kind = 'rounds_weekly' AND o.channel = 'inbox'")).scalars().all()
    assert told == ["xuncha1"]
