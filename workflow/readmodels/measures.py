"""Read models scoped by who is asking: shared by the web pages and the REST API.

Every function takes the asking :class:`workflow.spec.Actor` and answers only with what that
actor may see, using one rule (:func:`scope`, the SQL twin of :func:`workflow.spec.can_see`):

- admin, office, supervisor and inspector see every measure;
- an owner sees the measures they own and those of the units they belong to;
- a leader sees the measures they lead, or lead as someone's delegate.

A measure the actor may not see is reported exactly like one that does not exist
(:class:`workflow.errors.NotFound`), so nothing leaks its existence. Times in the database are
naive UTC; "today" for lights is China's date at ``now``.
"""
from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable

from sqlalchemy import and_, false, func, or_, select, true, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import aliased

from .. import db, loading, spec, workdays
from ..errors import Conflict, NotFound
from ..models import (
    Category, Event, Evidence, Extension, Inspection, Measure, MeasureEvidence, Membership, OrgUnit, Outbox, Part, Plan,
    Problem, User,
)

M = Measure.__table__
GLOBAL_ROLES = frozenset({"admin", "office", "supervisor", "inspector"})
LIGHTS = ("green", "yellow", "red", "done")
MAX_PER_PAGE = 200


# --- who sees what --------------------------------------------------------

def load_actor(username: str, engine: Engine | None = None) -> spec.Actor:
    """The actor for ``username`` (roles, units, delegations); NotFound if unknown or inactive."""
    with db.read_tx(engine) as conn:
        return loading.load_actor(conn, username)


def scope(actor: spec.Actor):
    """A SQL condition on ``measures`` selecting exactly what ``actor`` may see."""
    if GLOBAL_ROLES & actor.roles:
        return true()
    conds = []
    if "owner" in actor.roles:
        conds.append(M.c.owner_id == actor.id)
        if actor.unit_ids:
            conds.append(M.c.unit_id.in_(sorted(actor.unit_ids)))
    if "leader" in actor.roles:
        conds.append(M.c.leader_id.in_(sorted({actor.id, *actor.delegate_for})))
    return or_(*conds) if conds else false()


def may_see(actor: spec.Actor, row) -> bool:
    """The rule of :mod:`workflow.spec` for one loaded measure row."""
    return spec.can_see(spec.Ctx(actor, loading.view_of(row)))


def _visible_row(conn: Connection, actor: spec.Actor, measure_id: int):
    try:
        row = loading.load_measure(conn, measure_id)
    except NotFound:
        raise NotFound(f"no such measure: {measure_id}") from None
    if not may_see(actor, row):
        raise NotFound(f"no such measure: {measure_id}")
    return row


def allowed_triggers(actor: spec.Actor, row) -> list[str]:
    """The triggers ``actor`` may fire on the loaded measure now (state and role; input guards
    such as a required reason are checked when firing)."""
    view = loading.view_of(row)
    return spec.allowed_triggers(lambda _name: spec.Ctx(actor, view))


def preflight(actor: spec.Actor, measure_id: int, trigger: str, *, comment: str = "", reason: str = "",
              new_evidence: int = 0, params: dict | None = None,
              expected_version: int | Iterable[int] | None = None, engine: Engine | None = None) -> int:
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
        row = _visible_row(conn, actor, measure_id)
    if expected_version is not None:
        allowed = {expected_version} if isinstance(expected_version, int) else set(expected_version)
        if row.version not in allowed:
            raise Conflict(measure_id, min(allowed, default=None), row.version)
    ctx = spec.Ctx(actor, loading.view_of(row), comment=comment or "", reason=reason or "",
                   new_evidence=new_evidence, params=dict(params or {}))
    spec.check(trigger, ctx)
    return row.version


# --- lights in SQL ----------------------------------------------------------

def _yellow_last(today: dt.date, rules: dict) -> dt.date:
    """The last deadline that is still yellow today (within ``yellow_within`` working days)."""
    return workdays.add_workdays(today, int(rules["yellow_within"]) + 1) - dt.timedelta(days=1)


