"""Two OS processes fire conflicting triggers on one measure at the same instant.

Each round both processes wait at a barrier and then fire. Exactly one wins; the other gets a
Conflict (when it sent the version it had read, like an ``If-Match``) or a ``wrong_state``
refusal (when it did not); exactly one event and one set of outbox rows are written, and
every chain still verifies.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import queue as queue_mod

import pytest
from sqlalchemy import func, select

from tests import factory
from tests.conftest import png_bytes
from workflow import audit, commands, db, evidence, planwriter
from workflow.models import Event, Outbox

ROUNDS = 3  # per variant (with and without the version)
LINGER_S = 0.4
NOTICE_KIND = {"approve": "awaiting_sign_off", "return": "returned"}


def _worker(env: dict, jobs: list, barrier, results, inside) -> None:
    """Runs in a fresh (spawned) interpreter: one fire per round, right after the barrier.

    A job's ``mode``: ``race`` fires at once; ``linger`` holds the transaction open for a while
    after writing its event and outbox rows, and sets ``inside`` meanwhile; ``follow`` fires
    only once the other process is inside, so the two transactions surely overlap.
    """
    os.environ.update(env)
    import time

    from workflow import commands as wcommands, db as wdb, spec as wspec
    from workflow.commands import hot as whot
    from workflow.errors import Conflict as WConflict

    lingering = {"on": False}
    real_rows = whot.notify_rows

    def outbox_and_linger(*a, **kw):
        n = real_rows(*a, **kw)
        if lingering["on"]:
            inside.set()
            time.sleep(LINGER_S)
        return n

    whot.notify_rows = outbox_and_linger
    engine = wdb.get_engine()
    with engine.connect():
        pass  # open the pooled connection before the race, not during it
    for i, (mid, trigger, actor, kw, mode) in enumerate(jobs):
        lingering["on"] = mode == "linger"
        try:
            barrier.wait(timeout=120)
            if mode == "follow":
                if not inside.wait(timeout=60):
                    raise TimeoutError("the other process never got inside its transaction")
                inside.clear()
        except Exception as e:  # the other side died; report and stop
            results.put((i, actor, f"error:barrier:{type(e).__name__}"))
            return
        try:
            r = wcommands.fire(mid, trigger, actor, engine=engine, **kw)
            results.put((i, actor, f"ok:{r.version}"))
        except WConflict:
            results.put((i, actor, "conflict"))
        except wspec.Refused as e:
            results.put((i, actor, f"refused:{e.rule}"))
        except Exception as e:  # anything else is a failure of the engine
            results.put((i, actor, f"error:{type(e).__name__}:{str(e).splitlines()[0][:200]}"))


def _race(jobs_a: list, jobs_b: list) -> list[list[tuple[str, str]]]:
    """Run the two job lists in two spawned processes, round by round; (actor, outcome) per round."""
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(2)
    results = ctx.Queue()
    inside = ctx.Event()
    env = {k: os.environ[k] for k in ("RECTIFY_DATABASE_URL", "RECTIFY_INSTANCE")}
    procs = [ctx.Process(target=_worker, args=(env, jobs, barrier, results, inside)) for jobs in (jobs_a, jobs_b)]
    for p in procs:
        p.start()
    out: dict[int, list[tuple[str, str]]] = {}
    try:
        for _ in range(2 * len(jobs_a)):
            i, actor, outcome = results.get(timeout=180)
            out.setdefault(i, []).append((actor, outcome))
    except queue_mod.Empty:
        pytest.fail(f"a worker did not answer; got {out}")
    finally:
        for p in procs:
            p.join(timeout=60)
            if p.is_alive():
                p.kill()
    return [sorted(out[i]) for i in range(len(jobs_a))]


def _submitted_measures(engine, n: int) -> list[int]:
    ids = factory.build(engine, measures=n)
    with db.write_tx(engine) as conn:  # a second approver: the leader's deputy
        planwriter.user(conn, "deputy1", "分管领导甲的代理人", ["leader"], "管委会")
        planwriter.delegate(conn, "leader1", "deputy1")
    for k, mid in enumerate(ids["measures"]):
        commands.fire(mid, "start", "owner1", engine=engine, now=factory.NOW)
        commands.fire(mid, "submit", "owner1", comment="已完成", engine=engine, now=factory.NOW,
                 evidence=[evidence.store(png_bytes(100 + k), "p.png")])
    return ids["measures"]


def _events(engine, mid):
    with db.read_tx(engine) as conn:
        return conn.execute(select(Event.kind, Event.actor).where(Event.measure_id == mid).order_by(Event.seq)).all()


def _outbox_kinds(engine, mid) -> dict:
    with db.read_tx(engine) as conn:
        return dict(conn.execute(select(Outbox.kind, func.count()).where(Outbox.measure_id == mid)
                                 .group_by(Outbox.kind)).all())


def _kw(send_version: bool, **extra) -> dict:
    kw = {"now": factory.NOW, **extra}
    if send_version:
        kw["expected_version"] = 3  # what both read before the race
    return kw


def _variants(measures: list[int]):
    """Half the rounds send the version they read, half fire blind."""
    for k, mid in enumerate(measures):
        yield mid, k % 2 == 0


def _check_one_winner(engine, mid, outcomes, send_version):
    losing = {"conflict"} if send_version else {"refused:wrong_state", "conflict"}
    oks = [o for o in outcomes if o[1].startswith("ok:")]
    others = [o for o in outcomes if not o[1].startswith("ok:")]
    assert len(oks) == 1 and len(others) == 1, outcomes
    assert others[0][1] in losing, outcomes
    assert oks[0][1] == "ok:4", outcomes
    events = _events(engine, mid)
    assert [k for k, _ in events] == ["create", "start", "submit", events[-1].kind], events
    assert len(events) == 4, events  # exactly one event, the winner's
    assert events[-1].actor == oks[0][0]
    return events[-1]


def test_approve_and_return_at_the_same_instant_have_exactly_one_winner(engine):
    measures = _submitted_measures(engine, 2 * ROUNDS)
    jobs_a, jobs_b = [], []
    for mid, send in _variants(measures):
        jobs_a.append((mid, "approve", "leader1", _kw(send), "race"))
        jobs_b.append((mid, "return", "deputy1", _kw(send, reason="材料不全"), "race"))
    for (mid, send), outcomes in zip(_variants(measures), _race(jobs_a, jobs_b)):
        winner = _check_one_winner(engine, mid, outcomes, send)
        # one set of outbox rows: the submission's and the winner's, nothing of the loser's
        assert _outbox_kinds(engine, mid) == {"awaiting_approval": 1, NOTICE_KIND[winner.kind]: 1}
    assert audit.verify(engine) is None


def test_two_approvals_at_the_same_instant_write_one_event(engine):
    measures = _submitted_measures(engine, 2 * ROUNDS)
    jobs_a, jobs_b = [], []
    for mid, send in _variants(measures):
        jobs_a.append((mid, "approve", "leader1", _kw(send), "race"))
        jobs_b.append((mid, "approve", "deputy1", _kw(send), "race"))
    for (mid, send), outcomes in zip(_variants(measures), _race(jobs_a, jobs_b)):
        assert _check_one_winner(engine, mid, outcomes, send).kind == "approve"
        assert _outbox_kinds(engine, mid) == {"awaiting_approval": 1, "awaiting_sign_off": 1}
    assert audit.verify(engine) is None


def test_a_trigger_fired_while_another_transaction_is_open_waits_and_loses(engine):
    """The first writer holds its transaction open; the second must wait for it, then lose."""
    measures = _submitted_measures(engine, 4)
    jobs_a, jobs_b = [], []
    for k, (mid, send) in enumerate(_variants(measures)):
        jobs_a.append((mid, "approve", "leader1", _kw(send), "linger"))
        if k < 2:
            jobs_b.append((mid, "return", "deputy1", _kw(send, reason="材料不全"), "follow"))
        else:
            jobs_b.append((mid, "approve", "deputy1", _kw(send), "follow"))
    for (mid, send), outcomes in zip(_variants(measures), _race(jobs_a, jobs_b)):
        assert dict(outcomes)["leader1"] == "ok:4", outcomes  # the one inside its transaction wins
        assert dict(outcomes)["deputy1"] == ("conflict" if send else "refused:wrong_state"), outcomes
        winner = _check_one_winner(engine, mid, outcomes, send)
        assert (winner.kind, winner.actor) == ("approve", "leader1")
        assert _outbox_kinds(engine, mid) == {"awaiting_approval": 1, "awaiting_sign_off": 1}
    assert audit.verify(engine) is None


def _checkpoint_worker(env: dict, barrier, results, inside, linger: bool) -> None:
    """Record the day's audit checkpoint; with ``linger``, pause after the existence check."""
    os.environ.update(env)
    import time

    from workflow import audit as waudit, db as wdb

    if linger:
        real_digest = waudit.heads_digest

        def digest_slowly(conn):
            inside.set()
            time.sleep(LINGER_S)
            return real_digest(conn)

        waudit.heads_digest = digest_slowly
    engine = wdb.get_engine()
    with engine.connect():
        pass
    barrier.wait(timeout=120)
    if not linger and not inside.wait(timeout=60):
        results.put(("error", "the other process never got inside"))
        return
    try:
        results.put(("ok", waudit.record_checkpoint(factory.NOW.date(), factory.NOW, engine=engine)))
    except Exception as e:
        results.put(("error", f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"))


def test_two_processes_recording_the_same_days_checkpoint_record_it_once(engine):
    from workflow.models import Checkpoint

    _submitted_measures(engine, 1)
    ctx = mp.get_context("spawn")
    barrier, results, inside = ctx.Barrier(2), ctx.Queue(), ctx.Event()
    env = {k: os.environ[k] for k in ("RECTIFY_DATABASE_URL", "RECTIFY_INSTANCE")}
    procs = [ctx.Process(target=_checkpoint_worker, args=(env, barrier, results, inside, linger))
             for linger in (True, False)]
    for p in procs:
        p.start()
    try:
        outcomes = sorted(results.get(timeout=180) for _ in procs)
    finally:
        for p in procs:
            p.join(timeout=60)
            if p.is_alive():
                p.kill()
    assert outcomes == [("ok", False), ("ok", True)], outcomes
    with db.read_tx(engine) as conn:
        assert conn.execute(select(func.count()).select_from(Checkpoint.__table__)).scalar_one() == 1
    assert audit.check_checkpoints(engine) is None
