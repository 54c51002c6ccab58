"""Failover: scheduler leaders killed with SIGKILL at random moments; standbys take over.

Real ``rectify scheduler`` processes on a real database (SQLite and PostgreSQL). A ledger of a
few hundred measures with deadlines spread around today gives every start-up sweep real work,
so a kill may land in the middle of one. Each round: a standby waits, the leader is killed a
random fraction of a second after it took the lead, new overdue measures appear, and the
standby must take the lead within a minute (one round uses the default poll interval of 15 s,
the others a short one). At the end every measure has exactly the escalations its deadline
calls for today, each level recorded once, only the level in force notified, each notice
queued once and delivered, and a further sweep at the same instant finds nothing to do.

The scheduler reads the wall clock, so "today" is the real day in China; a run that crosses
midnight there is skipped rather than judged.
"""
from __future__ import annotations

import datetime as dt
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from sqlalchemy import select, text

from tests import factory
from workflow import audit, db, escalation, planwriter, workdays
from workflow.clock import utcnow
from workflow.models import Escalation, Event, Measure, Outbox

ROOT = Path(__file__).resolve().parents[2]
TAKEOVER_LIMIT = 60.0  # seconds: the promise in the README
OFFSETS = range(-25, 7)  # deadlines from 25 days ago to 6 days ahead: every level, and green


class Scheduler:
    """One ``rectify scheduler`` process whose stderr lines are timestamped as they arrive."""

    def __init__(self, name: str, poll: float):
        env = dict(os.environ, PYTHONUNBUFFERED="1", RECTIFY_DELIVERY_SECONDS="1")
        env.pop("RECTIFY_SMTP_HOST", None)
        self.name = name
        self.proc = subprocess.Popen([sys.executable, "-m", "workflow.cli", "scheduler", "--poll", str(poll)],
                                     cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True)
        self.lines: list[tuple[float, str]] = []
        self._q: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            self._q.put((time.monotonic(), line.rstrip("\n")))

    def wait_for(self, needle: str, timeout: float, after: float = 0.0) -> float | None:
        """The arrival time of the first line containing ``needle`` (arriving after ``after``)."""
        end = time.monotonic() + timeout
        for at, line in self.lines:
            if needle in line and at >= after:
                return at
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return None
            try:
                at, line = self._q.get(timeout=left)
            except queue.Empty:
                return None
            self.lines.append((at, line))
            if needle in line and at >= after:
                return at

    def text(self) -> str:
        while not self._q.empty():
            self.lines.append(self._q.get())
        return "\n".join(f"{self.name}: {line}" for _, line in self.lines[-30:])

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(10)


def add_measures(engine, ids: dict, today: dt.date, per_offset: int, start_seq: int) -> int:
    """``per_offset`` new measures for each deadline offset; returns the next free seq."""
    seq = start_seq
    now = utcnow()
    with db.write_tx(engine) as conn:
        for offset in OFFSETS:
            for _ in range(per_offset):
                planwriter.measure(conn, ids["problem"], seq, f"整改措施 {seq}", leader_id=ids["leader"],
                               unit_id=ids["unit"], owner_id=ids["owner"],
                               deadline=today + dt.timedelta(days=offset), now=now)
                seq += 1
    return seq


def escalation_count(engine) -> int:
    with db.read_tx(engine) as conn:
        return conn.execute(text("SELECT count(*) FROM escalations")).scalar_one()


