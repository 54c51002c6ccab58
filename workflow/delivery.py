"""Delivering the outbox: in-app inbox, email over SMTP, webhooks (generic JSON, WeCom, DingTalk).

:func:`deliver_due` claims pending rows, sends them and marks them sent. Failures are retried
with exponential backoff; after ``RECTIFY_MAX_ATTEMPTS`` attempts (default 6) a row is a dead
letter, and the office gets an in-app notice naming it (:func:`dead_letters` lists them,
:func:`retry_dead` puts them back in the queue).

Claiming. A claim is one short transaction that raises ``attempts`` and moves
``next_attempt_at`` forward by the backoff, as if the attempt had already failed (a lease). On
PostgreSQL the rows are picked with ``FOR UPDATE SKIP LOCKED``; on SQLite the claim runs under
the database write lock (``BEGIN IMMEDIATE``). Either way two deliverers never hold the same row,
and a deliverer that dies leaves its rows to be picked up again once the lease runs out.

Send, then mark. Each message is sent and then marked ``sent_at`` in its own transaction. A
process killed between a peer accepting a message and that commit sends that one message again
after restart: delivery is at least once, and the duplicate window is the single message in
flight (per deliverer). Marking before sending would instead lose that message, which is worse
for a reminder whose point is to arrive. Every email carries ``Message-ID:
<rectify-outbox-{id}@…>`` and every webhook ``X-Rectify-Message-Id: {id}`` (and ``id`` in the
JSON form), so a receiver can drop the duplicate.

Channels. ``inbox`` rows are delivered by being stored (the bell in the web app reads them), so
they are marked sent at once. ``email`` goes to ``RECTIFY_SMTP_HOST``/``RECTIFY_SMTP_PORT`` from
``RECTIFY_MAIL_FROM`` (optional ``RECTIFY_SMTP_USER``/``RECTIFY_SMTP_PASSWORD``,
``RECTIFY_SMTP_STARTTLS=1``); without ``RECTIFY_SMTP_HOST`` email rows wait, untouched.
``webhook`` posts to the recipient's unit ``webhook_url``: ``org_units.webhook_format`` ``json``
posts the whole message; ``wecom`` and ``dingtalk`` post the group-robot text form
``{"msgtype": "text", "text": {"content": …}}`` and treat a non-zero ``errcode`` in the reply as
a failure.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import smtplib
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from sqlalchemy import select, update
from sqlalchemy.engine import Connection, Engine

from . import db, notify, settings
from .models import OrgUnit, Outbox, User

log = logging.getLogger(__name__)

O = Outbox.__table__
FROM_ENV = object()  # sentinel: use the process's settings (workflow.settings)


def max_attempts() -> int:
    """Tries before a message is a dead letter (``RECTIFY_MAX_ATTEMPTS``)."""
    return settings.get().max_attempts


def backoff(attempt: int) -> dt.timedelta:
    """Wait after the ``attempt``-th try: base·2^(attempt-1), base ``RECTIFY_RETRY_BASE_SECONDS`` (120), at most 6 h."""
    base = settings.get().retry_base_seconds
    return dt.timedelta(seconds=min(base * 2 ** max(attempt - 1, 0), 6 * 3600))


@dataclass
class SmtpSettings:
    host: str
    port: int = 25
    sender: str = "rectify@localhost"
    user: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 15.0

    @classmethod
    def from_env(cls) -> SmtpSettings | None:
        """The configured mail server (:mod:`workflow.settings`), or None without a host."""
        s = settings.get()
        if not s.smtp_host:
            return None
        return cls(host=s.smtp_host, port=s.smtp_port, sender=s.mail_from, user=s.smtp_user,
                   password=s.smtp_password, starttls=s.smtp_starttls, timeout=s.smtp_timeout)


@dataclass
class HttpSettings:
    timeout: float = 10.0

    @classmethod
    def from_env(cls) -> HttpSettings:
        return cls(timeout=settings.get().webhook_timeout)


@dataclass
class DeliveryResult:
    inbox: int = 0
    sent: dict = field(default_factory=lambda: {"email": 0, "webhook": 0})
    failed: dict = field(default_factory=lambda: {"email": 0, "webhook": 0})
    dead: int = 0
    email_waiting: bool = False  # email rows exist but no SMTP server is configured

    def as_dict(self) -> dict:
        return asdict(self)


class _Permanent(Exception):
    """A failure no retry can fix (no address): the row goes dead at once."""


# --- claiming ----------------------------------------------------------------------------

def _claim(engine: Engine, now: dt.datetime, channels: list[str], limit: int, cap: int) -> list[int]:
    with db.write_tx(engine) as conn:
        q = (select(O.c.id, O.c.attempts)
             .where(O.c.sent_at.is_(None), O.c.dead.is_(False), O.c.next_attempt_at <= now,
                    O.c.attempts < cap, O.c.channel.in_(channels))
             .order_by(O.c.next_attempt_at, O.c.id).limit(limit))
        if not db.is_sqlite(engine):
            q = q.with_for_update(skip_locked=True)
        rows = conn.execute(q).all()
        for r in rows:
            conn.execute(update(O).where(O.c.id == r.id).values(
                attempts=r.attempts + 1, next_attempt_at=now + backoff(r.attempts + 1)))
    return [r.id for r in rows]


_ROW_Q = (
    select(O, User.username, User.name.label("user_name"), User.email,
           OrgUnit.webhook_url, OrgUnit.webhook_format, OrgUnit.name.label("unit_name"))
    .join(User, User.id == O.c.recipient_id)
    .outerjoin(OrgUnit, OrgUnit.id == User.unit_id)
)


def _mark_sent(engine: Engine, oid: int, now: dt.datetime) -> None:
    with db.write_tx(engine) as conn:
        conn.execute(update(O).where(O.c.id == oid, O.c.sent_at.is_(None)).values(sent_at=now, last_error=None))


def _mark_failed(engine: Engine, oid: int, error: str, now: dt.datetime, cap: int, permanent: bool) -> bool:
    """Record the failure; True if the row is now a dead letter."""
    with db.write_tx(engine) as conn:
        row = conn.execute(select(O.c.attempts, O.c.sent_at).where(O.c.id == oid)).first()
        if row is None or row.sent_at is not None:
            return False
        dead = permanent or row.attempts >= cap
        conn.execute(update(O).where(O.c.id == oid).values(last_error=error[:2000], dead=dead))
        if dead:
            _tell_office(conn, [oid], now)
        return dead


def _tell_office(conn: Connection, outbox_ids: list[int], now: dt.datetime) -> int:
    """An in-app notice to every office user for each dead letter (inbox only, once per row)."""

    office = notify.users_with_role(conn, "office")
    n = 0
    for oid in outbox_ids:
        r = conn.execute(_ROW_Q.where(O.c.id == oid)).first()
        if r is None or r.kind == "delivery_failed":
            continue
        for uid in office:
            body = (f"发给 {r.user_name}（{r.username}）的{_CHANNEL_ZH.get(r.channel, r.channel)}通知经 {r.attempts} 次"
                    f"尝试仍未送达，已转为死信。\n主题：{r.subject}\n最后错误：{r.last_error or '—'}\n"
                    f"请核实联系方式或服务器后在通知管理中重新投递。\n{notify.measure_link(r.measure_id)}")
            n += db.insert_once(conn, O, {
                "key": f"dead:{oid}:{uid}", "recipient_id": uid, "channel": "inbox", "kind": "delivery_failed",
                "measure_id": r.measure_id, "level": None, "subject": f"通知投递失败：{r.subject}"[:300],
                "body": body, "created_at": now, "sent_at": None, "attempts": 0, "next_attempt_at": now,
                "dead": False}, ["key"])
    return n


_CHANNEL_ZH = {"email": "邮件", "webhook": "群机器人", "inbox": "站内"}


def _reap(engine: Engine, now: dt.datetime, cap: int) -> int:
    """Rows whose last permitted attempt was claimed and never finished (a crash): dead once the lease ran out."""
    with db.write_tx(engine) as conn:
        ids = [r[0] for r in conn.execute(select(O.c.id).where(
            O.c.sent_at.is_(None), O.c.dead.is_(False), O.c.attempts >= cap, O.c.next_attempt_at <= now))]
        if ids:
            conn.execute(update(O).where(O.c.id.in_(ids)).values(
                dead=True, last_error="attempts exhausted (the last attempt did not finish)"))
            _tell_office(conn, ids, now)
    return len(ids)


# --- sending -------------------------------------------------------------------------------

def message_id(outbox_id: int, sender: str) -> str:
    domain = sender.rsplit("@", 1)[-1] if "@" in sender else "localhost"
    return f"<rectify-outbox-{outbox_id}@{domain}>"


def build_email(row, settings: SmtpSettings, now: dt.datetime) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = row.subject
    msg["From"] = formataddr(("整改督办系统", settings.sender))
    msg["To"] = formataddr((row.user_name or row.username, row.email))
    msg["Message-ID"] = message_id(row.id, settings.sender)
    msg["Date"] = format_datetime(now.replace(tzinfo=dt.UTC))
    msg["X-Rectify-Kind"] = row.kind
    if row.measure_id is not None:
        msg["X-Rectify-Measure"] = str(row.measure_id)
    msg.set_content(row.body, charset="utf-8")
    return msg


class _Mailer:
    """One SMTP connection for a delivery run, opened on first use, reopened once if dropped."""

    def __init__(self, settings: SmtpSettings):
        self.settings = settings
        self.conn: smtplib.SMTP | None = None

    def _open(self) -> smtplib.SMTP:
        s = self.settings
        conn = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        if s.starttls:
            conn.starttls()
        if s.user:
            conn.login(s.user, s.password or "")
        return conn

    def send(self, msg: EmailMessage) -> None:
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = self._open()
            try:
                self.conn.send_message(msg)
                return
            except smtplib.SMTPServerDisconnected:
                self.conn = None
                if attempt == 2:
                    raise

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.quit()
            except Exception:
                pass
            self.conn = None


def webhook_payload(row) -> dict:
    """The JSON posted: the group-robot text form for WeCom/DingTalk, the whole message otherwise."""
    if row.webhook_format in ("wecom", "dingtalk"):
        return {"msgtype": "text", "text": {"content": f"{row.subject}\n{row.body}"}}
    return {"id": row.id, "kind": row.kind, "subject": row.subject, "body": row.body,
            "measure_id": row.measure_id, "level": row.level, "recipient": row.username,
            "unit": row.unit_name, "link": notify.measure_link(row.measure_id),
            "created_at": row.created_at.isoformat() if row.created_at else None}


def post_webhook(row, settings: HttpSettings) -> None:
    data = json.dumps(webhook_payload(row), ensure_ascii=False).encode("utf-8")
    req = urllib.request.Request(row.webhook_url, data=data, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8", "X-Rectify-Message-Id": str(row.id),
        "User-Agent": "rectify-webhook/1"})
    try:
        with urllib.request.urlopen(req, timeout=settings.timeout) as resp:
            text = resp.read(65536).decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        raise RuntimeError(f"HTTP {e.code} {e.reason}") from None
    if row.webhook_format in ("wecom", "dingtalk"):
        try:
            reply = json.loads(text or "{}")
        except ValueError:
            raise RuntimeError(f"the robot did not answer JSON: {text[:200]}") from None
        if isinstance(reply, dict) and reply.get("errcode", 0) != 0:
            raise RuntimeError(f"robot errcode {reply.get('errcode')}: {reply.get('errmsg', '')}")


# --- the job ---------------------------------------------------------------------------------

def deliver_due(now: dt.datetime, engine: Engine | None = None, smtp=FROM_ENV, http=FROM_ENV,
                batch: int = 20, max_rows: int | None = None, cap: int | None = None) -> DeliveryResult:
    """Deliver every outbox row due at ``now``; return counts. ``smtp=None`` leaves email waiting."""
    engine = engine or db.get_engine()
    now = now.replace(tzinfo=None)
    cap = cap or max_attempts()
    smtp = SmtpSettings.from_env() if smtp is FROM_ENV else smtp
    http = HttpSettings.from_env() if http is FROM_ENV else (http or HttpSettings())
    result = DeliveryResult()
    result.dead += _reap(engine, now, cap)

    with db.write_tx(engine) as conn:  # the inbox: stored is delivered
        result.inbox = conn.execute(update(O).where(
            O.c.channel == "inbox", O.c.sent_at.is_(None), O.c.dead.is_(False), O.c.next_attempt_at <= now,
        ).values(sent_at=now, attempts=O.c.attempts + 1)).rowcount
        if smtp is None:
            result.email_waiting = conn.execute(select(O.c.id).where(
                O.c.channel == "email", O.c.sent_at.is_(None), O.c.dead.is_(False)).limit(1)).first() is not None

    channels = ["webhook"] + (["email"] if smtp is not None else [])
    mailer = _Mailer(smtp) if smtp is not None else None
    done = 0
    try:
        while max_rows is None or done < max_rows:
            take = batch if max_rows is None else min(batch, max_rows - done)
            ids = _claim(engine, now, channels, take, cap)
            if not ids:
                break
            for oid in ids:
                done += 1
                with db.read_tx(engine) as conn:
                    row = conn.execute(_ROW_Q.where(O.c.id == oid)).first()
                try:
                    if row.channel == "email":
                        assert mailer is not None  # email rows are claimed only with a mail server
                        if not row.email:
                            raise _Permanent("the recipient has no email address")
                        mailer.send(build_email(row, smtp, now))
                    else:
                        if not row.webhook_url:
                            raise _Permanent("the recipient's unit has no webhook URL")
                        post_webhook(row, http)
                except Exception as e:
                    if row.channel == "email" and mailer is not None and not isinstance(e, _Permanent):
                        mailer.close()
                    error = f"{type(e).__name__}: {e}"
                    log.info("outbox %s (%s) failed: %s", oid, row.channel, error)
                    result.failed[row.channel] += 1
                    result.dead += _mark_failed(engine, oid, error, now, cap, isinstance(e, _Permanent))
                    continue
                _mark_sent(engine, oid, now)
                result.sent[row.channel] += 1
    finally:
        if mailer is not None:
            mailer.close()
    return result


# --- the office's view of dead letters ----------------------------------------------------------

def dead_letters(engine: Engine | None = None, limit: int = 500) -> list[dict]:
    """Dead letters, newest first: id, recipient, channel, kind, measure, subject, attempts, error."""
    with db.read_tx(engine) as conn:
        rows = conn.execute(_ROW_Q.where(O.c.dead.is_(True)).order_by(O.c.id.desc()).limit(limit)).all()
    return [{"id": r.id, "recipient": r.username, "channel": r.channel, "kind": r.kind,
             "measure_id": r.measure_id, "level": r.level, "subject": r.subject, "attempts": r.attempts,
             "last_error": r.last_error, "created_at": r.created_at.isoformat() if r.created_at else None}
            for r in rows]


def retry_dead(ids, now: dt.datetime, engine: Engine | None = None) -> int:
    """Put dead letters back in the queue with a fresh attempt count; return how many."""
    ids = [int(i) for i in ids]
    if not ids:
        return 0
    with db.write_tx(engine) as conn:
        return conn.execute(update(O).where(O.c.id.in_(ids), O.c.dead.is_(True), O.c.sent_at.is_(None)).values(
            dead=False, attempts=0, next_attempt_at=now.replace(tzinfo=None), last_error=None)).rowcount
