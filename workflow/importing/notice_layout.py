"""The structure of a notice: header (issuer, title), intro, sections, parts → categories → problems
with their accounts and progress, next steps, closing, contact lines and the signature.

:func:`structure` turns the cleaned lines of :mod:`.notice_text` into a :class:`Notice` tree; the
facts inside the paragraphs are left to :mod:`.notice_extract` and :mod:`.notice_measures`.
Headings are stored without their numbering; paragraphs keep theirs.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..vocabulary import cn_int
from .notice_text import INNER_STOP, TERMINAL, NoticeError, ends_sentence, merge
from .notice_extract import parse_full_date
from .notice_tree import Category, Notice, Part, Problem, progress_status

_CN = "一二三四五六七八九十"

_RE_SECTION = re.compile(rf"^([{_CN}]{{1,3}})\s*[、.．]\s*(.*)$")
_RE_PART = re.compile(rf"^[（(]\s*([{_CN}]{{1,3}})\s*[)）]\s*[、.．]?\s*(.*)$")
_RE_CAT = re.compile(r"^(\d{1,2})\s*(?:[.．](?!\d)|、)\s*(.*)$")
_RE_PROBLEM = re.compile(r"^问题\s*(\d{1,3})\s*[:：.．、]\s*(.*)$")
_RE_ACCOUNT = re.compile(r"^(?:整改落实情况|落实情况|整改情况)\s*[:：]\s*(.*)$")
_RE_PROGRESS = re.compile(r"^(?:整改进度|整改进展)\s*[:：]\s*(.*)$")
_RE_CONTACT = re.compile(
    r"^(?:联系方式|联系电话|举报电话|监督电话|电话|邮政信箱|通信地址|通讯地址|来信地址|地址|电子邮箱|电子信箱|邮箱|传真|"
    r"邮编|邮政编码)\s*[:：]")
_RE_CLOSING = re.compile(r"^(?:欢迎|诚恳欢迎|热忱欢迎|真诚欢迎|如有|如对|若有|对巡察整改)")
_RE_DATE_LINE = re.compile(r"^(.*?)\s*((?:\d{4}|[〇零○一二三四五六七八九]{4})\s*年\s*[\d一二三四五六七八九十]{1,3}\s*月\s*"
                           r"[\d一二三四五六七八九十]{1,3}\s*日)$")
_RE_DOCNO_LINE = re.compile(r"^[\u4e00-\u9fff]{1,12}[〔\[【(（]\s*\d{4}\s*[〕\]】)）]\s*\d{1,4}\s*号$")


@dataclass
class _Para:
    line: int
    text: str
    kind: str = "plain"  # section part cat problem account progress contact plain
    num: int | None = None
    rest: str = ""
    heading: bool = False


def _classify(text: str) -> tuple[str, int | None, str]:
    for kind, rx in (("problem", _RE_PROBLEM), ("account", _RE_ACCOUNT), ("progress", _RE_PROGRESS)):
        m = rx.match(text)
        if m:
            if kind == "problem":
                return kind, int(m.group(1)), m.group(2).strip()
            return kind, None, m.group(1).strip()
    if _RE_CONTACT.match(text):
        return "contact", None, text
    for kind, rx in (("part", _RE_PART), ("section", _RE_SECTION)):
        m = rx.match(text)
        if m:
            try:
                return kind, cn_int(m.group(1)), m.group(2).strip()
            except ValueError:
                break
    m = _RE_CAT.match(text)
    if m:
        return "cat", int(m.group(1)), m.group(2).strip()
    return "plain", None, text


def _heading_like(rest: str) -> bool:
    """A title, not a paragraph: short, and no sentence ends inside it."""
    body = TERMINAL.sub("", rest)
    return len(rest) <= 100 and not INNER_STOP.search(body)


def _make_para(line: int, text: str) -> _Para:
    kind, num, rest = _classify(text)
    heading = kind in ("section", "part", "cat") and _heading_like(rest)
    return _Para(line, text, kind, num, rest, heading)



def structure(lines: list[tuple[int, str]], repairs: list[str]) -> Notice:
    """The notice's tree from its cleaned, numbered lines (see :func:`.notice_text.clean_lines`)."""
    signature, signed_on, lines = _take_footer(lines)
    issuer, title, lines = _take_header(lines)
    paras = _paragraphs(lines, repairs)
    notice = Notice(title=title, issuer=issuer, signature=signature, signed_on=signed_on, repairs=repairs)
    _structure(notice, paras)
    return notice


