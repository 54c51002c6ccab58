"""One scoped measure selectable, and what is read through it: lists, one measure, its events.

:func:`selectable` is the measure row every list and page shows (problem, part, plan, people,
unit), narrowed by :func:`workflow.readmodels.scope.scope` to what the asking actor may see.
Times in the database are naive UTC; "today" for lights is China's date at ``now``.
"""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable

from sqlalchemy import and_, false, func, or_, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import aliased

from .. import db, loading, spec, workdays
from ..errors import Conflict, NotFound
from ..models import Category, Event, Evidence, Extension, Measure, MeasureEvidence, OrgUnit, Part, Plan, Problem, User
from ..paging import Page, paginate
from . import history
from .scope import scope, visible_row

M = Measure.__table__
LIGHTS = ("green", "yellow", "red", "done")


# --- the selectable -------------------------------------------------------------

def selectable(actor: spec.Actor | None = None):
    """The measure rows lists show, with problem, part, plan, people and unit by name.

    With ``actor``, only what that actor may see; add filters and an order to it.
    """
    owner, leader = aliased(User), aliased(User)
    q = (
        select(M.c.id, M.c.seq, M.c.text, M.c.kind, M.c.state, M.c.version, M.c.deadline, M.c.deadline_original,
               M.c.reopen_count, M.c.evidence_count, M.c.pending_extension, M.c.submitted_at, M.c.closed_at,
               M.c.account, M.c.problem_id, Problem.no.label("problem_no"), Problem.text.label("problem_text"),
               Part.no.label("part"), Plan.id.label("plan_id"), Plan.title.label("plan_title"), Plan.ladder,
               owner.username.label("owner"), owner.name.label("owner_name"),
               leader.username.label("leader"), leader.name.label("leader_name"), OrgUnit.name.label("unit"))
        .join(Problem, Problem.id == M.c.problem_id)
        .join(Part, Part.id == Problem.part_id)
        .join(Plan, Plan.id == Problem.plan_id)
        .outerjoin(owner, owner.id == M.c.owner_id)
        .outerjoin(leader, leader.id == M.c.leader_id)
        .outerjoin(OrgUnit, OrgUnit.id == M.c.unit_id)
    )
    return q if actor is None else q.where(scope(actor))


def id_query(actor: spec.Actor | None = None, *, problem: bool = False, part: bool = False, plan: bool = False,
             unit: bool = False):
    """``SELECT measures.id`` with only the joins a list's filters and order need (for counting and
    walking pages: :func:`workflow.paging.paginate`'s ``narrow``). Every measure has its problem,
    part and plan (foreign keys, not null), so leaving a join out drops no row."""
    q = select(M.c.id)
    if problem or part or plan:
        q = q.join(Problem, Problem.id == M.c.problem_id)
    if part:
        q = q.join(Part, Part.id == Problem.part_id)
    if plan:
        q = q.join(Plan, Plan.id == Problem.plan_id)
    if unit:
        q = q.outerjoin(OrgUnit, OrgUnit.id == M.c.unit_id)
    return q if actor is None else q.where(scope(actor))


def row_dict(r, today: dt.date) -> dict:
    """A row of :func:`selectable` as a dict, with its light and level today (no ladder)."""
    d = dict(r._mapping)
    d["light"], d["level"] = workdays.light(r.state, r.deadline, today, workdays.ladder(r.ladder))
    d.pop("ladder", None)
    return d


def summary(r, today: dt.date) -> dict:
    """The fields of a measure the API lists (see ``web.api.schemas.MeasureSummary``)."""
    lt, level = workdays.light(r.state, r.deadline, today, workdays.ladder(r.ladder))
    return {
        "id": r.id, "problem_id": r.problem_id, "problem_no": r.problem_no, "part": r.part, "seq": r.seq,
        "text": r.text, "kind": r.kind, "state": r.state, "light": lt, "level": level,
        "owner": r.owner, "owner_name": r.owner_name, "leader": r.leader, "leader_name": r.leader_name,
        "unit": r.unit, "deadline": r.deadline, "deadline_original": r.deadline_original,
        "version": r.version, "reopen_count": r.reopen_count, "evidence_count": r.evidence_count,
        "pending_extension": bool(r.pending_extension),
    }


