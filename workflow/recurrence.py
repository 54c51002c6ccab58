"""Recurrence: a later round's problem that an earlier round already found (问题反弹, 屡改屡犯).

When a round is imported, :func:`scan` compares each of its problems with the problems of the same
target's earlier rounds (or, with ``across=True``, with every other plan: the same problem elsewhere) by
:mod:`workflow.similarity` on the text, nudged by structure (the same part title, the same unit among
their measures), and stores the likely matches as *candidate* links. The office looks at each with the
earlier problem, its measures and how they ended, and :func:`confirm` or :func:`dismiss` it. A
confirmation is recorded in the chain of :mod:`workflow.records` and, in the same transaction, reopens
(category ``rebound``) every long-term measure of the earlier problem that had been signed off; the notice
then says how many problems were found again.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import aliased

from . import commands, db, loading, records, similarity, spec
from .clock import utcnow
from .errors import NotFound
from .models import Inspection, Measure, OrgUnit, Part, Plan, Problem, RecurrenceLink

L = RecurrenceLink.__table__
M = Measure.__table__
STRUCTURE_BONUS = 0.04  # added to the text's score for each shared trait (part title, unit)


def _problems(conn: Connection, plan_ids: list[int]) -> Sequence[Any]:
    if not plan_ids:
        return []
    return conn.execute(select(Problem.id, Problem.plan_id, Problem.no, Problem.text, Part.title.label("part"))
                        .join(Part, Part.id == Problem.part_id).where(Problem.plan_id.in_(plan_ids))
                        .order_by(Problem.plan_id, Problem.no)).all()


def _units(conn: Connection, problem_ids: list[int]) -> dict[int, set[int]]:
    out: dict[int, set[int]] = {}
    if problem_ids:
        for r in conn.execute(select(M.c.problem_id, M.c.unit_id).where(
                M.c.problem_id.in_(problem_ids), M.c.unit_id.is_not(None))):
            out.setdefault(r.problem_id, set()).add(r.unit_id)
    return out


def earlier_plans(conn: Connection, plan_id: int, across: bool = False) -> list[int]:
    """The plans a plan's problems are compared with: its target's earlier rounds, or every other plan."""
    me = conn.execute(select(Plan.target_id, Inspection.round_no).join(Inspection, Inspection.id == Plan.inspection_id)
                      .where(Plan.id == plan_id)).first()
    if me is None:
        raise NotFound(f"no such plan: {plan_id}")
    q = select(Plan.id).join(Inspection, Inspection.id == Plan.inspection_id).where(Plan.id != plan_id)
    if not across:
        if me.target_id is None:
            return []
        q = q.where(Plan.target_id == me.target_id,
                    or_(Inspection.round_no < (me.round_no or 0), and_(Inspection.round_no == me.round_no,
                                                                       Plan.id < plan_id)))
    return [r[0] for r in conn.execute(q.order_by(Plan.id))]


def scan(conn: Connection, plan_id: int, now: dt.datetime, *, across: bool = False,
         threshold: float = similarity.THRESHOLD) -> int:
    """Store candidate links for the plan's problems (inside the caller's transaction); return how many
    are new. Links already stored, whatever their status, are left as they are."""
    later = _problems(conn, [plan_id])
    earlier = _problems(conn, earlier_plans(conn, plan_id, across))
    if not later or not earlier:
        return 0
    units = _units(conn, [p.id for p in later] + [p.id for p in earlier])
    made = 0
    for i, j, score in similarity.best_matches([p.text for p in later], [p.text for p in earlier],
                                               threshold - 2 * STRUCTURE_BONUS):
        a, b = later[i], earlier[j]
        score += STRUCTURE_BONUS * ((a.part or "") == (b.part or "")) + STRUCTURE_BONUS * bool(
            units.get(a.id, set()) & units.get(b.id, set()))
        if score < threshold:
            continue
        exists = conn.execute(select(L.c.id).where(L.c.problem_id == a.id, L.c.earlier_problem_id == b.id)).first()
        if exists is None:
            conn.execute(insert(L), {"problem_id": a.id, "earlier_problem_id": b.id, "score": round(min(score, 1.0), 4),
                                     "status": "candidate", "created_at": now.replace(tzinfo=None)})
            made += 1
    return made


def scan_plan(plan_id: int, *, across: bool = False, now: dt.datetime | None = None,
              engine: Engine | None = None) -> int:
    """:func:`scan` in a transaction of its own (``rectify recurrence scan``)."""
    with db.write_tx(engine) as conn:
        return scan(conn, plan_id, now or utcnow(), across=across)


def links(plan_id: int | None = None, status: str | None = None, engine: Engine | None = None) -> list[dict]:
    """Links (of one plan's problems, or all): ``{id, plan, problem_no, earlier_plan, earlier_problem_no, score,
    status}`` plus both texts and the earlier problem's measures with their states."""
    P2 = aliased(Problem)
    q = (select(L.c.id, L.c.score, L.c.status, Problem.plan_id, Problem.no, Problem.text,
                P2.plan_id.label("earlier_plan"), P2.no.label("earlier_no"), P2.text.label("earlier_text"),
                P2.id.label("earlier_id"))
         .join(Problem, Problem.id == L.c.problem_id).join(P2, P2.id == L.c.earlier_problem_id)
         .order_by(Problem.plan_id, Problem.no, L.c.score.desc()))
    if plan_id is not None:
        q = q.where(Problem.plan_id == plan_id)
    if status:
        q = q.where(L.c.status == status)
    with db.read_tx(engine) as conn:
        rows = conn.execute(q).all()
        ids = sorted({r.earlier_id for r in rows})
        measures: dict[int, list[dict]] = {}
        if ids:
            for m in conn.execute(select(M.c.problem_id, M.c.id, M.c.seq, M.c.text, M.c.state, M.c.kind,
                                         OrgUnit.name.label("unit"))
                                  .outerjoin(OrgUnit, OrgUnit.id == M.c.unit_id)
                                  .where(M.c.problem_id.in_(ids)).order_by(M.c.seq)):
                measures.setdefault(m.problem_id, []).append(
                    {"id": m.id, "seq": m.seq, "text": m.text, "state": m.state, "kind": m.kind, "unit": m.unit})
    return [{"id": r.id, "plan": r.plan_id, "problem_no": r.no, "earlier_plan": r.earlier_plan,
             "earlier_problem_no": r.earlier_no, "score": round(float(r.score), 3), "status": r.status,
             "text": r.text, "earlier_text": r.earlier_text, "earlier_measures": measures.get(r.earlier_id, [])}
            for r in rows]


