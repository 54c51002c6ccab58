"""Targets and their rounds, as the supervising inspection office (巡察办) sees them.

:func:`overview` gives one row per plan (a round of a target): the target, the round's number, body and
kind, its problems and how many are rectified (the rate at problem level, as notices state it), its
measures, how many are closed and how many overdue, self-checks and what they found, confirmed
recurrences, and when its notice was last published. Everyone who may read every plan sees every
target; a person tied to one target (``users.target_id``) sees that target only.

:func:`weekly_changes` compares this week's rows with last week's (kept in ``job_runs``) and
:func:`run_weekly` tells the inspection office of every target whose rate or overdue count moved.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from collections.abc import Sequence
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.engine import Connection, Engine

from . import db, notify, periods, spec, vocabulary, workdays
from .models import Inspection, JobRun, Measure, NoticeVersion, Plan, Problem, RecurrenceLink, Target

M = Measure.__table__
JOB = "rounds_weekly"
WEEKLY_AT = dt.time(9, 0)  # Monday, with the other weekly digests
SEES_ALL = frozenset({"admin", "inspection_office", "office", "supervisor", "inspector"})


def _rate(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


def _plans(conn: Connection, target_id: int | None):
    q = (select(Plan.id, Plan.title, Target.id.label("target_id"), Target.name.label("target"),
                Inspection.round_no, Inspection.body, Inspection.genre, Inspection.rect_end)
         .join(Inspection, Inspection.id == Plan.inspection_id).outerjoin(Target, Target.id == Plan.target_id)
         .order_by(Target.name, Inspection.round_no, Plan.id))
    if target_id is not None:
        q = q.where(Plan.target_id == target_id)
    return conn.execute(q).all()


def _problem_counts(conn: Connection, today: dt.date) -> dict[int, tuple[int, int]]:
    """plan → (problems, problems rectified: every measure signed off)."""
    per = (select(Problem.plan_id, Problem.id, func.count(M.c.id).label("n"),
                  func.sum(case((M.c.state == spec.CLOSED, 1), else_=0)).label("closed"))
           .outerjoin(M, M.c.problem_id == Problem.id).group_by(Problem.plan_id, Problem.id).subquery())
    q = select(per.c.plan_id, func.count(), func.sum(case(((per.c.n > 0) & (per.c.closed == per.c.n), 1), else_=0)))
    rows: Sequence[Any] = conn.execute(q.group_by(per.c.plan_id)).all()
    return {pid: (n, int(done or 0)) for pid, n, done in rows}


def _measure_counts(conn: Connection, today: dt.date) -> dict[int, dict]:
    q = (select(Problem.plan_id, func.count(M.c.id),
                func.sum(case((M.c.state == spec.CLOSED, 1), else_=0)),
                func.sum(case(((M.c.state.in_(spec.WORK_STATES)) & (M.c.deadline < today), 1), else_=0)),
                func.sum(case((M.c.kind == "self_check", 1), else_=0)),
                func.sum(case((M.c.finding == "exists", 1), else_=0)))
         .select_from(M).join(Problem, Problem.id == M.c.problem_id).group_by(Problem.plan_id))
    rows: Sequence[Any] = conn.execute(q).all()
    return {pid: {"measures": n, "closed": int(c or 0), "overdue": int(o or 0), "self_checks": int(sc or 0),
                  "found": int(f or 0)} for pid, n, c, o, sc, f in rows}


def overview(actor: spec.Actor, *, now: dt.datetime, engine: Engine | None = None) -> list[dict]:
    """One row per plan the actor may see, grouped by target and round (see the module docstring)."""
    if not SEES_ALL & actor.roles:
        raise spec.Refused("not_permitted", "the rounds overview is for the inspection and rectification offices")
    today = workdays.local_today(now)
    with db.read_tx(engine) as conn:
        plans = _plans(conn, actor.target_id)
        problems = _problem_counts(conn, today)
        measures = _measure_counts(conn, today)
        links = dict(conn.execute(select(Problem.plan_id, func.count(func.distinct(RecurrenceLink.problem_id)))
                                  .join(Problem, Problem.id == RecurrenceLink.problem_id)
                                  .where(RecurrenceLink.status == "confirmed").group_by(Problem.plan_id)).all())
        published = dict(conn.execute(select(NoticeVersion.plan_id, func.max(NoticeVersion.published_at))
                                      .group_by(NoticeVersion.plan_id)).all())
    out = []
    for p in plans:
        n, done = problems.get(p.id, (0, 0))
        m = measures.get(p.id, {"measures": 0, "closed": 0, "overdue": 0, "self_checks": 0, "found": 0})
        out.append({"plan_id": p.id, "plan": p.title, "target_id": p.target_id, "target": p.target or "（未注明）",
                    "round": p.round_no, "body": p.body, "genre": p.genre,
                    "genre_label": vocabulary.label("genre", p.genre), "problems": n, "problems_done": done,
                    "rate": _rate(done, n), **m, "recurred": int(links.get(p.id, 0)),
                    "last_published": published.get(p.id)})
    return out


def problem_brief(problem_id: int, engine: Engine | None = None) -> dict:
    """A problem with its plan and the units that hold its measures (for starting a 举一反三)."""
    from .errors import NotFound
    from .models import OrgUnit

    with db.read_tx(engine) as conn:
        r = conn.execute(select(Problem.id, Problem.no, Problem.text, Plan.id.label("plan_id"),
                                Plan.title.label("plan")).join(Plan, Plan.id == Problem.plan_id)
                         .where(Problem.id == problem_id)).first()
        if r is None:
            raise NotFound(f"no such problem: {problem_id}")
        units = list(conn.execute(select(OrgUnit.name).join(M, M.c.unit_id == OrgUnit.id)
                                  .where(M.c.problem_id == problem_id).distinct().order_by(OrgUnit.name)).scalars())
    return {**dict(r._mapping), "units": units}


# --- the weekly digest to the inspection office --------------------------------------------

@dataclass
class RoundsDigest:
    period: str
    done_before: bool = False
    changed: list[str] = field(default_factory=list)
    notified: int = 0

    def as_dict(self) -> dict:
        return {"period": self.period, "done_before": self.done_before, "changed": self.changed,
                "notified": self.notified}


def _snapshot(rows: list[dict]) -> dict[str, dict]:
    return {str(r["plan_id"]): {"target": r["target"], "round": r["round"], "rate": r["rate"],
                                "overdue": r["overdue"]} for r in rows}


def weekly_changes(before: dict[str, dict], now_rows: list[dict]) -> list[str]:
    """Lines for every plan whose problem rate or overdue count moved since ``before``."""
    lines = []
    for r in now_rows:
        old = before.get(str(r["plan_id"]))
        if old is None or (old["rate"], old["overdue"]) == (r["rate"], r["overdue"]):
            continue
        lines.append(f"{r['target']} 第{r['round'] or '—'}轮（{r['plan']}）：问题整改完成率 {old['rate']}% → "
                     f"{r['rate']}%，逾期措施 {old['overdue']} → {r['overdue']} 项")
    return lines


def run_weekly(now: dt.datetime, engine: Engine) -> RoundsDigest:
    """Monday: tell the inspection office which targets moved since last week (once per week)."""
    now = now.replace(tzinfo=None)
    monday = periods.week(now, WEEKLY_AT)
    key = periods.week_key(JOB, monday)
    result = RoundsDigest(key)
    everyone = spec.Actor(0, "system", frozenset({"inspection_office"}))
    rows = overview(everyone, now=now, engine=engine)
    with db.write_tx(engine) as conn:
        last = conn.execute(select(JobRun.result).where(JobRun.key.like(f"{JOB}:%"), JobRun.key != key)
                            .order_by(JobRun.at.desc()).limit(1)).scalar()
        if not periods.once(conn, key, now, _snapshot(rows)):
            result.done_before = True
            return result
        result.changed = weekly_changes(json.loads(last) if last else {}, rows)
        if result.changed:
            body = "\n".join(["本周各被巡察单位整改进展变化：", *result.changed])
            result.notified = notify.enqueue(conn, notify.users_with_role(conn, "inspection_office"), "rounds_weekly",
                                             f"巡察整改进展周报（{monday.isoformat()}）", body, now, key=key)
    return result