def light_condition(light: str, today: dt.date, ladders: dict[int, dict | None]):
    """A SQL condition selecting measures whose light today is ``light``.

    Mirrors :func:`workflow.workdays.light` exactly: the yellow window depends on each plan's
    ladder, so plans are grouped by their window. ``ladders`` maps plan id to its overrides.
    """
    open_ = M.c.state.in_((spec.ASSIGNED, spec.IN_PROGRESS))
    dated = and_(open_, M.c.deadline.is_not(None))
    if light == "done":
        return M.c.state == spec.CLOSED
    if light == "red":
        return and_(dated, M.c.deadline < today)
    by_last: dict[dt.date, list[int]] = {}
    for plan_id, overrides in ladders.items():
        by_last.setdefault(_yellow_last(today, workdays.ladder(overrides)), []).append(plan_id)
    yellow = or_(false(), *(and_(Problem.plan_id.in_(ids), M.c.deadline <= last)
                            for last, ids in sorted(by_last.items())))
    yellow = and_(dated, M.c.deadline >= today, yellow)
    if light == "yellow":
        return yellow
    if light == "green":
        return and_(M.c.state != spec.CLOSED, or_(~open_, M.c.deadline.is_(None),
                                                  and_(M.c.deadline >= today, ~yellow)))
    raise spec.Refused("invalid_input", f"unknown light: {light}")


def _ladders(conn: Connection) -> dict[int, dict | None]:
    return {r.id: r.ladder for r in conn.execute(select(Plan.id, Plan.ladder))}


# --- measures -----------------------------------------------------------------

def _measures_query():
    owner, leader = aliased(User), aliased(User)
    return (
        select(M.c.id, M.c.seq, M.c.text, M.c.kind, M.c.state, M.c.version, M.c.deadline,
               M.c.deadline_original, M.c.reopen_count, M.c.evidence_count, M.c.pending_extension,
               M.c.problem_id, Problem.no.label("problem_no"), Part.no.label("part"),
               Plan.id.label("plan_id"), Plan.ladder,
               owner.username.label("owner"), owner.name.label("owner_name"),
               leader.username.label("leader"), leader.name.label("leader_name"),
               OrgUnit.name.label("unit"))
        .join(Problem, Problem.id == M.c.problem_id)
        .join(Part, Part.id == Problem.part_id)
        .join(Plan, Plan.id == Problem.plan_id)
        .outerjoin(owner, owner.id == M.c.owner_id)
        .outerjoin(leader, leader.id == M.c.leader_id)
        .outerjoin(OrgUnit, OrgUnit.id == M.c.unit_id)
    )


def page_of(conn, q, order, page: int, per_page: int) -> tuple[int, list]:
    """(total, rows) of one page of ``q`` (a measures query) in ``order``.

    The offset is walked on a narrow query of ids only (same joins and filters), then the page's
    wide rows are fetched by id, so a late page costs about what the first does.
    """
    narrow = q.with_only_columns(M.c.id)
    total = conn.execute(select(func.count()).select_from(narrow.subquery())).scalar_one()
    ids = [r[0] for r in conn.execute(narrow.order_by(*order).limit(per_page).offset((page - 1) * per_page))]
    if not ids:
        return total, []
    return total, conn.execute(q.where(M.c.id.in_(ids)).order_by(*order)).all()


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _summary(r, today: dt.date) -> dict:
    lt, level = workdays.light(r.state, r.deadline, today, workdays.ladder(r.ladder))
    return {
        "id": r.id, "problem_id": r.problem_id, "problem_no": r.problem_no, "part": r.part, "seq": r.seq,
        "text": r.text, "kind": r.kind, "state": r.state, "light": lt, "level": level,
        "owner": r.owner, "owner_name": r.owner_name, "leader": r.leader, "leader_name": r.leader_name,
        "unit": r.unit, "deadline": r.deadline, "deadline_original": r.deadline_original,
        "version": r.version, "reopen_count": r.reopen_count, "evidence_count": r.evidence_count,
        "pending_extension": bool(r.pending_extension),
    }


