"""Long work off the web workers: ledger exports and notices are rows of ``jobs``, done by a worker.

A web request :func:`enqueue`\\ s a job (checking its parameters and counting its rows in the same
transaction) and shows a progress page that reads :func:`status`. A worker — ``rectify worker``,
or the scheduler's ``jobs`` job — :func:`claim`\\ s the oldest queued job with one ``UPDATE``
and holds it under a lease, renewed by a heartbeat while the work runs; the work writes its
progress to the row and its file under ``<instance>/exports``; :func:`finish` marks the row done
and moves the file into place in one transaction, :func:`fail` records the error the owner sees.

Two workers never run one job: the claim is a single ``UPDATE … WHERE state = 'queued' OR the
lease ran out`` on a row picked ``FOR UPDATE SKIP LOCKED`` (PostgreSQL; SQLite runs it under the
database write lock), and every later write of the worker names it as the lease owner, so a
worker that lost its lease (it stalled past the lease and another took the job over) can no
longer write progress or finish. A killed worker's job is claimed again once its lease has run
out; after :data:`MAX_ATTEMPTS` lost workers it fails instead of going round for ever.

Leases and clean-up count real time between processes, so they use the wall clock (``clock``);
the instant an export is *about* (the lights, "today") is a parameter of the job, fixed when it
was queued. Finished jobs and their files are removed a day after they finished (:func:`clean`).
The web app serves the file from its own instance folder, so a worker on another machine must
share that folder (as the evidence store is shared).
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.engine import Connection, Engine

from . import db, spec, workdays
from .clock import utcnow
from .errors import NotFound
from .models import Job, Measure

log = logging.getLogger(__name__)

J = Job.__table__
LEASE = dt.timedelta(seconds=60)  # a worker that stops renewing loses its job after this
KEEP = dt.timedelta(days=1)  # finished jobs and their files are removed after this
MAX_ATTEMPTS = 3  # workers lost on one job before it fails
PROGRESS_EVERY = dt.timedelta(seconds=0.2)  # progress is written at most this often
EXPORT_BATCH = 200  # ledger rows between two progress reports
REPORT_FORMATS = ("docx", "html", "md")

MIMETYPES = {
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".html": "text/html; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".json": "application/json",
}

Clock = Callable[[], dt.datetime]
Progress = Callable[[int], None]


class LeaseLost(Exception):
    """The job is no longer this worker's: its lease ran out and another worker took it over."""


# --- what each kind of job does --------------------------------------------------------------

@dataclass(frozen=True)
class Kind:
    """A kind of job: ``prepare`` checks the parameters when it is queued and returns them
    (normalised), the row count (0: unknown) and the download name; ``make`` writes the file."""

    prepare: Callable[[Connection, dict], tuple[dict, int, str]]
    make: Callable[[Path, dict, Progress, Engine], None]


def _at(params: dict) -> dt.datetime:
    return dt.datetime.fromisoformat(params["at"])


def _plan(conn: Connection, plan_id) -> int:
    from .stats import resolve_plan

    if plan_id is not None and not isinstance(plan_id, int):
        raise spec.Refused("bad_parameter", f"plan must be a number, not {plan_id!r}")
    return resolve_plan(conn, plan_id).id


EXPORT_FILTERS = ("part", "unit", "state", "light", "q")


def _view(conn: Connection, params: dict):
    """The condition of a filtered export: the ledger's filters within what ``params["as"]`` sees
    (None: the plan's whole ledger)."""
    from .loading import load_actor
    from .readmodels.ledger import ledger_condition

    if not params.get("as"):
        return None
    who = load_actor(conn, params["as"])
    return ledger_condition(conn, who, today=workdays.local_today(_at(params)), **params.get("filters", {}))


def _prepare_export(conn: Connection, params: dict) -> tuple[dict, int, str]:
    plan_id = _plan(conn, params.get("plan"))
    filters = {k: v for k, v in (params.get("filters") or {}).items() if k in EXPORT_FILTERS and v}
    params = {"plan": plan_id, "at": params["at"], "as": params.get("as"), "filters": filters}
    from .exporting.ledger_xlsx import ledger_query

    query = ledger_query(plan_id).with_only_columns(Measure.id).order_by(None)
    view = _view(conn, params)
    if view is not None:
        query = query.where(view)
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    part = "-筛选" if filters else ""
    name = f"整改台账-{plan_id}-{workdays.local_today(_at(params)):%Y%m%d}{part}.xlsx"
    return params, total, name


