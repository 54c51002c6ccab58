"""Long work as rows of ``jobs``: queued by the web app, claimed under a lease by workers.

Real workers: ``rectify worker --once`` processes racing for one queue, and a worker process
killed with SIGKILL in the middle of a job, on SQLite and on PostgreSQL.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time

import openpyxl
import pytest
from sqlalchemy import select, update

from tests import factory
from workflow import db, jobs, spec
from workflow.clock import utcnow
from workflow.errors import NotFound
from workflow.models import Job

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
J = Job.__table__


@pytest.fixture
def ledger(engine):
    ids = factory.build(engine, measures=4)
    return engine, ids


def row(engine, job_id):
    with db.read_tx(engine) as conn:
        return conn.execute(select(J).where(J.c.id == job_id)).one()


def rectify(*args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "workflow.cli", *args], cwd=ROOT, env=dict(os.environ),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_an_export_is_queued_with_its_row_count_and_done_by_a_worker(ledger):
    engine, ids = ledger
    job = jobs.enqueue_ledger_export(ids["office"], ids["plan"], now=factory.NOW, engine=engine)
    assert jobs.status(job, ids["office"], engine) | {"created_at": None} == {
        "id": job, "kind": "ledger_export", "state": "queued", "done": 0, "total": 4, "error": None,
        "name": f"整改台账-{ids['plan']}-20261130.xlsx", "created_at": None, "finished_at": None}
    with pytest.raises(NotFound):
        jobs.ready_file(job, ids["office"], engine)
    assert jobs.work(engine=engine).as_dict() == {"done": 1, "failed": 0, "lost": 0, "cleaned": 0}
    status = jobs.status(job, ids["office"], engine)
    assert (status["state"], status["done"], status["total"]) == ("done", 4, 4)
    path, name, mimetype = jobs.ready_file(job, ids["office"], engine)
    assert name.endswith(".xlsx") and mimetype.endswith("spreadsheetml.sheet")
    wb = openpyxl.load_workbook(io.BytesIO(path.read_bytes()))
    assert "汇总" in wb.sheetnames
    assert sorted(p.name for p in jobs.folder().iterdir()) == [path.name]  # no part file left behind
    assert row(engine, job).lease_owner is None


def test_bad_parameters_are_refused_at_the_queue_and_nothing_is_written(ledger):
    engine, ids = ledger
    with pytest.raises(NotFound):
        jobs.enqueue_ledger_export(ids["office"], 999, now=factory.NOW, engine=engine)
    with pytest.raises(spec.Refused) as e:
        jobs.enqueue_report(ids["office"], ids["plan"], "pdf", now=factory.NOW, engine=engine)
    assert e.value.rule == "bad_parameter" and "pdf" in e.value.message
    with pytest.raises(spec.Refused):
        jobs.enqueue("backup", {}, ids["office"], now=factory.NOW, engine=engine)
    with db.read_tx(engine) as conn:
        assert conn.execute(select(J.c.id)).all() == []


def test_only_the_owner_may_read_a_job_or_its_file(ledger):
    engine, ids = ledger
    job = jobs.enqueue_report(ids["office"], ids["plan"], "md", now=factory.NOW, engine=engine)
    jobs.work(engine=engine)
    assert jobs.ready_file(job, ids["office"], engine)[0].read_text(encoding="utf-8").startswith("#")
    for other in (ids["leader"], ids["owner"]):
        with pytest.raises(NotFound):
            jobs.status(job, other, engine)
        with pytest.raises(NotFound):
            jobs.ready_file(job, other, engine)
    with pytest.raises(NotFound):
        jobs.status("0" * 32, ids["office"], engine)


def test_progress_is_written_to_the_row_while_the_export_runs(ledger, monkeypatch):
    engine, ids = ledger
    job = jobs.enqueue_ledger_export(ids["office"], ids["plan"], now=factory.NOW, engine=engine)
    seen = []
    real = jobs.KINDS["ledger_export"]

    def watched(path, params, progress, engine_):
        def spy(done):
            progress(done)
            s = jobs.status(job, ids["office"], engine)  # what the progress page reads meanwhile
            seen.append((s["state"], s["done"], s["total"]))
        real.make(path, params, spy, engine_)

    monkeypatch.setitem(jobs.KINDS, "ledger_export", jobs.Kind(real.prepare, watched))
    monkeypatch.setattr(jobs, "EXPORT_BATCH", 1)
    monkeypatch.setattr(jobs, "PROGRESS_EVERY", dt.timedelta(0))
    jobs.work(engine=engine)
    dones = [done for _state, done, _total in seen]
    assert {state for state, _d, _t in seen} == {"running"} and {total for _s, _d, total in seen} == {4}
    assert dones == sorted(dones) and {1, 2, 3, 4} <= set(dones)  # each row counted as it was written
    assert jobs.status(job, ids["office"], engine)["state"] == "done"


def test_a_failed_job_shows_its_error_and_leaves_no_file(ledger, monkeypatch):
    engine, ids = ledger
    job = jobs.enqueue_report(ids["office"], ids["plan"], "docx", now=factory.NOW, engine=engine)

    def broken(path, params, progress, engine_):
        path.write_bytes(b"half a file")
        raise OSError("磁盘空间不足")

    monkeypatch.setitem(jobs.KINDS, "report", jobs.Kind(jobs.KINDS["report"].prepare, broken))
    assert jobs.work(engine=engine).failed == 1
    status = jobs.status(job, ids["office"], engine)
    assert (status["state"], status["error"]) == ("failed", "磁盘空间不足")
    assert status["finished_at"] is not None
    with pytest.raises(NotFound):
        jobs.ready_file(job, ids["office"], engine)
    assert list(jobs.folder().iterdir()) == []
    assert jobs.work(engine=engine).as_dict() == {"done": 0, "failed": 0, "lost": 0, "cleaned": 0}  # not retried


def test_a_claimed_job_is_no_one_elses_until_its_lease_runs_out(ledger):
    engine, ids = ledger
    job = jobs.enqueue_report(ids["office"], ids["plan"], "md", now=factory.NOW, engine=engine)
    t0 = utcnow()
    a = jobs.claim("worker-a", now=t0, engine=engine)
    assert (a.id, a.attempts) == (job, 1)
    assert jobs.claim("worker-b", now=t0 + jobs.LEASE - dt.timedelta(seconds=1), engine=engine) is None
    b = jobs.claim("worker-b", now=t0 + jobs.LEASE + dt.timedelta(seconds=1), engine=engine)
    assert (b.id, b.attempts) == (job, 2)
    # the worker that stalled past its lease can neither report progress nor finish
    with pytest.raises(jobs.LeaseLost):
        jobs.renew(job, "worker-a", now=t0 + jobs.LEASE, engine=engine, done=1)
    part = jobs.folder() / "stale.part"
    part.write_text("stale")
    with pytest.raises(jobs.LeaseLost):
        jobs.finish(job, "worker-a", part, now=t0 + jobs.LEASE, engine=engine)
    assert not jobs.fail(job, "worker-a", "late", now=t0 + jobs.LEASE, engine=engine)
    assert (row(engine, job).state, row(engine, job).lease_owner) == ("running", "worker-b")
    assert jobs.run(b, "worker-b", engine=engine) == "done"
    assert jobs.ready_file(job, ids["office"], engine)[0].read_text(encoding="utf-8").startswith("#")


def test_two_worker_processes_never_run_the_same_job(ledger):
    engine, ids = ledger
    queued = [jobs.enqueue_report(ids["office"], ids["plan"], "md", now=factory.NOW, engine=engine)
              for _ in range(12)]
    procs = [rectify("worker", "--once", "--json") for _ in range(2)]
    outs = [p.communicate(timeout=240) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    counts = [json.loads(out) for out, _err in outs]
    assert sum(c["done"] for c in counts) == len(queued) and not any(c["lost"] or c["failed"] for c in counts)
    with db.read_tx(engine) as conn:
        rows = conn.execute(select(J.c.id, J.c.state, J.c.attempts)).all()
    assert sorted(rows) == sorted((j, "done", 1) for j in queued)  # each claimed exactly once


def test_claims_racing_in_threads_hand_out_each_job_once(ledger):
    engine, ids = ledger
    queued = {jobs.enqueue_report(ids["office"], ids["plan"], "md", now=factory.NOW, engine=engine)
              for _ in range(30)}
    got: list[str] = []
    barrier = threading.Barrier(4)

    def claimer(name):
        barrier.wait()
        while (c := jobs.claim(name, now=utcnow(), engine=engine)) is not None:
            got.append(c.id)

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(got) == sorted(queued)


KILLED_WORKER = """
import sys, time, datetime as dt
from workflow import jobs