def list_measures(actor: spec.Actor, *, now: dt.datetime, state: str | None = None, unit: str | None = None,
                  light: str | None = None, part: int | None = None, problem: int | None = None,
                  page: int = 1, per_page: int = 50, engine: Engine | None = None) -> dict:
    """One page of the measures ``actor`` may see, in id order, with the light in force at ``now``.

    Returns ``{items, page, per_page, total, pages}``; filters combine with AND.
    """
    page, per_page = max(1, int(page)), min(MAX_PER_PAGE, max(1, int(per_page)))
    today = workdays.local_today(now)
    with db.read_tx(engine) as conn:
        q = _measures_query().where(scope(actor))
        if state:
            q = q.where(M.c.state == state)
        if unit:
            q = q.where(OrgUnit.name == unit)
        if part is not None:
            q = q.where(Part.no == part)
        if problem is not None:
            q = q.where(Problem.no == problem)
        if light:
            q = q.where(light_condition(light, today, _ladders(conn)))
        total, rows = page_of(conn, q, [M.c.id], page, per_page)
    return {"items": [_summary(r, today) for r in rows], "page": page, "per_page": per_page,
            "total": total, "pages": max(1, math.ceil(total / per_page))}


def visible_measure_ids(actor: spec.Actor, engine: Engine | None = None) -> list[int]:
    """Every measure id ``actor`` may see (for tests and exports)."""
    with db.read_tx(engine) as conn:
        return [r[0] for r in conn.execute(select(M.c.id).where(scope(actor)).order_by(M.c.id))]


def measure_detail(actor: spec.Actor, measure_id: int, *, now: dt.datetime, engine: Engine | None = None) -> dict:
    """A measure with its problem, people, evidence, extensions and the triggers ``actor`` may fire."""
    today = workdays.local_today(now)
    with db.read_tx(engine) as conn:
        row = _visible_row(conn, actor, measure_id)
        r = conn.execute(_measures_query().where(M.c.id == measure_id)).one()
        out = _summary(r, today)
        prob = conn.execute(
            select(Problem.no, Problem.text, Part.title.label("part_title"), Category.title.label("category"))
            .join(Part, Part.id == Problem.part_id)
            .outerjoin(Category, Category.id == Problem.category_id)
            .where(Problem.id == row.problem_id)).one()
        submitter = None
        if row.submitter_id is not None:
            submitter = conn.execute(select(User.username).where(User.id == row.submitter_id)).scalar()
        evidence = [
            {"sha256": e.sha256, "name": e.name, "size": e.size, "mime": e.mime, "event_seq": e.event_seq}
            for e in conn.execute(
                select(MeasureEvidence.sha256, MeasureEvidence.name, MeasureEvidence.event_seq, Evidence.size,
                       Evidence.mime)
                .join(Evidence, Evidence.sha256 == MeasureEvidence.sha256)
                .where(MeasureEvidence.measure_id == measure_id).order_by(MeasureEvidence.id))
        ]
        requester, decider = aliased(User), aliased(User)
        extensions = [
            {"id": x.id, "old_deadline": x.old_deadline, "new_deadline": x.new_deadline, "reason": x.reason,
             "status": x.status, "requested_by": x.requested_by, "decided_by": x.decided_by,
             "created_at": x.created_at, "decided_at": x.decided_at}
            for x in conn.execute(
                select(Extension.id, Extension.old_deadline, Extension.new_deadline, Extension.reason,
                       Extension.status, Extension.created_at, Extension.decided_at,
                       requester.username.label("requested_by"), decider.username.label("decided_by"))
                .join(requester, requester.id == Extension.requested_by)
                .outerjoin(decider, decider.id == Extension.decided_by)
                .where(Extension.measure_id == measure_id).order_by(Extension.id))
        ]
    out.update(
        problem_text=prob.text, part_title=prob.part_title, category=prob.category,
        account=row.account, extra=dict(row.extra or {}), submitter=submitter, submitted_at=row.submitted_at,
        closed_at=row.closed_at,
        created_at=row.created_at, evidence_waived=bool(row.evidence_waived), evidence=evidence,
        extensions=extensions, allowed_triggers=allowed_triggers(actor, row),
    )
    return out