def _decide(link_id: int, actor: str, status: str, now: dt.datetime | None, engine: Engine | None) -> dict:
    now = (now or utcnow()).replace(tzinfo=None)
    with db.write_tx(engine) as conn:
        who = loading.load_actor(conn, actor)
        if "office" not in who.roles:
            raise spec.Refused("not_permitted", "only the rectification office confirms or dismisses a recurrence")
        link = conn.execute(select(L).where(L.c.id == link_id)).first()
        if link is None:
            raise NotFound(f"no such recurrence link: {link_id}")
        if link.status != "candidate":
            raise spec.Refused("already_decided", f"link {link_id} is already {link.status}")
        conn.execute(update(L).where(L.c.id == link_id).values(status=status, decided_by=who.id, decided_at=now))
        reopened = _reopen_earlier(conn, link, who.username, now) if status == "confirmed" else []
        records.append(conn, f"recurrence_{status}", f"link:{link_id}",
                       {"problem_id": link.problem_id, "earlier_problem_id": link.earlier_problem_id,
                        "score": float(link.score), "reopened": reopened}, who.username, now)
    return {"id": link_id, "status": status, "reopened": reopened}


def _reopen_earlier(conn: Connection, link, actor: str, now: dt.datetime) -> list[int]:
    """The earlier problem's signed-off long-term measures are re-checked: reopened as a rebound."""
    later = conn.execute(select(Problem.no, Inspection.round_no).join(Plan, Plan.id == Problem.plan_id)
                         .join(Inspection, Inspection.id == Plan.inspection_id)
                         .where(Problem.id == link.problem_id)).first()
    where = f"第{later.round_no}轮" if later and later.round_no else "新一轮"
    out: list[int] = []
    done: Sequence[Any] = conn.execute(select(M.c.id, M.c.version).where(
        M.c.problem_id == link.earlier_problem_id, M.c.state == spec.CLOSED, M.c.kind == "long_term")
        .order_by(M.c.seq)).all()
    for mid, version in done:
        commands.fire(mid, "reopen", actor, reason=f"{where}巡察再次发现该问题（问题{later.no if later else ''}），重新整改",
                      params={"category": "rebound"}, expected_version=version, now=now, conn=conn)
        out.append(mid)
    return out


def confirm(link_id: int, actor: str, *, now: dt.datetime | None = None, engine: Engine | None = None) -> dict:
    """The office confirms a candidate: recorded, counted, and the earlier long-term measures reopened."""
    return _decide(link_id, actor, "confirmed", now, engine)


def dismiss(link_id: int, actor: str, *, now: dt.datetime | None = None, engine: Engine | None = None) -> dict:
    """The office dismisses a candidate (not the same problem); recorded."""
    return _decide(link_id, actor, "dismissed", now, engine)


def confirmed_count(conn: Connection, plan_id: int) -> int:
    """How many of the plan's problems were found again (confirmed links)."""
    return conn.execute(select(func.count(func.distinct(L.c.problem_id))).select_from(L)
                        .join(Problem, Problem.id == L.c.problem_id)
                        .where(Problem.plan_id == plan_id, L.c.status == "confirmed")).scalar_one()