# --- lights in SQL ----------------------------------------------------------

def yellow_last(today: dt.date, overrides: dict | None) -> dt.date:
    """The last deadline that is still yellow today (within ``yellow_within`` working days) under a
    plan's ladder ``overrides``."""
    rules = workdays.ladder(overrides)
    return workdays.add_workdays(today, int(rules["yellow_within"]) + 1) - dt.timedelta(days=1)


def light_condition(light: str, today: dt.date, ladders: dict[int, dict | None], *, state=M.c.state,
                    deadline=M.c.deadline, plan=Problem.plan_id, undated=None):
    """A SQL condition selecting measures whose light today is ``light``.

    Mirrors :func:`workflow.workdays.light` exactly: the yellow window depends on each plan's
    ladder, so plans are grouped by their window. ``ladders`` maps plan id to its overrides.
    ``state``, ``deadline``, ``plan`` and ``undated`` (no deadline; default ``deadline IS NULL``) name
    the columns it reads, so the kept tallies use the same condition on theirs.
    """
    undated = deadline.is_(None) if undated is None else undated
    work = state.in_(spec.WORK_STATES)
    dated = and_(work, ~undated)
    if light == "done":
        return state == spec.CLOSED
    if light == "red":
        return and_(dated, deadline < today)
    by_last: dict[dt.date, list[int]] = {}
    for plan_id, overrides in ladders.items():
        by_last.setdefault(yellow_last(today, overrides), []).append(plan_id)
    yellow = or_(false(), *(and_(plan.in_(ids), deadline <= last) for last, ids in sorted(by_last.items())))
    yellow = and_(dated, deadline >= today, yellow)
    if light == "yellow":
        return yellow
    if light == "green":
        return and_(state != spec.CLOSED, or_(~work, undated, and_(deadline >= today, ~yellow)))
    raise spec.Refused("invalid_input", f"unknown light: {light}")


def plan_ladders(conn: Connection) -> dict[int, dict | None]:
    """Each plan's ladder overrides, by plan id (for :func:`light_condition`)."""
    return {r.id: r.ladder for r in conn.execute(select(Plan.id, Plan.ladder))}


# --- lists ------------------------------------------------------------------

def list_measures(actor: spec.Actor, *, now: dt.datetime, state: str | None = None, unit: str | None = None,
                  light: str | None = None, part: int | None = None, problem: int | None = None,
                  page: int = 1, per_page: int = 50, engine: Engine | None = None) -> Page:
    """One page of the measures ``actor`` may see, in id order, with the light in force at ``now``.

    Filters combine with AND; the items are :func:`summary` dicts.
    """
    today = workdays.local_today(now)
    with db.read_tx(engine) as conn:
        q = selectable(actor)
        narrow = id_query(actor, problem=problem is not None or bool(light), part=part is not None, unit=bool(unit))
        conds = []
        if state:
            conds.append(M.c.state == state)
        if unit:
            conds.append(OrgUnit.name == unit)
        if part is not None:
            conds.append(Part.no == part)
        if problem is not None:
            conds.append(Problem.no == problem)
        if light:
            conds.append(light_condition(light, today, plan_ladders(conn)))
        rows = paginate(conn, q.where(*conds), [M.c.id], page, per_page, key=M.c.id, narrow=narrow.where(*conds))
    return rows.map(lambda r: summary(r, today))


def visible_measure_ids(actor: spec.Actor, engine: Engine | None = None,
                        among: Iterable[int] | None = None) -> list[int]:
    """Every measure id ``actor`` may see (for tests and exports); with ``among``, those of these ids."""
    q = select(M.c.id).where(scope(actor))
    if among is not None:
        q = q.where(M.c.id.in_(sorted(set(among))))
    with db.read_tx(engine) as conn:
        return [r[0] for r in conn.execute(q.order_by(M.c.id))]