def measure_events(actor: spec.Actor, measure_id: int, engine: Engine | None = None) -> list[dict]:
    """The audit timeline of a measure, oldest first (each event with its chain hash)."""
    with db.read_tx(engine) as conn:
        _visible_row(conn, actor, measure_id)
        rows = conn.execute(select(Event.__table__).where(Event.measure_id == measure_id).order_by(Event.seq))
        return [{
            "seq": e.seq, "kind": e.kind, "actor": e.actor, "from_state": e.from_state, "to_state": e.to_state,
            "at": e.at, "body": json.loads(e.body) if e.body else {}, "prev_hash": e.prev_hash, "hash": e.hash,
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
            .where(MeasureEvidence.sha256 == sha256, scope(actor))
            .order_by(MeasureEvidence.id).limit(1)).first()
    if row is None:
        raise NotFound("no such evidence")
    return {"sha256": sha256, "name": row.name, "mime": row.mime, "size": row.size}


# --- problems, stats ------------------------------------------------------------

def list_problems(actor: spec.Actor, *, now: dt.datetime, page: int = 1, per_page: int = 50,
                  engine: Engine | None = None) -> dict:
    """Problems with at least one measure ``actor`` may see, with their derived public progress.

    ``progress`` is the public status over all the problem's measures (it is published in the
    notice); ``measure_ids`` lists only the measures ``actor`` may see.
    """
    page, per_page = max(1, int(page)), min(MAX_PER_PAGE, max(1, int(per_page)))
    today = workdays.local_today(now)
    with db.read_tx(engine) as conn:
        visible = select(M.c.problem_id).where(scope(actor)).distinct().subquery()
        q = (select(Problem.id, Problem.no, Problem.text, Problem.plan_id, Part.no.label("part"),
                    Part.title.label("part_title"), Category.title.label("category"),
                    Problem.amount_involved, Problem.amount_recovered, Inspection.rect_end)
             .join(visible, visible.c.problem_id == Problem.id)
             .join(Part, Part.id == Problem.part_id)
             .outerjoin(Category, Category.id == Problem.category_id)
             .join(Plan, Plan.id == Problem.plan_id)
             .join(Inspection, Inspection.id == Plan.inspection_id))
        total = conn.execute(select(func.count()).select_from(q.subquery())).scalar_one()
        rows = conn.execute(q.order_by(Problem.plan_id, Problem.no, Problem.id)
                            .limit(per_page).offset((page - 1) * per_page)).all()
        ids = [r.id for r in rows]
        states: dict[int, list[tuple[str, str]]] = {i: [] for i in ids}
        seen: dict[int, list[int]] = {i: [] for i in ids}
        if ids:
            for m in conn.execute(select(M.c.id, M.c.problem_id, M.c.state, M.c.kind,
                                         scope(actor).label("visible"))
                                  .where(M.c.problem_id.in_(ids)).order_by(M.c.id)):
                states[m.problem_id].append((m.state, m.kind))
                if m.visible:
                    seen[m.problem_id].append(m.id)
    items = []
    for r in rows:
        progress = spec.problem_progress(states[r.id], r.rect_end, today)
        items.append({
            "id": r.id, "plan_id": r.plan_id, "no": r.no, "text": r.text, "part": r.part,
            "part_title": r.part_title, "category": r.category, "progress": progress,
            "amount_involved": r.amount_involved, "amount_recovered": r.amount_recovered,
            "measures": len(states[r.id]), "closed": sum(1 for s, _ in states[r.id] if s == spec.CLOSED),
            "measure_ids": seen[r.id],
        })
    return {"items": items, "page": page, "per_page": per_page, "total": total,
            "pages": max(1, math.ceil(total / per_page))}


def stats(actor: spec.Actor, *, now: dt.datetime, engine: Engine | None = None) -> dict:
    """Counts over the measures ``actor`` may see: by state, by light and by unit."""
    today = workdays.local_today(now)
    by_state = {s: 0 for s in spec.STATES}
    by_light = {lt: 0 for lt in LIGHTS}
    units: dict[str, dict] = {}
    total = overdue_closed = 0
    with db.read_tx(engine) as conn:
        q = (select(M.c.state, M.c.deadline, M.c.deadline_original, M.c.closed_at, Plan.ladder,
                    OrgUnit.name.label("unit"))
             .join(Problem, Problem.id == M.c.problem_id)
             .join(Plan, Plan.id == Problem.plan_id)
             .outerjoin(OrgUnit, OrgUnit.id == M.c.unit_id)
             .where(scope(actor)))
        for r in conn.execution_options(yield_per=1000).execute(q):
            lt, _level = workdays.light(r.state, r.deadline, today, workdays.ladder(r.ladder))
            total += 1
            by_state[r.state] = by_state.get(r.state, 0) + 1
            by_light[lt] += 1
            u = units.setdefault(r.unit or "", {"unit": r.unit or "", "total": 0, "closed": 0, "red": 0,
                                                "yellow": 0, "closed_on_time": 0})
            u["total"] += 1
            if lt in ("red", "yellow"):
                u[lt] += 1
            if r.state == spec.CLOSED:
                u["closed"] += 1
                promised = r.deadline_original or r.deadline
                if promised is None or r.closed_at is None or workdays.local_today(r.closed_at) <= promised:
                    u["closed_on_time"] += 1
                else:
                    overdue_closed += 1
    return {"total": total, "by_state": by_state, "by_light": by_light,
            "by_unit": sorted(units.values(), key=lambda u: (-u["total"], u["unit"])),
            "closed_late": overdue_closed}


# --- the inbox ------------------------------------------------------------------

def notifications(user_id: int, *, unread_only: bool = False, page: int = 1, per_page: int = 50,
                  engine: Engine | None = None) -> dict:
    """The user's in-app inbox (outbox rows on the ``inbox`` channel), newest first."""
    page, per_page = max(1, int(page)), min(MAX_PER_PAGE, max(1, int(per_page)))
    O = Outbox.__table__
    mine = and_(O.c.recipient_id == user_id, O.c.channel == "inbox")
    cond = and_(mine, O.c.read_at.is_(None)) if unread_only else mine
    with db.read_tx(engine) as conn:
        unread = conn.execute(select(func.count()).select_from(O).where(mine, O.c.read_at.is_(None))).scalar_one()
        total = conn.execute(select(func.count()).select_from(O).where(cond)).scalar_one()
        rows = conn.execute(
            select(O.c.id, O.c.kind, O.c.subject, O.c.body, O.c.measure_id, O.c.level, O.c.created_at,
                   O.c.read_at)
            .where(cond).order_by(O.c.id.desc()).limit(per_page).offset((page - 1) * per_page)).all()
    return {"items": [dict(r._mapping) for r in rows], "page": page, "per_page": per_page, "total": total,
            "pages": max(1, math.ceil(total / per_page)), "unread": unread}


def mark_read(user_id: int, ids: Iterable[int] | None = None, *, now: dt.datetime,
              engine: Engine | None = None) -> int:
    """Mark the user's inbox messages read (``ids``, or all when None); return how many changed.

    NotFound when a single named message is not the user's: nobody learns of others' messages.
    """
    O = Outbox.__table__
    cond = and_(O.c.recipient_id == user_id, O.c.channel == "inbox", O.c.read_at.is_(None))
    now = now.replace(tzinfo=None)
    with db.write_tx(engine) as conn:
        if ids is not None:
            ids = sorted(set(int(i) for i in ids))
            owned = {r[0] for r in conn.execute(select(O.c.id).where(
                O.c.id.in_(ids), O.c.recipient_id == user_id, O.c.channel == "inbox"))}
            if len(ids) == 1 and not owned:
                raise NotFound("no such notification")
            cond = and_(cond, O.c.id.in_(sorted(owned)))
        return conn.execute(update(O).where(cond).values(read_at=now)).rowcount


# --- people ---------------------------------------------------------------------

def user_profile(actor: spec.Actor, engine: Engine | None = None) -> dict:
    """The actor's own record: name, roles, units (head or not) and whose delegate they are."""
    with db.read_tx(engine) as conn:
        u = conn.execute(select(User.username, User.name, User.email, User.locale, OrgUnit.name.label("unit"))
                         .outerjoin(OrgUnit, OrgUnit.id == User.unit_id).where(User.id == actor.id)).one()
        units = [{"name": r.name, "head": bool(r.is_head)} for r in conn.execute(
            select(OrgUnit.name, Membership.is_head).join(Membership, Membership.unit_id == OrgUnit.id)
            .where(Membership.user_id == actor.id).order_by(OrgUnit.name))]
        delegate_for = [r[0] for r in conn.execute(
            select(User.username).where(User.id.in_(sorted(actor.delegate_for))).order_by(User.username))
        ] if actor.delegate_for else []
    return {"id": actor.id, "username": u.username, "name": u.name, "email": u.email, "locale": u.locale,
            "roles": sorted(actor.roles), "unit": u.unit, "units": units, "delegate_for": delegate_for}


__all__ = [
    "GLOBAL_ROLES", "LIGHTS", "allowed_triggers", "evidence_file", "light_condition", "list_measures",
    "list_problems", "load_actor", "mark_read", "may_see", "measure_detail", "measure_events", "notifications",
    "preflight", "scope", "stats", "user_profile", "visible_measure_ids",
]
