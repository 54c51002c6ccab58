"""Public feedback as commands, on SQLite and PostgreSQL: the limit counted in the database, and
feedback turned into a reopen in one transaction with the measure's command."""
from __future__ import annotations

import datetime as dt
import json
import threading
import time

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from tests import factory
from workflow import commands, db, planwriter, spec
from workflow.commands import feedback
from workflow.errors import Conflict, NotFound
from workflow.models import Event, Feedback, Measure, Problem

NOW = factory.NOW
SENDER = feedback.source_hash("test-key", "198.51.100.7")


@pytest.fixture
def world(engine):
    return factory.build(engine, measures=2, evidence_waived=True)


def close(engine, mid):
    """Take a measure to 已销号, so the public may be dissatisfied with it."""
    for n, (trigger, actor, kw) in enumerate((
            ("start", "owner1", {}), ("submit", "owner1", {"comment": "已清理河道垃圾"}),
            ("approve", "leader1", {}), ("sign_off", "office1", {}))):
        commands.fire(mid, trigger, actor, now=NOW + dt.timedelta(minutes=n + 1), engine=engine, **kw)


def submit(engine, world, text="河道仍有垃圾", minute=0, limit=5, source=SENDER):
    return feedback.submit(world["plan"], world["problem"], text, "", source, at=NOW + dt.timedelta(minutes=minute),
                           limit=limit, engine=engine)


def feedback_row(engine, fid):
    with db.read_tx(engine) as conn:
        return conn.execute(select(Feedback.__table__).where(Feedback.id == fid)).one()


def measure_row(engine, mid):
    with db.read_tx(engine) as conn:
        return conn.execute(select(Measure.__table__).where(Measure.id == mid)).one()


def feedback_rows(engine):
    with db.read_tx(engine) as conn:
        return conn.execute(select(Feedback.__table__).order_by(Feedback.id)).all()


def events(engine, mid):
    with db.read_tx(engine) as conn:
        return conn.execute(select(Event.kind, Event.body).where(Event.measure_id == mid).order_by(Event.seq)).all()


# --- submitting ---------------------------------------------------------------------------

def test_feedback_is_stored_with_a_keyed_hash_of_the_sender_never_the_address(engine, world):
    fid = submit(engine, world, "  河道仍有垃圾  ")
    row = feedback_row(engine, fid)
    assert (row.problem_id, row.text, row.status, row.contact) == (world["problem"], "河道仍有垃圾", "new", None)
    assert row.source_hash == SENDER and "198.51.100.7" not in row.source_hash
    assert feedback.source_hash("other-key", "198.51.100.7") != SENDER


@pytest.mark.parametrize("text, contact, rule, field", [
    ("   ", "", "comment_required", "text"),
    ("意见" * 1001, "", "invalid_input", "text"),
    ("河道仍有垃圾", "1" * 201, "invalid_input", "contact"),
    ("\u200b\u200b", "", "invalid_input", "text"),  # shows nothing
    ("河道\u202e圾垃有仍", "", "invalid_input", "text"),  # reorders what the office reads
    ("河道仍有垃圾", "电话\x1b[2J", "invalid_input", "contact"),
])
def test_bad_feedback_is_refused_naming_the_field_and_writes_nothing(engine, world, text, contact, rule, field):
    with pytest.raises(spec.Refused) as e:
        feedback.submit(world["plan"], world["problem"], text, contact, SENDER, at=NOW, limit=5, engine=engine)
    assert e.value.rule == rule and field in e.value.message
    assert feedback_rows(engine) == []


def test_feedback_on_a_problem_of_another_plan_is_refused(engine, world):
    with db.write_tx(engine) as conn:
        insp = planwriter.inspection(conn, "市委第九巡察组", "测试县", "routine")
        other = planwriter.plan(conn, insp, "另一整改方案")
    with pytest.raises(spec.Refused) as e:
        feedback.submit(other, world["problem"], "河道仍有垃圾", "", SENDER, at=NOW, limit=5, engine=engine)
    assert e.value.rule == "invalid_input" and "problem" in e.value.message
    assert feedback_rows(engine) == []


