"""``rectify bench sweep``: the escalation sweep's cost follows the measures due, not the ledger's size.

Two SQLite databases are built with bulk inserts (raw ``sqlite3`` ``executemany``, schema from
the migrations): ``due`` measures (default 1,000) near or past their deadline, among
``small_total`` (10,000) and ``large_total`` (1,000,000, or ``--n``; a smaller ``--n`` scales
the small database and the due count down with it) measures in all. Every
measure has its ``create`` event on its hash chain. The measures that are not due are what a
real ledger holds besides: signed off (closed), or open with a deadline weeks to months away.
Each file is checkpointed and synced to disk after the bulk load, so the timed sweep does not pay
for flushing the load's pages. Then :func:`workflow.escalation.sweep` runs once on each, at the same
instant, and is timed:
the indexed query plus, for every due measure, the escalation rows, audit event, light history
and outbox rows. ``ratio = large_s / small_s``; the design target is ≤ 2. The figures are
measured, never asserted; the sanity checks only make sure both sweeps did the same work.

JSON keys: ``due, small_total, large_total, small_s, large_s, ratio`` and, for reading the
result, ``small_query_s, large_query_s`` (the candidate query alone, best of 5),
``escalated`` and ``build_s``.
"""
from __future__ import annotations

import datetime as dt
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

from .common import MEASURE_COLUMNS, bulk_connection, bulk_insert, insert_org_and_plan, problem_of

NOW = dt.datetime(2026, 12, 15, 2, 0)  # Tuesday 10:00 in China
UNITS = 40



def _say(msg: str) -> None:
    print(f"bench sweep: {msg}", file=sys.stderr, flush=True)


