"""The public notice (整改情况通报), computed from the ledger at the moment it is made.

:func:`notice_doc` lays a plan out the way published notices are: issuer and title, the opening,
一、the overall state of the work (a paragraph whose every number is computed now: problems rectified
and the rate, the measures, long-term items, money, accountability, rules made), 二、the problems by
part （一） and category 1. with ``问题N：`` / ``落实情况：`` / ``整改进度：``, 三、next steps, contact
details, the signature and the date the text was made.

What is true now comes from the ledger, never from an imported text: a problem's progress is derived
from its measures (:func:`workflow.spec.problem_progress`), with the expected month for what is still
open (``正在整改，预计2027年3月底前完成``); its 落实情况 is what its measures' accounts say (the published
account is used only for a problem the ledger shows rectified and whose measures carry no account).
The imported notice's own summary and organisation paragraphs (``截止目前…已全部整改完毕``) are history,
kept on the plan (``Plan.preamble``) and shown there, never reprinted as current. Headings come from
the plan, or from the kind of body that found the problems (巡察, 巡视, 审计, 督察) — never from another
plan. A draft is signed with the day it is made; publishing freezes a version
(:mod:`workflow.publication`).
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine, Row

from . import db, spec, stats, vocabulary, workdays
from .clock import utcnow
from .models import Category, Inspection, Measure, Part, Problem
from .render import (  # noqa: F401  (the renderer is re-exported for callers of the notice)
    FORMATS, Doc, Heading, Items, Para, Signature, Table, from_markdown, render, to_docx, to_html, to_markdown,
    write,
)
from .vocabulary import cn_numeral

PROGRESS = vocabulary.PROGRESS_LABELS
# statements of how far the work has got: history in an imported text, never reprinted as current
_CLAIM = re.compile(r"(截至|截止)(目前|当前|\d)|已全部整改|整改完毕|全部完成|完成率|已整改完成|已完成整改\d|已销号\d")
_OWN_NUMBER = re.compile(r"^\s*问题\s*[0-9一二三四五六七八九十百]+\s*[：:]\s*")


@dataclass
class ProblemView:
    no: int
    text: str
    account: str
    progress: str  # a key of vocabulary.PROGRESS_LABELS
    part_no: int
    category_no: int | None
    due: dt.date | None = None  # the latest deadline among its open measures

    @property
    def progress_label(self) -> str:
        return progress_line(self.progress, self.due)


def progress_line(progress: str, due: dt.date | None) -> str:
    """整改进度 as notices write it: 已完成 / 已完成，长期坚持 / 正在整改，预计X年X月底前完成 / 未完成."""
    label = PROGRESS[progress]
    if progress == "in_progress" and due is not None:
        return f"{label}，预计{due.year}年{due.month}月底前完成"
    return label


def _join_accounts(texts: list[str]) -> str:
    out: list[str] = []
    for t in texts:
        t = (t or "").strip()
        if t and t not in out:
            out.append(t)
    return "".join(t if t[-1] in "。；！？.;!?" else t + "。" for t in out)


def problem_views(conn: Connection, plan_id: int, today: dt.date, rect_end: dt.date | None) -> list[ProblemView]:
    """Every problem of the plan with its 落实情况 and derived progress, in number order."""
    measures: dict[int, list[tuple[str, str]]] = {}
    accounts: dict[int, list[str]] = {}
    due: dict[int, dt.date] = {}
    q = (select(Measure.problem_id, Measure.state, Measure.kind, Measure.account, Measure.deadline)
         .join(Problem, Problem.id == Measure.problem_id).where(Problem.plan_id == plan_id)
         .order_by(Measure.problem_id, Measure.seq))
    for pid, state, kind, account, deadline in conn.execute(q, execution_options={"yield_per": 2000}):
        measures.setdefault(pid, []).append((state, kind))
        if state in (spec.VERIFIED, spec.CLOSED) and account:  # what a leader has approved, never a mere claim
            accounts.setdefault(pid, []).append(account)
        if state != spec.CLOSED and deadline is not None and deadline > due.get(pid, dt.date.min):
            due[pid] = deadline
    out = []
    pq = (select(Problem.id, Problem.no, Problem.text, Problem.account, Part.no.label("part_no"),
                 Category.no.label("cat_no"))
          .join(Part, Part.id == Problem.part_id).outerjoin(Category, Category.id == Problem.category_id)
          .where(Problem.plan_id == plan_id).order_by(Part.no, Problem.no))
    for r in conn.execute(pq):
        progress = spec.problem_progress(measures.get(r.id, []), rect_end, today)
        account = _join_accounts(accounts.get(r.id, []))
        if progress in ("done", "done_long_term"):
            account = account or (r.account or "").strip()
        else:  # what its finished measures say stays; a sentence saying the whole problem is done does not
            account = "".join(_history_free([account]))
        text = _OWN_NUMBER.sub("", r.text or "")
        out.append(ProblemView(r.no, text, account, progress, r.part_no, r.cat_no, due.get(r.id)))
    return out


_ASIDE = re.compile(r"[（(][^（）()]*[）)]")


def _history_free(paragraphs) -> list[str]:
    """Paragraphs of an imported text with every sentence that states progress taken out."""
    out = []
    for p in paragraphs or ():
        kept = [s for s in re.findall(r"[^。！？]+[。！？]?", p) if s.strip() and not _CLAIM.search(s)]
        if kept and _ASIDE.sub("", "".join(kept)).strip(" 。；，！？.;,!?"):  # not only a remark in brackets
            out.append("".join(kept))
    return out


def _headings(pre: dict, genre: str) -> dict:
    word = vocabulary.GENRE_LABELS.get(genre, "巡察")
    found = "发现" if genre == "audit" else "反馈"
    return {
        "overall": "整改工作总体情况",
        "problems": pre.get("problems_heading") or f"{word}{found}问题整改落实情况",
        "next": pre.get("next_heading") or "下一步工作打算",
        "title": f"关于{word}整改情况的通报",
    }


@dataclass
class _Ledger:
    """What the notice of a plan reads, in one transaction."""

    plan: Row
    insp: Row | None
    pre: dict
    parts: Sequence[Row]
    cats: dict
    views: list[ProblemView]
    st: stats.LedgerStats | None


def _read(conn: Connection, plan_id: int | None, now: dt.datetime, with_stats: bool) -> _Ledger:
    today = workdays.local_today(now)
    plan = stats.resolve_plan(conn, plan_id)
    insp = conn.execute(select(Inspection).where(Inspection.id == plan.inspection_id)).first()
    parts = conn.execute(select(Part.id, Part.no, Part.title).where(Part.plan_id == plan.id).order_by(Part.no)).all()
    cats = {(r.part_id, r.no): r.title for r in conn.execute(
        select(Category.part_id, Category.no, Category.title).join(Part, Part.id == Category.part_id)
        .where(Part.plan_id == plan.id))}
    views = problem_views(conn, plan.id, today, insp.rect_end if insp else None)
    st = stats.compute(plan.id, now, conn=conn) if with_stats else None
    return _Ledger(plan, insp, dict(plan.preamble or {}), parts, cats, views, st)


def notice_doc(plan_id: int | None = None, now: dt.datetime | None = None, engine: Engine | None = None,
               with_stats: bool = True, conn: Connection | None = None) -> Doc:
    """The public notice of a plan (the only plan when ``plan_id`` is None) as of ``now``, computed.

    ``conn``: read inside the caller's transaction (publishing freezes exactly what it read)."""
    now = now or utcnow()
    if conn is None:
        with db.read_tx(engine) as c:
            led = _read(c, plan_id, now, with_stats)
    else:
        led = _read(conn, plan_id, now, with_stats)
    plan, insp, pre, st = led.plan, led.insp, led.pre, led.st
    genre = vocabulary.genre_of(insp.body if insp else None, plan.title, pre.get("title"))
    heads = _headings(pre, genre)
    title = pre.get("title") or (plan.title if "通报" in (plan.title or "") else heads["title"])
    doc = Doc(title, issuer=pre.get("issuer") or plan.issuer or None)
    intro = _history_free(pre.get("intro")) or ([_default_intro(insp, genre)] if _named(insp) else [])
    doc.blocks += [Para(t) for t in intro]
    sections: list[tuple[str, list]] = []
    if st is not None and st.measures:
        sections.append((heads["overall"], [Para(stats.paragraph(st, genre))]))
    sections.append((heads["problems"], _problem_blocks(led.parts, led.cats, led.views)))
    next_paragraphs = _history_free(pre.get("next_paragraphs"))
    if next_paragraphs:
        sections.append((heads["next"], [Para(t) for t in next_paragraphs]))
    for i, (heading, blocks) in enumerate(sections, 1):
        doc.blocks.append(Heading(f"{cn_numeral(i)}、{heading}", 1))
        doc.blocks.extend(blocks)
    doc.blocks += [Para(t) for t in _history_free(pre.get("closing"))]
    doc.blocks += [Para(t) for t in pre.get("contact") or []]
    signature = pre.get("signature") or plan.issuer or ""
    doc.blocks.append(Signature([x for x in (signature, stats.cn_date(workdays.local_today(now))) if x]))
    return doc