def _make_export(path: Path, params: dict, progress: Progress, engine: Engine) -> None:
    from .exporting.ledger_xlsx import export_ledger

    with db.read_tx(engine) as conn:
        view = _view(conn, params)
    export_ledger(path, plan_id=params["plan"], now=_at(params), engine=engine, batch=EXPORT_BATCH,
                  progress=lambda done, _total: progress(done), where=view)


def _prepare_report(conn: Connection, params: dict) -> tuple[dict, int, str]:
    fmt = params.get("format", "docx")
    if fmt not in REPORT_FORMATS:
        raise spec.Refused("bad_parameter", f"format must be one of {', '.join(REPORT_FORMATS)}, not {fmt!r}")
    plan_id = _plan(conn, params.get("plan"))
    name = f"巡察整改情况通报-{plan_id}-{workdays.local_today(_at(params)):%Y%m%d}.{fmt}"
    return {"plan": plan_id, "format": fmt, "at": params["at"]}, 0, name


def _make_report(path: Path, params: dict, progress: Progress, engine: Engine) -> None:
    from . import report

    path.write_bytes(report.report(params["format"], params["plan"], now=_at(params), engine=engine))


def _prepare_digest(conn: Connection, params: dict) -> tuple[dict, int, str]:
    from .digests import DIGESTS, month_period, week_period

    kind, fmt = params.get("digest"), params.get("format", "docx")
    if kind not in DIGESTS or fmt not in REPORT_FORMATS:
        raise spec.Refused("bad_parameter", f"digest must be weekly or monthly and format one of "
                                            f"{', '.join(REPORT_FORMATS)}, not {kind!r}, {fmt!r}")
    at = _at(params)
    if kind == "weekly":
        name = f"整改周报告-{week_period(at):%Y%m%d}.{fmt}"
    else:
        year, month = month_period(at)
        name = f"整改月总结-{year}{month:02d}.{fmt}"
    return {"digest": kind, "format": fmt, "at": params["at"]}, 0, name


def _make_digest(path: Path, params: dict, progress: Progress, engine: Engine) -> None:
    from . import digests, render

    path.write_bytes(render.render(digests.digest_doc(params["digest"], _at(params), engine), params["format"]))


def _prepare_import(step: str) -> Callable[[Connection, dict], tuple[dict, int, str]]:
    def prepare(conn: Connection, params: dict) -> tuple[dict, int, str]:
        from .importing import staging

        meta = staging.get(str(params.get("token")), int(params.get("owner") or 0))  # NotFound: gone, or not theirs
        out = {"token": meta["token"], "owner": meta["owner"], "at": params["at"]}
        if step == "run":
            out["actor"] = str(params.get("actor") or "system")
        return out, 0, f"导入{'结果' if step == 'run' else '预览'}-{meta['name']}.json"
    return prepare


def _make_import(step: str) -> Callable[[Path, dict, Progress, Engine], None]:
    def make(path: Path, params: dict, progress: Progress, engine: Engine) -> None:
        import json

        from .importing import staging

        meta = staging.get(params["token"], params["owner"])
        if step == "run":
            out = staging.run(meta, params["actor"], now=_at(params), engine=engine)
        else:
            out = staging.check(meta, now=_at(params), engine=engine)
        path.write_text(json.dumps(out, ensure_ascii=False), encoding="utf-8")
    return make


KINDS: dict[str, Kind] = {
    "ledger_export": Kind(_prepare_export, _make_export),
    "report": Kind(_prepare_report, _make_report),
    "digest": Kind(_prepare_digest, _make_digest),
    # the office's import page with a large file: the dry run with the chosen mapping, then the import
    "import_check": Kind(_prepare_import("check"), _make_import("check")),
    "import_run": Kind(_prepare_import("run"), _make_import("run")),
}


# --- queueing and reading ----------------------------------------------------------------------

