"""Scheduled digests: the weekly report (周报告), the monthly summary (月总结), the daily checkpoint.

The computations are plain functions over the ledger returning data (:func:`weekly_data`,
:func:`monthly_data`) plus a simple Chinese markdown rendering (:func:`render_weekly`,
:func:`render_monthly`). The ``run_*`` services do each period once: a period is the stretch of
China time from one scheduled instant to the next (weekly from Monday 09:00, monthly from the 1st
at 09:00, the checkpoint from 00:30 daily), and "due" means the period containing ``now`` has no
row in ``job_runs``. A scheduler that was down over Monday 09:00 therefore sends that week's
report once when it comes back, and never the weeks it missed before that (no flood).

Every unit's weekly report is its own ``job_runs`` key (``weekly:2026-W49:unit:3``) written in
the same transaction as its outbox rows, so a crash half-way through resumes with the units not yet
done, and two schedulers never send one twice. On-time rates count against ``deadline_original``:
an extension granted later does not make a late measure on time.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from . import audit, db, holidays, notify, periods, spec, workdays
from .escalation import unit_heads
from .models import Measure, OrgUnit, Plan, Problem, User

M = Measure.__table__

WEEKLY_AT = (0, dt.time(9, 0))  # Monday 09:00
MONTHLY_AT = dt.time(9, 0)  # the 1st, 09:00
CHECKPOINT_AT = dt.time(0, 30)  # daily 00:30


def week_period(now: dt.datetime) -> dt.date:
    """The Monday whose 09:00 (China time) starts the weekly period containing ``now``."""
    return periods.week(now, WEEKLY_AT[1], WEEKLY_AT[0])


def week_key(monday: dt.date) -> str:
    return periods.week_key("weekly", monday)


def month_period(now: dt.datetime) -> tuple[int, int]:
    """(year, month) the monthly summary due at ``now`` covers: the month before the period's 1st."""
    covered = periods.month(now, MONTHLY_AT) - dt.timedelta(days=1)
    return covered.year, covered.month


day_period = periods.day


# --- what the digests read ------------------------------------------------------------------

_OWNER, _LEADER = aliased(User.__table__, name="owner_u"), aliased(User.__table__, name="leader_u")
_LEDGER_Q = (
    select(M.c.id, M.c.state, M.c.kind, M.c.text, M.c.deadline, M.c.deadline_original, M.c.closed_at,
           M.c.submitted_at, M.c.unit_id, Problem.no.label("problem_no"), Plan.ladder,
           OrgUnit.name.label("unit_name"), _OWNER.c.name.label("owner_name"),
           _LEADER.c.name.label("leader_name"))
    .join(Problem, Problem.id == M.c.problem_id)
    .join(Plan, Plan.id == Problem.plan_id)
    .outerjoin(OrgUnit, OrgUnit.id == M.c.unit_id)
    .outerjoin(_OWNER, _OWNER.c.id == M.c.owner_id)
    .outerjoin(_LEADER, _LEADER.c.id == M.c.leader_id)
)


def _item(r, today: dt.date) -> dict:
    late = workdays.workdays_between(r.deadline, today) if r.deadline and today > r.deadline else 0
    return {"id": r.id, "problem_no": r.problem_no, "text": " ".join((r.text or "").split())[:60],
            "state": r.state, "owner": r.owner_name, "leader": r.leader_name,
            "deadline": r.deadline.isoformat() if r.deadline else None, "late_workdays": late}


@dataclass
class UnitWeek:
    unit_id: int | None
    unit: str
    due_this_week: list[dict] = field(default_factory=list)
    overdue: list[dict] = field(default_factory=list)
    awaiting_approval: list[dict] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.due_this_week or self.overdue or self.awaiting_approval)


