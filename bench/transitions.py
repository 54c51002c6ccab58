"""Transitions per second: the engine against raw ``sqlite3`` and SpiffWorkflow.

Three implementations carry measures through the same four steps (start → submit → approve →
sign_off), each on its own fresh SQLite file in one temporary folder, with the engine's pragmas
(WAL, ``synchronous=NORMAL``, foreign keys, busy timeout):

- **engine** — the real code path, :func:`workflow.commands.fire`, one call per trigger: it reads
  the actor's roles from the database, checks the rules, updates the measure under its version
  check, appends the audit event and writes the outbox rows, all in one transaction. The plan
  waives evidence (``evidence_waived=True``) so no files are needed.
- **raw sqlite3** — the same writes per transaction and nothing else: ``BEGIN IMMEDIATE``; the
  version-checked ``UPDATE`` of the measure; the event row with its sha256 chain hash; as many
  outbox rows as the engine writes for that trigger (and the light-history row on sign-off);
  ``COMMIT``. It does none of the reads the engine must do.
- **SpiffWorkflow** — a BPMN process of four user tasks; after each completed task the workflow
  is serialised to JSON and saved (version-checked ``UPDATE``) in one transaction. The workflow
  stays in memory between the steps of a measure, the cheapest way to drive it; a second, smaller
  sample (``spiff_reload_per_s``) reloads it from the database before each step, as a stateless
  server would.

The implementations run interleaved, slice by slice, so a busy machine slows them more alike.
Rates are wall-clock triggers per second; ``cpu_per_s`` gives the same counts over this process's
CPU time, steadier when other work shares the machine (the load average is reported too). Only
one measure's data is held at a time; resident memory is sampled after every slice. Afterwards
both the engine's and the raw path's hash chains must verify. A benchmark measures: nothing here
asserts a time.
"""
from __future__ import annotations

import datetime as dt
import math
import os
import platform
import resource
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from workflow import planwriter

from . import raw as rawpath

STEPS = (("start", "owner"), ("submit", "owner"), ("approve", "leader"), ("sign_off", "office"))
ACCOUNT = "已按整改方案完成整改，相关制度已印发。"
SLICE_MEASURES = 250  # measures per engine slice; the others get proportional slices
PROBLEM_SIZE = 1000  # measures per problem in the generated plan

PEOPLE = {
    # key: (username, display name, role, unit, email, head)
    "owner": ("bench_owner", "水利局责任人", "owner", "水利局", "owner@example.org", False),
    "leader": ("bench_leader", "分管领导", "leader", "管委会", "leader@example.org", False),
    "office": ("bench_office1", "整改办工作人员甲", "office", "整改办", "office1@example.org", False),
    "office2": ("bench_office2", "整改办工作人员乙", "office", "整改办", "office2@example.org", False),
}

SPIFF_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="rectify_bench"
                  targetNamespace="http://rectify.invalid/bench">
  <bpmn:process id="measure" name="整改措施" isExecutable="true">
    <bpmn:startEvent id="assigned"/>
    <bpmn:sequenceFlow id="f0" sourceRef="assigned" targetRef="start"/>
    <bpmn:userTask id="start" name="开始整改"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="submit"/>
    <bpmn:userTask id="submit" name="提交"/>
    <bpmn:sequenceFlow id="f2" sourceRef="submit" targetRef="approve"/>
    <bpmn:userTask id="approve" name="审核通过"/>
    <bpmn:sequenceFlow id="f3" sourceRef="approve" targetRef="sign_off"/>
    <bpmn:userTask id="sign_off" name="销号"/>
    <bpmn:sequenceFlow id="f4" sourceRef="sign_off" targetRef="closed"/>
    <bpmn:endEvent id="closed"/>
  </bpmn:process>
</bpmn:definitions>
"""


# --- resident memory ---------------------------------------------------------

def rss_mb() -> float:
    """This process's resident set size in MiB (psutil, else /proc/self/status)."""
    try:
        import psutil

        return psutil.Process().memory_info().rss / 1048576
    except ImportError:  # pragma: no cover - psutil is a dev dependency
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    return 0.0


