"""The escalation ladder, the approval SLA and re-check reminders: services the scheduler runs.

Every function takes an explicit ``now`` (naive UTC) and an engine; nothing here reads the clock.

Exactly once. Each (measure, level, deadline) escalation is a row of ``escalations`` under a
unique constraint, inserted with ``ON CONFLICT DO NOTHING`` in the same transaction as the
``escalate`` audit event on the measure's chain, the ``light_history`` row, the measure's new
light/level (under its version check) and the outbox rows (keyed ``esc:{mid}:{level}:{deadline}``).
Whoever inserts the row notifies; anyone else finds it there and does nothing. Two sweepers, a
restart half-way, or a sweep repeated at the same instant therefore never notify twice.

Catching up after downtime. A measure whose recorded level is below the level it should have is
brought up in one step. If the scheduler was down while a measure went from green to L3, the
skipped levels (yellow, L1, L2) are recorded as escalations too, so they never fire later, and
named in the event's ``skipped`` list, but only the level in force is notified: one message per
measure, not a burst of stale reminders.

Recovery. The engine writes the green ``light_history`` row when a measure is submitted, signed
off, or its deadline is extended (``grant_extension``); a new deadline starts a fresh ladder,
because the deadline is part of the escalation key.

Cost. The sweep's query is a range scan of the ``(state, deadline)`` index: open measures
(``assigned``/``in_progress``) whose deadline is on or before the yellow horizon, filtered to
those whose recorded level is below the level their deadline calls for. Its cost follows the
number of measures near or past their deadline, not the size of the ledger.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import and_, bindparam, func, insert, or_, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from . import audit, commands, db, notify, periods, spec, vocabulary, workdays
from .errors import Conflict
from .models import Escalation, Event, LightChange, Measure, Membership, OrderCounter, OrgUnit, Plan, Problem, User

log = logging.getLogger(__name__)

M = Measure.__table__
ESC = Escalation.__table__
LIGHTS = LightChange.__table__
EVENTS = Event.__table__

OPEN_WORK = (spec.ASSIGNED, spec.IN_PROGRESS)  # what the ladder chases
AWAITING = (spec.SUBMITTED, spec.VERIFIED)  # what the approval SLA chases

SLA_APPROVER, SLA_SUPERIOR = 10, 11  # escalation levels of the approval SLA

# (Chinese from the one vocabulary, English for messages to people who chose English)
LEVEL_LABELS = {
    level: (vocabulary.LEVEL_LABELS[level], en) for level, en in (
        (0, "deadline approaching"), (1, "overdue, level 1 escalation"), (2, "overdue, level 2 escalation"),
        (3, "overdue, level 3 escalation with a supervision order"), (SLA_APPROVER, "approval overdue"),
        (SLA_SUPERIOR, "approval overdue, superior informed"))
}

MAX_TRIES = 3


class _Retry(Exception):
    """Someone else changed the measure meanwhile: roll back and read it again."""


# --- small shared pieces -------------------------------------------------------------

def workdays_back(today: dt.date, n: int) -> dt.date:
    """The latest date ``d`` with ``workdays_between(d, today) >= n``."""
    if n <= 0:
        return today
    count, day = 0, today
    while True:
        if workdays.is_workday(day):
            count += 1
            if count >= n:
                return day - dt.timedelta(days=1)
        day -= dt.timedelta(days=1)


@dataclass(frozen=True)
class Thresholds:
    """Deadline bounds for one ladder at ``today``: a deadline on or before ``lN`` is at level N or worse."""

    horizon: dt.date  # yellow or worse
    l1: dt.date
    l2: dt.date
    l3: dt.date


def thresholds(today: dt.date, rules: dict) -> Thresholds:
    horizon = workdays.add_workdays(today, rules["yellow_within"] + 1) - dt.timedelta(days=1)
    return Thresholds(horizon, today - dt.timedelta(days=1), workdays_back(today, rules["l2_after"]),
                      workdays_back(today, rules["l3_after"]))


def loosest(today: dt.date, ladders: list[dict]) -> Thresholds:
    """The widest bounds over several plans' ladders (the query over-selects; Python decides)."""
    ts = [thresholds(today, workdays.ladder(x)) for x in ladders] or [thresholds(today, workdays.DEFAULT_LADDER)]
    return Thresholds(max(t.horizon for t in ts), max(t.l1 for t in ts), max(t.l2 for t in ts),
                      max(t.l3 for t in ts))