def enqueue(kind: str, params: dict, owner_id: int, *, now: dt.datetime, engine: Engine | None = None) -> str:
    """Queue a job for ``owner_id``; its id. NotFound or Refused (nothing written) for bad parameters.

    ``params["at"]`` is the instant the file is about (default ``now``).
    """
    if kind not in KINDS:
        raise spec.Refused("bad_parameter", f"no such kind of job: {kind!r}")
    now = now.replace(tzinfo=None)
    params = {**params, "at": params.get("at") or now.isoformat()}
    job_id = secrets.token_hex(16)
    with db.write_tx(engine) as conn:
        params, total, name = KINDS[kind].prepare(conn, params)
        conn.execute(insert(J), {"id": job_id, "kind": kind, "params": params, "owner_id": owner_id,
                                 "state": "queued", "done": 0, "total": total, "name": name, "attempts": 0,
                                 "created_at": now})
    return job_id


def enqueue_ledger_export(owner_id: int, plan_id: int | None, *, now: dt.datetime, engine: Engine | None = None,
                          actor: str | None = None, filters: dict | None = None) -> str:
    """Queue the .xlsx export of a plan's ledger (the only plan when ``plan_id`` is None): the whole
    ledger, or with ``actor`` (a username) what that person sees of it narrowed by the ledger's
    ``filters`` (``part``, ``unit``, ``state``, ``light``, ``q``), as the ledger page shows it."""
    return enqueue("ledger_export", {"plan": plan_id, "as": actor, "filters": filters or {}}, owner_id, now=now,
                   engine=engine)


def enqueue_report(owner_id: int, plan_id: int | None, fmt: str, *, now: dt.datetime,
                   engine: Engine | None = None) -> str:
    """Queue the public notice (通报) of a plan as ``docx``, ``html`` or ``md``."""
    return enqueue("report", {"plan": plan_id, "format": fmt}, owner_id, now=now, engine=engine)


def enqueue_digest(owner_id: int, kind: str, fmt: str, *, now: dt.datetime, at: dt.datetime | None = None,
                   engine: Engine | None = None) -> str:
    """Queue the weekly report or monthly summary (``kind``) of the period containing ``at`` (default
    ``now``) as ``docx``, ``html`` or ``md``."""
    params = {"digest": kind, "format": fmt, "at": at.replace(tzinfo=None).isoformat() if at else None}
    return enqueue("digest", params, owner_id, now=now, engine=engine)


def enqueue_import(owner_id: int, token: str, *, run: bool, actor: str | None = None, now: dt.datetime,
                   engine: Engine | None = None) -> str:
    """Queue the dry run (``run=False``) or the import of the owner's staged upload ``token``
    (:mod:`workflow.importing.staging`); the job's file is the answer as JSON."""
    params = {"token": token, "owner": owner_id, "actor": actor}
    return enqueue("import_run" if run else "import_check", params, owner_id, now=now, engine=engine)


def result(job_id: str, user_id: int, engine: Engine | None = None) -> dict | None:
    """The JSON answer of the owner's finished job (an import's), or None until it is done."""
    import json

    try:
        path, _name, _mime = ready_file(job_id, user_id, engine)
    except NotFound:
        status(job_id, user_id, engine)  # NotFound if the job itself is not the user's
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def status(job_id: str, user_id: int, engine: Engine | None = None) -> dict:
    """The job as its owner sees it; NotFound if there is no such job or it is someone else's."""
    with db.read_tx(engine) as conn:
        row = conn.execute(select(J).where(J.c.id == job_id)).first()
    if row is None or row.owner_id != user_id:
        raise NotFound(f"no such job: {job_id}")
    return {"id": row.id, "kind": row.kind, "state": row.state, "done": row.done, "total": row.total,
            "error": row.error, "name": row.name, "created_at": row.created_at, "finished_at": row.finished_at}


def folder() -> Path:
    """Where finished files are kept: ``<instance>/exports``."""
    path = db.instance_dir() / "exports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def file_path(job_id: str, name: str) -> Path:
    """The finished file of a job: its id with the suffix of its download ``name``."""
    suffix = Path(name).suffix.lower()
    if suffix not in MIMETYPES or not job_id.isalnum():
        raise NotFound(f"no such file: {name}")
    return folder() / f"{job_id}{suffix}"


def ready_file(job_id: str, user_id: int, engine: Engine | None = None) -> tuple[Path, str, str]:
    """(path, download name, mimetype) of the owner's finished job; NotFound until it is done."""
    job = status(job_id, user_id, engine)
    path = file_path(job_id, job["name"])
    if job["state"] != "done" or not path.exists():
        raise NotFound(f"job {job_id} has no file yet")
    return path, job["name"], MIMETYPES[path.suffix]