class RssTrack:
    """Samples resident memory: the first sample, the last, the peak and a sparse curve."""

    def __init__(self):
        self.samples: list[float] = []

    def sample(self) -> float:
        value = rss_mb()
        self.samples.append(value)
        return value

    def curve(self, points: int = 10) -> list[float]:
        s = self.samples
        if len(s) <= points:
            return [round(v, 1) for v in s]
        return [round(s[round(i * (len(s) - 1) / (points - 1))], 1) for i in range(points)]


# --- setup ---------------------------------------------------------------------

def _build_engine_db(url: str, measures: int, log) -> dict:
    """Schema by migrations, the people, and ``measures`` measures in a waived plan."""
    from workflow import db

    db.init_db(url)
    engine = db.get_engine(url)
    now = dt.datetime(2026, 11, 30, 2, 0, 0)
    with db.write_tx(engine) as conn:
        ids = {key: planwriter.user(conn, u, name, [role], unit, email=email, head=head)
               for key, (u, name, role, unit, email, head) in PEOPLE.items()}
        ids["unit"] = planwriter.unit(conn, "水利局")
        insp = planwriter.inspection(conn, "市委第八巡察组", "东城区", "special", feedback_date=dt.date(2026, 10, 11),
                                 rect_start=dt.date(2026, 10, 11), rect_end=dt.date(2027, 1, 11))
        ids["plan"] = planwriter.plan(conn, insp, "性能测试整改方案（免附佐证材料）", evidence_waived=True)
        ids["part"] = planwriter.part(conn, ids["plan"], 1, "责任意识不够强方面")
    first = None
    made = 0
    problem_no = 0
    while made < measures:
        batch = min(PROBLEM_SIZE, measures - made)
        problem_no += 1
        with db.write_tx(engine) as conn:
            prob = planwriter.problem(conn, ids["plan"], ids["part"], problem_no, f"问题 {problem_no}")
            for i in range(batch):
                mid = planwriter.measure(conn, prob, i + 1, f"整改措施 {problem_no}-{i + 1}", leader_id=ids["leader"],
                                     unit_id=ids["unit"], owner_id=ids["owner"],
                                     deadline=dt.date(2026, 12, 31), now=now)
                if first is None:
                    first = mid
        made += batch
        log(f"  setup: {made}/{measures} measures")
    last = first + measures - 1
    with db.read_tx(engine) as conn:
        lo, hi, count = conn.exec_driver_sql(
            "SELECT min(id), max(id), count(*) FROM measures").one()
    if (lo, hi, count) != (first, last, measures):
        raise RuntimeError("measure ids are not consecutive; the benchmark needs a fresh database")
    ids["first"] = first
    return ids


def _release(url: str) -> None:
    from workflow import db

    engine = db._ENGINES.pop(url, None)
    if engine is not None:
        engine.dispose()


def _connect(path: Path) -> sqlite3.Connection:
    """A plain sqlite3 connection with the engine's pragmas, autocommit (we BEGIN ourselves)."""
    from workflow.db import SQLITE_PRAGMAS

    con = sqlite3.connect(str(path), isolation_level=None, timeout=10, check_same_thread=False)
    for pragma in SQLITE_PRAGMAS:
        con.execute(pragma)
    return con