def weekly_data(conn: Connection, monday: dt.date, today: dt.date) -> list[UnitWeek]:
    """Per unit: open measures due this week, overdue ones, and those awaiting approval or sign-off.

    Reads only open measures with a deadline up to Sunday, and those with an approver (the
    ``(state, deadline)`` index serves both).
    """
    sunday = monday + dt.timedelta(days=6)
    units: dict[int | None, UnitWeek] = {}

    def unit(r) -> UnitWeek:
        if r.unit_id not in units:
            units[r.unit_id] = UnitWeek(r.unit_id, r.unit_name or "未指定单位")
        return units[r.unit_id]

    for r in conn.execute(_LEDGER_Q.where(M.c.state.in_((spec.ASSIGNED, spec.IN_PROGRESS)),
                                          M.c.deadline <= sunday).order_by(M.c.deadline, M.c.id)):
        if r.deadline < today:
            unit(r).overdue.append(_item(r, today))
        elif r.deadline >= monday:
            unit(r).due_this_week.append(_item(r, today))
    for r in conn.execute(_LEDGER_Q.where(M.c.state.in_((spec.SUBMITTED, spec.VERIFIED)))
                          .order_by(M.c.submitted_at, M.c.id)):
        item = _item(r, today)
        item["since"] = workdays.local_today(r.submitted_at).isoformat() if r.submitted_at else None
        unit(r).awaiting_approval.append(item)
    return sorted(units.values(), key=lambda u: (u.unit_id is None, u.unit_id or 0))


def _lines(title: str, items: list[dict], late: bool = False) -> list[str]:
    out = [f"### {title}（{len(items)} 项）"]
    if not items:
        out.append("无。")
    for it in items:
        extra = f"，已逾期 {it['late_workdays']} 个工作日" if late and it["late_workdays"] else ""
        since = f"，{it['since']} 提交" if it.get("since") else ""
        out.append(f"- 措施 {it['id']}（问题{it['problem_no']}）{it['text']} —— 责任人 {it['owner'] or '—'}，"
                   f"完成时限 {it['deadline'] or '—'}{extra}{since}，{spec.STATE_LABELS.get(it['state'], it['state'])}")
    return out


def calendar_notes(conn: Connection, today: dt.date) -> list[str]:
    """The office's reminder when a counted year has no holiday schedule (see :mod:`workflow.holidays`)."""
    years = holidays.uncovered_years(conn, today)
    if not years:
        return []
    return [f"注意：{holidays.missing_text(years)}，工作日暂按周末计算，逾期天数可能偏多；"
            f"请整改办及时录入国务院办公厅的放假通知。"]


def render_weekly(units: list[UnitWeek], monday: dt.date, title_unit: str | None = None,
                  notes: list[str] | None = None) -> tuple[str, str]:
    """(subject, markdown body) of a weekly report for one unit, or for all when ``title_unit`` is None.

    ``notes`` are lines for the reader put before the lists (the office's calendar reminder).
    """
    sunday = monday + dt.timedelta(days=6)
    who = title_unit or "全区"
    subject = f"整改周报告（{who}，{monday.isoformat()}—{sunday.isoformat()}）"
    due = sum(len(u.due_this_week) for u in units)
    over = sum(len(u.overdue) for u in units)
    wait = sum(len(u.awaiting_approval) for u in units)
    lines = [f"# {subject}", "", f"本周到期 {due} 项，已逾期 {over} 项，待审核/待销号 {wait} 项。", ""]
    for note in notes or ():
        lines += [note, ""]
    for u in units:
        if title_unit is None:
            lines += [f"## {u.unit}", ""]
        lines += _lines("本周到期", u.due_this_week) + [""]
        lines += _lines("已逾期", u.overdue, late=True) + [""]
        lines += _lines("待审核/待销号", u.awaiting_approval) + [""]
    return subject, "\n".join(lines).rstrip()


@dataclass
class UnitMonth:
    unit: str
    total: int = 0
    closed: int = 0
    closed_in_month: int = 0
    due: int = 0  # original deadline on or before the month's end
    on_time: int = 0  # of those, closed on or before the original deadline
    on_time_in_force: int = 0  # closed on or before the deadline in force (after extensions)
    extended: int = 0
    lights: dict = field(default_factory=lambda: {"green": 0, "yellow": 0, "red": 0, "done": 0})

    @property
    def completion_rate(self) -> float | None:
        return round(self.closed / self.total, 4) if self.total else None

    @property
    def on_time_rate(self) -> float | None:
        return round(self.on_time / self.due, 4) if self.due else None

    def as_dict(self) -> dict:
        d = asdict(self)
        d.update(completion_rate=self.completion_rate, on_time_rate=self.on_time_rate)
        return d