def _problem_blocks(parts, cats: dict, views: list[ProblemView]) -> list:
    by_part: dict[int, list[ProblemView]] = {}
    for v in views:
        by_part.setdefault(v.part_no, []).append(v)
    body: list = []
    for part in parts:
        body.append(Heading(f"（{cn_numeral(part.no)}）{part.title}", 2))
        current_cat = None
        for v in by_part.get(part.no, []):
            if v.category_no is not None and v.category_no != current_cat:
                current_cat = v.category_no
                body.append(Heading(f"{v.category_no}. {cats.get((part.id, v.category_no), '')}", 3))
            body.append(Para(v.text, lead=f"问题{v.no}："))
            body.append(Para(v.account or "整改工作正在推进。", lead="落实情况："))
            body.append(Para(v.progress_label + "。", lead="整改进度："))
    return body


def _named(insp) -> bool:
    """An inspection whose body and target are known (a ledger import may know neither)."""
    return insp is not None and bool(insp.body) and not insp.body.startswith("（") and bool(insp.target)


def _default_intro(insp, genre: str) -> str:
    word = vocabulary.GENRE_LABELS.get(genre, "巡察")
    manner = {"routine": "常规", "special": "专项", "look_back": "“回头看”"}.get(insp.kind, "")
    when = ""
    if insp.onsite_start and insp.onsite_end:
        when = f"{stats.cn_date(insp.onsite_start)}至{stats.cn_date(insp.onsite_end)}，"
    return f"根据统一部署，{when}{insp.body}对{insp.target}进行了{manner}{word}。现将{word}整改情况予以公布。"


def report(fmt: str, plan_id: int | None = None, now: dt.datetime | None = None,
           engine: Engine | None = None) -> bytes:
    """The public notice of a plan, rendered (a draft, signed with the day it is made)."""
    return render(notice_doc(plan_id, now, engine), fmt)