def test_the_rate_limit_counts_the_senders_rows_in_the_last_hour(engine, world):
    for minute in range(3):
        submit(engine, world, minute=minute, limit=3)
    with pytest.raises(feedback.RateLimited):
        submit(engine, world, minute=10, limit=3)
    assert len(feedback_rows(engine)) == 3
    # another sender has an allowance of their own
    submit(engine, world, minute=10, limit=3, source=feedback.source_hash("test-key", "203.0.113.9"))
    # an hour after the first, one more is allowed again
    submit(engine, world, minute=61, limit=3)
    assert len(feedback_rows(engine)) == 5


# --- reopen from feedback, one transaction ---------------------------------------------------

def test_turning_feedback_into_a_reopen_changes_the_measure_and_the_feedback_together(engine, world):
    mid = world["measures"][0]
    close(engine, mid)
    fid = submit(engine, world)
    version = measure_row(engine, mid).version
    result = feedback.reopen(fid, mid, "office1", reason="群众反馈：河道仍有垃圾", expected_version=version,
                             now=NOW + dt.timedelta(hours=1), engine=engine)
    assert (result.trigger, result.from_state, result.state) == ("reopen", spec.CLOSED, spec.IN_PROGRESS)
    m = measure_row(engine, mid)
    assert (m.state, m.reopen_count, m.version) == (spec.IN_PROGRESS, 1, version + 1)
    kind, body = events(engine, mid)[-1]
    assert kind == "reopen"
    assert json.loads(body) == {"category": "public_dissatisfaction", "reason": "群众反馈：河道仍有垃圾"}
    row = feedback_row(engine, fid)
    assert (row.status, row.measure_id) == ("reopened", mid)


def test_a_refused_reopen_leaves_the_feedback_open_and_the_measure_unchanged(engine, world):
    mid = world["measures"][0]  # still 已交办: there is nothing to reopen
    fid = submit(engine, world)
    before = measure_row(engine, mid)
    with pytest.raises(spec.Refused):
        feedback.reopen(fid, mid, "office1", reason="群众反馈", now=NOW, engine=engine)
    assert measure_row(engine, mid) == before
    assert (feedback_row(engine, fid).status, feedback_row(engine, fid).measure_id) == ("new", None)


def test_a_reopen_without_a_reason_is_refused_and_leaves_the_feedback_open(engine, world):
    mid = world["measures"][0]
    close(engine, mid)
    fid = submit(engine, world)
    with pytest.raises(spec.Refused) as e:
        feedback.reopen(fid, mid, "office1", reason="", now=NOW + dt.timedelta(hours=1), engine=engine)
    assert e.value.rule == "reason_required"
    assert measure_row(engine, mid).state == spec.CLOSED
    assert feedback_row(engine, fid).status == "new"


def test_a_conflicting_reopen_leaves_the_feedback_open_and_the_measure_unchanged(engine, world):
    mid = world["measures"][0]
    close(engine, mid)
    fid = submit(engine, world)
    before = measure_row(engine, mid)
    with pytest.raises(Conflict) as e:
        feedback.reopen(fid, mid, "office1", reason="群众反馈", expected_version=before.version - 1,
                        now=NOW + dt.timedelta(hours=1), engine=engine)
    assert (e.value.expected, e.value.actual) == (before.version - 1, before.version)
    assert measure_row(engine, mid) == before
    assert feedback_row(engine, fid).status == "new"