def _ts(at: dt.datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S.%f")


def _slices(total: int, count: int) -> list[int]:
    """Split ``total`` into ``count`` nearly equal non-negative parts."""
    bounds = [round(i * total / count) for i in range(count + 1)]
    return [bounds[i + 1] - bounds[i] for i in range(count)]


# --- the three runners (generators: one slice of work per step) ----------------

class Runner:
    def __init__(self, name: str):
        self.name = name
        self.seconds = 0.0
        self.cpu = 0.0  # this process's CPU time in the timed regions: steadier than wall time on a busy machine
        self.triggers = 0

    def add(self, t0: float, c0: float, triggers: int) -> None:
        """Count ``triggers`` fired since ``t0`` (perf_counter) and ``c0`` (process_time)."""
        self.seconds += time.perf_counter() - t0
        self.cpu += time.process_time() - c0
        self.triggers += triggers

    @property
    def per_s(self) -> float:
        return self.triggers / self.seconds if self.seconds else 0.0

    @property
    def cpu_per_s(self) -> float:
        return self.triggers / self.cpu if self.cpu else 0.0


def engine_runner(run: Runner, engine, first: int, slices: list[int], rss: RssTrack, seen_notified: dict):
    """Drive ``workflow.commands.fire`` through the four steps, measure by measure."""
    from workflow.commands.measures import fire

    users = {key: PEOPLE[key][0] for key in ("owner", "leader", "office")}
    mid = first
    perf, cpu = time.perf_counter, time.process_time
    for count in slices:
        t0, c0 = perf(), cpu()
        for m in range(mid, mid + count):
            for trigger, who in STEPS:
                res = fire(m, trigger, users[who], comment=ACCOUNT if trigger == "submit" else "",
                           engine=engine)
                if res.state == res.from_state:
                    raise RuntimeError(f"engine: {trigger} did not change measure {m}")
                seen_notified.setdefault(trigger, set()).add(res.notified)
        run.add(t0, c0, 4 * count)
        mid += count
        rss.sample()
        yield


def spiff_runner(run: Runner, con: sqlite3.Connection, slices: list[int], rss: RssTrack, reload: bool,
                 first_id: int):
    """SpiffWorkflow through the same four user tasks, saving the serialised workflow after each."""
    from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
    from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.util.task import TaskState

    parser = BpmnParser()
    parser.add_bpmn_str(SPIFF_BPMN.encode("utf-8"))
    spec = parser.get_spec("measure")
    serializer = BpmnWorkflowSerializer()
    actors = {key: PEOPLE[key][0] for key in ("owner", "leader", "office")}
    perf, cpu = time.perf_counter, time.process_time
    wid = first_id
    for count in slices:
        spent = spent_cpu = 0.0
        for w in range(wid, wid + count):
            # creating the instance is setup, like creating a measure: not timed
            wf = BpmnWorkflow(spec)
            wf.do_engine_steps()
            con.execute("INSERT INTO workflows (id, version, state, updated_at) VALUES (?, 1, ?, ?)",
                        (w, serializer.serialize_json(wf), _ts(dt.datetime.now())))
            version = 1
            t0, c0 = perf(), cpu()
            for trigger, who in STEPS:
                con.execute("BEGIN IMMEDIATE")
                try:
                    if reload:
                        state = con.execute("SELECT state FROM workflows WHERE id=?", (w,)).fetchone()[0]
                        wf = serializer.deserialize_json(state)
                    task = wf.get_next_task(state=TaskState.READY, manual=True)
                    if task is None or task.task_spec.bpmn_id != trigger:
                        raise RuntimeError(f"spiff: {trigger} is not the ready task of workflow {w}")
                    task.data.update(actor=actors[who], comment=ACCOUNT if trigger == "submit" else "")
                    task.run()
                    wf.do_engine_steps()
                    state = serializer.serialize_json(wf)
                    cur = con.execute("UPDATE workflows SET state=?, version=?, updated_at=? WHERE id=? AND version=?",
                                      (state, version + 1, _ts(dt.datetime.now()), w, version))
                    if cur.rowcount != 1:
                        raise RuntimeError(f"spiff: stale version of workflow {w}")
                    con.execute("COMMIT")
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
                version += 1
            if not wf.is_completed():
                raise RuntimeError(f"spiff: workflow {w} did not complete")
            spent += perf() - t0
            spent_cpu += cpu() - c0
            run.triggers += 4
        run.seconds += spent
        run.cpu += spent_cpu
        wid += count
        rss.sample()
        yield


# --- the benchmark -------------------------------------------------------------

def _outbox_plan(ids: dict) -> dict:
    """Rows the engine writes per trigger here: recipient × channel (inbox, and email: all have one)."""
    channels = ("inbox", "email")
    return {
        "start": [],
        "submit": [(ids["leader"], c) for c in channels],
        "approve": [(ids[k], c) for k in sorted(("office", "office2"), key=lambda k: ids[k]) for c in channels],
        "sign_off": [(ids["owner"], c) for c in channels],
    }


def run(n: int = 100_000, json: bool = False, spiff_n: int | None = None, workdir: str | None = None,
        log=None, database_url: str | None = None, **_ignored) -> dict:
    """Run the implementations interleaved; return the figures (rates are triggers per second).

    ``n`` engine and raw triggers (rounded down to whole measures of four steps, at least one);
    ``spiff_n`` SpiffWorkflow triggers (default: min(n, 20000), it is much slower); progress goes to
    ``log`` (default: stderr unless ``json``). ``database_url``: an empty PostgreSQL database for the
    engine and both raw paths (emptied again afterwards); SpiffWorkflow stays on SQLite files.
    """
    if log is None:
        talk = not json or sys.stderr.isatty()
        log = (lambda msg: print(msg, file=sys.stderr, flush=True)) if talk else (lambda msg: None)
    started = time.perf_counter()
    load_start = os.getloadavg()
    measures = max(1, int(n) // 4)
    spiff_measures = max(1, int(spiff_n if spiff_n is not None else min(n, 20_000)) // 4)
    reload_measures = max(1, spiff_measures // 5)
    tmp = Path(tempfile.mkdtemp(prefix="rectify-bench-", dir=workdir))
    target = Target(tmp, database_url)
    try:
        log(f"bench transitions: {measures * 4} engine triggers ({measures} measures) on {target.kind} in {tmp}")
        t0 = time.perf_counter()
        ids, engine, drivers, firsts, spiffs = target.build(measures, log)
        setup_s = time.perf_counter() - t0
        count = max(1, math.ceil(measures / SLICE_MEASURES))
        rss, rss_engine = RssTrack(), RssTrack()
        rss_start = rss.sample()
        notified: dict = {}
        runs = {name: Runner(name) for name in ("engine", "raw", "raw_full", "spiff", "spiff_reload")}
        actors = {key: PEOPLE[key][0] for key in ("owner", "leader", "office")}
        gens = [
            engine_runner(runs["engine"], engine, firsts["engine"], _slices(measures, count), rss_engine, notified),
            rawpath.raw_runner(runs["raw"], drivers["raw"], ids, firsts["raw"], _outbox_plan(ids),
                               _slices(measures, count), STEPS, actors, rss),
            rawpath.raw_full_runner(runs["raw_full"], drivers["raw_full"], firsts["raw_full"],
                                    _slices(measures, count), STEPS, actors, rss),
            spiff_runner(runs["spiff"], spiffs[0], _slices(spiff_measures, count), rss, False, 1),
            spiff_runner(runs["spiff_reload"], spiffs[1], _slices(reload_measures, count), rss, True, 1),
        ]
        _interleave(gens, count, runs, rss_engine, log)
        rss_end = rss.sample()
        written, planned = _same_writes(engine, drivers, firsts, measures, ids, notified)
        for con in spiffs:
            con.close()
        verify_s = target.verify()
        all_samples = rss.samples + rss_engine.samples
        return {
            **_rates(runs),
            "database": target.kind,
            "peak_rss_mb": round(max(all_samples), 1),
            "rss_start_mb": round(rss_start, 1),
            "rss_end_mb": round(rss_end, 1),
            "rss_engine_curve_mb": rss_engine.curve(),
            "maxrss_process_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "measures": measures,
            "setup_s": round(setup_s, 2),
            "verify_s": round(verify_s, 2),
            "chains_verified": True,
            "total_s": round(time.perf_counter() - started, 2),
            "slices": count,
            "steps": [t for t, _ in STEPS],
            "outbox_rows_per_trigger": planned,
            "events_written": written[0],
            "outbox_rows_written": written[1],
            "evidence_waived": True,
            "note": NOTE,
            **_environment(load_start),
        }
    finally:
        target.close()
        shutil.rmtree(tmp, ignore_errors=True)


class Target:
    """Where the engine and the raw paths run: SQLite files (one copy each) or one PostgreSQL database
    (each on its own range of measures)."""

    def __init__(self, tmp: Path, database_url: str | None):
        self.tmp, self.url = tmp, database_url or f"sqlite:///{tmp / 'engine.db'}"
        self.postgres = self.url.startswith("postgresql")
        self.kind = "postgresql" if self.postgres else "sqlite"
        self.drivers: dict = {}

    def build(self, measures: int, log):
        from workflow import db

        if self.postgres:
            _require_empty(self.url)
        ids = _build_engine_db(self.url, measures * (3 if self.postgres else 1), log)
        engine = db.get_engine(self.url)
        first = ids["first"]
        if self.postgres:
            import psycopg

            conninfo = self.url.replace("postgresql+psycopg://", "postgresql://")
            for name in ("raw", "raw_full"):
                self.drivers[name] = rawpath.Driver(psycopg.connect(conninfo, autocommit=True), True)
            firsts = {"engine": first, "raw": first + measures, "raw_full": first + 2 * measures}
        else:
            for name in ("raw", "raw_full"):
                _copy(self.tmp / "engine.db", self.tmp / f"{name}.db")
                self.drivers[name] = rawpath.Driver(_connect(self.tmp / f"{name}.db"), False)
            firsts = {"engine": first, "raw": first, "raw_full": first}
        spiffs = []
        for name in ("spiff.db", "spiff_reload.db"):
            con = _connect(self.tmp / name)
            con.execute("CREATE TABLE workflows (id INTEGER PRIMARY KEY, version INTEGER NOT NULL, "
                        "state TEXT NOT NULL, updated_at TEXT NOT NULL)")
            spiffs.append(con)
        return ids, engine, self.drivers, firsts, spiffs

    def urls(self) -> list[str]:
        if self.postgres:
            return [self.url]
        return [self.url] + [f"sqlite:///{self.tmp / name}.db" for name in ("raw", "raw_full")]

    def verify(self) -> float:
        """Every chain written verifies (outside the timed work); the seconds it took."""
        from workflow import audit, db

        t0 = time.perf_counter()
        for u in self.urls():
            broken = audit.verify(db.get_engine(u), evidence_root=self.tmp)
            if broken:
                raise RuntimeError(f"audit chain broken in {u}: {broken}")
            _release(u)
        return time.perf_counter() - t0

    def close(self) -> None:
        for d in self.drivers.values():
            d.con.close()
        for u in self.urls():
            _release(u)
        if self.postgres:
            _empty(self.url)


TRIGGER_FUNCTIONS = ("tally_measure", "tally_event", "tally_problem_part")  # made by migration 0007


def _require_empty(url: str) -> None:
    from sqlalchemy import create_engine, inspect

    eng = create_engine(url)
    try:
        if inspect(eng).get_table_names():
            raise RuntimeError("bench transitions --database-url needs an empty database (it fills and empties it)")
    finally:
        eng.dispose()


def _empty(url: str) -> None:
    """Drop every table the benchmark made (the database was empty before)."""
    from sqlalchemy import MetaData, create_engine

    eng = create_engine(url)
    try:
        meta = MetaData()
        meta.reflect(eng)
        with eng.begin() as conn:
            meta.drop_all(conn)
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
            for fn in TRIGGER_FUNCTIONS:  # the migrations' trigger functions outlive their tables
                conn.exec_driver_sql(f"DROP FUNCTION IF EXISTS {fn}()")
    finally:
        eng.dispose()


def _copy(src_path: Path, dst_path: Path) -> None:
    src, dst = sqlite3.connect(str(src_path)), sqlite3.connect(str(dst_path))
    src.backup(dst)  # the raw paths start from an identical copy of the same database
    src.close()
    dst.close()


NOTE = ("plan with evidence_waived=True (no evidence files); engine = workflow.commands.fire per trigger; "
        "raw = the same writes per transaction without the engine's reads; raw_full = the engine's reads, "
        "rule checks and writes by hand on the driver; spiff = BPMN user tasks, "
        "workflow serialised to JSON and saved after each step, kept in memory between steps "
        "(spiff_reload: reloaded from the database before each step); runs interleaved by slice")


def _environment(load_start) -> dict:
    """What the figures were measured on: versions, pragmas, CPUs and the load before and after."""
    import SpiffWorkflow
    import sqlalchemy

    from workflow import db

    return {
        "pragmas": list(db.SQLITE_PRAGMAS),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "sqlalchemy": sqlalchemy.__version__,
        "spiffworkflow": getattr(SpiffWorkflow, "__version__", None) or _dist_version("SpiffWorkflow"),
        "cpus": os.cpu_count(),
        "load_avg_start": [round(x, 2) for x in load_start],
        "load_avg_end": [round(x, 2) for x in os.getloadavg()],
    }


def _interleave(gens: list, count: int, runs: dict, rss_engine: RssTrack, log) -> None:
    """One slice of each implementation in turn, progress every tenth; then whatever is left."""
    for i in range(count):
        for gen in gens:
            next(gen, None)
        if (i + 1) % max(1, count // 10) == 0 or i + 1 == count:
            log(f"  {i + 1}/{count} slices: engine {runs['engine'].per_s:,.0f}/s, raw {runs['raw'].per_s:,.0f}/s, "
                f"spiff {runs['spiff'].per_s:,.0f}/s, rss {rss_engine.samples[-1]:.1f} MiB")
    for gen in gens:
        for _ in gen:
            pass


_WRITTEN = ("SELECT (SELECT count(*) FROM events WHERE measure_id BETWEEN ? AND ?), "
            "(SELECT count(*) FROM outbox WHERE measure_id BETWEEN ? AND ?), "
            "(SELECT count(*) FROM measures WHERE state='closed' AND id BETWEEN ? AND ?)")


def _same_writes(engine, drivers: dict, firsts: dict, measures: int, ids, notified: dict) -> tuple[tuple, dict]:
    """Both raw paths wrote what the engine wrote: (events, outbox, closed) over their measures."""
    from workflow import db

    def span(first):
        return (first, first + measures - 1) * 3

    with db.read_tx(engine) as conn:
        engine_counts = tuple(conn.exec_driver_sql(_WRITTEN.replace("?", "%s") if drivers["raw"].postgres
                                                   else _WRITTEN, span(firsts["engine"])).one())
    for name in ("raw", "raw_full"):
        counts = tuple(drivers[name].execute(_WRITTEN, span(firsts[name])).fetchone())
        if counts != engine_counts:
            raise RuntimeError(f"{name} path wrote {counts} (events, outbox, closed), engine {engine_counts}")
    per_trigger = {t: sorted(v) for t, v in notified.items()}
    planned = {t: len(rows) for t, rows in _outbox_plan(ids).items()}
    if any(per_trigger[t] != [planned[t]] for t in planned):
        raise RuntimeError(f"engine outbox rows per trigger {per_trigger} differ from the raw plan {planned}")
    return engine_counts, planned


def _rates(runs: dict) -> dict:
    """Triggers per second of each implementation, their ratios, counts and times."""
    engine_per_s = round(runs["engine"].per_s, 1)
    raw_per_s = round(runs["raw"].per_s, 1)
    spiff_per_s = round(runs["spiff"].per_s, 1)
    return {
        "engine_per_s": engine_per_s,
        "raw_sqlite_per_s": raw_per_s,
        "spiff_per_s": spiff_per_s,
        "ratio_vs_raw": round(engine_per_s / raw_per_s, 4),
        "ratio_vs_spiff": round(engine_per_s / spiff_per_s, 4),
        "spiff_reload_per_s": round(runs["spiff_reload"].per_s, 1),
        "ratio_vs_spiff_reload": round(engine_per_s / runs["spiff_reload"].per_s, 4),
        "cpu_per_s": {name: round(r.cpu_per_s, 1) for name, r in runs.items()},
        "ratio_vs_raw_cpu": round(runs["engine"].cpu_per_s / runs["raw"].cpu_per_s, 4),
        "cpu_ratio_vs_raw": round(runs["engine"].cpu_per_s / runs["raw"].cpu_per_s, 4),
        "raw_full_per_s": round(runs["raw_full"].per_s, 1),
        "ratio_vs_raw_full": round(engine_per_s / runs["raw_full"].per_s, 4),
        "cpu_ratio_vs_raw_full": round(runs["engine"].cpu_per_s / runs["raw_full"].cpu_per_s, 4),
        "n": runs["engine"].triggers,
        "raw_n": runs["raw"].triggers,
        "raw_full_n": runs["raw_full"].triggers,
        "spiff_n": runs["spiff"].triggers,
        "spiff_reload_n": runs["spiff_reload"].triggers,
        "engine_s": round(runs["engine"].seconds, 2),
        "raw_s": round(runs["raw"].seconds, 2),
        "raw_full_s": round(runs["raw_full"].seconds, 2),
        "spiff_s": round(runs["spiff"].seconds, 2),
        "spiff_reload_s": round(runs["spiff_reload"].seconds, 2),
    }


def _dist_version(name: str) -> str | None:
    try:
        from importlib.metadata import version

        return version(name)
    except Exception:
        return None