def candidates_query(t: Thresholds):
    """Open measures whose recorded level is below what their deadline calls for (index range scan)."""
    return (
        select(M.c.id)
        .where(M.c.state.in_(OPEN_WORK), M.c.deadline <= t.horizon)
        .where(or_(
            M.c.level < 0,
            and_(M.c.deadline <= t.l1, M.c.level < 1),
            and_(M.c.deadline <= t.l2, M.c.level < 2),
            and_(M.c.deadline <= t.l3, M.c.level < 3),
        ))
        .order_by(M.c.deadline, M.c.id)
    )


def _plan_ladders(conn: Connection) -> list[dict]:
    """Each distinct ladder override among the plans (few rows; JSON has no equality on PostgreSQL)."""
    seen: dict[str, dict] = {}
    value: dict | None
    for value in conn.execute(select(Plan.ladder)).scalars():
        ladder: dict = value or {}
        seen.setdefault(repr(sorted(ladder.items())), ladder)
    return list(seen.values())


# --- reading one measure with what its messages need -------------------------------------

_OWNER, _LEADER = aliased(User.__table__, name="owner_u"), aliased(User.__table__, name="leader_u")
_DETAIL_Q = (
    select(M, Problem.no.label("problem_no"), Plan.ladder.label("ladder"), Plan.target_id.label("target_id"),
           OrgUnit.name.label("unit_name"),
           _OWNER.c.name.label("owner_name"), _LEADER.c.name.label("leader_name"))
    .join(Problem, Problem.id == M.c.problem_id)
    .join(Plan, Plan.id == Problem.plan_id)
    .outerjoin(OrgUnit, OrgUnit.id == M.c.unit_id)
    .outerjoin(_OWNER, _OWNER.c.id == M.c.owner_id)
    .outerjoin(_LEADER, _LEADER.c.id == M.c.leader_id)
)


_DETAIL_BY_ID = _DETAIL_Q.where(M.c.id == bindparam("mid"))
_HEADS_Q = (select(Membership.user_id).join(User, User.id == Membership.user_id)
            .where(Membership.unit_id == bindparam("unit_id"), Membership.is_head.is_(True), User.active.is_(True))
            .order_by(Membership.user_id))
_LOCALES_Q = select(User.id, User.locale).where(User.id.in_(bindparam("ids", expanding=True)))
_INSERT_LIGHT = insert(LIGHTS)


def _write(conn: Connection, mid: int, version: int, values: dict) -> None:
    """The engine's version-checked write; a measure changed meanwhile is retried by the sweep."""
    try:
        commands.write_checked(conn, mid, version, values)
    except Conflict:
        raise _Retry(mid) from None


def _load(conn: Connection, measure_id: int):
    return conn.execute(_DETAIL_BY_ID, {"mid": measure_id}).first()


def unit_heads(conn: Connection, unit_id: int | None) -> list[int]:
    if unit_id is None:
        return []
    return [r[0] for r in conn.execute(_HEADS_Q, {"unit_id": unit_id})]


def recipients_for(conn: Connection, row, level: int) -> list[int]:
    """Who is told at each rung: 0 owner; 1 owner and unit head; 2 leader; 3 office and supervisors."""
    if level == 0:
        out = [row.owner_id]
    elif level == 1:
        out = [row.owner_id, *unit_heads(conn, row.unit_id)]
    elif level == 2:
        out = [row.leader_id]
    else:
        out = [u for role in ("office", "supervisor") for u in notify.users_with_role(conn, role, row.target_id)]
    out = [u for u in out if u is not None]
    return out or notify.users_with_role(conn, "office", row.target_id)  # nobody named: the office hears of it


