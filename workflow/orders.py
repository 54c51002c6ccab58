"""Supervision orders (督办单): the formal escalation at L3, as a document that can be printed and sent.

The sweep issues an order number (``DB-2026-0001``) when a measure reaches L3
(:mod:`workflow.escalation`). Here an order becomes a page of its own: the number, the measure and
its problem, the deadline and how many working days it is overdue, the responsible leader, unit and
person, the date a written reply is due (``REPLY_WITHIN`` working days after issue), and every reply
recorded against it (the lifecycle's ``reply_order`` event, with the same audit guarantees as any
other). :func:`order_doc` lays it out for :func:`workflow.render.render` (.docx, print-ready HTML,
Markdown).
"""
from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased

from . import db, stats, vocabulary, workdays
from .clock import utcnow
from .errors import NotFound
from .models import Escalation, Event, Measure, OrgUnit, Plan, Problem, User
from .render import Doc, Heading, Para, Signature, Table

REPLY_WITHIN = 3  # working days after the order is issued
M = Measure.__table__


def _query():
    owner, leader = aliased(User), aliased(User)
    return (select(Escalation.order_no, Escalation.created_at, Escalation.deadline, M.c.id.label("measure_id"),
                   M.c.seq, M.c.text, M.c.state, M.c.deadline.label("deadline_now"), Problem.no.label("problem_no"),
                   Problem.text.label("problem_text"), Plan.title.label("plan_title"), Plan.issuer,
                   OrgUnit.name.label("unit"), owner.name.label("owner"), leader.name.label("leader"))
            .join(M, M.c.id == Escalation.measure_id).join(Problem, Problem.id == M.c.problem_id)
            .join(Plan, Plan.id == Problem.plan_id).outerjoin(OrgUnit, OrgUnit.id == M.c.unit_id)
            .outerjoin(owner, owner.id == M.c.owner_id).outerjoin(leader, leader.id == M.c.leader_id)
            .where(Escalation.order_no.is_not(None)))


def order(order_no: str, *, now: dt.datetime | None = None, engine: Engine | None = None) -> dict:
    """One supervision order with its measure, people, dates and replies; NotFound if there is none."""
    now = now or utcnow()
    with db.read_tx(engine) as conn:
        r = conn.execute(_query().where(Escalation.order_no == order_no)).first()
        if r is None:
            raise NotFound(f"no such supervision order: {order_no}")
        replies = [{"at": e.at, "by": e.name or e.actor, "text": json.loads(e.body).get("comment", "")}
                   for e in conn.execute(
                       select(Event.at, Event.actor, Event.body, User.name).outerjoin(User, User.username == Event.actor)
                       .where(Event.measure_id == r.measure_id, Event.kind == "reply_order").order_by(Event.seq))
                   if json.loads(e.body).get("order_no") == order_no]
    issued = workdays.local_today(r.created_at)
    return {
        "order_no": r.order_no, "issued": issued, "reply_by": workdays.add_workdays(issued, REPLY_WITHIN),
        "measure_id": r.measure_id, "problem_no": r.problem_no, "seq": r.seq, "measure": r.text,
        "problem": r.problem_text, "plan": r.plan_title, "issuer": r.issuer, "state": r.state,
        "deadline": r.deadline, "late_at_issue": _late(r.deadline, issued),
        "late_now": _late(r.deadline, workdays.local_today(now)) if r.state != "closed" else None,
        "unit": r.unit, "owner": r.owner, "leader": r.leader, "replies": replies,
    }


def _late(deadline: dt.date | None, day: dt.date) -> int:
    if deadline is None or day <= deadline:
        return 0
    return workdays.workdays_between(deadline, day)


def orders(engine: Engine | None = None) -> list[dict]:
    """Every supervision order, newest first: number, issue date, measure, unit, whether replied."""
    with db.read_tx(engine) as conn:
        rows = conn.execute(_query().order_by(Escalation.created_at.desc(), Escalation.id.desc())).all()
        replied = {json.loads(b).get("order_no") for (b,) in conn.execute(
            select(Event.body).where(Event.kind == "reply_order"))}
    return [{"order_no": r.order_no, "issued": workdays.local_today(r.created_at), "measure_id": r.measure_id,
             "problem_no": r.problem_no, "seq": r.seq, "unit": r.unit, "state": r.state,
             "replied": r.order_no in replied} for r in rows]


def order_doc(o: dict) -> Doc:
    """The supervision order as a printable document."""
    rows = [
        ["督办单号", o["order_no"]],
        ["整改方案", o["plan"] or ""],
        ["问题", f"问题{o['problem_no']}：{o['problem']}"],
        ["整改措施", f"{o['problem_no']}-{o['seq']} {o['measure']}"],
        ["责任领导", o["leader"] or "—"], ["责任单位", o["unit"] or "—"], ["责任人", o["owner"] or "—"],
        ["完成时限", _cn(o["deadline"])],
        ["逾期情况", f"截至督办之日已逾期{o['late_at_issue']}个工作日"
                 + (f"，至今逾期{o['late_now']}个工作日" if o["late_now"] else "")],
        ["当前状态", vocabulary.label("state", o["state"])],
        ["回复期限", f"请于{_cn(o['reply_by'])}前书面回复整改进展及完成时间"],
    ]
    doc = Doc("督办单", issuer=o.get("issuer") or None)
    doc.blocks.append(Para(f"{o['unit'] or '责任单位'}："))
    doc.blocks.append(Para(f"你单位承担的整改措施已超过完成时限{o['late_at_issue']}个工作日，根据整改工作督办规定，"
                           f"现予以督办。请责任领导亲自过问，责任人立即整改，并于{_cn(o['reply_by'])}前书面回复。"))
    doc.blocks.append(Table(["项目", "内容"], rows))
    doc.blocks.append(Heading("回复情况", 1))
    if o["replies"]:
        for rep in o["replies"]:
            doc.blocks.append(Para(rep["text"], lead=f"{_cn(workdays.local_today(rep['at']))} {rep['by']}："))
    else:
        doc.blocks.append(Para("尚未回复。"))
    doc.blocks.append(Signature([o.get("issuer") or "整改工作领导小组办公室", _cn(o["issued"])]))
    return doc


def _cn(day: dt.date | None) -> str:
    return stats.cn_date(day) if day else "—"