def _take_footer(lines):
    """Signature and date at the end: ``中共…工委`` / ``2023 年 3 月 30 日``."""
    signature, signed_on = "", None
    no, last = lines[-1]
    m = _RE_DATE_LINE.match(last)
    if m:
        signed_on = parse_full_date(m.group(2))
        if signed_on is not None:
            prefix = m.group(1).strip()
            lines = lines[:-1]
            if prefix and len(prefix) <= 40 and not ends_sentence(prefix):
                signature = prefix
            elif lines:
                pno, prev = lines[-1]
                kind, _, _ = _classify(prev)
                if kind == "plain" and len(prev) <= 40 and not ends_sentence(prev):
                    signature = prev
                    lines = lines[:-1]
    if not lines:
        raise NoticeError("expected a title and paragraphs before the signature", no)
    return signature, signed_on, lines


def _take_header(lines):
    """Issuer and title: the short lines before the first paragraph."""
    head: list[tuple[int, str]] = []
    i = 0
    while i < len(lines) and len(head) < 6:
        no, text = lines[i]
        kind, _, _ = _classify(text)
        if kind != "plain" or INNER_STOP.search(text) or len(text) > 60:
            break
        head.append((no, text))
        i += 1
    head = [(no, t) for no, t in head if not _RE_DOCNO_LINE.match(t)]
    if not head:
        raise NoticeError("expected the title (e.g. 关于巡察整改情况的通报) before the first paragraph", lines[0][0])
    if i >= len(lines):
        raise NoticeError("expected paragraphs after the title", head[-1][0])
    texts = [t for _, t in head]
    at = next((k for k, t in enumerate(texts) if t.startswith("关于")), None)
    if at is None:
        at = 1 if len(texts) > 1 else 0
    issuer = "".join(texts[:at]) or None
    title = "".join(texts[at:])
    if not title:
        raise NoticeError("expected a title line", head[0][0])
    return issuer, title, lines[i:]


def _paragraphs(lines, repairs: list[str]) -> list[_Para]:
    paras: list[_Para] = []
    prev_no = None
    for no, text in lines:
        cur = paras[-1] if paras else None
        new = _make_para(no, text)
        gap = prev_no is not None and no > prev_no + 1
        prev_no = no
        if cur is None or new.kind != "plain" or ends_sentence(cur.text):
            paras.append(new)
            continue
        merged, dropped = merge(cur.text, text)
        if cur.heading and not dropped:
            # a heading is complete without a full stop, unless what follows repeats its tail
            paras.append(new)
            continue
        if gap:
            repairs.append(f"line {no}: joined a paragraph broken across a page break (from line {cur.line})")
        if dropped:
            repairs.append(f"line {no}: dropped the fragment {dropped!r} repeated across the break")
        joined = _make_para(cur.line, merged)
        paras[-1] = joined
    return paras


def _structure(notice: Notice, paras: list[_Para]) -> None:
    # heading continued on the next line (a title broken in two)
    fixed: list[_Para] = []
    for p in paras:
        prev = fixed[-1] if fixed else None
        if (prev is not None and prev.heading and p.kind == "plain" and len(p.text) <= 40
                and not ends_sentence(p.text) and len(prev.rest) + len(p.text) <= 100):
            text, dropped = merge(prev.text, p.text)
            merged = _make_para(prev.line, text)
            if merged.heading:
                fixed[-1] = merged
                notice.repairs.append(f"line {p.line}: joined a heading broken across lines (line {prev.line})")
                if dropped:
                    notice.repairs.append(f"line {p.line}: dropped the fragment {dropped!r} repeated across the break")
                continue
        fixed.append(p)
    paras = fixed

    first_problem = next((i for i, p in enumerate(paras) if p.kind == "problem"), None)
    if first_problem is None:
        raise NoticeError("no problems found: expected lines like 问题 1：… under a part （一）…",
                          paras[0].line if paras else None)
    # indexes of the section headings (一、… 二、… 三、…)
    sections = [i for i, p in enumerate(paras) if p.kind == "section" and p.heading]
    prob_sec = max((i for i in sections if i < first_problem), default=None)
    intro_end = sections[0] if sections and sections[0] < first_problem else None

    # closing and contact: after the last problem's block
    last_struct = max(i for i, p in enumerate(paras) if p.kind in ("problem", "account", "progress"))
    after_sections = [i for i in sections if i > last_struct]
    tail_from = (after_sections[-1] + 1) if after_sections else last_struct + 1
    contact_at = next((i for i in range(tail_from, len(paras)) if paras[i].kind == "contact"), len(paras))
    closing_at = next((i for i in range(tail_from, contact_at) if _RE_CLOSING.match(paras[i].text)), contact_at)
    notice.closing = [p.text for p in paras[closing_at:contact_at]]
    notice.contact = [p.text for p in paras[contact_at:]]
    body = paras[:closing_at]

    if intro_end is None:
        # no section headings before the problems: intro runs to the first part heading
        first_part = next((i for i, p in enumerate(body) if p.kind == "part" and p.heading), first_problem)
        notice.intro = [p.text for p in body[:first_part]]
        prob_body_start = first_part
    else:
        notice.intro = [p.text for p in body[:intro_end]]
        before = [i for i in sections if i < prob_sec]
        for k, s in enumerate(before):
            end = before[k + 1] if k + 1 < len(before) else prob_sec
            if k == 0:
                notice.org_heading = body[s].rest
            else:
                notice.org_paragraphs.append(body[s].text)
            notice.org_paragraphs.extend(p.text for p in body[s + 1:end])
        notice.problems_heading = body[prob_sec].rest
        prob_body_start = prob_sec + 1
    after = [i for i in sections if i > last_struct and i < closing_at]
    prob_end = after[0] if after else closing_at
    for k, s in enumerate(after):
        end = after[k + 1] if k + 1 < len(after) else closing_at
        if k == 0:
            notice.next_heading = body[s].rest
        else:
            notice.next_paragraphs.append(body[s].text)
        notice.next_paragraphs.extend(p.text for p in body[s + 1:end])
    _problems(notice, body[prob_body_start:prob_end])
    if not notice.intro:
        notice.warnings.append("no intro paragraph before the first section")