def version_of(actor: spec.Actor, measure_id: int, engine: Engine | None = None) -> int:
    """The current version of a measure the actor may see; NotFound otherwise."""
    with db.read_tx(engine) as conn:
        v = conn.execute(select(M.c.version).where(M.c.id == measure_id, scope(actor))).scalar()
    if v is None:
        raise NotFound(f"no such measure: {measure_id}")
    return v


# --- one measure ------------------------------------------------------------



def allowed_triggers(actor: spec.Actor, row) -> list[str]:
    """The triggers ``actor`` may fire on the loaded measure now (state and role; input guards
    such as a required reason are checked when firing)."""
    view = loading.view_of(row)
    return spec.allowed_triggers(lambda _name: spec.Ctx(actor, view))


def preflight(actor: spec.Actor, measure_id: int, trigger: str, *, comment: str = "", reason: str = "",
              new_evidence: int = 0, params: dict | None = None,
              expected_version: int | Iterable[int] | None = None, now: dt.datetime | None = None,
              engine: Engine | None = None) -> int:
    """Check, without writing, that ``trigger`` would pass every rule; return the measure's version.

    In the order HTTP wants them: NotFound for a measure the actor may not see, then
    :class:`workflow.errors.Conflict` if ``expected_version`` (one version, or the several of an
    ``If-Match`` list) is given and the measure is at none of them, then
    :class:`spec.Refused` naming the rule. Callers use it before storing uploaded files, so a
    refused request leaves nothing behind; :func:`workflow.commands.fire` checks everything again
    in its transaction.
    """
    if trigger not in spec.PUBLIC_TRIGGERS:
        raise spec.Refused("unknown_trigger", f"unknown trigger {trigger!r}")
    with db.read_tx(engine) as conn:
        row = visible_row(conn, actor, measure_id)
    if expected_version is not None:
        allowed = {expected_version} if isinstance(expected_version, int) else set(expected_version)
        if row.version not in allowed:
            raise Conflict(measure_id, min(allowed, default=None), row.version)
    ctx = spec.Ctx(actor, loading.view_of(row), comment=comment or "", reason=reason or "",
                   new_evidence=new_evidence, params=dict(params or {}),
                   today=workdays.local_today(now) if now is not None else None)
    spec.check(trigger, ctx)
    return row.version


def measure_detail(actor: spec.Actor, measure_id: int, *, now: dt.datetime, engine: Engine | None = None) -> dict:
    """A measure with its problem, people, evidence, extensions and the triggers ``actor`` may fire."""
    today = workdays.local_today(now)
    with db.read_tx(engine) as conn:
        row = visible_row(conn, actor, measure_id)
        r = conn.execute(selectable().where(M.c.id == measure_id)).one()
        out = summary(r, today)
        prob = conn.execute(
            select(Problem.no, Problem.text, Part.title.label("part_title"), Category.title.label("category"))
            .join(Part, Part.id == Problem.part_id)
            .outerjoin(Category, Category.id == Problem.category_id)
            .where(Problem.id == row.problem_id)).one()
        submitter = None
        if row.submitter_id is not None:
            submitter = conn.execute(select(User.username, User.name).where(User.id == row.submitter_id)).first()
        back = history.sent_back(conn, [measure_id], current=False).get(measure_id)
        evidence = _evidence_of(conn, row, back)
        requester, decider = aliased(User), aliased(User)
        extensions = [
            {"id": x.id, "old_deadline": x.old_deadline, "new_deadline": x.new_deadline, "reason": x.reason,
             "status": x.status, "requested_by": x.requested_by, "decided_by": x.decided_by,
             "requested_by_name": x.requested_by_name, "decided_by_name": x.decided_by_name,
             "created_at": x.created_at, "decided_at": x.decided_at}
            for x in conn.execute(
                select(Extension.id, Extension.old_deadline, Extension.new_deadline, Extension.reason,
                       Extension.status, Extension.created_at, Extension.decided_at,
                       requester.username.label("requested_by"), decider.username.label("decided_by"),
                       requester.name.label("requested_by_name"), decider.name.label("decided_by_name"))
                .join(requester, requester.id == Extension.requested_by)
                .outerjoin(decider, decider.id == Extension.decided_by)
                .where(Extension.measure_id == measure_id).order_by(Extension.id))
        ]
        now_back = (history.sent_back(conn, [measure_id]).get(measure_id)
                    if row.state == spec.IN_PROGRESS else None)
    out.update(
        problem_text=prob.text, part_title=prob.part_title, category=prob.category,
        account=row.account, extra=dict(row.extra or {}), submitter=submitter.username if submitter else None,
        submitter_name=submitter.name if submitter else None, submitted_at=row.submitted_at,
        closed_at=row.closed_at,
        created_at=row.created_at, evidence_waived=bool(row.evidence_waived), evidence=evidence,
        extensions=extensions, allowed_triggers=allowed_triggers(actor, row),
        came_back=now_back,
        last_sent_back=back, new_evidence=sum(1 for e in evidence if e["new"]),
        may_remove_evidence=row.state in spec.WORK_STATES and spec.is_owner_or_unit_member(
            spec.Ctx(actor, loading.view_of(row))),
    )
    return out