def monthly_data(conn: Connection, year: int, month: int, today: dt.date) -> dict:
    """Completion, on-time rate against original deadlines, and lights, per unit and in total."""
    first = dt.date(year, month, 1)
    end = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    units: dict[str, UnitMonth] = {}
    total = UnitMonth("合计")
    for r in conn.execution_options(yield_per=2000).execute(_LEDGER_Q.order_by(M.c.id)):
        u = units.setdefault(r.unit_name or "未指定单位", UnitMonth(r.unit_name or "未指定单位"))
        closed_on = workdays.local_today(r.closed_at) if r.state == spec.CLOSED and r.closed_at else None
        original = r.deadline_original or r.deadline
        lt, _ = workdays.light(r.state, r.deadline, today, workdays.ladder(r.ladder))
        for x in (u, total):
            x.total += 1
            x.lights[lt] = x.lights.get(lt, 0) + 1
            if closed_on is not None:
                x.closed += 1
                if first <= closed_on <= end:
                    x.closed_in_month += 1
            if r.deadline_original and r.deadline and r.deadline != r.deadline_original:
                x.extended += 1
            if original is not None and original <= end:
                x.due += 1
                if closed_on is not None and closed_on <= original:
                    x.on_time += 1
                if closed_on is not None and r.deadline and closed_on <= r.deadline:
                    x.on_time_in_force += 1
    return {"year": year, "month": month, "as_of": today.isoformat(),
            "units": [u.as_dict() for _, u in sorted(units.items())], "total": total.as_dict()}


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x * 100:.1f}%"


