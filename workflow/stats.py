"""Ledger statistics: the numbers a public notice and the digests state, computed from the database.

:func:`compute` aggregates in SQL (no row is loaded one by one), so it stays fast on large
ledgers. Definitions, for a plan (or every plan) at the China date of ``now``:

* ``problems``, ``measures``, ``parts``: counted as stored;
* problem progress (已完成 / 已完成，长期坚持 / 正在整改 / 未完成) is derived per problem with
  :func:`workflow.spec.problem_progress`, never read from a typed-in field;
* ``completed``: measures signed off (``closed``); ``not_completed``: open measures whose
  deadline in force has passed (逾期未完成); ``in_progress``: the other open measures;
* ``completion_rate``: completed / measures × 100, as a Decimal with one decimal place
  (half up); 0.0 when there are no measures; ``problems_rate`` the same over problems, a problem
  counting as rectified when every measure of it is signed off (how notices give the rate);
* ``long_term``: measures of kind long_term (长期坚持);
* money: ``amount_involved`` and ``amount_recovered`` summed over problems, in yuan;
* ``accountability``: records by kind, linked to the plan's problems or measures;
* ``rules_made``: rules linked to the plan's problems.
"""
from __future__ import annotations

import datetime as dt
from typing import TypeVar
from dataclasses import asdict, dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.engine import Connection, Engine

from . import db, spec, vocabulary, workdays
from .clock import utcnow
from .errors import NotFound
from .models import Accountability, Inspection, Measure, Part, Plan, Problem, RecurrenceLink, RuleMade

M = Measure.__table__
_Sel = TypeVar("_Sel", bound=Select)

ACCOUNTABILITY_LABELS = vocabulary.ACCOUNTABILITY_LABELS


def resolve_plan(conn: Connection, plan_id: int | None = None):
    """The plan row for ``plan_id``; without one, the only plan. Raises NotFound or Refused."""
    if plan_id is not None:
        row = conn.execute(select(Plan).where(Plan.id == plan_id)).first()
        if row is None:
            raise NotFound(f"no such plan: {plan_id}")
        return row
    rows = conn.execute(select(Plan).order_by(Plan.id).limit(21)).all()
    if not rows:
        raise NotFound("there is no plan yet (import a notice or a ledger first)")
    if len(rows) > 1:
        ids = ", ".join(f"{r.id} {r.title}" for r in rows[:20])
        raise spec.Refused("plan_required", f"several plans; choose one with --plan: {ids}")
    return rows[0]


@dataclass
class LedgerStats:
    """The numbers of a ledger at ``as_of``; see the module docstring for their definitions."""

    plan_id: int | None
    as_of: dt.date
    parts: int = 0
    problems: int = 0
    problems_done: int = 0
    problems_done_long_term: int = 0
    problems_in_progress: int = 0
    problems_not_done: int = 0
    measures: int = 0
    by_state: dict[str, int] = field(default_factory=dict)
    completed: int = 0
    in_progress: int = 0
    not_completed: int = 0
    completion_rate: Decimal = Decimal("0.0")
    long_term: int = 0
    immediate: int = 0
    time_bound: int = 0
    reopened: int = 0
    amount_involved: Decimal = Decimal("0.00")
    amount_recovered: Decimal = Decimal("0.00")
    accountability: dict[str, int] = field(default_factory=dict)
    accountability_total: int = 0
    rules_made: int = 0
    recurred: int = 0  # problems confirmed as found again in an earlier round
    self_checks: int = 0  # 举一反三 self-check tasks (not counted among the measures)
    self_checks_done: int = 0
    self_checks_found: int = 0  # answered 存在: each started a measure of its own

    @property
    def problems_completed(self) -> int:
        return self.problems_done + self.problems_done_long_term

    @property
    def problems_rate(self) -> Decimal:
        """Problems rectified (已完成, with or without 长期坚持) / problems × 100, one decimal."""
        return _rate(self.problems_completed, self.problems)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["as_of"] = self.as_of.isoformat()
        d["completion_rate"] = str(self.completion_rate)
        d["amount_involved"] = str(self.amount_involved)
        d["amount_recovered"] = str(self.amount_recovered)
        d["problems_completed"] = self.problems_completed
        d["problems_rate"] = str(self.problems_rate)
        return d