def _evidence_of(conn: Connection, row, back: dict | None) -> list[dict]:
    """The measure's live evidence files, each marked ``new`` (attached after the measure last came
    back) and ``removable`` (not yet part of a submission, while the measure is with its owner)."""
    last_submit = conn.execute(select(func.coalesce(func.max(Event.seq), 0)).where(
        Event.measure_id == row.id, Event.kind == "submit")).scalar_one()
    out = []
    for e in conn.execute(
            select(MeasureEvidence.sha256, MeasureEvidence.name, MeasureEvidence.event_seq, Evidence.size,
                   Evidence.mime)
            .join(Evidence, Evidence.sha256 == MeasureEvidence.sha256)
            .where(MeasureEvidence.measure_id == row.id, MeasureEvidence.removed_seq.is_(None))
            .order_by(MeasureEvidence.id)):
        out.append({"sha256": e.sha256, "name": e.name, "size": e.size, "mime": e.mime, "event_seq": e.event_seq,
                    "new": back is not None and e.event_seq > back["seq"],
                    "removable": row.state in spec.WORK_STATES and e.event_seq > last_submit})
    return out


def measure_events(actor: spec.Actor, measure_id: int, engine: Engine | None = None) -> list[dict]:
    """The audit timeline of a measure, oldest first: each event with its chain hash and the name of
    the person who caused it (``actor`` stays the login name the chain records)."""
    E = Event.__table__
    with db.read_tx(engine) as conn:
        visible_row(conn, actor, measure_id)
        rows = conn.execute(select(E, User.name.label("actor_name")).outerjoin(User, User.username == E.c.actor)
                            .where(E.c.measure_id == measure_id).order_by(E.c.seq))
        return [{
            "seq": e.seq, "kind": e.kind, "actor": e.actor, "actor_name": e.actor_name or e.actor,
            "from_state": e.from_state, "to_state": e.to_state, "at": e.at,
            "body": json.loads(e.body) if e.body else {}, "prev_hash": e.prev_hash, "hash": e.hash,
        } for e in rows]


def evidence_file(actor: spec.Actor, sha256: str, engine: Engine | None = None) -> dict:
    """``{sha256, name, mime, size}`` of an evidence file linked to a measure ``actor`` may see.

    NotFound otherwise, whether the file exists or not.
    """
    sha256 = (sha256 or "").lower()
    with db.read_tx(engine) as conn:
        row = conn.execute(
            select(MeasureEvidence.name, Evidence.mime, Evidence.size)
            .join(Evidence, Evidence.sha256 == MeasureEvidence.sha256)
            .join(M, M.c.id == MeasureEvidence.measure_id)
            .where(MeasureEvidence.sha256 == sha256, MeasureEvidence.removed_seq.is_(None), scope(actor))
            .order_by(MeasureEvidence.id).limit(1)).first()
    if row is None:
        raise NotFound("no such evidence")
    return {"sha256": sha256, "name": row.name, "mime": row.mime, "size": row.size}