# --- the worker's side: claim, progress, finish -----------------------------------------------

@dataclass(frozen=True)
class Claimed:
    id: str
    kind: str
    params: dict
    total: int
    name: str
    attempts: int


def _claimable(table, now: dt.datetime):
    expired = and_(table.c.state == "running", table.c.lease_expires < now, table.c.attempts < MAX_ATTEMPTS)
    return or_(table.c.state == "queued", expired)


def claim(worker: str, *, now: dt.datetime, engine: Engine | None = None, lease: dt.timedelta = LEASE) -> Claimed | None:
    """Take the oldest queued job (or one whose worker's lease ran out) for ``worker``; None if none.

    One ``UPDATE``: the row is picked with ``FOR UPDATE SKIP LOCKED`` (ignored by SQLite, which
    runs the statement under its write lock) and the claim condition is checked again on the row
    itself, so two workers never both get it.
    """
    pick = J.alias("pick")
    first = (select(pick.c.id).where(_claimable(pick, now)).order_by(pick.c.created_at, pick.c.id).limit(1)
             .with_for_update(skip_locked=True).scalar_subquery())
    stmt = (update(J).where(J.c.id == first, _claimable(J, now))
            .values(state="running", lease_owner=worker, lease_expires=now + lease, attempts=J.c.attempts + 1,
                    started_at=func.coalesce(J.c.started_at, now))
            .returning(J.c.id, J.c.kind, J.c.params, J.c.total, J.c.name, J.c.attempts))
    with db.write_tx(engine) as conn:
        row = conn.execute(stmt).first()
    return Claimed(**row._asdict()) if row is not None else None


def _mine(job_id: str, worker: str):
    return and_(J.c.id == job_id, J.c.lease_owner == worker, J.c.state == "running")


def renew(job_id: str, worker: str, *, now: dt.datetime, engine: Engine | None = None, done: int | None = None,
          lease: dt.timedelta = LEASE) -> None:
    """Extend the worker's lease (and record ``done`` rows); LeaseLost if the job is no longer its."""
    values: dict = {"lease_expires": now + lease}
    if done is not None:
        values["done"] = done
    with db.write_tx(engine) as conn:
        if conn.execute(update(J).where(_mine(job_id, worker)).values(**values)).rowcount != 1:
            raise LeaseLost(job_id)


def finish(job_id: str, worker: str, part: Path, *, now: dt.datetime, engine: Engine | None = None) -> None:
    """Mark the job done and move its file ``part`` into place, together; LeaseLost if not the worker's."""
    with db.write_tx(engine) as conn:
        row = conn.execute(update(J).where(_mine(job_id, worker))
                           .values(state="done", done=J.c.total, finished_at=now, lease_owner=None,
                                   lease_expires=None)
                           .returning(J.c.name)).first()
        if row is None:
            raise LeaseLost(job_id)
        os.replace(part, file_path(job_id, row.name))  # a failure here rolls the row back


def fail(job_id: str, worker: str, error: str, *, now: dt.datetime, engine: Engine | None = None) -> bool:
    """Record that the job failed with ``error`` (what its owner reads); False if it was not the worker's."""
    with db.write_tx(engine) as conn:
        return conn.execute(update(J).where(_mine(job_id, worker)).values(
            state="failed", error=error[:300], finished_at=now, lease_owner=None, lease_expires=None)).rowcount == 1


# --- running jobs -----------------------------------------------------------------------------