def test_a_measure_of_another_problem_is_refused_for_a_reopen_from_feedback(engine, world):
    with db.write_tx(engine) as conn:
        part_id = conn.execute(select(Problem.part_id).where(Problem.id == world["problem"])).scalar()
        other_problem = planwriter.problem(conn, world["plan"], part_id, 2, "另一个问题。")
        other = planwriter.measure(conn, other_problem, 1, "另一项措施", leader_id=world["leader"],
                                   unit_id=world["unit"], owner_id=world["owner"], deadline=None, now=NOW)
    close(engine, other)
    fid = submit(engine, world)
    before = measure_row(engine, other)
    for measure_id in (other, None, 10**6):
        with pytest.raises(feedback.NotOfProblem) as e:
            feedback.reopen(fid, measure_id, "office1", reason="群众反馈", now=NOW + dt.timedelta(hours=1),
                            engine=engine)
        assert e.value.rule == "invalid_input"
    assert measure_row(engine, other) == before
    assert feedback_row(engine, fid).status == "new"


def test_unknown_feedback_is_not_found_for_a_reopen_or_a_dismissal(engine, world):
    with pytest.raises(NotFound):
        feedback.reopen(999, world["measures"][0], "office1", reason="群众反馈", now=NOW, engine=engine)
    with pytest.raises(NotFound):
        feedback.dismiss(999, engine=engine)


def test_a_failure_closing_the_feedback_undoes_the_reopen_too(engine, world):
    """The database itself refuses the feedback's update: the reopen, already written in the same
    transaction, must not survive it (no reopened measure with its feedback still open)."""
    mid = world["measures"][0]
    close(engine, mid)
    fid = submit(engine, world)
    before = measure_row(engine, mid)
    n_events = len(events(engine, mid))
    _refuse_feedback_updates(engine)
    with pytest.raises(DatabaseError):
        feedback.reopen(fid, mid, "office1", reason="群众反馈", now=NOW + dt.timedelta(hours=1), engine=engine)
    assert measure_row(engine, mid) == before
    assert len(events(engine, mid)) == n_events
    assert feedback_row(engine, fid).status == "new"


def _refuse_feedback_updates(engine) -> None:
    with db.write_tx(engine) as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("CREATE TRIGGER no_feedback_update BEFORE UPDATE ON feedback "
                                 "BEGIN SELECT RAISE(ABORT, 'feedback is read-only in this test'); END")
        else:
            conn.exec_driver_sql("CREATE FUNCTION no_feedback_update() RETURNS trigger LANGUAGE plpgsql AS "
                                 "$$ BEGIN RAISE EXCEPTION 'feedback is read-only in this test'; END $$")
            conn.exec_driver_sql("CREATE TRIGGER no_feedback_update BEFORE UPDATE ON feedback "
                                 "FOR EACH ROW EXECUTE FUNCTION no_feedback_update()")


def test_dismissing_feedback_marks_it_handled_without_touching_any_measure(engine, world):
    mid = world["measures"][0]
    fid = submit(engine, world)
    before = measure_row(engine, mid)
    feedback.dismiss(fid, engine=engine)
    assert (feedback_row(engine, fid).status, feedback_row(engine, fid).measure_id) == ("dismissed", None)
    assert measure_row(engine, mid) == before


def test_two_submissions_at_once_on_postgresql_cannot_both_pass_the_limit(pg_engine):
    """A submission in flight (counted, inserted, not yet committed) is invisible to a second
    one under READ COMMITTED; the per-sender lock makes the second wait for it and then count it."""
    world = factory.build(pg_engine, measures=1)
    outcome: list = []
    with pg_engine.connect() as first:
        with first.begin():
            first.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": "feedback:" + SENDER})
            first.execute(Feedback.__table__.insert(), {"problem_id": world["problem"], "text": "第一条",
                                                       "status": "new", "created_at": NOW, "source_hash": SENDER})

            def second():
                try:
                    outcome.append(submit(pg_engine, world, "第二条", minute=1, limit=1))
                except feedback.RateLimited as e:
                    outcome.append(e)

            worker = threading.Thread(target=second)
            worker.start()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not _waiting_for_an_advisory_lock(pg_engine):
                time.sleep(0.05)
        worker.join(timeout=30)
    assert len(outcome) == 1 and isinstance(outcome[0], feedback.RateLimited)
    assert [r.text for r in feedback_rows(pg_engine)] == ["第一条"]


def _waiting_for_an_advisory_lock(engine) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                                      "AND NOT granted")).scalar())