def _rate(part: int, whole: int) -> Decimal:
    if not whole:
        return Decimal("0.0")
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _count_problems(s: LedgerStats, rows, today: dt.date) -> None:
    """Problem progress from per-problem rows (n measures, closed, long_term, rect_end)."""
    for r in rows:
        n, n_closed, n_long = r.n, int(r.closed or 0), int(r.long_term or 0)
        if n and n_closed == n:
            sample = [("closed", "long_term" if n_long else "time_bound")]
        elif n:
            sample = [("in_progress", "time_bound")]
        else:
            sample = []
        progress = spec.problem_progress(sample, r.rect_end, today)
        s.problems += 1
        if progress == "done":
            s.problems_done += 1
        elif progress == "done_long_term":
            s.problems_done_long_term += 1
        elif progress == "not_done":
            s.problems_not_done += 1
        else:
            s.problems_in_progress += 1


def _count_measures(s: LedgerStats, rows) -> None:
    """Measure counts from rows per (state, kind): n, reopened, overdue."""
    by_state: dict[str, int] = {st: 0 for st in spec.STATES}
    for r in rows:
        n, overdue = r.n, int(r.overdue or 0)
        if r.kind == "self_check":
            s.self_checks += n
            s.self_checks_done += n if r.state == "closed" else 0
            continue
        by_state[r.state] = by_state.get(r.state, 0) + n
        s.measures += n
        s.reopened += int(r.reopened or 0)
        if r.state == "closed":
            s.completed += n
        else:
            s.not_completed += overdue
            s.in_progress += n - overdue
        if r.kind == "long_term":
            s.long_term += n
        elif r.kind == "immediate":
            s.immediate += n
        else:
            s.time_bound += n
    s.by_state = by_state


def compute(plan_id: int | None = None, now: dt.datetime | None = None, engine: Engine | None = None,
            conn: Connection | None = None) -> LedgerStats:
    """The statistics of one plan (or of every plan when ``plan_id`` is None) at ``now``."""
    if conn is None:
        with db.read_tx(engine) as c:
            return compute(plan_id, now, conn=c)
    now = now or utcnow()
    today = workdays.local_today(now)
    s = LedgerStats(plan_id, today)

    def in_plan(q: _Sel, col=Problem.plan_id) -> _Sel:
        return q.where(col == plan_id) if plan_id is not None else q

    s.parts = conn.execute(in_plan(select(func.count()).select_from(Part), Part.plan_id)).scalar_one()
    # problem progress from per-problem aggregates, with the rectification period of each plan
    closed = func.sum(case((M.c.state == "closed", 1), else_=0))
    long_term = func.sum(case((M.c.kind == "long_term", 1), else_=0))
    q = (select(Problem.id, func.count(M.c.id).label("n"), closed.label("closed"), long_term.label("long_term"),
                Inspection.rect_end)
         .select_from(Problem)
         .join(Plan, Plan.id == Problem.plan_id)
         .join(Inspection, Inspection.id == Plan.inspection_id)
         .outerjoin(M, M.c.problem_id == Problem.id)
         .group_by(Problem.id, Inspection.rect_end))
    _count_problems(s, conn.execute(in_plan(q)), today)
    # measures
    mq = select(M.c.state, M.c.kind, func.count().label("n"), func.sum(M.c.reopen_count).label("reopened"),
                func.sum(case(((M.c.state != "closed") & (M.c.deadline < today), 1), else_=0)).label("overdue")) \
        .select_from(M).join(Problem, Problem.id == M.c.problem_id).group_by(M.c.state, M.c.kind)
    _count_measures(s, conn.execute(in_plan(mq)))
    s.completion_rate = _rate(s.completed, s.measures)
    # money
    inv, rec = conn.execute(in_plan(select(func.coalesce(func.sum(Problem.amount_involved), 0),
                                           func.coalesce(func.sum(Problem.amount_recovered), 0)))).one()
    s.amount_involved = Decimal(str(inv)).quantize(Decimal("0.01"))
    s.amount_recovered = Decimal(str(rec)).quantize(Decimal("0.01"))
    # accountability and rules
    aq = select(Accountability.kind, func.count()).group_by(Accountability.kind)
    if plan_id is not None:
        probs = select(Problem.id).where(Problem.plan_id == plan_id)
        meas = select(M.c.id).join(Problem, Problem.id == M.c.problem_id).where(Problem.plan_id == plan_id)
        aq = aq.where(or_(Accountability.problem_id.in_(probs), Accountability.measure_id.in_(meas)))
    s.accountability = {k: n for k, n in conn.execute(aq)}
    s.accountability_total = sum(s.accountability.values())
    rq = select(func.count()).select_from(RuleMade)
    if plan_id is not None:
        rq = rq.where(RuleMade.problem_id.in_(select(Problem.id).where(Problem.plan_id == plan_id)))
    s.rules_made = conn.execute(rq).scalar_one()
    fq = select(func.count()).select_from(M).join(Problem, Problem.id == M.c.problem_id).where(M.c.finding == "exists")
    s.self_checks_found = conn.execute(in_plan(fq)).scalar_one()
    lq = (select(func.count(func.distinct(RecurrenceLink.problem_id))).select_from(RecurrenceLink)
          .join(Problem, Problem.id == RecurrenceLink.problem_id).where(RecurrenceLink.status == "confirmed"))
    s.recurred = conn.execute(in_plan(lq)).scalar_one()
    return s