def _problems(notice: Notice, paras: list[_Para]) -> None:
    part: Part | None = None
    cat: Category | None = None
    prob: Problem | None = None
    field_ = "text"
    seen: dict[int, int] = {}
    extra: dict[int, list[str]] = {}
    for p in paras:
        if p.kind == "part" and p.heading:
            if any(x.no == p.num for x in notice.parts):
                raise NoticeError(f"part （{p.num}） appears twice", p.line)
            part = Part(p.num, p.rest, p.line)
            notice.parts.append(part)
            cat, prob = None, None
        elif p.kind == "section" and p.heading:
            raise NoticeError(f"a section heading ({p.text[:20]}) between problems: expected the problems "
                              "to sit in one section, under parts （一）…", p.line)
        elif p.kind == "cat" and p.heading:
            if part is None:
                raise NoticeError(f"category {p.num}. is not under a part heading （一）…", p.line)
            if any(c.no == p.num for c in part.categories):
                raise NoticeError(f"category {p.num}. appears twice in part （{part.no}）", p.line)
            cat = Category(p.num, p.rest, p.line)
            part.categories.append(cat)
            prob = None
        elif p.kind == "problem":
            if part is None:
                raise NoticeError(f"问题 {p.num} is not under a part heading （一）…", p.line)
            if p.num in seen:
                raise NoticeError(f"问题 {p.num} appears twice (first at line {seen[p.num]})", p.line)
            seen[p.num] = p.line
            prob = Problem(p.num, p.rest, p.line)
            (cat.problems if cat is not None else part.problems).append(prob)
            field_ = "text"
        elif p.kind in ("account", "progress"):
            label = "落实情况" if p.kind == "account" else "整改进度"
            if prob is None:
                raise NoticeError(f"{label} is not under a 问题 N：", p.line)
            if p.kind == "account":
                prob.account = _join(prob.account, p.rest)
                field_ = "account"
            else:
                if prob.progress:
                    raise NoticeError(f"问题 {prob.no} has two 整改进度 lines", p.line)
                prob.progress = TERMINAL.sub("", p.rest).strip()
                progress_status(prob.progress, p.line)
                field_ = "progress"
        else:
            if prob is None:
                if part is None:
                    notice.problems_intro.append(p.text)
                else:
                    part.intro.append(p.text)
            elif field_ == "text":
                prob.text = _join(prob.text, p.text)
            elif field_ == "account":
                prob.account = _join(prob.account, p.text)
            else:
                extra.setdefault(prob.no, []).append(p.text)
                prob.account = _join(prob.account, p.text)
    for no, texts in extra.items():
        notice.warnings.append(f"问题 {no}: text after 整改进度 kept with the account ({len(texts)} paragraph(s))")
    for pr in notice.problems:
        if not pr.text:
            raise NoticeError(f"问题 {pr.no} has no text", pr.line)


def _join(a: str, b: str) -> str:
    return f"{a}\n{b}" if a and b else (a or b)

