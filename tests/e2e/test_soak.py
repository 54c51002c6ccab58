"""Soak: the production profile under steady load for a bounded time, then a full reckoning.

gunicorn with three workers (``deploy/gunicorn.conf.py``, JSON logs) serves ``web:create_app()``
on PostgreSQL at 127.0.0.1; ``rectify tick`` runs back to back with the clock moved half a day
each time, so escalations fall due and the outbox is delivered to a real SMTP server and a real
webhook receiver; simulated people work over HTTP at the same time: owners start and submit
(with evidence), leaders approve and return, the office signs off, rejects and reopens, a
supervisor reads, the public sends feedback. Every loop is bounded by the soak's duration
(``RECTIFY_SOAK_SECONDS``, default 75; 15 with ``RECTIFY_QUICK=1``).

Then: no 5xx and no failed connection; the events table holds exactly the commands the clients
saw succeed (none lost, none doubled, same hashes) and the chains verify; each piece of feedback
acknowledged is stored once; every queued notice is delivered, each email and webhook exactly
once; the workers are the ones that started (none died) and their resident memory is flat;
every log line is JSON. The load held (requests/s, p50/p95 latency, statuses) is printed.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select, text, update

from tests import factory
from tests.conftest import png_bytes
from workflow import audit, db, planwriter, publication, workdays
from workflow.cli import create_token
from workflow.clock import utcnow
from workflow.models import Event, Feedback, OrgUnit, Outbox, User
from tests.pg import free_port

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
WORKERS = 3
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def soak_seconds() -> float:
    if os.environ.get("RECTIFY_SOAK_SECONDS"):
        return float(os.environ["RECTIFY_SOAK_SECONDS"])
    return 15.0 if os.environ.get("RECTIFY_QUICK", "") not in ("", "0") else 75.0



# --- real peers: an SMTP server and a webhook receiver -------------------------------------

class SmtpSink:
    """aiosmtpd on 127.0.0.1, counting messages by their Message-ID."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.ids: Counter = Counter()
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                found = re.search(rb"^Message-ID:\s*<rectify-outbox-(\d+)@", envelope.content, re.M | re.I)
                sink.ids[int(found.group(1)) if found else -1] += 1
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


class WebhookSink:
    """A threaded HTTP server counting POSTs by ``X-Rectify-Message-Id``."""

    def __init__(self):
        self.ids: Counter = Counter()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                sink.ids[int(self.headers.get("X-Rectify-Message-Id", -1))] += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- the ledger -----------------------------------------------------------------------------

def build_ledger(engine, webhook_url: str, measures: int = 150) -> dict:
    """People in every role, ``measures`` measures over three units and two leaders."""
    today = workdays.local_today(utcnow())
    ids = factory.build(engine, measures=1, deadline=today + dt.timedelta(days=5), now=utcnow())
    rng = random.Random(7)
    with db.write_tx(engine) as conn:
        unit_of = dict(conn.execute(select(OrgUnit.name, OrgUnit.id)).all())
        user_of = dict(conn.execute(select(User.username, User.id)).all())
        for i in range(measures):
            owner = rng.choice(["owner1", "owner2", "owner3"])
            unit = "住建局" if owner == "owner3" else "水利局"
            planwriter.measure(conn, ids["problem"], 100 + i, f"整改措施 {100 + i}", leader_id=user_of[rng.choice(
                ["leader1", "leader2"])], unit_id=unit_of[unit], owner_id=user_of[owner],
                deadline=today + dt.timedelta(days=rng.randint(-2, 20)), now=utcnow())
        for name in ("owner1", "leader1", "office1", "head1"):
            conn.execute(update(User.__table__).where(User.username == name).values(email=f"{name}@example.org"))
        conn.execute(update(OrgUnit.__table__).where(OrgUnit.name == "水利局").values(
            webhook_url=webhook_url, webhook_format="json"))
    ids["tokens"] = {u: create_token(u, engine) for u in
                     ("owner1", "owner2", "owner3", "leader1", "leader2", "office1", "super1")}
    publication.publish(ids["plan"], "office1", now=utcnow(), engine=engine)  # the public reads what is published
    return ids


# --- the load -----------------------------------------------------------------------------