def new_worker_id() -> str:
    """A name for this worker in the lease columns: host, process and a random tail."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(3)}"


class _Heartbeat:
    """Renews the lease every third of it while the work runs, and writes the latest progress."""

    def __init__(self, job: Claimed, worker: str, clock: Clock, engine: Engine, lease: dt.timedelta):
        self.job, self.worker, self.clock, self.engine, self.lease = job, worker, clock, engine, lease
        self.stop = threading.Event()
        self.lost = threading.Event()
        self.last: dt.datetime | None = None
        self.thread = threading.Thread(target=self._beat, name=f"job-{job.id[:8]}", daemon=True)

    def _beat(self) -> None:
        while not self.stop.wait(self.lease.total_seconds() / 3):
            self.renew()

    def renew(self, done: int | None = None) -> None:
        try:
            renew(self.job.id, self.worker, now=self.clock(), engine=self.engine, done=done, lease=self.lease)
        except LeaseLost:
            self.lost.set()

    def progress(self, done: int) -> None:
        """Record ``done`` rows (at most every :data:`PROGRESS_EVERY`); LeaseLost stops the work."""
        if self.lost.is_set():
            raise LeaseLost(self.job.id)
        now = self.clock()
        total = self.job.total
        if total and done < total and self.last is not None and now - self.last < PROGRESS_EVERY:
            return
        self.last = now
        self.renew(min(int(done), total) if total else int(done))
        if self.lost.is_set():
            raise LeaseLost(self.job.id)


def run(job: Claimed, worker: str, *, clock: Clock = utcnow, engine: Engine | None = None,
        lease: dt.timedelta = LEASE) -> str:
    """Do a claimed job: write its file, then finish it; on an error record it as failed.

    Returns the job's end: ``done``, ``failed``, or ``lost`` (another worker has it now).
    """
    engine = engine or db.get_engine()
    part = folder() / f"{job.id}.{job.attempts}.part"
    beat = _Heartbeat(job, worker, clock, engine, lease)
    beat.thread.start()
    try:
        KINDS[job.kind].make(part, job.params, beat.progress, engine)
        beat.stop.set()
        beat.thread.join()
        finish(job.id, worker, part, now=clock(), engine=engine)
        return "done"
    except LeaseLost:
        log.warning("job %s: lease lost to another worker; its work is dropped", job.id)
        return "lost"
    except Exception as e:  # the owner sees that it failed and why; the log has the traceback
        log.exception("job %s (%s) failed", job.id, job.kind)
        return "failed" if fail(job.id, worker, str(e) or type(e).__name__, now=clock(), engine=engine) else "lost"
    finally:
        beat.stop.set()
        part.unlink(missing_ok=True)


@dataclass
class WorkResult:
    done: int = 0
    failed: int = 0
    lost: int = 0
    cleaned: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def work(worker: str | None = None, *, clock: Clock = utcnow, engine: Engine | None = None,
         limit: int | None = None, lease: dt.timedelta = LEASE) -> WorkResult:
    """Clean up, then claim and run jobs until none is left (or ``limit`` ran); the counts."""
    worker = worker or new_worker_id()
    result = WorkResult(cleaned=clean(now=clock(), engine=engine))
    while limit is None or result.done + result.failed + result.lost < limit:
        job = claim(worker, now=clock(), engine=engine, lease=lease)
        if job is None:
            break
        end = run(job, worker, clock=clock, engine=engine, lease=lease)
        setattr(result, end, getattr(result, end) + 1)
    return result


def serve(stop: threading.Event, *, poll: float, clock: Clock = utcnow, engine: Engine | None = None,
          on_result: Callable[[WorkResult], None] | None = None) -> None:
    """Work off the queue, then look again every ``poll`` seconds, until ``stop`` is set."""
    worker = new_worker_id()
    while not stop.is_set():
        result = work(worker, clock=clock, engine=engine)
        if on_result is not None and (result.done or result.failed or result.lost or result.cleaned):
            on_result(result)
        stop.wait(poll)


LOST_TEXT = "生成文件的进程多次中断，已停止重试，请重新导出"


def clean(*, now: dt.datetime, engine: Engine | None = None) -> int:
    """Fail jobs whose workers were lost :data:`MAX_ATTEMPTS` times; remove jobs finished over
    :data:`KEEP` ago with their files, and stray files as old. Returns the jobs removed."""
    cutoff = now - KEEP
    with db.write_tx(engine) as conn:
        conn.execute(update(J).where(J.c.state == "running", J.c.lease_expires < now, J.c.attempts >= MAX_ATTEMPTS)
                     .values(state="failed", error=LOST_TEXT, finished_at=now, lease_owner=None, lease_expires=None))
        old = conn.execute(delete(J).where(J.c.state.in_(("done", "failed")), J.c.finished_at < cutoff)
                           .returning(J.c.id, J.c.name)).all()
    for row in old:
        file_path(row.id, row.name).unlink(missing_ok=True)
    from .importing import staging

    staging.clean()
    wall = utcnow().timestamp() - KEEP.total_seconds()
    for path in folder().iterdir():
        try:
            if path.stat().st_mtime < wall:
                path.unlink()
        except OSError:
            pass
    return len(old)
