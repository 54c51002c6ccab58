"""The engine against a real database, on SQLite and PostgreSQL: every command is one transaction."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select, update

from tests import factory
from tests.conftest import png_bytes
from workflow import audit, commands, db, evidence, planwriter, spec, vocabulary
from workflow.commands import hot
from workflow.errors import Conflict, NotFound
from workflow.models import Event, Extension, Measure, MeasureEvidence, Outbox, Problem, User

NOW = factory.NOW
T = dt.timedelta


def later(minutes: int) -> dt.datetime:
    return NOW + T(minutes=minutes)


@pytest.fixture
def world(engine):
    return factory.build(engine, measures=3)


def fire(engine, mid, trigger, actor, minute=1, **kw):
    return commands.fire(mid, trigger, actor, now=later(minute), engine=engine, **kw)


def stored(seed: int) -> evidence.Stored:
    return evidence.store(png_bytes(seed), f"现场照片{seed}.png")


def measure_row(engine, mid):
    with db.read_tx(engine) as conn:
        return conn.execute(select(Measure.__table__).where(Measure.id == mid)).first()


def events_of(engine, mid):
    with db.read_tx(engine) as conn:
        return conn.execute(select(Event.__table__).where(Event.measure_id == mid).order_by(Event.seq)).all()


def outbox_of(engine, mid=None):
    q = (select(Outbox.kind, Outbox.channel, Outbox.measure_id, User.username)
         .join(User, User.id == Outbox.recipient_id).order_by(Outbox.id))
    if mid is not None:
        q = q.where(Outbox.measure_id == mid)
    with db.read_tx(engine) as conn:
        return conn.execute(q).all()


def count(engine, model):
    with db.read_tx(engine) as conn:
        return conn.execute(select(func.count()).select_from(model.__table__)).scalar_one()


def snapshot(engine):
    """Everything a command may write, to prove a refused or failed one wrote nothing."""
    with db.read_tx(engine) as conn:
        measures = conn.execute(select(Measure.__table__).order_by(Measure.id)).all()
    return (measures, count(engine, Event), count(engine, Outbox), count(engine, MeasureEvidence),
            count(engine, Extension))


def to_submitted(engine, mid, owner="owner1", seed=1):
    fire(engine, mid, "start", owner, 1)
    return fire(engine, mid, "submit", owner, 2, comment="已完成整改，制度已印发", evidence=[stored(seed)])


# --- the happy path -----------------------------------------------------------------------

def test_a_measure_goes_through_its_whole_lifecycle(engine, world):
    mid = world["measures"][0]
    r1 = fire(engine, mid, "start", "owner1", 1)
    ev = stored(7)
    r2 = fire(engine, mid, "submit", "owner1", 2, comment="组织专题学习 3 次", evidence=[ev])
    r3 = fire(engine, mid, "approve", "leader1", 3)
    r4 = fire(engine, mid, "sign_off", "office1", 4)

    assert [(r.from_state, r.state, r.version, r.seq) for r in (r1, r2, r3, r4)] == [
        ("assigned", "in_progress", 2, 2), ("in_progress", "submitted", 3, 3),
        ("submitted", "verified", 4, 4), ("verified", "closed", 5, 5)]
    row = measure_row(engine, mid)
    assert (row.state, row.version, row.light, row.head_seq, row.head_hash) == ("closed", 5, "done", 5, r4.hash)
    assert row.submitter_id == world["owner"] and row.account == "组织专题学习 3 次"
    assert row.closed_at == later(4)

    evs = events_of(engine, mid)
    assert [(e.kind, e.actor, e.from_state, e.to_state) for e in evs] == [
        ("create", "system", None, "assigned"), ("start", "owner1", "assigned", "in_progress"),
        ("submit", "owner1", "in_progress", "submitted"), ("approve", "leader1", "submitted", "verified"),
        ("sign_off", "office1", "verified", "closed")]
    assert json.loads(evs[3].body)["evidence_seen"] == [ev.sha256]
    assert json.loads(evs[2].body)["evidence"][0]["sha256"] == ev.sha256
    assert audit.verify(engine) is None

    sent = {(k, u) for k, _c, _m, u in outbox_of(engine, mid)}
    assert sent == {("awaiting_approval", "leader1"), ("awaiting_sign_off", "office1"), ("signed_off", "owner1")}
    # the other measures were not touched
    assert {measure_row(engine, m).version for m in world["measures"][1:]} == {1}


def test_a_returned_measure_is_resubmitted_and_then_approved(engine, world):
    mid = world["measures"][0]
    to_submitted(engine, mid)
    r = fire(engine, mid, "return", "leader1", 3, reason="佐证材料不全")
    assert (r.from_state, r.state) == ("submitted", "in_progress")
    assert ("returned", "owner1") in {(k, u) for k, _c, _m, u in outbox_of(engine, mid)}

    with pytest.raises(spec.Refused) as info:  # the account must be given again
        fire(engine, mid, "submit", "owner1", 4)
    assert info.value.rule == "account_required"
    r = fire(engine, mid, "submit", "owner1", 5, comment="补充了会议记录", evidence=[stored(2)])
    assert r.state == "submitted"
    r = fire(engine, mid, "approve", "leader1", 6)
    assert r.state == "verified"

    evs = events_of(engine, mid)
    assert [e.kind for e in evs] == ["create", "start", "submit", "return", "submit", "approve"]
    assert json.loads(evs[3].body)["reason"] == "佐证材料不全"
    assert sorted(json.loads(evs[5].body)["evidence_seen"]) == sorted([stored(1).sha256, stored(2).sha256])
    assert measure_row(engine, mid).evidence_count == 2
    assert audit.verify(engine) is None


def test_leader_who_submitted_cannot_approve_own_submission(engine, world):
    mid = world["measures"][0]
    with db.write_tx(engine) as conn:  # the responsible leader is also the owner of this measure
        planwriter.user(conn, "leader1", "分管领导甲", ["owner"], "水利局")
    fire(engine, mid, "reassign", "office1", 1, params={"owner": "leader1"})
    fire(engine, mid, "start", "leader1", 2)
    fire(engine, mid, "submit", "leader1", 3, comment="本人完成", evidence=[stored(3)])
    before = snapshot(engine)
    with pytest.raises(spec.Refused) as info:
        fire(engine, mid, "approve", "leader1", 4)
    assert info.value.rule == "four_eyes"
    assert snapshot(engine) == before
    assert fire(engine, mid, "return", "leader1", 5, reason="请他人复核").state == "in_progress"


def test_office_who_submitted_cannot_sign_off(engine, world):
    mid = world["measures"][0]
    with db.write_tx(engine) as conn:
        planwriter.user(conn, "office1", "整改办工作人员", ["owner"], "整改办")
    fire(engine, mid, "reassign", "office1", 1, params={"owner": "office1"})
    fire(engine, mid, "start", "office1", 2)
    fire(engine, mid, "submit", "office1", 3, comment="已完成", evidence=[stored(4)])
    fire(engine, mid, "approve", "leader1", 4)
    with pytest.raises(spec.Refused) as info:
        fire(engine, mid, "sign_off", "office1", 5)
    assert info.value.rule == "four_eyes"
    assert measure_row(engine, mid).state == "verified"


def test_submitting_without_evidence_is_refused_and_writes_nothing(engine, world):
    mid = world["measures"][0]
    fire(engine, mid, "start", "owner1", 1)
    before = snapshot(engine)
    with pytest.raises(spec.Refused) as info:
        fire(engine, mid, "submit", "owner1", 2, comment="已完成")
    assert info.value.rule == "evidence_required"
    assert snapshot(engine) == before


def test_a_plan_that_waives_evidence_accepts_a_submission_without_files(engine):
    ids = factory.build(engine, measures=1, evidence_waived=True)
    mid = ids["measures"][0]
    fire(engine, mid, "start", "owner1", 1)
    assert fire(engine, mid, "submit", "owner1", 2, comment="已完成").state == "submitted"


def test_a_stale_expected_version_is_a_conflict_and_writes_nothing(engine, world):
    mid = world["measures"][0]
    fire(engine, mid, "start", "owner1", 1)  # version 2 now
    before = snapshot(engine)
    with pytest.raises(Conflict) as info:
        fire(engine, mid, "submit", "owner1", 2, comment="已完成", evidence=[stored(5)], expected_version=1)
    assert (info.value.expected, info.value.actual) == (1, 2)
    assert snapshot(engine) == before
    assert fire(engine, mid, "progress_update", "owner1", 3, comment="进行中", expected_version=2).version == 3


def test_a_refused_trigger_writes_nothing(engine, world):
    mid = world["measures"][0]
    before = snapshot(engine)
    for trigger, actor, kw in [("approve", "leader1", {}), ("start", "owner3", {}), ("start", "leader1", {}),
                               ("reopen", "insp1", {"reason": "x", "params": {"category": "rebound"}})]:
        with pytest.raises(spec.Refused):
            fire(engine, mid, trigger, actor, 1, **kw)
    with pytest.raises(NotFound):
        fire(engine, mid, "start", "nobody", 1)
    with pytest.raises(NotFound):
        fire(engine, 999_999, "start", "owner1", 1)
    assert snapshot(engine) == before


def test_reassign_to_an_unknown_user_is_refused_and_writes_nothing(engine, world):
    mid = world["measures"][0]
    before = snapshot(engine)
    with pytest.raises(spec.Refused) as info:
        fire(engine, mid, "reassign", "office1", 1, params={"owner": "ghost"})
    assert info.value.rule == "invalid_input" and "ghost" in info.value.message
    assert snapshot(engine) == before


def test_a_failure_after_the_event_rolls_back_event_measure_and_outbox_together(engine, world, monkeypatch):
    mid = world["measures"][0]
    to_submitted(engine, mid)
    real_rows = hot.notify_rows
    written = []

    def outbox_then_fail(cur, rows):
        n = real_rows(cur, rows)
        written.append(n)
        # the event, the version bump and the outbox rows are in this transaction now
        mark = "?" if cur.dialect.name == "sqlite" else "%s"
        cur.cur.execute(f"SELECT count(*) FROM events WHERE measure_id = {mark}", (mid,))
        assert cur.cur.fetchone()[0] == 4
        cur.cur.execute(f"SELECT count(*) FROM outbox WHERE measure_id = {mark} AND kind = 'awaiting_sign_off'", (mid,))
        assert cur.cur.fetchone()[0] == n
        raise RuntimeError("mail relay exploded")

    monkeypatch.setattr(hot, "notify_rows", outbox_then_fail)
    before = snapshot(engine)
    with pytest.raises(RuntimeError):
        fire(engine, mid, "approve", "leader1", 3)
    assert written and written[0] >= 1
    assert snapshot(engine) == before
    assert audit.verify(engine) is None
    monkeypatch.setattr(hot, "notify_rows", real_rows)
    assert fire(engine, mid, "approve", "leader1", 4).seq == 4


def test_outbox_rows_are_written_with_the_event_for_every_recipient(engine, world):
    mid = world["measures"][0]
    with db.write_tx(engine) as conn:  # a second office user and an e-mail address
        planwriter.user(conn, "office2", "整改办副主任", ["office"], "整改办", email="office2@example.org")
    to_submitted(engine, mid)
    n_events = count(engine, Event)
    r = fire(engine, mid, "approve", "leader1", 3)
    assert count(engine, Event) == n_events + 1
    rows = [(k, c, u) for k, c, _m, u in outbox_of(engine, mid) if k == "awaiting_sign_off"]
    assert sorted(rows) == [("awaiting_sign_off", "email", "office2"), ("awaiting_sign_off", "inbox", "office1"),
                            ("awaiting_sign_off", "inbox", "office2")]
    assert r.notified == 3


def test_urge_tells_the_owner_and_the_unit_head(engine, world):
    mid = world["measures"][0]
    fire(engine, mid, "urge", "super1", 1, comment="请加快进度")
    assert {(k, u) for k, _c, _m, u in outbox_of(engine, mid)} == {("urged", "owner1"), ("urged", "head1")}
    assert json.loads(events_of(engine, mid)[-1].body)["deadline"] == "2026-12-31"


# --- extensions, reopen, recheck, reassign ----------------------------------------------

def test_an_extension_granted_moves_the_deadline_and_keeps_the_original(engine, world):
    mid = world["measures"][0]
    fire(engine, mid, "request_extension", "owner1", 1, reason="汛期无法施工", params={"new_deadline": "2027-01-31"})
    row = measure_row(engine, mid)
    assert row.pending_extension and row.deadline == dt.date(2026, 12, 31)
    with pytest.raises(spec.Refused) as info:
        fire(engine, mid, "request_extension", "owner1", 2, reason="再延", params={"new_deadline": "2027-02-28"})
    assert info.value.rule == "extension_pending"
    fire(engine, mid, "grant_extension", "leader1", 3)
    row = measure_row(engine, mid)
    assert (row.deadline, row.deadline_original, bool(row.pending_extension)) == (
        dt.date(2027, 1, 31), dt.date(2026, 12, 31), False)

    fire(engine, mid, "request_extension", "owner1", 4, reason="材料未到", params={"new_deadline": "2027-03-31"})
    fire(engine, mid, "grant_extension", "leader1", 5)
    row = measure_row(engine, mid)
    assert (row.deadline, row.deadline_original) == (dt.date(2027, 3, 31), dt.date(2026, 12, 31))
    with db.read_tx(engine) as conn:
        exts = conn.execute(select(Extension.status, Extension.old_deadline, Extension.new_deadline)
                            .where(Extension.measure_id == mid).order_by(Extension.id)).all()
    assert [tuple(e) for e in exts] == [("granted", dt.date(2026, 12, 31), dt.date(2027, 1, 31)),
                                        ("granted", dt.date(2027, 1, 31), dt.date(2027, 3, 31))]
    kinds = [k for k, _c, _m, u in outbox_of(engine, mid)]
    assert kinds.count("extension_requested") == 2 and kinds.count("extension_granted") == 2
    assert audit.verify(engine) is None


def test_a_denied_extension_keeps_the_deadline(engine, world):
    mid = world["measures"][0]
    fire(engine, mid, "request_extension", "owner1", 1, reason="人手不足", params={"new_deadline": "2027-01-31"})
    with pytest.raises(spec.Refused) as info:
        fire(engine, mid, "deny_extension", "leader1", 2)
    assert info.value.rule == "reason_required"
    fire(engine, mid, "deny_extension", "leader1", 3, reason="理由不充分")
    row = measure_row(engine, mid)
    assert (row.deadline, row.deadline_original, bool(row.pending_extension)) == (
        dt.date(2026, 12, 31), dt.date(2026, 12, 31), False)


def test_an_extension_to_an_earlier_date_is_refused_and_writes_nothing(engine, world):
    mid = world["measures"][0]
    before = snapshot(engine)
    for bad in ("2026-12-31", "2026-06-01", "明年"):
        with pytest.raises(spec.Refused) as info:
            fire(engine, mid, "request_extension", "owner1", 1, reason="x", params={"new_deadline": bad})
        assert info.value.rule == "invalid_input"
    assert snapshot(engine) == before


def close(engine, mid, owner="owner1", seed=1):
    to_submitted(engine, mid, owner, seed)
    fire(engine, mid, "approve", "leader1", 3)
    return fire(engine, mid, "sign_off", "office1", 4)


def test_reopening_a_closed_measure_counts_and_records_the_category(engine, world):
    mid = world["measures"][0]
    close(engine, mid)
    r = fire(engine, mid, "reopen", "insp1", 5, reason="群众反映问题反弹", params={"category": "public_dissatisfaction"})
    assert r.state == "in_progress"
    row = measure_row(engine, mid)
    assert (row.reopen_count, row.closed_at, row.light) == (1, None, "green")
    assert json.loads(events_of(engine, mid)[-1].body)["category"] == "public_dissatisfaction"
    assert {u for k, _c, _m, u in outbox_of(engine, mid) if k == "reopened"} == {"owner1", "leader1"}


def test_recheck_keeps_a_long_term_measure_closed(engine):
    ids = factory.build(engine, measures=2, kind="long_term")
    mid = ids["measures"][0]
    close(engine, mid)
    r = fire(engine, mid, "recheck", "office1", 5, comment="巩固复查：制度执行良好")
    assert (r.from_state, r.state, r.version) == ("closed", "closed", 6)
    assert events_of(engine, mid)[-1].to_state == "closed"


def test_reassign_records_the_new_owner_unit_and_leader(engine, world):
    mid = world["measures"][0]
    fire(engine, mid, "reassign", "office1", 1, params={"owner": "owner3", "unit": "住建局", "leader": "leader2"})
    row = measure_row(engine, mid)
    with db.read_tx(engine) as conn:
        names = dict(conn.execute(select(User.id, User.username)).all())
    assert (names[row.owner_id], names[row.leader_id], row.state) == ("owner3", "leader2", "assigned")
    body = json.loads(events_of(engine, mid)[-1].body)
    assert body == {"owner": "owner3", "unit": "住建局", "leader": "leader2"}
    assert {u for k, _c, _m, u in outbox_of(engine, mid)} == {"owner3", "leader2"}
    with pytest.raises(spec.Refused):  # the old owner no longer may start it
        fire(engine, mid, "start", "owner1", 2)
    assert fire(engine, mid, "start", "owner3", 3).state == "in_progress"


# --- derived values ---------------------------------------------------------------------

def progress(engine, problem_id, today):
    from workflow.models import Inspection, Plan

    with db.read_tx(engine) as conn:
        states = [tuple(r) for r in conn.execute(
            select(Measure.state, Measure.kind).where(Measure.problem_id == problem_id))]
        rect_end = conn.execute(
            select(Inspection.rect_end).join(Plan, Plan.inspection_id == Inspection.id)
            .join(Problem, Problem.plan_id == Plan.id).where(Problem.id == problem_id)).scalar()
    return spec.problem_progress(states, rect_end, today)


def test_problem_progress_is_derived_from_its_measures(engine):
    ids = factory.build(engine, measures=2)
    a, b = ids["measures"]
    today = dt.date(2026, 12, 1)
    assert progress(engine, ids["problem"], today) == "in_progress"
    close(engine, a, seed=11)
    assert progress(engine, ids["problem"], today) == "in_progress"
    assert progress(engine, ids["problem"], dt.date(2027, 1, 12)) == "not_done"  # past the rectification period
    close(engine, b, seed=12)
    assert progress(engine, ids["problem"], today) == "done"
    assert progress(engine, ids["problem"], dt.date(2027, 1, 12)) == "done"
    fire(engine, b, "reopen", "office1", 6, reason="复查未通过", params={"category": "failed_recheck"})
    assert progress(engine, ids["problem"], today) == "in_progress"


def test_a_problem_with_long_term_measures_is_done_but_kept_up(engine):
    ids = factory.build(engine, measures=1, kind="long_term")
    close(engine, ids["measures"][0])
    assert progress(engine, ids["problem"], dt.date(2026, 12, 1)) == "done_long_term"
    assert vocabulary.PROGRESS_LABELS["done_long_term"] == "已完成，长期坚持"


def test_submitting_clears_a_red_light_and_records_the_change(engine, world):
    from workflow.models import LightChange

    mid = world["measures"][0]
    with db.write_tx(engine) as conn:  # the sweep had turned it red
        conn.execute(update(Measure.__table__).where(Measure.id == mid).values(light="red", level=1))
    to_submitted(engine, mid)
    row = measure_row(engine, mid)
    assert (row.light, row.level) == ("green", -1)
    with db.read_tx(engine) as conn:
        hist = conn.execute(select(LightChange.light).where(LightChange.measure_id == mid)).scalars().all()
    assert hist == ["green"]


# --- rules the trigger table now states (four eyes through sign-off, evidence, targets, dates) --------

def test_a_person_who_approved_cannot_also_sign_off(engine, world):
    mid = world["measures"][0]
    with db.write_tx(engine) as conn:  # one person holding both the leader's and the office's roles
        planwriter.user(conn, "leader1", "分管领导甲", ["office"])
    to_submitted(engine, mid)
    fire(engine, mid, "approve", "leader1", 4)
    before = snapshot(engine)
    with pytest.raises(spec.Refused) as info:
        fire(engine, mid, "sign_off", "leader1", 5)
    assert info.value.rule == "four_eyes"
    assert snapshot(engine) == before
    assert fire(engine, mid, "sign_off", "office1", 6).state == "closed"


def test_evidence_after_approval_is_refused_and_writes_nothing(engine, world):
    mid = world["measures"][0]
    close(engine, mid)
    before = snapshot(engine)
    for trigger, who in (("comment", "owner1"), ("comment", "insp1"), ("recheck", "office1")):
        with pytest.raises(spec.Refused) as info:
            fire(engine, mid, trigger, who, 20, comment="补充材料", evidence=[stored(9)])
        assert info.value.rule in ("evidence_not_accepted", "long_term_only")
    with pytest.raises(spec.Refused) as info:
        fire(engine, mid, "comment", "owner1", 21, comment="补充材料", evidence=[stored(9)])
    assert info.value.rule == "evidence_not_accepted"
    assert snapshot(engine) == before


def test_a_progress_report_may_carry_evidence_before_approval(engine, world):
    mid = world["measures"][0]
    fire(engine, mid, "start", "owner1", 1)
    r = fire(engine, mid, "progress_update", "owner1", 2, comment="本周完成排查", evidence=[stored(7)])
    assert r.evidence and measure_row(engine, mid).evidence_count == 1


@pytest.mark.parametrize("target", ["system", "leader2", "nobody"])
def test_reassign_to_the_system_user_or_someone_without_the_role_is_refused(engine, world, target):
    mid = world["measures"][0]
    before = snapshot(engine)
    with pytest.raises(spec.Refused) as info:
        fire(engine, mid, "reassign", "office1", 1, params={"owner": target})
    assert info.value.rule == "invalid_input"
    assert snapshot(engine) == before


def test_reassign_to_an_inactive_person_is_refused(engine, world):
    mid = world["measures"][0]
    with db.write_tx(engine) as conn:
        conn.execute(update(User.__table__).where(User.username == "owner2").values(active=False))
    with pytest.raises(spec.Refused) as info:
        fire(engine, mid, "reassign", "office1", 1, params={"owner": "owner2"})
    assert info.value.rule == "invalid_input" and "owner2" in info.value.message


@pytest.mark.parametrize("bad", ["9999-12-31", "2035-01-01", "2026-11-01"])
def test_an_extension_absurdly_far_or_into_the_past_is_refused(engine, bad):
    ids = factory.build(engine, measures=1, deadline=dt.date(2026, 11, 20))  # already past at NOW
    mid = ids["measures"][0]
    before = snapshot(engine)
    with pytest.raises(spec.Refused) as info:
        fire(engine, mid, "request_extension", "owner1", 1, reason="工期受阻", params={"new_deadline": bad})
    assert info.value.rule == "invalid_input"
    assert snapshot(engine) == before
    ok = fire(engine, mid, "request_extension", "owner1", 2, reason="工期受阻", params={"new_deadline": "2027-03-31"})
    assert ok.state == "assigned"


def test_the_notice_names_the_actor_by_name_not_login(engine, world):
    mid = world["measures"][0]
    to_submitted(engine, mid)
    fire(engine, mid, "return", "leader1", 4, reason="佐证不清晰")
    with db.read_tx(engine) as conn:
        body = conn.execute(select(Outbox.body).where(Outbox.kind == "returned")).scalars().first()
    assert "分管领导甲" in body and "leader1" not in body
