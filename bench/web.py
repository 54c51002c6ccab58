"""``rectify bench web``: the web tier under gunicorn, measured end to end over HTTP.

A fresh SQLite database is built in a temporary folder with bulk inserts (raw ``sqlite3``
``executemany`` on the migrated schema, as :mod:`bench.sweep` does): ``--measures`` measures
(default 100,000), every one with its ``create`` event on its hash chain; 60% of them are
``submitted`` under one leader (``bench_leader``), so there is plenty to approve. API tokens
come from :func:`workflow.cli.create_token`. Then gunicorn is started with
``deploy/gunicorn.conf.py`` and two sync workers on a free port of 127.0.0.1, and, once
``/healthz`` answers, one run of ``--seconds`` seconds (default 20) with four client threads:

1. the first half: every thread approves distinct submitted measures
   (``POST /api/v1/measures/{id}/triggers/approve`` with the leader's bearer token);
2. the second half: every thread cycles through the reads: the HTML ledger (``/ledger``) first
   and last page as the office user, signed in through the real login form (with its CSRF
   token), the API list (``GET /api/v1/measures?page=``) first and last page with the office
   user's token, and ``/healthz``.

gunicorn is always stopped at the end (its whole process group). The hash chains are verified
afterwards (``chain_ok``). Figures are measured, never asserted.

JSON keys: ``measures, submitted, seconds, threads, workers, approvals, approvals_per_s,
errors, latency_ms`` (per endpoint: ``n, p50, p95, p99, max``), ``html_last_first_p50_ratio``,
``api_last_first_p50_ratio``, ``html_pages``, ``api_pages``, ``build_s``, ``startup_s``,
``chain_ok``, ``gunicorn_pids`` (master and workers, all gone when the report is printed),
``total_s``.
"""
from __future__ import annotations

import datetime as dt
import http.client
import json as jsonlib
import math
import os
import queue
import random
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

from workflow import passwords
from workflow.clock import utcnow

from .common import MEASURE_COLUMNS as BASE_COLUMNS, bulk_connection, bulk_insert, insert_org_and_plan, problem_of

ROOT = Path(__file__).resolve().parent.parent
UNITS = 20
SUBMITTED_SHARE = 0.6
THREADS = 4
WORKERS = 2
LEADER = "bench_leader"
OFFICE = "bench_office"
OFFICE_PASSWORD = "pw-bench_office"
HTML_PER_PAGE = 25  # the ledger page's default
API_PER_PAGE = 50  # the API's default
ENDPOINTS = ("approve", "html_ledger_first", "html_ledger_last", "api_list_first", "api_list_last", "healthz")


MEASURE_COLUMNS = BASE_COLUMNS + ("submitter_id", "account")

def _say(msg: str) -> None:
    print(f"bench web: {msg}", file=sys.stderr, flush=True)