def _by_locale(conn: Connection, user_ids: list[int]) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = defaultdict(list)
    if not user_ids:
        return groups
    locales = dict(conn.execute(_LOCALES_Q, {"ids": list(user_ids)}).all())
    for uid in dict.fromkeys(user_ids):
        groups["en" if (locales.get(uid) or "zh").startswith("en") else "zh"].append(uid)
    return groups


def enqueue_localized(conn: Connection, recipients: list[int], kind: str, render, now: dt.datetime,
                      measure_id: int | None = None, level: int | None = None, key: str | None = None) -> int:
    """``notify.enqueue`` once per recipient language; ``render(locale) -> (subject, body)``."""
    n = 0
    for locale, uids in _by_locale(conn, recipients).items():
        subject, body = render(locale)
        n += notify.enqueue(conn, uids, kind, subject, body, now, measure_id=measure_id, level=level, key=key)
    return n


# --- the messages ----------------------------------------------------------------------

def _short(text: str | None, n: int = 60) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


def escalation_text(row, level: int, today: dt.date, order_no: str | None, locale: str = "zh") -> tuple[str, str]:
    """Subject and body: what is late, by how much, who is responsible (Chinese, or English)."""
    deadline = row.deadline
    late = workdays.workdays_between(deadline, today) if today > deadline else 0
    ahead = workdays.workdays_between(today, deadline) if today <= deadline else 0
    calendar_late = (today - deadline).days
    extended = row.deadline_original is not None and row.deadline_original != deadline
    zh_label, en_label = LEVEL_LABELS[level]
    if locale == "en":
        if level == 0:
            subject = (f"Deadline approaching: measure {row.id} (problem {row.problem_no}) is due "
                       + ("today" if ahead == 0 else f"in {ahead} working day(s)"))
            status = f"Due {deadline.isoformat()}, " + ("today." if ahead == 0 else f"{ahead} working day(s) left.")
        else:
            subject = (f"Overdue {en_label}: measure {row.id} (problem {row.problem_no}) is {late} working "
                       f"day(s) late")
            status = f"{late} working day(s) ({calendar_late} calendar day(s)) past the deadline {deadline.isoformat()}."
        lines = [
            f"[{en_label}]",
            f"Measure: {_short(row.text)}",
            f"Problem: no. {row.problem_no}",
            f"Responsible unit: {row.unit_name or '-'}; owner: {row.owner_name or '-'}; "
            f"responsible leader: {row.leader_name or '-'}",
            f"Deadline: {deadline.isoformat()}"
            + (f" (originally {row.deadline_original.isoformat()}, extended)" if extended else ""),
            f"State: {row.state}",
            status,
        ]
        if order_no:
            lines.append(f"Supervision order: {order_no}")
        return subject, "\n".join(lines)
    if level == 0:
        when = "今天到期" if ahead == 0 else f"距完成时限还有 {ahead} 个工作日"
        subject = f"临期提醒：整改措施 {row.id}（问题{row.problem_no}）{when}"
        status = f"完成时限 {deadline.isoformat()}，{when}，请抓紧整改并按时提交落实情况。"
    else:
        subject = f"{zh_label}：整改措施 {row.id}（问题{row.problem_no}）已逾期 {late} 个工作日"
        status = f"已超过完成时限 {late} 个工作日（{calendar_late} 天），请责任人立即整改并提交落实情况。"
    lines = [
        f"【{zh_label}】",
        f"整改措施：{_short(row.text)}",
        f"所属问题：问题{row.problem_no}",
        f"责任单位：{row.unit_name or '—'}；责任人：{row.owner_name or '—'}；责任领导：{row.leader_name or '—'}",
        f"完成时限：{deadline.isoformat()}" + (f"（原定 {row.deadline_original.isoformat()}，已延期）" if extended else ""),
        f"当前状态：{spec.STATE_LABELS.get(row.state, row.state)}",
        status,
    ]
    if order_no:
        lines.append(f"督办单号：{order_no}（请领导小组办公室、纪工委跟踪督办）")
    return subject, "\n".join(lines)


# --- supervision order numbers ---------------------------------------------------------

