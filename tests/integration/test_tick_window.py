"""The jobs' clock cannot be poisoned: ``tick --now`` outside the window real time can be in is refused
before any job runs, and each job's once-keys stand only for work its own transaction did (issue 12, 4)."""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from schedules import jobs
from tests import factory
from workflow import commands, db, escalation, periods, workdays
from workflow.cli import parse_now
from workflow.clock import utcnow
from workflow.models import Checkpoint, Escalation, Event, JobRun, Outbox

TABLES = (JobRun, Outbox, Checkpoint, Escalation, Event)


def counts(engine) -> dict:
    with db.read_tx(engine) as conn:
        return {t.__tablename__: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in TABLES}


def tick(*args):
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    env.pop("RECTIFY_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "workflow.cli", "tick", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def closed_long_term(engine, n=2) -> list[int]:
    """``n`` long-term measures signed off on 2026-12-02, due their first re-check 90 days later."""
    ids = factory.build(engine, measures=n + 1, evidence_waived=True, kind="long_term")
    at = parse_now
    for mid in ids["measures"][:n]:
        commands.fire(mid, "start", "owner1", now=at("2026-12-01T09:00"), engine=engine)
        commands.fire(mid, "submit", "owner1", comment="已建立长效机制", now=at("2026-12-01T10:00"), engine=engine)
        commands.fire(mid, "approve", "leader1", now=at("2026-12-01T11:00"), engine=engine)
        commands.fire(mid, "sign_off", "office1", now=at("2026-12-02T10:00"), engine=engine)
    return ids["measures"][:n]


@pytest.mark.parametrize("instant,words", [
    ("9999-12-31T23:59:59+08:00", "more than a year past the wall clock"),
    ("2003-06-30T10:00", "before 2004"),
])
def test_tick_at_an_instant_outside_the_sane_window_is_refused_before_any_job_runs(engine, instant, words):
    closed_long_term(engine)
    before = counts(engine)
    proc = tick("--now", instant)
    assert proc.returncode == 3, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0] and "bad_instant" in lines[0], proc.stderr
    assert counts(engine) == before  # no checkpoint, no outbox row, no once-key


def test_an_empty_now_is_refused_rather_than_read_as_the_wall_clock(engine):
    factory.build(engine, measures=1)
    before = counts(engine)
    proc = tick("--now", "")
    assert proc.returncode == 3 and "--now is empty" in proc.stderr
    assert counts(engine) == before


def test_run_due_refuses_such_an_instant_too_so_no_caller_can_skip_the_check(engine):
    closed_long_term(engine)
    before = counts(engine)
    with pytest.raises(periods.InstantRefused):
        jobs.run_due(dt.datetime(9999, 12, 31, 15, 59), engine)
    with pytest.raises(periods.InstantRefused):
        jobs.run_due(utcnow() + periods.MAX_AHEAD + dt.timedelta(minutes=1), engine)
    assert counts(engine) == before


def test_a_year_no_holiday_schedule_covers_still_runs_with_the_warning(engine):
    factory.build(engine, measures=1)
    soon = utcnow() + dt.timedelta(days=300)
    proc = tick("--now", soon.replace(tzinfo=dt.UTC).isoformat(), "--job", "escalation_sweep")
    assert proc.returncode == 0, proc.stderr
    year = workdays.local_today(soon).year
    if not workdays.covered(year):
        assert str(year) in proc.stderr


def test_a_job_that_fails_part_way_keeps_only_the_keys_of_the_work_it_committed(engine, monkeypatch):
    first, second = closed_long_term(engine)
    real = escalation.enqueue_localized
    calls = []

    def failing_on_the_second(conn, recipients, kind, text, now, **kw):
        calls.append(kw.get("measure_id"))
        if kw.get("measure_id") == second:
            raise OSError("disk full")
        return real(conn, recipients, kind, text, now, **kw)

    monkeypatch.setattr(escalation, "enqueue_localized", failing_on_the_second)
    due = parse_now("2027-03-02T09:00")
    with pytest.raises(OSError):
        escalation.recheck_reminders(due, engine)
    with db.read_tx(engine) as conn:
        keys = set(conn.execute(select(JobRun.key)).scalars())
        told = [r[0] for r in conn.execute(select(Outbox.measure_id).where(Outbox.kind == "recheck_due"))]
    assert f"recheck:{first}:2027-03-02" in keys and f"recheck:{second}:2027-03-02" not in keys
    assert not any(k.startswith("recheck:2027") for k in keys)  # the period is not marked done
    assert set(told) == {first}
    monkeypatch.setattr(escalation, "enqueue_localized", real)
    again = escalation.recheck_reminders(due, engine)
    assert again.reminded == 1
    with db.read_tx(engine) as conn:
        told = [r[0] for r in conn.execute(select(Outbox.measure_id).where(Outbox.kind == "recheck_due"))]
    assert sorted(set(told)) == sorted({first, second}) and told.count(first) == told.count(second)