def check_every_escalation_once(engine, today: dt.date) -> dict:
    """The oracle: each measure's escalations follow from its deadline and today, once each."""
    with db.read_tx(engine) as conn:
        measures = conn.execute(select(Measure.id, Measure.state, Measure.deadline, Measure.level)).all()
        escs = conn.execute(select(Escalation.measure_id, Escalation.level, Escalation.deadline)).all()
        events = conn.execute(select(Event.measure_id, Event.body).where(Event.kind == "escalate")).all()
        notes = conn.execute(select(Outbox.measure_id, Outbox.level, Outbox.recipient_id, Outbox.channel,
                                    Outbox.sent_at).where(Outbox.kind == "escalation")).all()
        unsent = conn.execute(text("SELECT count(*) FROM outbox WHERE sent_at IS NULL AND NOT dead")).scalar_one()
    import json

    levels_recorded = defaultdict(list)
    for mid, body in events:
        b = json.loads(body)
        levels_recorded[mid] += [b["level"], *b.get("skipped", [])]
    escs_of = defaultdict(list)
    for mid, level, deadline in escs:
        escs_of[mid].append((level, deadline))
    notes_of = defaultdict(list)
    for n in notes:
        notes_of[n.measure_id].append(n)
    expected_total = 0
    for m in measures:
        _light, level = workdays.light(m.state, m.deadline, today)
        want = list(range(0, level + 1))
        expected_total += len(want)
        assert sorted(lv for lv, _ in escs_of[m.id]) == want, \
            f"measure {m.id}: escalations {escs_of[m.id]}, want {want}"
        assert all(d == m.deadline for _, d in escs_of[m.id])
        assert sorted(levels_recorded[m.id]) == want, \
            f"measure {m.id}: escalate events record {levels_recorded[m.id]}"
        assert m.level == level, f"measure {m.id}: level {m.level}, want {level}"
        got = notes_of[m.id]
        if level >= 0:
            assert got and {n.level for n in got} == {level}, \
                f"measure {m.id}: notified levels {[n.level for n in got]}"
        else:
            assert not got
        pairs = Counter((n.recipient_id, n.channel) for n in got)
        assert not pairs or max(pairs.values()) == 1, f"measure {m.id}: a notice queued twice {got}"
    again = escalation.sweep(utcnow(), engine)
    assert again.escalated == 0 and again.skipped_levels == 0, f"a later sweep still had work: {again}"
    assert audit.verify(engine) is None
    return {"measures": len(measures), "escalations": len(escs), "expected": expected_total,
            "notices": len(notes), "unsent": unsent}


def wait_delivered(engine, timeout: float = 30) -> int:
    end = time.monotonic() + timeout
    while True:
        with db.read_tx(engine) as conn:
            unsent = conn.execute(text("SELECT count(*) FROM outbox WHERE sent_at IS NULL AND NOT dead")).scalar_one()
        if unsent == 0 or time.monotonic() > end:
            return unsent
        time.sleep(0.5)