def next_order_no(conn: Connection, year: int) -> str:
    """The next supervision order number of ``year`` (督办单 DB-2026-0001); unique in the table.

    One upsert on the year's counter row (``order_counters``), whatever the number of orders the
    year already has; on PostgreSQL the row lock orders concurrent sweeps.
    """
    stmt = _COUNTER.get(conn.dialect.name)
    if stmt is None:
        from sqlalchemy.dialects import postgresql, sqlite

        ins: Any = (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(COUNTERS)
        stmt = _COUNTER[conn.dialect.name] = ins.values(year=bindparam("year"), last=1).on_conflict_do_update(
            index_elements=[COUNTERS.c.year], set_={"last": COUNTERS.c.last + 1}).returning(COUNTERS.c.last)
    n: int = conn.execute(stmt, {"year": year}).scalar_one()
    return f"DB-{year}-{n:04d}"


COUNTERS = OrderCounter.__table__
_COUNTER: dict[str, Any] = {}


# --- the sweep -----------------------------------------------------------------------------

@dataclass
class SweepResult:
    candidates: int = 0  # rows the indexed query returned
    escalated: int = 0  # measures that got a new, notified escalation
    skipped_levels: int = 0  # lower levels recorded without a message (catch-up)
    light_changes: int = 0  # light_history rows written
    notified: int = 0  # outbox rows written
    retries: int = 0
    orders: list[str] = field(default_factory=list)
    by_level: dict[int, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def sweep(now: dt.datetime, engine: Engine | None = None) -> SweepResult:
    """Bring every open measure's light up to date and escalate, each (measure, level, deadline) once."""
    engine = engine or db.get_engine()
    now = now.replace(tzinfo=None)
    today = workdays.local_today(now)
    with db.read_tx(engine) as conn:
        bounds = loosest(today, _plan_ladders(conn))
        ids = [r[0] for r in conn.execute(candidates_query(bounds))]
    result = SweepResult(candidates=len(ids))
    _in_chunks(engine, ids, lambda conn, mid: _escalate_one(conn, mid, today, now, result), result)
    return result


CHUNK = 50  # measures per write transaction (each in its own savepoint)


def _in_chunks(engine: Engine, ids: list[int], one, result) -> None:
    """Run ``one(conn, mid)`` for each id, ``CHUNK`` to a transaction, each under a savepoint.

    A measure that a concurrent writer changed meanwhile (:class:`_Retry`, or a unique key
    taken first) rolls back to its savepoint and is tried again in a later transaction, where it
    reads the winner's work and usually finds nothing left to do.
    """
    pending = list(ids)
    for attempt in range(MAX_TRIES):
        again: list[int] = []
        for start in range(0, len(pending), CHUNK):
            with db.write_tx(engine) as conn:
                for mid in pending[start:start + CHUNK]:
                    try:
                        with conn.begin_nested():
                            one(conn, mid)
                    except (_Retry, IntegrityError) as e:
                        result.retries += 1
                        log.info("measure %s changed meanwhile (%s); retrying", mid, type(e).__name__)
                        again.append(mid)
        if not again:
            return
        pending = again
    log.warning("measures %s: gave up after %d tries; the next sweep retries them", pending, MAX_TRIES)


def _escalate_one(conn: Connection, mid: int, today: dt.date, now: dt.datetime, result: SweepResult) -> None:
    row = _load(conn, mid)
    if row is None or row.state not in OPEN_WORK or row.deadline is None:
        return
    light, level = workdays.light(row.state, row.deadline, today, workdays.ladder(row.ladder))
    if level <= row.level:
        return
    new_levels = []
    order_no = None
    for lv in range(max(row.level + 1, 0), level + 1):
        values = {"measure_id": mid, "level": lv, "deadline": row.deadline, "created_at": now, "order_no": None}
        if db.insert_once(conn, ESC, values, ["measure_id", "level", "deadline"]):
            new_levels.append(lv)
            if lv == 3:  # numbered once the order is surely new: numbers have no gaps
                order_no = next_order_no(conn, today.year)
                conn.execute(update(ESC).where(ESC.c.measure_id == mid, ESC.c.level == lv,
                                               ESC.c.deadline == row.deadline).values(order_no=order_no))
    notify_now = level in new_levels
    values = {"light": light, "level": level}
    if new_levels:
        body = {"level": level, "light": light, "deadline": row.deadline.isoformat(),
                "late_workdays": workdays.workdays_between(row.deadline, today) if today > row.deadline else 0,
                "skipped": [lv for lv in new_levels if lv != level]}
        if order_no:
            body["order_no"] = order_no
        seq, h = audit.append(conn, mid, row.head_seq, row.head_hash, "escalate", "system", None, None, body, now)
        values.update(version=row.version + 1, head_seq=seq, head_hash=h)
    _write(conn, mid, row.version, values)
    if (light, level) != (row.light, row.level):
        conn.execute(_INSERT_LIGHT, {"measure_id": mid, "light": light, "level": level, "at": now})
        result.light_changes += 1
    if notify_now:
        recipients = recipients_for(conn, row, level)
        result.notified += enqueue_localized(
            conn, recipients, "escalation",
            lambda loc: escalation_text(row, level, today, order_no, loc), now,
            measure_id=mid, level=level, key=f"esc:{mid}:{level}:{row.deadline.isoformat()}")
        result.escalated += 1
        result.by_level[level] = result.by_level.get(level, 0) + 1
        if order_no:
            result.orders.append(order_no)
    result.skipped_levels += len([lv for lv in new_levels if lv != level])


# --- the approval SLA ------------------------------------------------------------------------

@dataclass
class SlaResult:
    waiting: int = 0
    reminded: int = 0  # approvers reminded (level 10)
    superiors: int = 0  # superiors told (level 11)
    notified: int = 0
    retries: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def _stage_start(conn: Connection, row) -> dt.datetime | None:
    """When the measure reached the approver it waits on: submission, or the leader's approval."""
    if row.state == spec.SUBMITTED:
        return row.submitted_at
    return conn.execute(select(EVENTS.c.at).where(EVENTS.c.measure_id == row.id, EVENTS.c.kind == "approve")
                        .order_by(EVENTS.c.seq.desc()).limit(1)).scalar()


def _approvers(conn: Connection, row) -> list[int]:
    if row.state == spec.SUBMITTED:
        return [row.leader_id] if row.leader_id else notify.users_with_role(conn, "office", row.target_id)
    return notify.users_with_role(conn, "office", row.target_id)


def _superiors(conn: Connection, approvers: list[int], row) -> list[int]:
    sup = [s for s in conn.execute(select(User.superior_id).where(
        User.id.in_(approvers), User.superior_id.is_not(None))).scalars() if s is not None] if approvers else []
    if sup:
        return sorted(set(sup))
    # nobody's superior is recorded: the leader's work goes to the office, the office's to supervisors
    return notify.users_with_role(conn, "office" if row.state == spec.SUBMITTED else "supervisor", row.target_id)


def sla_text(row, level: int, waited: int, since: dt.date, locale: str = "zh") -> tuple[str, str]:
    stage_zh = "审核" if row.state == spec.SUBMITTED else "对账销号"
    who_zh = f"责任领导 {row.leader_name or '—'}" if row.state == spec.SUBMITTED else "整改办"
    zh_label, en_label = LEVEL_LABELS[level]
    if locale == "en":
        stage = "approval" if row.state == spec.SUBMITTED else "sign-off"
        subject = f"{en_label}: measure {row.id} (problem {row.problem_no}) has waited {waited} working day(s) for {stage}"
        body = "\n".join([
            f"[{en_label}]", f"Measure: {_short(row.text)}", f"Problem: no. {row.problem_no}",
            f"Responsible unit: {row.unit_name or '-'}; owner: {row.owner_name or '-'}",
            f"Waiting for {stage} since {since.isoformat()}: {waited} working day(s).",
        ])
        return subject, body
    subject = f"{zh_label}：整改措施 {row.id}（问题{row.problem_no}）待{stage_zh}已 {waited} 个工作日"
    body = "\n".join([
        f"【{zh_label}】",
        f"整改措施：{_short(row.text)}",
        f"所属问题：问题{row.problem_no}",
        f"责任单位：{row.unit_name or '—'}；责任人：{row.owner_name or '—'}",
        f"自 {since.isoformat()} 起待{stage_zh}，已 {waited} 个工作日，责任人为{who_zh}，请及时办理。",
    ])
    return subject, body


def approval_sla(now: dt.datetime, engine: Engine | None = None) -> SlaResult:
    """Remind approvers who sit on submissions (> 3 working days), then tell their superior (> 7).

    Keyed once per (measure, level 10/11, date the measure reached its approver). As with the
    ladder, a measure found already past 7 days records level 10 silently and notifies only 11.
    """
    engine = engine or db.get_engine()
    now = now.replace(tzinfo=None)
    today = workdays.local_today(now)
    with db.read_tx(engine) as conn:
        ladders = [workdays.ladder(x) for x in _plan_ladders(conn)] or [workdays.DEFAULT_LADDER]
        least = min(x["sla_remind_after"] for x in ladders)
        # reached the approver no later than this local date → possibly overdue (submission comes first)
        latest = workdays_back(today, least + 1)
        cutoff = dt.datetime.combine(latest + dt.timedelta(days=1), dt.time(), workdays.TZ)
        cutoff = cutoff.astimezone(dt.UTC).replace(tzinfo=None)
        ids = [r[0] for r in conn.execute(
            select(M.c.id).where(M.c.state.in_(AWAITING), M.c.submitted_at < cutoff).order_by(M.c.id))]
    result = SlaResult(waiting=len(ids))
    _in_chunks(engine, ids, lambda conn, mid: _sla_one(conn, mid, today, now, result), result)
    return result


def _sla_one(conn: Connection, mid: int, today: dt.date, now: dt.datetime, result: SlaResult) -> None:
    row = _load(conn, mid)
    if row is None or row.state not in AWAITING:
        return
    started = _stage_start(conn, row)
    if started is None:
        return
    since = workdays.local_today(started)
    rules = workdays.ladder(row.ladder)
    waited = workdays.workdays_between(since, today)
    if waited > rules["sla_superior_after"]:
        level = SLA_SUPERIOR
    elif waited > rules["sla_remind_after"]:
        level = SLA_APPROVER
    else:
        return
    new_levels = [lv for lv in range(SLA_APPROVER, level + 1)
                  if db.insert_once(conn, ESC, {"measure_id": mid, "level": lv, "deadline": since, "created_at": now,
                                             "order_no": None}, ["measure_id", "level", "deadline"])]
    if level not in new_levels:
        return
    body = {"level": level, "sla": True, "waiting_since": since.isoformat(), "waited_workdays": waited,
            "skipped": [lv for lv in new_levels if lv != level]}
    seq, h = audit.append(conn, mid, row.head_seq, row.head_hash, "escalate", "system", None, None, body, now)
    _write(conn, mid, row.version, {"version": row.version + 1, "head_seq": seq, "head_hash": h})
    approvers = _approvers(conn, row)
    recipients = approvers if level == SLA_APPROVER else _superiors(conn, approvers, row)
    result.notified += enqueue_localized(
        conn, recipients, "approval_sla", lambda loc: sla_text(row, level, waited, since, loc), now,
        # the outbox's level is the red ladder's (0-3); an SLA reminder is not on it, so null there
        measure_id=mid, level=None, key=f"esc:{mid}:{level}:{since.isoformat()}")
    if level == SLA_APPROVER:
        result.reminded += 1
    else:
        result.superiors += 1


# --- re-check reminders for long-term measures ------------------------------------------------

@dataclass
class RecheckResult:
    period: str = ""
    done_before: bool = False
    long_term_closed: int = 0
    reminded: int = 0
    notified: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


RECHECK_AT = dt.time(8, 0)  # local time the daily re-check period starts


def recheck_text(row, due: dt.date, last: dt.date, locale: str = "zh") -> tuple[str, str]:
    if locale == "en":
        return (f"Re-check due: long-term measure {row.id} (problem {row.problem_no})",
                f"Long-term measure {row.id} ({_short(row.text)}) was last checked on {last.isoformat()}; "
                f"a consolidation re-check is due since {due.isoformat()}.\n"
                f"Responsible unit: {row.unit_name or '-'}; owner: {row.owner_name or '-'}")
    return (f"巩固复查提醒：长期坚持类整改措施 {row.id}（问题{row.problem_no}）应复查",
            f"【巩固复查提醒】\n整改措施：{_short(row.text)}\n所属问题：问题{row.problem_no}\n"
            f"责任单位：{row.unit_name or '—'}；责任人：{row.owner_name or '—'}\n"
            f"上次销号/复查：{last.isoformat()}；应于 {due.isoformat()} 前后复查，请整改办组织巩固复查"
            f"（复查未通过的，重新整改）。")


def recheck_reminders(now: dt.datetime, engine: Engine | None = None) -> RecheckResult:
    """Remind the office (and the owner) when a signed-off long-term measure is due a re-check.

    The interval is the plan ladder's ``recheck_every_days`` (default 90, quarterly), counted from
    sign-off or the last ``recheck``. Runs once per daily period (08:00 China time); each
    (measure, due date) is reminded once.
    """
    engine = engine or db.get_engine()
    now = now.replace(tzinfo=None)
    today = workdays.local_today(now)
    key = periods.day_key("recheck", periods.day(now, RECHECK_AT))
    if periods.done_in(engine, key):
        return RecheckResult(period=key, done_before=True)
    result = RecheckResult(period=key)
    with db.read_tx(engine) as conn:
        ids = [r[0] for r in conn.execute(select(M.c.id).where(
            M.c.state == spec.CLOSED, M.c.kind == "long_term").order_by(M.c.id))]
    result.long_term_closed = len(ids)
    for mid in ids:
        with db.write_tx(engine) as conn:
            row = _load(conn, mid)
            if row is None or row.state != spec.CLOSED or row.closed_at is None:
                continue
            last_check = conn.execute(select(func.max(EVENTS.c.at)).where(
                EVENTS.c.measure_id == mid, EVENTS.c.kind == "recheck")).scalar()
            last = workdays.local_today(max(x for x in (row.closed_at, last_check) if x is not None))
            due = last + dt.timedelta(days=workdays.ladder(row.ladder)["recheck_every_days"])
            if today < due or not periods.once(conn, f"recheck:{mid}:{due.isoformat()}", now):
                continue
            recipients = notify.users_with_role(conn, "office", row.target_id) + [u for u in (row.owner_id,) if u]
            result.notified += enqueue_localized(conn, recipients, "recheck_due",
                                                 lambda loc: recheck_text(row, due, last, loc), now,
                                                 measure_id=mid, key=f"recheck:{mid}:{due.isoformat()}")
            result.reminded += 1
    with db.write_tx(engine) as conn:
        periods.once(conn, key, now, {"reminded": result.reminded})
    return result


# --- reading the history (for pages and reports) ---------------------------------------------

def light_history(measure_id: int, engine: Engine | None = None) -> list[dict]:
    """When a measure turned yellow or red (and which level), and when it recovered: oldest first."""
    with db.read_tx(engine) as conn:
        return [{"light": r.light, "level": r.level, "at": r.at.isoformat()} for r in conn.execute(
            select(LIGHTS).where(LIGHTS.c.measure_id == measure_id).order_by(LIGHTS.c.at, LIGHTS.c.id))]


def escalations_of(measure_id: int, engine: Engine | None = None) -> list[dict]:
    """The measure's escalations: level (0–3, SLA 10/11), the deadline they were for, when, order number."""
    with db.read_tx(engine) as conn:
        return [{"level": r.level, "label": LEVEL_LABELS.get(r.level, ("", ""))[0], "deadline": r.deadline.isoformat(),
                 "at": r.created_at.isoformat(), "order_no": r.order_no} for r in conn.execute(
            select(ESC).where(ESC.c.measure_id == measure_id).order_by(ESC.c.created_at, ESC.c.level))]
