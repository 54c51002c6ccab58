"""整改台账: the ledger page (filtered, sorted, paged), its filter choices, and the rows the CLI
and the Excel export stream."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from sqlalchemy import and_, func, select

from .. import db, spec, stats, workdays
from ..models import Measure, OrgUnit, Part, Plan, Problem
from ..paging import Page, paginate
from . import tallies
from .measures import id_query, light_condition, plan_ladders, row_dict, selectable
from .scope import scope, sees_all
from .search import keyword_condition, terms

M = Measure.__table__

SORTS = {
    "id": (M.c.id,),
    "deadline": (M.c.deadline,),
    "problem": (Problem.no, M.c.seq),
    "unit": (OrgUnit.name,),
    "state": (M.c.state,),
}


def ledger(actor: spec.Actor, *, now: dt.datetime, plan: int | None = None, part: int | None = None,
           unit: str | None = None, state: str | None = None, light: str | None = None, sort: str = "id",
           desc: bool = False, page: int = 1, per_page: int = 25, q: str | None = None, engine=None) -> Page:
    """One page of the ledger the actor may see; the order is stable (ties broken by id).

    ``q``: keywords that must all occur in the measure, its problem or their accounts
    (:mod:`workflow.readmodels.search`)."""
    today = workdays.local_today(now)
    cols = SORTS.get(sort, SORTS["id"])
    order = [c.desc() if desc else c.asc() for c in cols]
    order.append(M.c.id.desc() if desc else M.c.id.asc())
    with db.read_tx(engine) as conn:
        # the count from the kept tallies, not from the matching rows; they know only these five filters
        # over every target: a keyword, or an actor tied to one target, is counted from the rows
        counted = sees_all(actor) and not terms(q)
        ladders = plan_ladders(conn) if light or counted else {}
        conds = _conditions(conn, today, ladders, plan=plan, part=part, unit=unit, state=state, light=light, q=q)
        query = selectable(actor).where(*conds)
        narrow = id_query(actor, problem=bool(light) or sort == "problem", part=bool(part), plan=bool(plan),
                          unit=bool(unit) or sort == "unit").where(*conds)
        total = None
        if counted:
            total = tallies.count(conn, today, ladders, state=state, light=light, unit=unit, part=part,
                                  plan=plan)
        rows = paginate(conn, query, order, page, per_page, key=M.c.id, narrow=narrow, total=total,
                        default_per_page=25)
    return rows.map(lambda r: row_dict(r, today))


def ledger_ids(actor: spec.Actor, *, now: dt.datetime, plan=None, part=None, unit=None, state=None,
               light=None, q=None, engine=None) -> list[int]:
    """Every measure id of the filtered ledger, in id order."""
    today = workdays.local_today(now)
    with db.read_tx(engine) as conn:
        conds = _conditions(conn, today, plan_ladders(conn) if light else {}, plan=plan, part=part, unit=unit, state=state,
                            light=light, q=q)
        query = selectable(actor).with_only_columns(M.c.id).where(*conds)
        return [r[0] for r in conn.execute(query.order_by(M.c.id))]


def ledger_condition(conn, actor: spec.Actor, *, today: dt.date, part=None, unit=None, state=None, light=None,
                     q=None):
    """The ledger's filters and the actor's scope as one condition on a query that joins the
    measure's problem, part, plan and unit (the Excel export's query does)."""
    ladders = plan_ladders(conn) if light else {}
    return and_(scope(actor), *_conditions(conn, today, ladders, part=part, unit=unit, state=state, light=light,
                                           q=q))


def _conditions(conn, today, ladders, *, plan=None, part=None, unit=None, state=None, light=None, q=None) -> list:
    """The ledger's filters as conditions (they combine with AND) on a query that joins the measure's
    problem, part, plan and unit; ``ladders``: :func:`plan_ladders`, read when ``light`` is given."""
    conds = _narrowed(plan=plan, part=part, unit=unit, state=state)
    if light:
        conds.append(light_condition(light, today, ladders))
    words = keyword_condition(conn, q)
    if words is not None:
        conds.append(words)
    return conds


def _narrowed(*, plan=None, part=None, unit=None, state=None) -> list:
    return [c for given, c in ((plan, Plan.id == plan), (part, Part.no == part), (unit, OrgUnit.name == unit),
                               (state, M.c.state == state)) if given]


def filter_choices(engine=None) -> dict:
    """Plans, part numbers and units for the ledger's filters."""
    with db.read_tx(engine) as conn:
        plans = [dict(r._mapping) for r in conn.execute(select(Plan.id, Plan.title).order_by(Plan.id))]
        parts = [dict(r._mapping) for r in conn.execute(
            select(Part.no, func.min(Part.title).label("title")).group_by(Part.no).order_by(Part.no))]
        units = [r[0] for r in conn.execute(
            select(OrgUnit.name).where(OrgUnit.id.in_(select(M.c.unit_id).distinct())).order_by(OrgUnit.name))]
    return {"plans": plans, "parts": parts, "units": units}


def export_size(plan_id: int | None, engine=None) -> tuple[int, int]:
    """``(plan id, number of measures)`` of the plan a whole-ledger export would write.

    Without ``plan_id`` the only plan; NotFound or ``Refused("plan_required")`` as
    :func:`workflow.stats.resolve_plan`.
    """
    with db.read_tx(engine) as conn:
        plan = stats.resolve_plan(conn, plan_id)
        total = conn.execute(select(func.count()).select_from(M).join(Problem, Problem.id == M.c.problem_id)
                             .where(Problem.plan_id == plan.id)).scalar_one()
    return plan.id, total


# --- the rows the command line and the export stream -------------------------------

def items_query(state=None, unit=None, plan_id=None, part_no=None, measure_ids=None):
    """Every measure (no scope: the command line acts for the whole database) in id order."""
    base = selectable()
    c = base.selected_columns
    q = base.with_only_columns(c.id, c.problem_no, c.part, c.state, c.deadline, c.deadline_original, c.version,
                               c.kind, c.seq, c.text, c.owner, c.leader, c.unit, c.ladder, c.plan_id)
    q = q.where(*_narrowed(plan=plan_id, part=part_no, unit=unit, state=state)).order_by(M.c.id)
    if measure_ids is not None:
        q = q.where(M.c.id.in_(list(measure_ids)))
    return q


def iter_items(state=None, unit=None, light=None, now: dt.datetime | None = None, engine=None,
               **filters) -> Iterator[dict]:
    """Ledger rows with the light in force at ``now``; streamed in batches."""
    today = workdays.local_today(now or dt.datetime.utcnow())
    with db.read_tx(engine) as conn:
        q = items_query(state=state, unit=unit, **filters)
        if light:  # in SQL: a light that few measures have is an index range, not a scan of the ledger
            q = q.where(light_condition(light, today, plan_ladders(conn)))
        result = conn.execution_options(stream_results=True, yield_per=1000).execute(q)
        for r in result:
            lt, level = workdays.light(r.state, r.deadline, today, workdays.ladder(r.ladder))
            if light and lt != light:
                continue
            yield {
                "id": r.id, "problem_no": r.problem_no, "part": r.part, "state": r.state, "light": lt,
                "level": level, "owner": r.owner, "leader": r.leader, "unit": r.unit,
                "deadline": r.deadline.isoformat() if r.deadline else None,
                "deadline_original": r.deadline_original.isoformat() if r.deadline_original else None,
                "version": r.version, "kind": r.kind,
            }