class Load:
    """Shared record of every request (kind, status, seconds) and every acknowledged command."""

    def __init__(self, base: str, until: float):
        self.base, self.until = base, until
        self.calls: list[tuple[str, int, float]] = []
        self.failures: list[str] = []
        self.fired: list[tuple[int, int, str, str]] = []  # (measure, seq, trigger, hash)
        self.feedback_ok = 0

    def running(self) -> bool:
        return time.monotonic() < self.until

    def call(self, s: requests.Session, method: str, path: str, kind: str, **kw) -> requests.Response | None:
        t0 = time.perf_counter()
        try:
            r = s.request(method, self.base + path, timeout=60, **kw)
        except requests.RequestException as e:
            self.failures.append(f"{kind} {path}: {type(e).__name__}: {e}")
            return None
        self.calls.append((kind, r.status_code, time.perf_counter() - t0))
        if r.status_code >= 500:
            self.failures.append(f"{kind} {path}: HTTP {r.status_code} {r.text[:300]}")
        return r


def api_session(token: str) -> requests.Session:
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {token}"
    return s


def pick(load: Load, s: requests.Session, rng: random.Random, state: str) -> dict | None:
    """A random measure in ``state`` that the caller may see, with its detail and ETag."""
    r = load.call(s, "GET", f"/api/v1/measures?state={state}&per_page=100", "list")
    if r is None or r.status_code != 200 or not r.json()["items"]:
        return None
    mid = rng.choice(r.json()["items"])["id"]
    d = load.call(s, "GET", f"/api/v1/measures/{mid}", "detail")
    if d is None or d.status_code != 200:
        return None
    return {**d.json(), "etag": d.headers.get("ETag")}


def fire(load: Load, s: requests.Session, m: dict, trigger: str, **kw) -> None:
    r = load.call(s, "POST", f"/api/v1/measures/{m['id']}/triggers/{trigger}", "fire",
                  headers={"If-Match": m["etag"]}, **kw)
    if r is not None and r.status_code == 200:
        out = r.json()
        load.fired.append((out["measure_id"], out["seq"], out["trigger"], out["hash"]))
    elif r is not None and r.status_code not in (409, 412, 422, 403):
        load.failures.append(f"{trigger} on {m['id']}: unexpected HTTP {r.status_code} {r.text[:200]}")


def owner(load: Load, token: str, seed: int) -> None:
    rng, s = random.Random(seed), api_session(token)
    while load.running():
        m = pick(load, s, rng, rng.choice(["assigned", "in_progress", "in_progress"]))
        if m is None:
            time.sleep(0.05)
            continue
        if "start" in m["allowed_triggers"]:
            fire(load, s, m, "start")
        elif "submit" in m["allowed_triggers"]:
            if rng.random() < 0.8:
                fire(load, s, m, "submit", data={"comment": "已完成整改，制度已印发"},
                     files=[("evidence", ("整改照片.png", png_bytes(rng.getrandbits(24)), "image/png"))])
            else:
                fire(load, s, m, "progress_update", json={"comment": "本周召开专题会议推进整改"})


def leader(load: Load, token: str, seed: int) -> None:
    rng, s = random.Random(seed), api_session(token)
    while load.running():
        m = pick(load, s, rng, "submitted")
        if m is None or "approve" not in m["allowed_triggers"]:
            time.sleep(0.05)
            continue
        if rng.random() < 0.8:
            fire(load, s, m, "approve")
        else:
            fire(load, s, m, "return", json={"reason": "佐证材料不全，请补充"})


def office(load: Load, token: str, seed: int) -> None:
    rng, s = random.Random(seed), api_session(token)
    while load.running():
        if rng.random() < 0.1:
            m = pick(load, s, rng, "closed")
            if m is not None:
                fire(load, s, m, "reopen", json={"reason": "群众反映问题反弹", "category": "public_dissatisfaction"})
            continue
        m = pick(load, s, rng, "verified")
        if m is None:
            time.sleep(0.05)
            continue
        if rng.random() < 0.85:
            fire(load, s, m, "sign_off")
        else:
            fire(load, s, m, "reject", json={"reason": "未完成对账"})


def reader(load: Load, token: str, seed: int) -> None:
    rng, s = random.Random(seed), api_session(token)
    while load.running():
        page = rng.randint(1, 3)
        r = load.call(s, "GET", f"/api/v1/measures?page={page}&per_page=50", "list")
        if r is not None and r.status_code == 200 and r.json()["items"]:
            mid = rng.choice(r.json()["items"])["id"]
            load.call(s, "GET", f"/api/v1/measures/{mid}/events", "events")
        load.call(s, "GET", "/api/v1/me", "me")
        load.call(s, "GET", "/healthz", "healthz")


