"""The scheduler: `rectify tick`, digest periods, catch-up, concurrent runners, leadership."""
from __future__ import annotations

import datetime as dt
import json
import os
import queue as queue_mod
import signal
import subprocess
import sys
import threading
from collections import Counter

import pytest
from sqlalchemy import func, select, text, update

from schedules import jobs, wiring
from tests import factory
from workflow import audit, commands, db, digests, planwriter, workdays
from workflow.cli import parse_now
from workflow.clock import utcnow
from workflow.leader_lock import LeaderLock
from workflow.models import Checkpoint, Escalation, Event, JobRun, Measure, Outbox, User

at = parse_now
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def rectify(*args, env_extra=None) -> subprocess.Popen:
    env = dict(os.environ, PYTHONUNBUFFERED="1", **(env_extra or {}))
    env.pop("RECTIFY_SMTP_HOST", None)
    return subprocess.Popen([sys.executable, "-m", "workflow.cli", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def tick(engine, when: str, *only):
    return jobs.run_due(at(when), engine, only=set(only) or None)


def outbox(engine, kind=None):
    q = select(User.username, Outbox.channel, Outbox.kind, Outbox.measure_id, Outbox.level, Outbox.key,
               Outbox.subject, Outbox.body).join(User, User.id == Outbox.recipient_id).order_by(Outbox.id)
    if kind:
        q = q.where(Outbox.kind == kind)
    with db.read_tx(engine) as conn:
        return conn.execute(q).all()


def runs(engine, prefix):
    with db.read_tx(engine) as conn:
        return sorted(r[0] for r in conn.execute(select(JobRun.key).where(JobRun.key.like(prefix + "%"))))


# --- periods ------------------------------------------------------------------------------------

def test_periods_start_at_their_scheduled_instant_in_china_time():
    assert digests.week_period(at("2026-12-07T08:59")) == dt.date(2026, 11, 30)
    assert digests.week_period(at("2026-12-07T09:00")) == dt.date(2026, 12, 7)
    assert digests.week_period(at("2026-12-13T23:59")) == dt.date(2026, 12, 7)
    assert digests.week_key(dt.date(2026, 11, 30)) == "weekly:2026-W49"
    assert digests.month_period(at("2026-12-01T08:59")) == (2026, 10)
    assert digests.month_period(at("2026-12-01T09:00")) == (2026, 11)
    assert digests.month_period(at("2027-01-15T12:00")) == (2026, 12)
    assert digests.day_period(at("2026-12-02T00:29"), digests.CHECKPOINT_AT) == dt.date(2026, 12, 1)
    assert digests.day_period(at("2026-12-02T00:30"), digests.CHECKPOINT_AT) == dt.date(2026, 12, 2)


def test_the_weekly_report_goes_once_per_period_to_unit_heads_and_the_office(engine):
    ids = factory.build(engine, measures=3, deadline=dt.date(2026, 12, 2), evidence_waived=True)
    a, b, c = ids["measures"]
    with db.write_tx(engine) as conn:
        conn.execute(update(Measure.__table__).where(Measure.id == b).values(deadline=dt.date(2026, 11, 20)))
        other = planwriter.measure(conn, ids["problem"], 9, "住建局的措施", leader_id=ids["leader"],
                               unit_id=conn.execute(text("SELECT id FROM org_units WHERE name='住建局'")).scalar(),
                               owner_id=ids["other_owner"], deadline=dt.date(2027, 3, 1), now=factory.NOW)
    commands.fire(c, "start", "owner1", now=at("2026-11-30T09:00"), engine=engine)
    commands.fire(c, "submit", "owner1", comment="已完成", now=at("2026-11-30T09:30"), engine=engine)

    first = tick(engine, "2026-11-30T09:00", "weekly_report")["weekly_report"]
    assert first["period"] == "weekly:2026-W49" and not first["done_before"]
    assert sorted(first["sent"]) == ["weekly:2026-W49:office", f"weekly:2026-W49:unit:{ids['unit']}"]
    reports = outbox(engine, "weekly_report")
    assert sorted(r.username for r in reports) == ["head1", "office1"]  # 住建局 has nothing this week
    unit_report = next(r for r in reports if r.username == "head1")
    assert unit_report.subject == "整改周报告（水利局，2026-11-30—2026-12-06）"
    assert "本周到期 1 项，已逾期 1 项，待审核/待销号 1 项" in unit_report.body
    assert f"措施 {a}（问题1）" in unit_report.body and "已逾期 6 个工作日" in unit_report.body
    assert f"措施 {other}" not in unit_report.body

    for when in ("2026-11-30T18:00", "2026-12-03T10:00", "2026-12-07T08:59"):
        assert tick(engine, when, "weekly_report")["weekly_report"]["done_before"]
    assert len(outbox(engine, "weekly_report")) == 2
    nxt = tick(engine, "2026-12-07T09:00", "weekly_report")["weekly_report"]
    assert nxt["period"] == "weekly:2026-W50" and not nxt["done_before"]


def test_after_downtime_only_the_current_period_is_caught_up_once(engine):
    factory.build(engine, measures=2, deadline=dt.date(2026, 12, 2))
    tick(engine, "2026-11-30T10:00")
    # the scheduler is down until Wednesday of the third week after, then restarts twice
    tick(engine, "2027-01-20T15:00")
    tick(engine, "2027-01-20T15:10")
    assert runs(engine, "weekly:") == sorted([
        "weekly:2026-W49", "weekly:2026-W49:office", "weekly:2026-W49:unit:1",
        "weekly:2027-W03", "weekly:2027-W03:office", "weekly:2027-W03:unit:1"])
    # Nov 30 is in the period that began Nov 1 09:00 (October's summary); November's fell in the gap
    assert runs(engine, "monthly:") == ["monthly:2026-10", "monthly:2026-12"]
    assert runs(engine, "checkpoint:") == ["checkpoint:2026-11-30", "checkpoint:2027-01-20"]
    with db.read_tx(engine) as conn:
        assert conn.execute(select(func.count()).select_from(Checkpoint)).scalar() == 2
    # each measure went straight to L3 with a single message per recipient
    assert Counter((r.measure_id, r.level) for r in outbox(engine, "escalation")) == {
        (1, 0): 1, (2, 0): 1, (1, 3): 2, (2, 3): 2}


def test_the_monthly_summary_reports_completion_and_on_time_rate_against_original_deadlines(engine):
    ids = factory.build(engine, measures=3, deadline=dt.date(2026, 11, 20), evidence_waived=True)
    a, b, c = ids["measures"]
    for mid, closed in ((a, "2026-11-18T10:00"), (b, "2026-11-25T10:00")):
        commands.fire(mid, "start", "owner1", now=at("2026-11-02T10:00"), engine=engine)
        commands.fire(mid, "submit", "owner1", comment="完成", now=at(closed), engine=engine)
        commands.fire(mid, "approve", "leader1", now=at(closed), engine=engine)
        commands.fire(mid, "sign_off", "office1", now=at(closed), engine=engine)
    res = tick(engine, "2026-12-01T09:00", "monthly_summary")["monthly_summary"]
    assert res["sent"] == ["monthly:2026-11"]
    rows = outbox(engine, "monthly_summary")
    assert sorted(r.username for r in rows) == ["leader1", "leader2", "office1"]
    body = rows[0].body
    assert rows[0].subject == "整改月总结（2026年11月）"
    assert "整改措施 3 项，已销号 2 项（本月 2 项），完成率 66.7%" in body
    assert "按原定时限应完成 3 项，按期完成 1 项，按期完成率 33.3%" in body
    assert "| 水利局 | 3 | 2 | 66.7% | 3 | 1 | 33.3% | 0 | 0 | 0 | 1 |" in body
    assert tick(engine, "2026-12-20T09:00", "monthly_summary")["monthly_summary"]["done_before"]


def test_the_daily_checkpoint_is_recorded_once_from_0030(engine):
    factory.build(engine, measures=1)
    assert tick(engine, "2026-12-02T00:29", "audit_checkpoint")["audit_checkpoint"]["period"] == "checkpoint:2026-12-01"
    assert tick(engine, "2026-12-02T00:30", "audit_checkpoint")["audit_checkpoint"]["sent"] == ["checkpoint:2026-12-02"]
    assert tick(engine, "2026-12-02T23:00", "audit_checkpoint")["audit_checkpoint"]["done_before"]
    with db.read_tx(engine) as conn:
        assert sorted(r[0] for r in conn.execute(select(Checkpoint.day))) == [dt.date(2026, 12, 1), dt.date(2026, 12, 2)]
    assert audit.check_checkpoints(engine) is None


# --- the command line ----------------------------------------------------------------------------

def test_tick_prints_json_counts_and_refuses_a_bad_instant(sqlite_engine):
    factory.build(sqlite_engine, measures=2, deadline=dt.date(2026, 12, 2))
    p = rectify("tick", "--now", "2026-12-09T10:00+08:00", "--json")
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    doc = json.loads(out)
    assert doc["now"] == "2026-12-09T02:00:00Z"
    assert list(doc["jobs"]) == list(jobs.JOB_IDS)
    assert doc["jobs"]["escalation_sweep"]["escalated"] == 2
    assert doc["jobs"]["delivery"]["inbox"] >= 4
    p = rectify("tick", "--now", "next tuesday")
    out, err = p.communicate(timeout=60)
    assert p.returncode == 3 and out == ""
    assert err.strip() == "rectify: not an ISO 8601 time: next tuesday"


def test_two_concurrent_tick_processes_produce_no_duplicate(engine):
    ids = factory.build(engine, measures=100, deadline=dt.date(2026, 12, 2))
    with db.write_tx(engine) as conn:  # spread the deadlines over every rung of the ladder
        for i, mid in enumerate(ids["measures"]):
            conn.execute(update(Measure.__table__).where(Measure.id == mid).values(
                deadline=dt.date(2026, 11, 10) + dt.timedelta(days=i % 40)))
    procs = [rectify("tick", "--now", "2026-12-07T10:00", "--json") for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [e for _, e in outs]
    docs = [json.loads(o)["jobs"] for o, _ in outs]
    assert sum(d["escalation_sweep"]["escalated"] for d in docs) == sum(
        1 for mid in ids["measures"] if _expected_level(engine, mid, "2026-12-07T10:00") >= 0)
    with db.read_tx(engine) as conn:
        events = Counter(r[0] for r in conn.execute(select(Event.measure_id).where(Event.kind == "escalate")))
        keys = Counter(r[0] for r in conn.execute(select(Outbox.key).where(Outbox.key.is_not(None))))
        per_level = Counter((r.measure_id, r.level, r.recipient_id, r.channel) for r in conn.execute(
            select(Outbox.measure_id, Outbox.level, Outbox.recipient_id, Outbox.channel)
            .where(Outbox.kind == "escalation")))
        orders = [r[0] for r in conn.execute(select(Escalation.order_no).where(Escalation.order_no.is_not(None)))]
    assert set(events.values()) == {1}
    assert set(keys.values()) == {1} and set(per_level.values()) == {1}
    assert len(orders) == len(set(orders)) and sorted(orders)[0] == "DB-2026-0001"
    assert sorted(orders)[-1] == f"DB-2026-{len(orders):04d}"
    assert sum(1 for d in docs if d["weekly_report"]["sent"]) >= 1
    assert len(outbox(engine, "weekly_report")) == 2  # head1 and office1, once
    assert runs(engine, "checkpoint:") == ["checkpoint:2026-12-07"]
    assert audit.verify(engine) is None


def _expected_level(engine, mid, when):
    with db.read_tx(engine) as conn:
        row = conn.execute(select(Measure.state, Measure.deadline).where(Measure.id == mid)).first()
    return workdays.light(row.state, row.deadline, workdays.local_today(at(when)))[1]


# --- the scheduler process -------------------------------------------------------------------------

def test_the_scheduler_wires_every_job_under_a_fixed_id_in_china_time(sqlite_engine):
    lock = LeaderLock(sqlite_engine)
    sched = wiring.build(sqlite_engine, lock, start_now=False)
    got = {j.id: j for j in sched.get_jobs()}
    assert set(got) == set(jobs.JOB_IDS) | {wiring.HEARTBEAT_ID}
    assert str(sched.timezone) == "Asia/Shanghai"
    start = dt.datetime(2026, 12, 1, 12, 0, tzinfo=workdays.TZ)  # a Tuesday
    nxt = {k: j.trigger.get_next_fire_time(None, start) for k, j in got.items()}
    assert nxt["weekly_report"] == dt.datetime(2026, 12, 7, 9, 0, tzinfo=workdays.TZ)
    assert nxt["monthly_summary"] == dt.datetime(2027, 1, 1, 9, 0, tzinfo=workdays.TZ)
    assert nxt["audit_checkpoint"] == dt.datetime(2026, 12, 2, 0, 30, tzinfo=workdays.TZ)
    assert nxt["recheck_reminders"] == dt.datetime(2026, 12, 2, 8, 0, tzinfo=workdays.TZ)
    assert got["escalation_sweep"].trigger.interval == dt.timedelta(minutes=10)
    assert got["delivery"].trigger.interval == dt.timedelta(seconds=30)
    for j in got.values():
        assert (j.coalesce, j.max_instances, j.misfire_grace_time) == (True, 1, wiring.MISFIRE_GRACE)


def test_only_one_process_holds_the_leader_lock_at_a_time(engine):
    a, b = LeaderLock(engine), LeaderLock(engine)
    try:
        assert a.try_acquire() and a.still_held()
        assert not b.try_acquire()
        a.release()
        assert b.try_acquire() and not a.try_acquire()
    finally:
        a.release()
        b.release()


class Lines:
    """Collect a process's stderr lines on a thread."""

    def __init__(self, proc):
        self.q: queue_mod.Queue[str] = queue_mod.Queue()
        self.lines: list[str] = []
        threading.Thread(target=self._read, args=(proc.stderr,), daemon=True).start()

    def _read(self, stream):
        for line in stream:
            self.q.put(line)

    def wait_for(self, needle: str, timeout: float) -> bool:
        end = dt.datetime.now() + dt.timedelta(seconds=timeout)
        while dt.datetime.now() < end:
            try:
                line = self.q.get(timeout=max(0.01, (end - dt.datetime.now()).total_seconds()))
            except queue_mod.Empty:
                break
            self.lines.append(line)
            if needle in line:
                return True
        return False


@pytest.mark.slow
def test_a_standby_scheduler_takes_over_when_the_leader_is_killed(engine):
    today = workdays.local_today(utcnow())
    ids = factory.build(engine, measures=2, deadline=today - dt.timedelta(days=40), now=utcnow())
    env = {"RECTIFY_LEADER_POLL": "0.2"}
    first = rectify("scheduler", env_extra=env)
    out1 = Lines(first)
    second = None
    try:
        assert out1.wait_for("leader", 60), out1.lines
        second = rectify("scheduler", env_extra=env)
        out2 = Lines(second)
        assert out2.wait_for("standby", 60), out2.lines
        assert out1.wait_for("escalation_sweep: ", 60), out1.lines  # the startup catch-up ran the sweep
        first.send_signal(signal.SIGKILL)
        first.wait(30)
        assert out2.wait_for("rectify scheduler: leader", 30), out2.lines
        second.send_signal(signal.SIGTERM)
        second.wait(30)
        assert second.returncode == 0
        assert out2.wait_for("stopped", 10)
    finally:
        for p in (first, second):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()
    with db.read_tx(engine) as conn:
        events = Counter(r[0] for r in conn.execute(select(Event.measure_id).where(Event.kind == "escalate")))
    assert events == {mid: 1 for mid in ids["measures"]}


def test_bench_sweep_prints_the_promised_keys_and_sweeps_exactly_the_due_measures(tmp_path):
    env = dict(os.environ, TMPDIR=str(tmp_path), RECTIFY_INSTANCE=str(tmp_path),
               RECTIFY_DATABASE_URL=f"sqlite:///{tmp_path / 'untouched.db'}")
    p = subprocess.run([sys.executable, "-m", "workflow.cli", "bench", "sweep", "--json", "--n", "20000"], cwd=ROOT,
                       env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    data = json.loads(p.stdout)
    assert (data["due"], data["small_total"], data["large_total"]) == (20, 200, 20000)
    assert data["escalated"] == data["due"]
    assert data["small_s"] > 0 and data["large_s"] > 0
    assert data["ratio"] == pytest.approx(data["large_s"] / data["small_s"], rel=1e-2)
    assert not (tmp_path / "untouched.db").exists()
    assert not [x for x in tmp_path.iterdir() if x.name.startswith("rectify-bench-")]


def test_a_period_key_is_recorded_once_in_the_callers_transaction(engine):
    from workflow import periods

    now = at("2026-12-02T10:00")
    with db.write_tx(engine) as conn:
        assert periods.once(conn, "test:2026-12-02", now, {"made": 1, "说明": "一次"})
        assert not periods.once(conn, "test:2026-12-02", now, {"made": 2})
        assert periods.done(conn, "test:2026-12-02")
    try:
        with db.write_tx(engine) as conn:  # work that fails takes its key with it
            assert periods.once(conn, "test:2026-12-03", now)
            raise RuntimeError("the work failed")
    except RuntimeError:
        pass
    assert periods.done_in(engine, "test:2026-12-02") and not periods.done_in(engine, "test:2026-12-03")
    with db.read_tx(engine) as conn:
        assert conn.execute(select(JobRun.result).where(JobRun.key == "test:2026-12-02")).scalar_one() == \
            '{"made": 1, "说明": "一次"}'
