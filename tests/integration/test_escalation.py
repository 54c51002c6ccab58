"""The escalation ladder, the approval SLA, urges, extensions and re-check reminders (injected clock)."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select, text, update

from tests import factory
from workflow import audit, commands, db, digests, escalation, planwriter, spec, workdays
from workflow.cli import parse_now
from workflow.models import Escalation, Event, LightChange, Measure, Outbox, User

at = parse_now  # "2026-10-09T10:00" (China time) -> naive UTC


def sweep(when: str, engine):
    return escalation.sweep(at(when), engine)


def escalations(engine, mid):
    with db.read_tx(engine) as conn:
        return [(r.level, r.deadline, r.order_no) for r in conn.execute(
            select(Escalation).where(Escalation.measure_id == mid).order_by(Escalation.level, Escalation.deadline))]


def lights(engine, mid):
    with db.read_tx(engine) as conn:
        return [(r.light, r.level) for r in conn.execute(
            select(LightChange).where(LightChange.measure_id == mid).order_by(LightChange.id))]


def told(engine, mid=None, level=None, kind=None):
    """{username: channels} of outbox rows matching, as a sorted list of (username, channel)."""
    q = select(User.username, Outbox.channel, Outbox.level, Outbox.kind).join(User, User.id == Outbox.recipient_id)
    if mid is not None:
        q = q.where(Outbox.measure_id == mid)
    if kind is not None:
        q = q.where(Outbox.kind == kind)
    with db.read_tx(engine) as conn:
        rows = conn.execute(q.order_by(Outbox.id)).all()
    return sorted((r.username, r.channel) for r in rows if level is None or r.level == level)


def told_sla(engine, mid, sla_level):
    """Recipients of the approval-SLA message of that escalation level (10 or 11), by outbox key."""
    q = (select(User.username, Outbox.channel, Outbox.level).join(User, User.id == Outbox.recipient_id)
         .where(Outbox.measure_id == mid, Outbox.kind == "approval_sla", Outbox.key.like(f"esc:{mid}:{sla_level}:%")))
    with db.read_tx(engine) as conn:
        rows = conn.execute(q).all()
    assert all(r.level is None for r in rows)  # the outbox level belongs to the red ladder only
    return sorted((r.username, r.channel) for r in rows)


def measure_row(engine, mid):
    with db.read_tx(engine) as conn:
        return conn.execute(select(Measure.__table__).where(Measure.id == mid)).first()


def escalate_events(engine, mid):
    with db.read_tx(engine) as conn:
        return [json.loads(r.body) for r in conn.execute(
            select(Event).where(Event.measure_id == mid, Event.kind == "escalate").order_by(Event.seq))]


def test_one_measure_goes_yellow_l1_l2_l3_and_back_to_green_after_submission(engine):
    # deadline Tue 2026-12-08; no holidays in Dec 2026
    ids = factory.build(engine, measures=1, deadline=dt.date(2026, 12, 8), evidence_waived=True)
    mid = ids["measures"][0]

    r = sweep("2026-12-02T10:00", engine)  # Wed: 4 working days ahead -> still green
    assert r.candidates == 0 and lights(engine, mid) == []

    r = sweep("2026-12-03T10:00", engine)  # Thu: 3 working days ahead -> yellow, the owner is told
    assert (r.escalated, r.by_level) == (1, {0: 1})
    assert told(engine, mid, level=0) == [("owner1", "inbox")]
    assert lights(engine, mid) == [("yellow", 0)]

    sweep("2026-12-09T10:00", engine)  # one working day late -> L1: owner and unit head
    assert told(engine, mid, level=1) == [("head1", "inbox"), ("owner1", "inbox")]

    sweep("2026-12-15T10:00", engine)  # 5 working days late -> L2: the responsible leader
    assert told(engine, mid, level=2) == [("leader1", "inbox")]

    r = sweep("2026-12-22T10:00", engine)  # 10 working days late -> L3: office and discipline committee
    assert told(engine, mid, level=3) == [("office1", "inbox"), ("super1", "inbox")]
    assert r.orders == ["DB-2026-0001"]
    assert [e[:2] for e in escalations(engine, mid)] == [(lv, dt.date(2026, 12, 8)) for lv in range(4)]
    assert escalations(engine, mid)[3][2] == "DB-2026-0001"
    assert lights(engine, mid) == [("yellow", 0), ("red", 1), ("red", 2), ("red", 3)]
    assert [(h["light"], h["level"], h["at"]) for h in escalation.light_history(mid, engine)] == [
        ("yellow", 0, "2026-12-03T02:00:00"), ("red", 1, "2026-12-09T02:00:00"),
        ("red", 2, "2026-12-15T02:00:00"), ("red", 3, "2026-12-22T02:00:00")]
    assert [(e["level"], e["label"], e["order_no"]) for e in escalation.escalations_of(mid, engine)][-1] == (
        3, "三级督办", "DB-2026-0001")  # one vocabulary: the pages say the same
    assert [e["level"] for e in escalate_events(engine, mid)] == [0, 1, 2, 3]
    row = measure_row(engine, mid)
    assert (row.light, row.level) == ("red", 3)

    r = sweep("2026-12-23T10:00", engine)  # nothing new at L3
    assert (r.candidates, r.escalated) == (0, 0)

    commands.fire(mid, "start", "owner1", now=at("2026-12-23T11:00"), engine=engine)
    commands.fire(mid, "submit", "owner1", comment="已整改完毕", now=at("2026-12-23T12:00"), engine=engine)
    assert lights(engine, mid)[-1] == ("green", -1)
    row = measure_row(engine, mid)
    assert (row.state, row.light, row.level) == ("submitted", "green", -1)
    r = sweep("2026-12-24T10:00", engine)  # with the approver: the ladder leaves it alone
    assert r.candidates == 0
    assert audit.verify(engine) is None


def test_sweeping_again_at_the_same_instant_notifies_nobody_twice(engine):
    ids = factory.build(engine, measures=3, deadline=dt.date(2026, 12, 8))
    first = sweep("2026-12-15T10:00", engine)
    before = told(engine)
    again = sweep("2026-12-15T10:00", engine)
    assert first.escalated == 3 and again.escalated == 0 and again.candidates == 0
    assert told(engine) == before
    for mid in ids["measures"]:
        assert len(escalate_events(engine, mid)) == 1


def test_a_measure_found_at_l3_records_the_skipped_levels_but_notifies_only_l3(engine):
    ids = factory.build(engine, measures=1, deadline=dt.date(2026, 12, 8))
    mid = ids["measures"][0]
    r = sweep("2026-12-28T10:00", engine)  # the scheduler was down the whole time
    assert (r.escalated, r.skipped_levels, r.by_level) == (1, 3, {3: 1})
    assert [e[0] for e in escalations(engine, mid)] == [0, 1, 2, 3]
    assert {lv for lv in (0, 1, 2) if told(engine, mid, level=lv)} == set()
    assert told(engine, mid, level=3) == [("office1", "inbox"), ("super1", "inbox")]
    (event,) = escalate_events(engine, mid)
    assert event["level"] == 3 and event["skipped"] == [0, 1, 2] and event["order_no"] == "DB-2026-0001"
    assert lights(engine, mid) == [("red", 3)]


def test_statutory_holiday_and_make_up_working_day_inside_the_ladder(engine):
    # 2026: National Day Oct 1-7 are holidays, Sat Oct 10 is a make-up working day;
    # Sun Sep 20 is a make-up working day before the Mid-Autumn holiday (Sep 25-27).
    ids = factory.build(engine, measures=2, deadline=dt.date(2026, 9, 29))
    red, yellow = ids["measures"]
    with db.write_tx(engine) as conn:
        conn.execute(update(Measure.__table__).where(Measure.id == yellow).values(
            deadline=dt.date(2026, 9, 22), deadline_original=dt.date(2026, 9, 22)))

    # Thu Sep 17: (17, 22] holds Fri 18, Sun 20 (make-up), Mon 21, Tue 22 = 4 working days -> green
    sweep("2026-09-17T10:00", engine)
    assert lights(engine, yellow) == []
    sweep("2026-09-18T10:00", engine)  # now 3 -> yellow
    assert lights(engine, yellow) == [("yellow", 0)]

    # deadline Tue Sep 29: Sep 30 (1), Oct 1-7 holiday, Oct 8 (2), Oct 9 (3): L1, not L2
    sweep("2026-10-06T10:00", engine)
    assert measure_row(engine, red).level == 1
    sweep("2026-10-09T10:00", engine)
    assert measure_row(engine, red).level == 1
    sweep("2026-10-10T10:00", engine)  # Saturday, but a working day: 4
    assert measure_row(engine, red).level == 1
    sweep("2026-10-12T10:00", engine)  # 5 thanks to the make-up day -> L2
    assert measure_row(engine, red).level == 2
    sweep("2026-10-16T10:00", engine)  # 9
    assert measure_row(engine, red).level == 2
    sweep("2026-10-19T10:00", engine)  # 10 -> L3
    assert measure_row(engine, red).level == 3
    assert [lv for lv, _, _ in escalations(engine, red)] == [0, 1, 2, 3]
    assert workdays.workdays_between(dt.date(2026, 9, 29), dt.date(2026, 10, 19)) == 10


def test_plan_ladder_overrides_are_counted_in_working_days(engine):
    ids = factory.build(engine, measures=1, deadline=dt.date(2026, 12, 8))
    mid = ids["measures"][0]
    with db.write_tx(engine) as conn:
        conn.execute(text("UPDATE plans SET ladder = :l"), {"l": json.dumps({"yellow_within": 5, "l2_after": 2,
                                                                            "l3_after": 3})})
    sweep("2026-12-01T10:00", engine)  # 5 working days ahead -> yellow under this plan
    assert measure_row(engine, mid).level == 0
    sweep("2026-12-10T10:00", engine)  # 2 late -> L2
    assert measure_row(engine, mid).level == 2
    sweep("2026-12-11T10:00", engine)  # 3 late -> L3
    assert measure_row(engine, mid).level == 3


def test_granted_extension_turns_the_light_green_keeps_the_original_and_starts_a_fresh_ladder(engine):
    ids = factory.build(engine, measures=1, deadline=dt.date(2026, 12, 8))
    mid = ids["measures"][0]
    sweep("2026-12-10T10:00", engine)  # L1
    commands.fire(mid, "request_extension", "owner1", reason="汛期施工受阻", params={"new_deadline": "2026-12-31"},
             now=at("2026-12-10T11:00"), engine=engine)
    assert told(engine, mid, kind="extension_requested") == [("leader1", "inbox")]
    commands.fire(mid, "grant_extension", "leader1", now=at("2026-12-10T15:00"), engine=engine)
    row = measure_row(engine, mid)
    assert (row.deadline, row.deadline_original) == (dt.date(2026, 12, 31), dt.date(2026, 12, 8))
    assert (row.light, row.level) == ("green", -1)
    assert lights(engine, mid) == [("red", 1), ("green", -1)]

    r = sweep("2026-12-11T10:00", engine)
    assert r.candidates == 0
    sweep("2026-12-28T10:00", engine)  # 3 working days before the new deadline: yellow again, new key
    assert (dt.date(2026, 12, 31), 0) in [(d, lv) for lv, d, _ in escalations(engine, mid)]
    assert lights(engine, mid)[-1] == ("yellow", 0)

    # closed after the new deadline's yellow but before it: on time in force, late against the original
    commands.fire(mid, "start", "owner1", now=at("2026-12-28T11:00"), engine=engine)
    with db.write_tx(engine) as conn:
        conn.execute(update(Measure.__table__).where(Measure.id == mid).values(
            state="closed", closed_at=at("2026-12-29T10:00"), light="done", level=-1))
    with db.read_tx(engine) as conn:
        data = digests.monthly_data(conn, 2026, 12, dt.date(2027, 1, 1))
    assert data["total"]["due"] == 1 and data["total"]["on_time"] == 0 and data["total"]["on_time_in_force"] == 1
    assert data["total"]["extended"] == 1 and data["total"]["on_time_rate"] == 0.0


def test_denied_extension_leaves_the_deadline_and_the_ladder_alone(engine):
    ids = factory.build(engine, measures=1, deadline=dt.date(2026, 12, 8))
    mid = ids["measures"][0]
    sweep("2026-12-10T10:00", engine)
    commands.fire(mid, "request_extension", "owner1", reason="人手不足", params={"new_deadline": "2026-12-31"},
             now=at("2026-12-10T11:00"), engine=engine)
    commands.fire(mid, "deny_extension", "leader1", reason="不符合延期条件", now=at("2026-12-10T12:00"), engine=engine)
    row = measure_row(engine, mid)
    assert (row.deadline, row.light, row.level) == (dt.date(2026, 12, 8), "red", 1)
    assert told(engine, mid, kind="extension_denied") == [("owner1", "inbox")]
    sweep("2026-12-15T10:00", engine)
    assert measure_row(engine, mid).level == 2


def test_manual_urge_is_recorded_and_tells_the_owner_and_unit_head(engine):
    ids = factory.build(engine, measures=1, deadline=dt.date(2026, 12, 8))
    mid = ids["measures"][0]
    res = commands.fire(mid, "urge", "super1", comment="请本周内完成", now=at("2026-12-09T10:00"), engine=engine)
    assert res.state == "assigned"
    with db.read_tx(engine) as conn:
        ev = conn.execute(select(Event).where(Event.measure_id == mid, Event.kind == "urge")).one()
    assert ev.actor == "super1" and json.loads(ev.body)["deadline"] == "2026-12-08"
    assert told(engine, mid, kind="urged") == [("head1", "inbox"), ("owner1", "inbox")]
    with pytest.raises(spec.Refused):
        commands.fire(mid, "urge", "owner2", now=at("2026-12-09T10:00"), engine=engine)


def test_a_returned_measure_turns_red_again_without_a_second_message(engine):
    ids = factory.build(engine, measures=1, deadline=dt.date(2026, 12, 8), evidence_waived=True)
    mid = ids["measures"][0]
    sweep("2026-12-09T10:00", engine)  # L1
    commands.fire(mid, "start", "owner1", now=at("2026-12-09T11:00"), engine=engine)
    commands.fire(mid, "submit", "owner1", comment="完成", now=at("2026-12-09T12:00"), engine=engine)
    commands.fire(mid, "return", "leader1", reason="材料不全", now=at("2026-12-09T15:00"), engine=engine)
    n = len(told(engine, mid, level=1))
    sweep("2026-12-10T10:00", engine)
    assert len(told(engine, mid, level=1)) == n  # (measure, L1, deadline) was already escalated
    assert lights(engine, mid) == [("red", 1), ("green", -1), ("red", 1)]
    sweep("2026-12-15T10:00", engine)
    assert told(engine, mid, level=2) == [("leader1", "inbox")]
    assert audit.verify(engine) is None


def test_approval_sla_reminds_the_approver_then_tells_the_superior(engine):
    ids = factory.build(engine, measures=2, deadline=dt.date(2026, 12, 31), evidence_waived=True)
    a, b = ids["measures"]
    with db.write_tx(engine) as conn:
        planwriter.set_superior(conn, "leader1", "leader2")
        planwriter.user(conn, "office_head", "整改办主任", ["office"], "整改办")
        planwriter.set_superior(conn, "office1", "office_head")
    for mid in (a, b):
        commands.fire(mid, "start", "owner1", now=at("2026-12-01T09:00"), engine=engine)
        commands.fire(mid, "submit", "owner1", comment="已完成", now=at("2026-12-01T10:00"), engine=engine)
    commands.fire(b, "approve", "leader1", now=at("2026-12-01T11:00"), engine=engine)  # b waits on the office

    r = escalation.approval_sla(at("2026-12-04T10:00"), engine)  # 3 working days: not yet
    assert r.reminded == 0
    r = escalation.approval_sla(at("2026-12-07T10:00"), engine)  # 4 -> the approver
    assert r.reminded == 2
    assert told_sla(engine, a, 10) == [("leader1", "inbox")]
    assert told_sla(engine, b, 10) == [("office1", "inbox"), ("office_head", "inbox")]
    r = escalation.approval_sla(at("2026-12-08T10:00"), engine)
    assert (r.reminded, r.superiors) == (0, 0)
    r = escalation.approval_sla(at("2026-12-11T10:00"), engine)  # 8 -> the superior
    assert r.superiors == 2
    assert told_sla(engine, a, 11) == [("leader2", "inbox")]
    assert told_sla(engine, b, 11) == [("office_head", "inbox")]
    r = escalation.approval_sla(at("2026-12-14T10:00"), engine)
    assert (r.reminded, r.superiors, r.notified) == (0, 0, 0)
    with db.read_tx(engine) as conn:
        bodies = [r[0] for r in conn.execute(select(Outbox.body).where(Outbox.key.like("esc:%:11:%")))]
    assert all("个工作日" in x for x in bodies)
    assert audit.verify(engine) is None


def test_recheck_reminder_for_a_long_term_measure_comes_each_quarter_after_sign_off(engine):
    ids = factory.build(engine, measures=1, deadline=dt.date(2026, 12, 31), evidence_waived=True, kind="long_term")
    mid = ids["measures"][0]
    commands.fire(mid, "start", "owner1", now=at("2026-12-01T09:00"), engine=engine)
    commands.fire(mid, "submit", "owner1", comment="已建立长效机制", now=at("2026-12-01T10:00"), engine=engine)
    commands.fire(mid, "approve", "leader1", now=at("2026-12-01T11:00"), engine=engine)
    commands.fire(mid, "sign_off", "office1", now=at("2026-12-02T10:00"), engine=engine)

    r = escalation.recheck_reminders(at("2027-02-28T09:00"), engine)  # 88 days: not yet
    assert r.reminded == 0
    r = escalation.recheck_reminders(at("2027-03-02T09:00"), engine)  # 90 days
    assert r.reminded == 1
    assert told(engine, mid, kind="recheck_due") == [("office1", "inbox"), ("owner1", "inbox")]
    assert escalation.recheck_reminders(at("2027-03-02T20:00"), engine).done_before  # same daily period
    assert escalation.recheck_reminders(at("2027-03-03T09:00"), engine).reminded == 0  # same due date: once

    commands.fire(mid, "recheck", "office1", comment="复查通过", now=at("2027-03-05T10:00"), engine=engine)
    assert escalation.recheck_reminders(at("2027-05-30T09:00"), engine).reminded == 0
    assert escalation.recheck_reminders(at("2027-06-03T09:00"), engine).reminded == 1  # 90 days after the recheck


def test_messages_say_what_is_late_by_how_much_and_who_is_responsible_with_a_link(engine):
    ids = factory.build(engine, measures=1, deadline=dt.date(2026, 12, 8))
    mid = ids["measures"][0]
    with db.write_tx(engine) as conn:
        conn.execute(update(User.__table__).where(User.username == "leader1").values(locale="en"))
    sweep("2026-12-15T10:00", engine)  # L2 -> leader1, who reads English
    sweep("2026-12-22T10:00", engine)  # L3 -> office and supervisors, in Chinese
    with db.read_tx(engine) as conn:
        rows = {r.level: r for r in conn.execute(select(Outbox).where(Outbox.measure_id == mid))}
    l3 = rows[3]
    assert "已逾期 10 个工作日" in l3.subject
    assert "责任单位：水利局" in l3.body and "责任人：水利局责任人" in l3.body and "责任领导：分管领导甲" in l3.body
    assert "完成时限：2026-12-08" in l3.body and "督办单号：DB-2026-0001" in l3.body
    assert l3.body.rstrip().endswith(f"/measures/{mid}")
    assert "5 working day(s) late" in rows[2].subject and "owner: 水利局责任人" in rows[2].body


def test_the_sweep_query_reads_the_state_deadline_index(sqlite_engine):
    bounds = escalation.thresholds(dt.date(2026, 12, 15), workdays.DEFAULT_LADDER)
    stmt = escalation.candidates_query(bounds).compile(sqlite_engine, compile_kwargs={"literal_binds": True})
    with sqlite_engine.connect() as conn:
        plan = " ".join(r[-1] for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {stmt}"))
    assert "USING INDEX ix_measures_open_deadline" in plan, plan
    assert "SCAN measures" not in plan.replace("USING INDEX", ""), plan


def test_thresholds_match_the_light_function_day_by_day():
    rules = workdays.DEFAULT_LADDER
    for today in (dt.date(2026, 9, 18) + dt.timedelta(days=i) for i in range(40)):
        t = escalation.thresholds(today, rules)
        for d in (today + dt.timedelta(days=k) for k in range(-30, 15)):
            _, level = workdays.light("in_progress", d, today, rules)
            assert (level >= 0) == (d <= t.horizon), (today, d)
            assert (level >= 1) == (d <= t.l1), (today, d)
            assert (level >= 2) == (d <= t.l2), (today, d)
            assert (level >= 3) == (d <= t.l3), (today, d)
