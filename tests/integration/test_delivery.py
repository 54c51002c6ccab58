"""Outbox delivery against real peers: an aiosmtpd SMTP server and a local HTTP receiver."""
from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import json
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from tests import factory
from workflow import db, delivery, notify
from workflow.models import OrgUnit, Outbox, User
from tests.pg import free_port

T0 = dt.datetime(2026, 12, 1, 2, 0)  # 10:00 in China
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))



# --- a real SMTP server ------------------------------------------------------------------

class Sink:
    """An aiosmtpd handler that keeps what it accepts; can refuse (451) or hold a message."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.refuse_next = 0
        self.hold_at: int | None = None  # hold the n-th accepted message until ``release``
        self.reached = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            if self.refuse_next > 0:
                self.refuse_next -= 1
                return "451 4.3.0 mailbox busy, try again later"
            msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
            self.messages.append(msg)
            n = len(self.messages)
        if self.hold_at is not None and n == self.hold_at:
            self.reached.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 60)
        return "250 2.0.0 OK"

    def ids(self) -> list[str]:
        return [m["Message-ID"] for m in self.messages]


class SmtpPeer:
    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.sink = Sink()
        self.controller = None

    def start(self):
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self):
        if self.controller is not None:
            self.sink.release.set()
            self.controller.stop()
            self.controller = None

    @property
    def settings(self) -> delivery.SmtpSettings:
        return delivery.SmtpSettings(host="127.0.0.1", port=self.port, sender="duban@example.org", timeout=10)


@pytest.fixture
def smtp_peer():
    peer = SmtpPeer()
    yield peer
    peer.stop()


# --- a real HTTP receiver -------------------------------------------------------------------

class Receiver:
    """A local HTTP server recording every POST; answers from a queue of (status, body), then 200."""

    def __init__(self):
        self.requests: list[dict] = []
        self.answers: list[tuple[int, str]] = []
        self.default = (200, '{"errcode":0,"errmsg":"ok"}')
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status, body = receiver.answers.pop(0) if receiver.answers else receiver.default
                receiver.requests.append({"path": self.path, "headers": dict(self.headers), "status": status,
                                          "json": json.loads(raw.decode("utf-8"))})
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def accepted(self, path: str | None = None) -> list[dict]:
        return [r for r in self.requests if r["status"] == 200 and (path is None or r["path"] == path)]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


# --- seeding --------------------------------------------------------------------------------

def give_emails(engine, *usernames):
    with db.write_tx(engine) as conn:
        for u in usernames:
            conn.execute(update(User.__table__).where(User.username == u).values(email=f"{u}@example.org"))


def queue(engine, usernames, n=1, kind="test", now=T0, measure_id=None) -> list[int]:
    """n messages to each user; returns the outbox ids written."""
    with db.write_tx(engine) as conn:
        uids = [conn.execute(select(User.id).where(User.username == u)).scalar_one() for u in usernames]
        before = conn.execute(select(Outbox.id).order_by(Outbox.id.desc()).limit(1)).scalar() or 0
        for i in range(n):
            notify.enqueue(conn, uids, kind, f"测试通知 {i + 1}：整改措施逾期", f"第 {i + 1} 条测试消息，已逾期 3 个工作日。",
                           now, measure_id=measure_id)
        return [r[0] for r in conn.execute(select(Outbox.id).where(Outbox.id > before).order_by(Outbox.id))]


def rows(engine, channel=None):
    q = select(Outbox).order_by(Outbox.id)
    if channel:
        q = q.where(Outbox.channel == channel)
    with db.read_tx(engine) as conn:
        return conn.execute(q).all()


def mid_of(msg) -> int:
    return int(msg["Message-ID"].split("rectify-outbox-")[1].split("@")[0])


# --- tests ------------------------------------------------------------------------------------

def test_inbox_rows_are_delivered_by_being_stored(engine):
    factory.build(engine, measures=1)
    queue(engine, ["owner1", "head1"], n=2)
    res = delivery.deliver_due(T0, engine, smtp=None)
    assert res.inbox == 4
    assert all(r.sent_at == T0 and r.attempts == 1 for r in rows(engine, "inbox"))
    assert delivery.deliver_due(T0, engine, smtp=None).inbox == 0


def test_email_goes_to_a_real_smtp_server_with_a_utf8_subject_and_the_outbox_id_as_message_id(engine, smtp_peer):
    ids = factory.build(engine, measures=1)
    give_emails(engine, "owner1")
    queue(engine, ["owner1"], n=1, measure_id=ids["measures"][0])
    smtp_peer.start()
    res = delivery.deliver_due(T0, engine, smtp=smtp_peer.settings)
    assert res.sent["email"] == 1
    (msg,) = smtp_peer.sink.messages
    (row,) = rows(engine, "email")
    assert msg["Subject"] == "测试通知 1：整改措施逾期"
    assert msg["To"].addresses[0].addr_spec == "owner1@example.org"
    assert msg["From"].addresses[0].addr_spec == "duban@example.org"
    assert msg["Message-ID"] == f"<rectify-outbox-{row.id}@example.org>"
    assert "已逾期 3 个工作日" in msg.get_content() and f"/measures/{ids['measures'][0]}" in msg.get_content()
    assert row.sent_at == T0 and row.last_error is None


def test_email_waits_untouched_when_no_smtp_server_is_configured(engine, monkeypatch):
    factory.build(engine, measures=1)
    give_emails(engine, "owner1")
    queue(engine, ["owner1"])
    monkeypatch.delenv("RECTIFY_SMTP_HOST", raising=False)
    res = delivery.deliver_due(T0, engine)
    assert res.email_waiting and res.sent["email"] == 0
    (row,) = rows(engine, "email")
    assert (row.attempts, row.sent_at, row.dead) == (0, None, False)


def test_an_smtp_peer_that_is_down_then_recovers_gets_each_message_once(engine):
    factory.build(engine, measures=1)
    give_emails(engine, "owner1", "head1")
    queue(engine, ["owner1", "head1"], n=3)
    peer = SmtpPeer()  # not started: connection refused
    try:
        res = delivery.deliver_due(T0, engine, smtp=peer.settings)
        assert res.failed["email"] == 6 and res.sent["email"] == 0
        email_rows = rows(engine, "email")
        assert all(r.attempts == 1 and r.sent_at is None and not r.dead for r in email_rows)
        assert all("Connection refused" in r.last_error or "Errno" in r.last_error for r in email_rows)
        assert all(r.next_attempt_at == T0 + delivery.backoff(1) for r in email_rows)

        peer.start()
        res = delivery.deliver_due(T0 + dt.timedelta(seconds=60), engine, smtp=peer.settings)
        assert res.sent["email"] == 0  # still backing off
        res = delivery.deliver_due(T0 + delivery.backoff(1), engine, smtp=peer.settings)
        assert res.sent["email"] == 6
        assert sorted(Counter(peer.sink.ids()).values()) == [1] * 6
        assert all(r.sent_at is not None and r.attempts == 2 for r in rows(engine, "email"))
        assert delivery.deliver_due(T0 + dt.timedelta(hours=5), engine, smtp=peer.settings).sent["email"] == 0
    finally:
        peer.stop()


def test_a_temporary_smtp_refusal_is_retried_with_backoff_and_delivered_once(engine, smtp_peer):
    factory.build(engine, measures=1)
    give_emails(engine, "owner1")
    queue(engine, ["owner1"], n=4)
    smtp_peer.start()
    smtp_peer.sink.refuse_next = 2
    res = delivery.deliver_due(T0, engine, smtp=smtp_peer.settings)
    assert (res.sent["email"], res.failed["email"]) == (2, 2)
    failed = [r for r in rows(engine, "email") if r.sent_at is None]
    assert all("451" in r.last_error for r in failed)
    res = delivery.deliver_due(T0 + delivery.backoff(1), engine, smtp=smtp_peer.settings)
    assert res.sent["email"] == 2
    assert sorted(Counter(smtp_peer.sink.ids()).values()) == [1] * 4


def test_after_max_attempts_a_message_is_a_dead_letter_the_office_sees(engine, monkeypatch):
    monkeypatch.setenv("RECTIFY_MAX_ATTEMPTS", "3")
    factory.build(engine, measures=1)
    give_emails(engine, "owner1")
    (inbox_id, email_id) = queue(engine, ["owner1"])
    peer = SmtpPeer()  # never up
    now = T0
    for attempt in (1, 2, 3):
        res = delivery.deliver_due(now, engine, smtp=peer.settings)
        assert res.failed["email"] == 1
        now += delivery.backoff(attempt)
    assert res.dead == 1
    row = [r for r in rows(engine, "email")][0]
    assert row.dead and row.attempts == 3 and row.sent_at is None
    assert delivery.deliver_due(now + dt.timedelta(days=1), engine, smtp=peer.settings).failed["email"] == 0
    (dead,) = delivery.dead_letters(engine)
    assert (dead["id"], dead["recipient"], dead["channel"], dead["attempts"]) == (email_id, "owner1", "email", 3)
    with db.read_tx(engine) as conn:
        notices = conn.execute(select(User.username, Outbox.channel, Outbox.subject).join(
            User, User.id == Outbox.recipient_id).where(Outbox.kind == "delivery_failed")).all()
    assert [(n.username, n.channel) for n in notices] == [("office1", "inbox")]
    assert notices[0].subject.startswith("通知投递失败：")

    peer.start()  # the office fixes the server and puts the letter back
    try:
        assert delivery.retry_dead([email_id], now, engine) == 1
        res = delivery.deliver_due(now, engine, smtp=peer.settings)
        assert res.sent["email"] == 1 and len(peer.sink.messages) == 1
        assert delivery.dead_letters(engine) == []
    finally:
        peer.stop()


def test_a_message_to_someone_without_an_address_is_dead_at_once(engine, smtp_peer):
    factory.build(engine, measures=1)
    give_emails(engine, "owner1")
    queue(engine, ["owner1"])
    with db.write_tx(engine) as conn:  # the address was removed after the message was queued
        conn.execute(update(User.__table__).where(User.username == "owner1").values(email=None))
    smtp_peer.start()
    res = delivery.deliver_due(T0, engine, smtp=smtp_peer.settings)
    assert res.dead == 1 and smtp_peer.sink.messages == []
    assert "no email address" in delivery.dead_letters(engine)[0]["last_error"]


def set_webhook(engine, unit, url, fmt):
    with db.write_tx(engine) as conn:
        conn.execute(update(OrgUnit.__table__).where(OrgUnit.name == unit).values(webhook_url=url, webhook_format=fmt))


def test_webhooks_reach_a_real_receiver_as_generic_json_and_as_wecom_and_dingtalk_text(engine, receiver):
    ids = factory.build(engine, measures=1)
    set_webhook(engine, "水利局", receiver.url("/generic"), "json")
    set_webhook(engine, "住建局", receiver.url("/wecom"), "wecom")
    set_webhook(engine, "整改办", receiver.url("/dingtalk"), "dingtalk")
    queue(engine, ["owner1", "owner3", "office1"], measure_id=ids["measures"][0])
    res = delivery.deliver_due(T0, engine, smtp=None)
    assert res.sent["webhook"] == 3
    generic = receiver.accepted("/generic")[0]
    wid = int(generic["headers"]["X-Rectify-Message-Id"])
    assert generic["json"]["id"] == wid and generic["json"]["recipient"] == "owner1"
    assert generic["json"]["subject"] == "测试通知 1：整改措施逾期"
    assert generic["json"]["link"].endswith(f"/measures/{ids['measures'][0]}")
    assert generic["json"]["measure_id"] == ids["measures"][0]
    for path in ("/wecom", "/dingtalk"):
        (req,) = receiver.accepted(path)
        assert req["json"]["msgtype"] == "text"
        assert set(req["json"]) == {"msgtype", "text"}
        assert req["json"]["text"]["content"].startswith("测试通知 1：整改措施逾期\n第 1 条测试消息")
    assert all(r.sent_at == T0 for r in rows(engine, "webhook"))


def test_a_webhook_peer_that_fails_then_recovers_gets_each_message_once(engine, receiver):
    factory.build(engine, measures=1)
    set_webhook(engine, "水利局", receiver.url("/hook"), "json")
    queue(engine, ["owner1"], n=2)
    receiver.answers = [(500, "{}"), (503, "{}")]
    res = delivery.deliver_due(T0, engine, smtp=None)
    assert res.failed["webhook"] == 2
    assert {r.last_error for r in rows(engine, "webhook")} == {"RuntimeError: HTTP 500 Internal Server Error",
                                                               "RuntimeError: HTTP 503 Service Unavailable"}
    res = delivery.deliver_due(T0 + delivery.backoff(1), engine, smtp=None)
    assert res.sent["webhook"] == 2
    got = Counter(int(r["headers"]["X-Rectify-Message-Id"]) for r in receiver.accepted())
    assert sorted(got.values()) == [1, 1]


def test_a_group_robot_error_code_counts_as_a_failure(engine, receiver):
    factory.build(engine, measures=1)
    set_webhook(engine, "水利局", receiver.url("/robot"), "dingtalk")
    queue(engine, ["owner1"])
    receiver.answers = [(200, '{"errcode":310000,"errmsg":"keywords not in content"}')]
    res = delivery.deliver_due(T0, engine, smtp=None)
    assert res.failed["webhook"] == 1
    (row,) = rows(engine, "webhook")
    assert "310000" in row.last_error and row.sent_at is None
    assert delivery.deliver_due(T0 + delivery.backoff(1), engine, smtp=None).sent["webhook"] == 1


# --- real processes ---------------------------------------------------------------------------------

def rectify(*args, env_extra=None) -> subprocess.Popen:
    env = dict(os.environ, PYTHONUNBUFFERED="1", **(env_extra or {}))
    return subprocess.Popen([sys.executable, "-m", "workflow.cli", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def smtp_env(peer: SmtpPeer) -> dict:
    return {"RECTIFY_SMTP_HOST": "127.0.0.1", "RECTIFY_SMTP_PORT": str(peer.port),
            "RECTIFY_MAIL_FROM": "duban@example.org"}


def wait_for(predicate, timeout=60.0) -> bool:
    """Poll a condition on real processes (a short pause between looks)."""
    pause = threading.Event()
    deadline = dt.datetime.now() + dt.timedelta(seconds=timeout)
    while dt.datetime.now() < deadline:
        if predicate():
            return True
        pause.wait(0.05)
    return predicate()


def test_two_concurrent_deliverers_never_send_one_message_twice(engine, smtp_peer):
    factory.build(engine, measures=1)
    give_emails(engine, "owner1", "owner2", "owner3", "head1")
    queue(engine, ["owner1", "owner2", "owner3", "head1"], n=10)  # 40 emails, two batches of 20
    smtp_peer.start()
    smtp_peer.sink.hold_at = 1  # the first deliverer stalls on its first message ...
    env = smtp_env(smtp_peer)
    procs = [rectify("tick", "--now", "2026-12-01T10:00", "--job", "delivery", "--json", env_extra=env)]
    try:
        assert smtp_peer.sink.reached.wait(60)
        procs.append(rectify("tick", "--now", "2026-12-01T10:00", "--job", "delivery", "--json", env_extra=env))
        # ... while the second claims everything else and sends it
        assert wait_for(lambda: all(r.attempts >= 1 for r in rows(engine, "email")))
        assert wait_for(lambda: procs[1].poll() is not None)
    finally:
        smtp_peer.sink.release.set()
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    sent = [json.loads(o)["jobs"]["delivery"]["sent"]["email"] for o, _ in outs]
    assert sent == [20, 20]
    counts = Counter(smtp_peer.sink.ids())
    assert len(counts) == 40 and set(counts.values()) == {1}
    assert all(r.sent_at is not None and r.attempts == 1 for r in rows(engine, "email"))


def test_a_deliverer_killed_mid_batch_delivers_each_message_once_after_restart(engine, smtp_peer):
    """SIGKILL while the peer holds message 5: no message is lost; only that in-flight one repeats."""
    factory.build(engine, measures=1)
    give_emails(engine, "owner1", "owner2", "owner3")
    queue(engine, ["owner1", "owner2", "owner3"], n=4)  # 12 emails
    expected = {r.id for r in rows(engine, "email")}
    smtp_peer.start()
    smtp_peer.sink.hold_at = 5
    proc = rectify("tick", "--now", "2026-12-01T10:00", "--job", "delivery", env_extra=smtp_env(smtp_peer))
    try:
        assert smtp_peer.sink.reached.wait(60), proc.stderr.read() if proc.poll() is not None else "no 5th message"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
    smtp_peer.sink.release.set()
    assert proc.returncode == -signal.SIGKILL
    before = rows(engine, "email")
    assert sum(r.sent_at is not None for r in before) == 4  # four sent and marked before the kill
    in_flight = mid_of(smtp_peer.sink.messages[4])

    again = rectify("tick", "--now", "2026-12-01T11:00", "--job", "delivery", "--json",
                    env_extra=smtp_env(smtp_peer))
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    after = rows(engine, "email")
    assert all(r.sent_at is not None and not r.dead for r in after)
    counts = Counter(mid_of(m) for m in smtp_peer.sink.messages)
    assert set(counts) == expected  # nothing lost
    assert {k: v for k, v in counts.items() if v > 1} == {in_flight: 2}  # the one in flight, nothing else