def stuck(path, params, progress, engine):
    progress(1)
    print("working", flush=True)
    time.sleep(600)

jobs.KINDS["ledger_export"] = jobs.Kind(jobs.KINDS["ledger_export"].prepare, stuck)
jobs.work("doomed", lease=dt.timedelta(seconds=float(sys.argv[1])))
"""


def test_a_killed_workers_job_is_claimed_again_after_its_lease(ledger):
    engine, ids = ledger
    job = jobs.enqueue_ledger_export(ids["office"], ids["plan"], now=factory.NOW, engine=engine)
    proc = subprocess.Popen([sys.executable, "-c", KILLED_WORKER, "3"], cwd=ROOT, env=dict(os.environ),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "working", proc.stderr.read()
        time.sleep(1.5)  # the heartbeat renews the lease meanwhile
        killed_at = utcnow()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    r = row(engine, job)
    assert (r.state, r.lease_owner, r.done, r.attempts) == ("running", "doomed", 1, 1)
    assert r.lease_expires > killed_at  # renewed by the heartbeat: the job is still held
    assert jobs.claim("rescuer", now=killed_at, engine=engine) is None
    result = jobs.work("rescuer", clock=lambda: r.lease_expires + dt.timedelta(seconds=1), engine=engine)
    assert (result.done, result.lost) == (1, 0)
    status = jobs.status(job, ids["office"], engine)
    assert (status["state"], status["done"], status["total"]) == ("done", 4, 4)
    assert row(engine, job).attempts == 2
    assert jobs.ready_file(job, ids["office"], engine)[0].read_bytes()[:2] == b"PK"


def test_a_job_whose_workers_keep_dying_fails_instead_of_going_round(ledger):
    engine, ids = ledger
    job = jobs.enqueue_report(ids["office"], ids["plan"], "md", now=factory.NOW, engine=engine)
    t = utcnow()
    for attempt in range(1, jobs.MAX_ATTEMPTS + 1):
        assert jobs.claim(f"dies-{attempt}", now=t, engine=engine).attempts == attempt
        t += jobs.LEASE + dt.timedelta(seconds=1)
    assert jobs.claim("next", now=t, engine=engine) is None
    jobs.clean(now=t, engine=engine)
    status = jobs.status(job, ids["office"], engine)
    assert (status["state"], status["error"]) == ("failed", jobs.LOST_TEXT)


def test_finished_jobs_and_their_files_are_removed_after_a_day(ledger):
    engine, ids = ledger
    old = jobs.enqueue_report(ids["office"], ids["plan"], "html", now=factory.NOW, engine=engine)
    jobs.work(engine=engine)
    path = jobs.ready_file(old, ids["office"], engine)[0]
    new = jobs.enqueue_report(ids["office"], ids["plan"], "md", now=factory.NOW, engine=engine)
    finished = row(engine, old).finished_at
    assert jobs.clean(now=finished + jobs.KEEP - dt.timedelta(minutes=1), engine=engine) == 0
    assert path.exists()
    assert jobs.clean(now=finished + jobs.KEEP + dt.timedelta(minutes=1), engine=engine) == 1
    assert not path.exists()
    with pytest.raises(NotFound):
        jobs.status(old, ids["office"], engine)
    assert jobs.status(new, ids["office"], engine)["state"] == "queued"  # queued work is never cleaned


def test_the_schedulers_jobs_job_does_the_queue(ledger):
    from schedules import jobs as scheduled

    engine, ids = ledger
    job = jobs.enqueue_report(ids["office"], ids["plan"], "md", now=factory.NOW, engine=engine)
    result = scheduled.run_due(factory.NOW, engine, only={"jobs"})
    assert result == {"jobs": {"done": 1, "failed": 0, "lost": 0, "cleaned": 0}}
    assert jobs.status(job, ids["office"], engine)["state"] == "done"
    with db.write_tx(engine) as conn:  # a leftover lease on a finished job changes nothing
        conn.execute(update(J).values(lease_expires=factory.NOW))
    assert scheduled.run_due(factory.NOW, engine, only={"jobs"})["jobs"]["done"] == 0


def test_the_scheduler_process_does_queued_work_beside_the_web_app(ledger):
    engine, ids = ledger
    job = jobs.enqueue_ledger_export(ids["office"], ids["plan"], now=factory.NOW, engine=engine)
    env = dict(os.environ, RECTIFY_JOBS_SECONDS="0.5", RECTIFY_LOG_FORMAT="text")
    env.pop("RECTIFY_SMTP_HOST", None)
    proc = subprocess.Popen([sys.executable, "-m", "workflow.cli", "scheduler", "--poll", "1"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while jobs.status(job, ids["office"], engine)["state"] != "done" and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.2)
        assert jobs.status(job, ids["office"], engine)["state"] == "done"
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "jobs: done=1" in err
    assert jobs.ready_file(job, ids["office"], engine)[0].read_bytes()[:2] == b"PK"