def _ts(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S.%f")


# --- the database ---------------------------------------------------------------------------

def build(path: Path, total: int, seed: int = 11) -> int:
    """A migrated SQLite file with ``total`` measures; returns how many are submitted under
    :data:`LEADER`."""
    from workflow import audit, db, workdays

    url = f"sqlite:///{path}"
    db.init_db(url)
    db.reset_engines()
    now = utcnow()
    today = workdays.local_today(now)
    created = now - dt.timedelta(days=30)
    rng = random.Random(seed)

    con = bulk_connection(path)
    users, roles, members = [], [], []
    owners = {}
    uid = 0
    for u in range(1, UNITS + 1):
        uid += 1
        users.append((uid, f"bench_owner{u}", f"单位{u:02d}责任人", u, None))
        roles.append((uid, "owner"))
        members.append((uid, u, False))
        owners[u] = uid
    uid += 1
    leader_id = uid
    users.append((uid, LEADER, "基准分管领导", None, None))
    roles.append((uid, "leader"))
    uid += 1
    other_leader = uid
    users.append((uid, "bench_leader_b", "基准分管领导乙", None, None))
    roles.append((uid, "leader"))
    uid += 1
    users.append((uid, OFFICE, "基准整改办", None, passwords.hash_password(OFFICE_PASSWORD)))
    roles.append((uid, "office"))
    uid += 1
    users.append((uid, "system", "系统", None, None))
    insert_org_and_plan(con, [f"基准责任单位{u:02d}" for u in range(1, UNITS + 1)], users, roles, members, total)

    submitted = 0

    def rows(start: int, stop: int):
        nonlocal submitted
        measures, events = [], []
        for mid in range(start, stop):
            unit = 1 + mid % UNITS
            if rng.random() < SUBMITTED_SHARE:
                state, leader = "submitted", leader_id
                submitted += 1
            else:
                state = rng.choice(("assigned", "in_progress", "verified", "closed"))
                leader = rng.choice((leader_id, other_leader))
            closed = state == "closed"
            deadline = today + dt.timedelta(days=rng.randrange(60, 400))
            pid, seq = problem_of(mid)
            body = audit.canonical_json({"problem_id": pid, "seq": seq, "text": f"措施{mid}",
                                         "kind": "time_bound", "deadline": deadline.isoformat()})
            h = audit.event_hash(audit.GENESIS, mid, 1, "create", "system", None, state, created, body)
            was_submitted = state in ("submitted", "verified", "closed")
            measures.append((
                mid, pid, seq, f"措施{mid}", "time_bound", leader, unit, owners[unit],
                deadline.isoformat(), deadline.isoformat(), state, 1, 0, 0, 0, "done" if closed else "green", -1,
                1, h, _ts(created), _ts(created + dt.timedelta(days=20)) if closed else None,
                _ts(created + dt.timedelta(days=10)) if was_submitted else None,
                owners[unit] if was_submitted else None, f"落实情况{mid}" if was_submitted else None,
            ))
            events.append((mid, 1, "create", "system", None, state, body, _ts(created), audit.GENESIS, h))
        return measures, events

    bulk_insert(con, total, rows, MEASURE_COLUMNS)
    con.close()
    return submitted


def _submitted_ids(path: Path) -> list[int]:
    con = sqlite3.connect(path)
    try:
        return [r[0] for r in con.execute(
            "SELECT m.id FROM measures m JOIN users u ON u.id = m.leader_id "
            "WHERE m.state = 'submitted' AND u.username = ? ORDER BY m.id", (LEADER,))]
    finally:
        con.close()


# --- gunicorn -------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _gunicorn_bin() -> str:
    beside = Path(sys.executable).with_name("gunicorn")
    return str(beside) if beside.exists() else (shutil.which("gunicorn") or "gunicorn")


def start_gunicorn(env: dict, port: int, log_path: Path) -> subprocess.Popen:
    """gunicorn with the production settings file, two sync workers, in its own process group."""
    child = dict(os.environ, **env, RECTIFY_BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY=str(WORKERS),
                 RECTIFY_THREADS="1", RECTIFY_MAX_REQUESTS="0", RECTIFY_LOG_LEVEL="WARNING")
    child.pop("RECTIFY_CONTROL_SOCKET", None)
    log = open(log_path, "ab")
    try:
        return subprocess.Popen(
            [_gunicorn_bin(), "-c", str(ROOT / "deploy" / "gunicorn.conf.py"), "--access-logfile", "/dev/null",
             "web:create_app()"],
            cwd=ROOT, env=child, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
    finally:
        log.close()


def stop_gunicorn(proc: subprocess.Popen) -> None:
    """Stop the master and its workers: TERM to the group, KILL after a grace period."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
    try:  # stragglers (a worker outliving its master) go too
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if proc.poll() is None:
        proc.wait(timeout=10)


def _pids(proc: subprocess.Popen) -> list[int]:
    import psutil

    try:
        return [proc.pid] + [c.pid for c in psutil.Process(proc.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return [proc.pid]


def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


# --- HTTP -----------------------------------------------------------------------------------

class Client:
    """One plain HTTP/1.1 client; gunicorn's sync workers close every connection, so each
    request opens its own."""

    def __init__(self, port: int):
        self.port = port

    def request(self, method: str, path: str, headers: dict | None = None, body: bytes | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, resp.headers, data
        finally:
            conn.close()


def wait_healthy(client: Client, proc: subprocess.Popen, log_path: Path, limit: float = 60.0) -> float:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < limit:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited ({proc.returncode}) before answering: "
                               + log_path.read_text(errors="replace")[-2000:])
        try:
            status, _, _ = client.request("GET", "/healthz")
            if status == 200:
                return time.perf_counter() - t0
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not answer /healthz within {limit:.0f}s: "
                       + log_path.read_text(errors="replace")[-2000:])


def _cookie(headers, name: str) -> str | None:
    for value in headers.get_all("Set-Cookie") or []:
        first = value.split(";", 1)[0]
        key, _, val = first.partition("=")
        if key.strip() == name:
            return val.strip()
    return None


def login(client: Client, username: str, password: str) -> str:
    """Sign in through the real form (GET for the CSRF token, then POST); returns the Cookie header."""
    status, headers, body = client.request("GET", "/login")
    if status != 200:
        raise RuntimeError(f"GET /login answered {status}")
    html = body.decode("utf-8", "replace")
    m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or \
        re.search(r'name="csrf-token"[^>]*content="([^"]+)"', html)
    if not m:
        raise RuntimeError("no CSRF token in the sign-in form")
    cookie = _cookie(headers, "rectify_session")
    form = urllib.parse.urlencode({"csrf_token": m.group(1), "username": username, "password": password,
                                   "next": "/ledger"}).encode()
    hdrs = {"Content-Type": "application/x-www-form-urlencoded"}
    if cookie:
        hdrs["Cookie"] = f"rectify_session={cookie}"
    status, headers, _ = client.request("POST", "/login", hdrs, form)
    fresh = _cookie(headers, "rectify_session")
    if status != 302 or not fresh:
        raise RuntimeError(f"sign-in as {username} failed: status {status}")
    return f"rectify_session={fresh}"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[k]


def _summary(samples: list[float]) -> dict:
    if not samples:
        return {"n": 0}
    return {"n": len(samples), "p50": round(_pct(samples, 50) * 1000, 2), "p95": round(_pct(samples, 95) * 1000, 2),
            "p99": round(_pct(samples, 99) * 1000, 2), "max": round(max(samples) * 1000, 2)}


def drive(client: Client, *, leader_token: str, office_token: str, cookie: str, ids: list[int],
          seconds: float, threads: int = THREADS, html_last: int, api_last: int) -> dict:
    """The measured run: approvals for the first half of ``seconds``, reads for the second."""
    samples = {name: [] for name in ENDPOINTS}
    errors: dict[str, int] = {}
    lock = threading.Lock()
    todo: queue.SimpleQueue = queue.SimpleQueue()
    for mid in ids:
        todo.put(mid)

    def note(name: str, took: float, ok: bool, status) -> None:
        with lock:
            if ok:
                samples[name].append(took)
            else:
                key = f"{name}:{status}"
                errors[key] = errors.get(key, 0) + 1

    def timed(name: str, method: str, path: str, headers: dict, body: bytes | None = None) -> None:
        t = time.perf_counter()
        try:
            status, _, _ = client.request(method, path, headers, body)
        except OSError as e:
            note(name, 0.0, False, type(e).__name__)
            return
        note(name, time.perf_counter() - t, status == 200, status)

    approve_hdrs = {"Authorization": f"Bearer {leader_token}", "Content-Type": "application/json"}
    api_hdrs = {"Authorization": f"Bearer {office_token}"}
    html_hdrs = {"Cookie": cookie}
    reads = (
        ("html_ledger_first", "/ledger?page=1", html_hdrs),
        ("html_ledger_last", f"/ledger?page={html_last}", html_hdrs),
        ("api_list_first", "/api/v1/measures?page=1", api_hdrs),
        ("api_list_last", f"/api/v1/measures?page={api_last}", api_hdrs),
        ("healthz", "/healthz", {}),
    )
    half = seconds / 2

    def approver(stop_at: float) -> None:
        body = jsonlib.dumps({"comment": "审核通过（基准）"}).encode()
        while time.perf_counter() < stop_at:
            try:
                mid = todo.get_nowait()
            except queue.Empty:
                return
            timed("approve", "POST", f"/api/v1/measures/{mid}/triggers/approve", approve_hdrs, body)

    def reader(stop_at: float, offset: int) -> None:
        i = offset
        while time.perf_counter() < stop_at:
            name, path, hdrs = reads[i % len(reads)]
            timed(name, "GET", path, hdrs)
            i += 1

    def phase(target, args_of) -> float:
        t0 = time.perf_counter()
        stop_at = t0 + half
        pool = [threading.Thread(target=target, args=args_of(k, stop_at), daemon=True) for k in range(threads)]
        for th in pool:
            th.start()
        for th in pool:
            th.join()
        return time.perf_counter() - t0

    approve_s = phase(approver, lambda k, stop_at: (stop_at,))
    read_s = phase(reader, lambda k, stop_at: (stop_at, k))
    return {"samples": samples, "errors": errors, "approve_s": approve_s, "read_s": read_s}


# --- the whole benchmark --------------------------------------------------------------------

def _tokens(url: str) -> tuple[str, str]:
    """Bearer tokens of the leader and the office."""
    from workflow import db
    from workflow.cli import create_token

    engine = db.make_engine(url)
    try:
        return create_token(LEADER, engine=engine), create_token(OFFICE, engine=engine)
    finally:
        engine.dispose()


def _last_pages(client: Client, office_token: str, cookie: str, total: int) -> tuple[int, int]:
    """The last page of the HTML ledger (checked to show the last measure) and of the API list."""
    html_last = max(1, math.ceil(total / HTML_PER_PAGE))
    status, _, body = client.request("GET", "/api/v1/measures?page=1", {"Authorization": f"Bearer {office_token}"})
    if status != 200:
        raise RuntimeError(f"GET /api/v1/measures answered {status}")
    api_last = jsonlib.loads(body)["pages"]
    status, _, body = client.request("GET", f"/ledger?page={html_last}", {"Cookie": cookie})
    if status != 200 or f"措施{total}".encode() not in body:
        raise RuntimeError(f"the ledger's last page ({html_last}) does not show measure {total} (status {status})")
    return html_last, api_last


def run(json: bool = False, n: int | None = None, measures: int | None = None, seconds: float | None = None,
        threads: int = THREADS) -> dict:
    """Build the database, start gunicorn, drive it for ``seconds``, stop it; return the figures."""
    from workflow import audit, db

    started = time.perf_counter()
    total = measures or n or 100_000
    seconds = seconds or 20.0
    workdir = Path(tempfile.mkdtemp(prefix="rectify-bench-web-"))
    path = workdir / "web.db"
    url = f"sqlite:///{path}"
    proc = None
    try:
        t = time.perf_counter()
        submitted = build(path, total)
        build_s = time.perf_counter() - t
        ids = _submitted_ids(path)
        random.Random(3).shuffle(ids)
        leader_token, office_token = _tokens(url)
        _say(f"built {total:,} measures ({submitted:,} submitted under {LEADER}) in {build_s:.1f}s")

        port = _free_port()
        log_path = workdir / "gunicorn.log"
        env = {"RECTIFY_DATABASE_URL": url, "RECTIFY_INSTANCE": str(workdir / "instance"),
               "RECTIFY_SECRET_KEY": secrets.token_hex(32)}
        proc = start_gunicorn(env, port, log_path)
        client = Client(port)
        startup_s = wait_healthy(client, proc, log_path)
        pids = _pids(proc)
        _say(f"gunicorn up on 127.0.0.1:{port} in {startup_s:.1f}s (pids {pids}); driving for {seconds:g}s "
             f"with {threads} threads")
        cookie = login(client, OFFICE, OFFICE_PASSWORD)
        html_last, api_last = _last_pages(client, office_token, cookie, total)
        out = drive(client, leader_token=leader_token, office_token=office_token, cookie=cookie, ids=ids,
                    seconds=seconds, threads=threads, html_last=html_last, api_last=api_last)
    finally:
        if proc is not None:
            pids = _pids(proc) if proc.poll() is None else [proc.pid]
            stop_gunicorn(proc)
    try:
        still = [p for p in pids if _alive(p)]
        if still:
            raise RuntimeError(f"gunicorn processes still running after the stop: {still}")
        approvals = len(out["samples"]["approve"])
        engine = db.make_engine(url)
        try:
            broken = audit.verify(engine, evidence_root=workdir / "instance" / "evidence")
            with engine.connect() as conn:
                from sqlalchemy import text
                verified = conn.execute(text("SELECT count(*) FROM measures WHERE state = 'verified' "
                                             "AND version = 2")).scalar_one()
        finally:
            engine.dispose()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if verified != approvals:
        raise RuntimeError(f"{approvals} approvals answered 200 but {verified} measures moved to verified")
    lat = {name: _summary(out["samples"][name]) for name in ENDPOINTS}

    def ratio(last: str, first: str):
        a, b = lat[last].get("p50"), lat[first].get("p50")
        return round(a / b, 3) if a and b else None

    return {
        "measures": total, "submitted": submitted, "seconds": seconds, "threads": threads, "workers": WORKERS,
        "approvals": approvals, "approvals_per_s": round(approvals / out["approve_s"], 1),
        "approve_phase_s": round(out["approve_s"], 2), "read_phase_s": round(out["read_s"], 2),
        "reads": sum(lat[name]["n"] for name in ENDPOINTS if name != "approve"),
        "errors": out["errors"], "latency_ms": lat,
        "html_last_first_p50_ratio": ratio("html_ledger_last", "html_ledger_first"),
        "api_last_first_p50_ratio": ratio("api_list_last", "api_list_first"),
        "html_pages": html_last, "api_pages": api_last,
        "build_s": round(build_s, 1), "startup_s": round(startup_s, 2), "chain_ok": broken is None,
        "gunicorn_pids": pids, "total_s": round(time.perf_counter() - started, 1),
    }