def public(load: Load, plan_id: int, problem_id: int, seed: int) -> None:
    rng, s = random.Random(seed), requests.Session()
    while load.running():
        page = load.call(s, "GET", f"/public/plans/{plan_id}", "public")
        if page is None or page.status_code != 200:
            time.sleep(0.2)
            continue
        token = CSRF_RE.search(page.text)
        assert token, "no CSRF token on the public notice"
        r = load.call(s, "POST", f"/public/plans/{plan_id}/feedback", "feedback", allow_redirects=False,
                      data={"csrf_token": token.group(1), "problem_id": problem_id,
                            "text": f"整改后问题仍然存在 {rng.getrandbits(32)}", "contact": ""})
        if r is not None and r.status_code == 303:
            load.feedback_ok += 1
        elif r is not None:
            load.failures.append(f"feedback: unexpected HTTP {r.status_code}")
        time.sleep(0.2)


# --- the processes ----------------------------------------------------------------------------

def worker_pids(master: int) -> list[int]:
    try:
        return sorted(int(p) for p in Path(f"/proc/{master}/task/{master}/children").read_text().split())
    except OSError:
        return []


def rss_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def start_gunicorn(port: int, log_path: Path) -> subprocess.Popen:
    env = dict(os.environ, RECTIFY_BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY=str(WORKERS),
               RECTIFY_MAX_REQUESTS="0", RECTIFY_LOG_FORMAT="json", RECTIFY_LOG_LEVEL="INFO")
    app = "web:create_app({'RECTIFY_FEEDBACK_PER_HOUR': 1000000})"
    proc = subprocess.Popen([str(BIN / "gunicorn"), "-c", str(ROOT / "deploy" / "gunicorn.conf.py"), app],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log_path.open("w"),
                            start_new_session=True)
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200 \
                    and len(worker_pids(proc.pid)) == WORKERS:
                return proc
        except requests.RequestException:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            raise AssertionError(f"gunicorn did not start:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.2)


def ticks(load: Load, env: dict, start: dt.datetime, step: dt.timedelta, out: list) -> None:
    """``rectify tick`` back to back, the clock moved by ``step`` each time (China time)."""
    t = start
    while load.running():
        t += step
        p = subprocess.run([sys.executable, "-m", "workflow.cli", "tick", "--now", t.isoformat(), "--json"],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        out.append((t, p.returncode, p.stdout, p.stderr[-2000:]))
    out.append((t, None, "", ""))


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def test_the_production_profile_holds_a_steady_load_without_losing_anything(pg_engine, tmp_path):
    engine = pg_engine
    smtp, hooks = SmtpSink(), WebhookSink()
    procs = []
    try:
        ids = build_ledger(engine, hooks.url)
        port = free_port()
        log_path = tmp_path / "gunicorn.log"
        gunicorn = start_gunicorn(port, log_path)
        procs.append(gunicorn)
        workers = worker_pids(gunicorn.pid)
        seconds = soak_seconds()
        load = Load(f"http://127.0.0.1:{port}", time.monotonic() + seconds)
        tick_env = dict(os.environ, RECTIFY_SMTP_HOST="127.0.0.1", RECTIFY_SMTP_PORT=str(smtp.port),
                        RECTIFY_MAIL_FROM="duban@example.org", RECTIFY_RETRY_BASE_SECONDS="1")
        china_now = dt.datetime.now(workdays.TZ).replace(tzinfo=None, microsecond=0)
        tick_log: list = []
        rss: dict[int, list[int]] = defaultdict(list)
        tokens = ids["tokens"]
        threads = [
            threading.Thread(target=owner, args=(load, tokens["owner1"], 1)),
            threading.Thread(target=owner, args=(load, tokens["owner2"], 2)),
            threading.Thread(target=owner, args=(load, tokens["owner3"], 3)),
            threading.Thread(target=leader, args=(load, tokens["leader1"], 4)),
            threading.Thread(target=leader, args=(load, tokens["leader2"], 5)),
            threading.Thread(target=office, args=(load, tokens["office1"], 6)),
            threading.Thread(target=reader, args=(load, tokens["super1"], 7)),
            threading.Thread(target=public, args=(load, ids["plan"], ids["problem"], 8)),
            threading.Thread(target=ticks, args=(load, tick_env, china_now, dt.timedelta(hours=12), tick_log)),
        ]
        started = time.monotonic()
        for t in threads:
            t.start()
        while load.running():
            for pid in workers:
                kb = rss_kb(pid)
                if kb:
                    rss[pid].append(kb)
            time.sleep(1.0)
        for t in threads:
            t.join(180)
        elapsed = time.monotonic() - started
        alive = worker_pids(gunicorn.pid)

        # deliver what the last ticks left: the clock a little later, until nothing is pending
        last = tick_log[-1][0] if tick_log else china_now
        for i in range(6):
            p = subprocess.run([sys.executable, "-m", "workflow.cli", "tick", "--now",
                                (last + dt.timedelta(minutes=10 * (i + 1))).isoformat(), "--job", "delivery"],
                               cwd=ROOT, env=tick_env, capture_output=True, text=True, timeout=120)
            assert p.returncode == 0, p.stderr
            with db.read_tx(engine) as conn:
                pending = conn.execute(select(func.count()).select_from(Outbox).where(
                    Outbox.sent_at.is_(None), Outbox.dead.is_(False))).scalar_one()
            if not pending:
                break
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
        smtp.stop()
        hooks.stop()

    # --- the reckoning
    statuses = Counter(status for _, status, _ in load.calls)
    latencies = [sec for _, _, sec in load.calls]
    by_kind = Counter(kind for kind, _, _ in load.calls)
    fired_by = Counter(trigger for _, _, trigger, _ in load.fired)
    growth = {pid: (statistics.median(v[-len(v) // 3:]) - statistics.median(v[:len(v) // 3])) / 1024
              for pid, v in rss.items() if len(v) >= 6}
    report = {
        "seconds": round(elapsed, 1), "requests": len(load.calls),
        "requests_per_s": round(len(load.calls) / elapsed, 1),
        "p50_ms": round(1000 * percentile(latencies, 0.50), 1), "p95_ms": round(1000 * percentile(latencies, 0.95), 1),
        "statuses": dict(sorted(statuses.items())), "by_kind": dict(by_kind), "commands": dict(fired_by),
        "feedback": load.feedback_ok, "ticks": len(tick_log) - 1,
        "rss_mb_start_end": {pid: (round(v[0] / 1024, 1), round(v[-1] / 1024, 1)) for pid, v in rss.items()},
        "rss_growth_mb": {pid: round(g, 1) for pid, g in growth.items()},
        "emails": sum(smtp.ids.values()), "webhooks": sum(hooks.ids.values()),
    }
    print(f"\nsoak: {json.dumps(report, ensure_ascii=False)}")

    assert not load.failures, load.failures[:20]
    assert not [s for s in statuses if s >= 500]
    assert len(load.fired) >= seconds, report  # the load did real work (a command a second at least)
    bad_ticks = [(t, code, err) for t, code, _, err in tick_log if code not in (0, None)]
    assert not bad_ticks, bad_ticks[:3]

    # nothing lost, nothing doubled: the events by people are exactly the commands acknowledged
    fired = {(m, seq): (trigger, h) for m, seq, trigger, h in load.fired}
    assert len(fired) == len(load.fired), "two acknowledged commands share one event number"
    with db.read_tx(engine) as conn:
        stored = {(r.measure_id, r.seq): (r.kind, r.hash) for r in conn.execute(
            select(Event.measure_id, Event.seq, Event.kind, Event.hash)
            .where(Event.actor != "system", Event.kind.not_in(("create", "import"))))}
        feedback_rows = conn.execute(select(func.count()).select_from(Feedback)).scalar_one()
        outbox = conn.execute(select(Outbox.id, Outbox.channel, Outbox.sent_at, Outbox.dead)).all()
        escalations = conn.execute(text("SELECT count(*) FROM escalations")).scalar_one()
    assert stored == fired, (f"{len(set(stored) - set(fired))} events nobody was told of, "
                             f"{len(set(fired) - set(stored))} acknowledged commands missing")
    assert audit.verify(engine) is None
    assert feedback_rows == load.feedback_ok

    # every notice delivered, each email and webhook exactly once
    assert escalations > 0, "the advancing clock escalated nothing"
    assert all(o.sent_at is not None and not o.dead for o in outbox), \
        [o for o in outbox if o.sent_at is None or o.dead][:10]
    emails = {o.id for o in outbox if o.channel == "email"}
    webhooks = {o.id for o in outbox if o.channel == "webhook"}
    assert emails and webhooks
    assert set(smtp.ids) == emails and max(smtp.ids.values()) == 1, "an email was lost or sent twice"
    assert set(hooks.ids) == webhooks and max(hooks.ids.values()) == 1, "a webhook was lost or posted twice"

    # the workers that started are the ones that finished, and their memory is flat
    assert alive == workers, f"workers changed during the soak: {workers} -> {alive}"
    assert growth and max(growth.values()) < 20, f"worker RSS grew: {report['rss_growth_mb']} MB"

    # logs: one JSON object a line, the access lines agree with the client
    lines = log_path.read_text().splitlines()
    records = [json.loads(line) for line in lines]
    access = [r for r in records if r["logger"] == "gunicorn.access"]
    assert not [r for r in access if r["status"] >= 500]
    assert len(access) >= len(load.calls)
    assert not [r for r in records if r["level"] in ("ERROR", "CRITICAL")], \
        [r for r in records if r["level"] in ("ERROR", "CRITICAL")][:5]