def _ts(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S.%f")


def build(path: Path, total: int, due: int, seed: int = 7) -> None:
    """A migrated SQLite file with ``total`` measures of which ``due`` are due at :data:`NOW`."""
    from workflow import audit, db, escalation, workdays

    url = f"sqlite:///{path}"
    db.init_db(url)
    db.reset_engines()
    today = workdays.local_today(NOW)
    bounds = escalation.thresholds(today, workdays.DEFAULT_LADDER)
    rng = random.Random(seed)
    created = NOW - dt.timedelta(days=120)

    con = bulk_connection(path)
    users, roles, members = [], [], []
    uid = 0
    owners, heads = {}, {}
    for u in range(1, UNITS + 1):
        for role, label in (("owner", "责任人"), ("owner", "负责人")):
            uid += 1
            users.append((uid, f"u{u}_{uid}", f"单位{u:02d}{label}", u, None))
            roles.append((uid, role))
            members.append((uid, u, label == "负责人"))
            (heads if label == "负责人" else owners)[u] = uid
    leaders = []
    for k in range(5):
        uid += 1
        users.append((uid, f"leader{k}", f"分管领导{k}", None, None))
        roles.append((uid, "leader"))
        leaders.append(uid)
    for name, role in (("office_a", "office"), ("office_b", "office"), ("super_a", "supervisor")):
        uid += 1
        users.append((uid, name, name, None, None))
        roles.append((uid, role))
    uid += 1
    users.append((uid, "system", "系统", None, None))
    insert_org_and_plan(con, [f"责任单位{u:02d}" for u in range(1, UNITS + 1)], users, roles, members, total)

    due_ids = set(rng.sample(range(1, total + 1), due))
    # due deadlines: from 15 working days late to the edge of the yellow window
    due_span = (bounds.horizon - (bounds.l3 - dt.timedelta(days=10))).days
    due_start = bounds.l3 - dt.timedelta(days=10)

    def rows(start: int, stop: int):
        measures, events = [], []
        for mid in range(start, stop):
            unit = 1 + mid % UNITS
            if mid in due_ids:
                state = "in_progress" if mid % 2 else "assigned"
                deadline = due_start + dt.timedelta(days=rng.randrange(due_span + 1))
            elif rng.random() < 0.6:
                state = "closed"
                deadline = today - dt.timedelta(days=rng.randrange(1, 300))
            else:
                state = rng.choice(("assigned", "in_progress", "submitted", "verified"))
                deadline = bounds.horizon + dt.timedelta(days=rng.randrange(10, 400))
            closed = state == "closed"
            pid, seq = problem_of(mid)
            body = audit.canonical_json({"problem_id": pid, "seq": seq, "text": f"措施{mid}", "kind": "time_bound",
                                         "deadline": deadline.isoformat()})
            h = audit.event_hash(audit.GENESIS, mid, 1, "create", "system", None, state, created, body)
            measures.append((
                mid, pid, seq, f"措施{mid}", "time_bound",
                leaders[mid % len(leaders)], unit, owners[unit], deadline.isoformat(), deadline.isoformat(), state,
                1, 0, 0, 0, "done" if closed else "green", -1, 1, h, _ts(created),
                _ts(created + dt.timedelta(days=30)) if closed else None,
                _ts(created + dt.timedelta(days=20)) if state in ("submitted", "verified") else None,
            ))
            events.append((mid, 1, "create", "system", None, state, body, _ts(created), audit.GENESIS, h))
        return measures, events

    bulk_insert(con, total, rows, MEASURE_COLUMNS)
    con.close()


def settle(path: Path) -> None:
    """Checkpoint the WAL into the file and sync it to disk, so no timing pays for the bulk load's writes."""
    import os
    import sqlite3

    con = sqlite3.connect(str(path))
    try:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        con.close()
    os.sync()


def _time_query(engine) -> float:
    from workflow import db, escalation, workdays

    today = workdays.local_today(NOW)
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        with db.read_tx(engine) as conn:
            n = len(conn.execute(escalation.candidates_query(
                escalation.loosest(today, escalation._plan_ladders(conn)))).all())
        best = min(best, time.perf_counter() - t)
    return best, n


def measure(total: int, due: int, workdir: Path) -> dict:
    from workflow import db, escalation

    path = workdir / f"sweep_{total}.db"
    t = time.perf_counter()
    build(path, total, due)
    built = time.perf_counter() - t
    settle(path)  # the bulk load's pages on disk and the WAL empty: the sweep pays for its own writes only
    _say(f"built {total:,} measures ({due:,} due) in {built:.1f}s; sweeping")
    engine = db.make_engine(f"sqlite:///{path}")
    try:
        query_s, candidates = _time_query(engine)
        t = time.perf_counter()
        result = escalation.sweep(NOW, engine)
        sweep_s = time.perf_counter() - t
    finally:
        engine.dispose()
    if candidates != due or result.escalated != due:
        raise RuntimeError(f"the sweep of {total} measures found {candidates} and escalated {result.escalated}, "
                           f"not the {due} due")
    _say(f"{total:,}: sweep {sweep_s:.3f}s (query {query_s * 1000:.1f} ms), escalated {result.escalated}")
    return {"sweep_s": sweep_s, "query_s": query_s, "escalated": result.escalated, "build_s": built}


def run(json: bool = False, n: int | None = None, due: int = 1000, small_total: int = 10_000) -> dict:
    """Build both databases, time one sweep on each; return the figures."""
    large_total = n or 1_000_000
    # a smaller --n scales the whole run down, keeping the proportions (1% and 0.1% of it)
    small_total = min(small_total, max(large_total // 100, 10))
    due = min(due, max(small_total // 10, 1))
    workdir = Path(tempfile.mkdtemp(prefix="rectify-bench-sweep-"))
    try:
        small = measure(small_total, due, workdir)
        large = measure(large_total, due, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return {
        "due": due, "small_total": small_total, "large_total": large_total,
        "small_s": round(small["sweep_s"], 4), "large_s": round(large["sweep_s"], 4),
        "ratio": round(large["sweep_s"] / small["sweep_s"], 3),
        "small_query_s": round(small["query_s"], 5), "large_query_s": round(large["query_s"], 5),
        "escalated": large["escalated"], "build_s": round(small["build_s"] + large["build_s"], 1),
    }