def wan(amount: Decimal) -> str:
    """Yuan as 万元, exactly: 90000 → '9', 50400 → '5.04', 123.45 → '0.012345'."""
    v = (Decimal(amount) / 10000).normalize()
    text = f"{v:f}"
    return text


def cn_date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _pct(rate: Decimal) -> str:
    """62.5 → '62.5', 100.0 → '100': a rate as notices write it."""
    return f"{rate.normalize():f}" if rate == rate.to_integral() else f"{rate}"


def paragraph(s: LedgerStats, genre: str = "xuncha") -> str:
    """The statistics paragraph of a notice or digest, in Chinese, as notices state it: problems first
    (count and rate), then measures, long-term items, money, accountability and rules. Every number
    is from ``s``."""
    word = vocabulary.GENRE_LABELS.get(genre, "巡察")
    found = "发现" if genre == "audit" else "反馈"
    head = f"截至{cn_date(s.as_of)}，{word}{found}的{s.parts}个方面{s.problems}个问题，"
    head += f"已整改完成{s.problems_completed}个，整改完成率{_pct(s.problems_rate)}%"
    if s.problems_in_progress:
        head += f"，正在整改{s.problems_in_progress}个"
    if s.problems_not_done:
        head += f"，逾期未完成{s.problems_not_done}个"
    parts = [head + "；"]
    parts.append(f"细化整改措施{s.measures}项，已完成{s.completed}项，完成率{_pct(s.completion_rate)}%，"
                 f"正在整改{s.in_progress}项，逾期未完成{s.not_completed}项；其中长期坚持事项{s.long_term}项。")
    if s.recurred:
        parts.append(f"其中{s.recurred}个问题在上轮{word}中已反馈，已按问题反弹重新整改。")
    if s.self_checks:
        parts.append(f"举一反三开展自查{s.self_checks}项，已完成{s.self_checks_done}项，"
                     f"发现同类问题{s.self_checks_found}个，均已纳入整改。")
    if s.amount_involved or s.amount_recovered:
        parts.append(f"涉及金额{wan(s.amount_involved)}万元，已退还或追缴{wan(s.amount_recovered)}万元。")
    if s.accountability_total:
        order = list(ACCOUNTABILITY_LABELS)
        kinds = "，".join(f"{ACCOUNTABILITY_LABELS.get(k, k)}{n}次" for k, n in sorted(
            s.accountability.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 99))
        parts.append(f"严格责任追究，{kinds}。")
    if s.rules_made:
        parts.append(f"建立完善制度{s.rules_made}项。")
    return "".join(parts)