def render_monthly(data: dict) -> tuple[str, str]:
    subject = f"整改月总结（{data['year']}年{data['month']}月）"
    t = data["total"]
    lines = [
        f"# {subject}", "",
        f"截至 {data['as_of']}：整改措施 {t['total']} 项，已销号 {t['closed']} 项（本月 {t['closed_in_month']} 项），"
        f"完成率 {_pct(t['completion_rate'])}；按原定时限应完成 {t['due']} 项，按期完成 {t['on_time']} 项，"
        f"按期完成率 {_pct(t['on_time_rate'])}（延期 {t['extended']} 项不计为按期）。", "",
        "| 责任单位 | 措施 | 已销号 | 完成率 | 应完成 | 按期 | 按期率 | 延期 | 绿 | 黄 | 红 |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for u in data["units"] + [t]:
        lg = u["lights"]
        lines.append(f"| {u['unit']} | {u['total']} | {u['closed']} | {_pct(u['completion_rate'])} | {u['due']} | "
                     f"{u['on_time']} | {_pct(u['on_time_rate'])} | {u['extended']} | {lg.get('green', 0)} | "
                     f"{lg.get('yellow', 0)} | {lg.get('red', 0)} |")
    return subject, "\n".join(lines)


DIGESTS = ("weekly", "monthly")


def digest_doc(kind: str, now: dt.datetime, engine: Engine | None = None):
    """The weekly report (``weekly``) or monthly summary (``monthly``) of the period containing ``now``,
    as a :class:`workflow.render.Doc`: what the scheduler sends, for printing; nothing is recorded."""
    from .render import from_markdown

    if kind not in DIGESTS:
        raise ValueError(f"no such digest: {kind!r}; expected weekly or monthly")
    today = workdays.local_today(now)
    with db.read_tx(engine) as conn:
        if kind == "weekly":
            monday = week_period(now)
            _subject, body = render_weekly(weekly_data(conn, monday, today), monday,
                                           notes=calendar_notes(conn, today))
        else:
            year, month = month_period(now)
            _subject, body = render_monthly(monthly_data(conn, year, month, today))
    return from_markdown(body)


# --- the services ---------------------------------------------------------------------------

@dataclass
class DigestResult:
    period: str
    done_before: bool = False
    sent: list[str] = field(default_factory=list)  # keys recorded by this call
    notified: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def _unit_recipients(conn: Connection, unit_id: int | None) -> list[int]:
    heads = unit_heads(conn, unit_id)
    return heads or notify.users_with_role(conn, "office")


def run_weekly(now: dt.datetime, engine: Engine | None = None) -> DigestResult:
    """The weekly report of the period containing ``now``: each unit's to its head, the whole to the office."""
    engine = engine or db.get_engine()
    now = now.replace(tzinfo=None)
    monday = week_period(now)
    key = week_key(monday)
    if periods.done_in(engine, key):
        return DigestResult(period=key, done_before=True)
    result = DigestResult(period=key)
    with db.read_tx(engine) as conn:
        today = workdays.local_today(now)
        units = weekly_data(conn, monday, today)
        notes = calendar_notes(conn, today)
    for u in units:
        if u.empty:
            continue
        ukey = f"{key}:unit:{u.unit_id if u.unit_id is not None else 'none'}"
        with db.write_tx(engine) as conn:
            counts = {"due": len(u.due_this_week), "overdue": len(u.overdue), "awaiting": len(u.awaiting_approval)}
            if not periods.once(conn, ukey, now, counts):
                continue
            subject, body = render_weekly([u], monday, u.unit)
            result.notified += notify.enqueue(conn, _unit_recipients(conn, u.unit_id), "weekly_report",
                                              subject, body, now, key=ukey)
            result.sent.append(ukey)
    with db.write_tx(engine) as conn:
        okey = f"{key}:office"
        if periods.once(conn, okey, now):
            subject, body = render_weekly(units, monday, notes=notes)
            result.notified += notify.enqueue(conn, notify.users_with_role(conn, "office"), "weekly_report",
                                              subject, body, now, key=okey)
            result.sent.append(okey)
        periods.once(conn, key, now, {"units": len([u for u in units if not u.empty])})
    return result


def run_monthly(now: dt.datetime, engine: Engine | None = None) -> DigestResult:
    """The monthly summary of the month before the period containing ``now``, to the office and leaders."""
    engine = engine or db.get_engine()
    now = now.replace(tzinfo=None)
    year, month = month_period(now)
    key = periods.month_key("monthly", year, month)
    if periods.done_in(engine, key):
        return DigestResult(period=key, done_before=True)
    with db.read_tx(engine) as conn:
        data = monthly_data(conn, year, month, workdays.local_today(now))
    with db.write_tx(engine) as conn:
        if not periods.once(conn, key, now, data["total"]):
            return DigestResult(period=key, done_before=True)
        subject, body = render_monthly(data)
        recipients = notify.users_with_role(conn, "office") + notify.users_with_role(conn, "leader")
        notified = notify.enqueue(conn, recipients, "monthly_summary", subject, body, now, key=key)
    return DigestResult(period=key, sent=[key], notified=notified)


def run_checkpoint(now: dt.datetime, engine: Engine | None = None) -> DigestResult:
    """The daily audit checkpoint over every chain head, once per day (from 00:30 China time).

    The checkpoint and the day's key are written in one transaction.
    """
    engine = engine or db.get_engine()
    now = now.replace(tzinfo=None)
    day = day_period(now, CHECKPOINT_AT)
    key = periods.day_key("checkpoint", day)
    try:
        with db.write_tx(engine) as conn:
            if periods.done(conn, key):
                return DigestResult(period=key, done_before=True)
            made = audit.checkpoint_in(conn, day, now)
            periods.once(conn, key, now, {"recorded": made})
    except IntegrityError:  # PostgreSQL: another scheduler recorded the day meanwhile
        return DigestResult(period=key, done_before=True)
    return DigestResult(period=key, sent=[key] if made else [])


__all__ = [
    "week_period", "week_key", "calendar_notes", "month_period", "day_period", "weekly_data", "render_weekly", "monthly_data",
    "render_monthly", "run_weekly", "run_monthly", "run_checkpoint", "UnitWeek", "UnitMonth", "DigestResult",
]