def take_over(standbys: list[Scheduler], timeout: float, after: float = 0.0) -> tuple[Scheduler, float]:
    """Wait until one of ``standbys`` says it leads (after ``after``); return it and when it said so."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for s in standbys:
            at = s.wait_for("rectify scheduler: leader", 0.05, after=after)
            if at:
                return s, at
    pytest.fail("no standby took over:\n" + "\n".join(s.text() for s in standbys))


@pytest.mark.slow
def test_standbys_take_over_from_killed_leaders_and_every_escalation_happens_once(engine):
    seed = int(os.environ.get("RECTIFY_FAILOVER_SEED") or random.SystemRandom().getrandbits(32))
    rng = random.Random(seed)
    today = workdays.local_today(utcnow())
    ids = factory.build(engine, measures=1, deadline=today + dt.timedelta(days=60), now=utcnow())
    seq = add_measures(engine, ids, today, per_offset=8, start_seq=100)
    procs: list[Scheduler] = []

    def start(poll: float) -> Scheduler:
        s = Scheduler(f"s{len(procs)}", poll)
        procs.append(s)
        return s

    rounds = []
    try:
        leader = start(2.0)
        took = leader.wait_for("rectify scheduler: leader", 60)
        assert took, leader.text()
        # round 1: one standby with the default poll interval (15 s)
        standbys = [start(15.0)]
        fast_rounds = 4
        for i in range(1 + fast_rounds):
            for s in standbys:
                assert s.wait_for("standby", 60), s.text()
            # kill the leader a random moment after it took the lead: often in its start-up sweep
            time.sleep(max(0.0, took + rng.uniform(0.0, 0.5) - time.monotonic()))
            seq = add_measures(engine, ids, today, per_offset=1, start_seq=seq)
            at_kill = escalation_count(engine)
            leader.kill()
            killed = time.monotonic()
            leader, took = take_over(standbys, TAKEOVER_LIMIT + 5)
            standbys.remove(leader)
            rounds.append({"poll": 15.0 if i == 0 else 2.0, "takeover_s": round(took - killed, 2),
                           "escalations_at_kill": at_kill})
            assert took - killed < TAKEOVER_LIMIT, rounds
            if i == 0:  # from now on two quick standbys wait, so the next kill can come early
                standbys = [start(2.0), start(2.0)]
            elif i < fast_rounds:
                standbys.append(start(2.0))
        assert leader.wait_for("escalation_sweep:", 60, after=took), leader.text()
        unsent = wait_delivered(engine)
        if workdays.local_today(utcnow()) != today:
            pytest.skip("the run crossed midnight in China; escalation levels changed meanwhile")
        stats = check_every_escalation_once(engine, today)
        assert unsent == 0, f"{unsent} notices were never delivered"
    finally:
        codes = {p.name: p.stop() for p in procs if p.proc.returncode is None}
    assert codes.get(leader.name) == 0, leader.text()
    print(f"\nfailover {engine.dialect.name} (seed {seed}): rounds={rounds} {stats}")


@pytest.mark.slow
@pytest.mark.postgres
def test_a_leader_whose_lock_connection_is_cut_steps_down_and_nothing_is_doubled(pg_engine, monkeypatch):
    """The server ends the leader's session (as a network cut would): its advisory lock goes with
    it; the leader notices at its next job or heartbeat and stops its jobs; the first scheduler
    to poll (the standby, or the old leader on a new connection) leads. Whatever ran twice in
    between, the unique keys kept every escalation and notice single."""
    today = workdays.local_today(utcnow())
    ids = factory.build(pg_engine, measures=1, deadline=today + dt.timedelta(days=60), now=utcnow())
    seq = add_measures(pg_engine, ids, today, per_offset=4, start_seq=100)
    monkeypatch.setenv("RECTIFY_SWEEP_MINUTES", "1")  # the new leader sweeps again within a minute
    a = Scheduler("a", poll=1.0)
    b = None
    try:
        assert a.wait_for("rectify scheduler: leader", 60), a.text()
        assert a.wait_for("escalation_sweep:", 60), a.text()
        b = Scheduler("b", poll=1.0)
        assert b.wait_for("standby", 60), b.text()
        add_measures(pg_engine, ids, today, per_offset=2, start_seq=seq)
        with db.read_tx(pg_engine) as conn:
            holders = conn.execute(text(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted")).scalars().all()
            assert len(holders) == 1, holders
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": holders[0]})
        cut = time.monotonic()
        # the old leader finds out at its next job or heartbeat; then whoever polls first leads
        # (often the old leader again, which tries at once)
        assert a.wait_for("leadership lost", 40, after=cut), a.text()
        leader, took = take_over([a, b], TAKEOVER_LIMIT, after=cut)
        assert took - cut < TAKEOVER_LIMIT
        # measures that fall due only now: nobody but the new leader can escalate them
        add_measures(pg_engine, ids, today, per_offset=1, start_seq=seq + 1000)
        end = time.monotonic() + 150
        while True:
            try:
                check_every_escalation_once(pg_engine, today)
                break
            except AssertionError:
                if time.monotonic() > end:
                    raise
                time.sleep(1)
        assert wait_delivered(pg_engine) == 0
        if workdays.local_today(utcnow()) != today:
            pytest.skip("the run crossed midnight in China; escalation levels changed meanwhile")
        stats = check_every_escalation_once(pg_engine, today)
    finally:
        codes = [p.stop() for p in (a, b) if p is not None]
    assert codes == [0, 0]
    print(f"\nlock cut: {leader.name} leads {took - cut:.2f}s after the cut; {stats}")
