"""督办: each late measure once, at the level it has reached, with its ladder folded in.

A measure is on the list while it is escalated now: with its owner (已交办/整改中) at a recorded
level of the red ladder or its yellow reminder (``measures.level`` 0–3, which the sweep raises and
a submission, a sign-off or a granted extension resets), or with an approver past the approval
SLA (levels 10/11 written since it was submitted). "All" adds every measure that was ever
escalated (recovered, closed), at the highest level it reached. Each item carries its ladder: the
escalations written for it, oldest first, with the order number and the deadline each was for,
and its urges (催办).
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import and_, case, exists, func, or_, select

from .. import db, spec, workdays
from ..models import Escalation, Event, Measure, User
from ..paging import Page, paginate
from .measures import row_dict, selectable
from .scope import scope

M = Measure.__table__
E = Escalation.__table__
EV = Event.__table__
WORK = spec.WORK_STATES
AWAITING = spec.AWAITING_STATES
SLA = 10  # levels 10 and 11: the approval SLA
TABS = (3, 2, 1, 0, SLA)


@dataclass(frozen=True)
class EscalationPage(Page):
    """A page of escalated measures, with how many measures are at each level now (for the tabs)."""

    counts: dict = field(default_factory=dict)


def _sla_level():
    """The highest approval-SLA level written since the measure was last submitted (or None)."""
    return (select(func.max(E.c.level)).where(E.c.measure_id == M.c.id, E.c.level >= SLA,
                                              E.c.created_at >= M.c.submitted_at)
            .correlate(M).scalar_subquery())


def _any_level():
    return select(func.max(E.c.level)).where(E.c.measure_id == M.c.id).correlate(M).scalar_subquery()


def _now_at(level: int | None):
    """Measures escalated now (at ``level``; ``SLA`` for 10 and 11)."""
    ladder = and_(M.c.state.in_(WORK), M.c.level >= 0)
    sla = and_(M.c.state.in_(AWAITING), exists().where(
        E.c.measure_id == M.c.id, E.c.level >= SLA, E.c.created_at >= M.c.submitted_at))
    if level is None:
        return or_(ladder, sla)
    if level == SLA:
        return sla
    return and_(M.c.state.in_(WORK), M.c.level == level)


def escalations(actor: spec.Actor, *, now: dt.datetime, level: int | None = None, open_only: bool = True,
                page: int = 1, per_page: int = 50, engine=None) -> EscalationPage:
    """The measures ``actor`` may see that are escalated now (or ever, with ``open_only`` False),
    most serious first, each once with ``esc_level`` (its level now, or the highest it reached),
    ``ladder`` (its escalations), ``order_no`` (its newest supervision order), ``late_workdays``
    and ``urges``; ``counts`` is the number of measures at each level now."""
    today = workdays.local_today(now)
    current = case((M.c.state.in_(WORK) & (M.c.level >= 0), M.c.level),
                   (M.c.state.in_(AWAITING), _sla_level()), else_=None)
    shown = current if open_only else func.coalesce(current, _any_level())
    where = [_now_at(level)] if open_only or level is not None else [exists().where(E.c.measure_id == M.c.id)]
    with db.read_tx(engine) as conn:
        q = (selectable(actor).add_columns(shown.label("esc_level"), case((_now_at(None), 1), else_=0).label("now"))
             .where(*where))
        rank = case((M.c.state.in_(WORK) & (M.c.level >= 0), M.c.level), else_=-1)
        rows = paginate(conn, q, [rank.desc(), M.c.deadline.asc(), M.c.id.asc()], page, per_page, key=M.c.id)
        ids = [r.id for r in rows.items]
        ladders, urges = _ladders(conn, ids), _urges(conn, ids)
        counts = {lv: conn.execute(select(func.count()).select_from(M).where(scope(actor), _now_at(lv)))
                  .scalar_one() for lv in TABS}

    def item(r) -> dict:
        d = row_dict(r, today)
        ladder = ladders.get(r.id, [])
        d["ladder"] = ladder
        d["order_no"] = next((x["order_no"] for x in reversed(ladder) if x["order_no"]), None)
        d["urges"] = urges.get(r.id, [])
        d["late_workdays"] = (workdays.workdays_between(r.deadline, today)
                              if r.deadline and today > r.deadline and r.state in WORK else 0)
        d["escalated_now"] = bool(r.now)
        return d

    return rows.map(item).extend(EscalationPage, counts=counts)


def _ladders(conn, ids: list[int]) -> dict[int, list[dict]]:
    out: dict[int, list[dict]] = defaultdict(list)
    if ids:
        for e in conn.execute(select(E.c.measure_id, E.c.level, E.c.deadline, E.c.created_at, E.c.order_no)
                              .where(E.c.measure_id.in_(ids)).order_by(E.c.created_at, E.c.level)):
            out[e.measure_id].append({"level": e.level, "deadline": e.deadline, "at": e.created_at,
                                      "order_no": e.order_no})
    return out


def _urges(conn, ids: list[int]) -> dict[int, list[dict]]:
    out: dict[int, list[dict]] = defaultdict(list)
    if ids:
        for u in conn.execute(select(EV.c.measure_id, EV.c.at, User.name).outerjoin(User, User.username == EV.c.actor)
                              .where(EV.c.measure_id.in_(ids), EV.c.kind == "urge").order_by(EV.c.seq)):
            out[u.measure_id].append({"at": u.at, "by_name": u.name})
    return out
