"""The structure of a notice: header (issuer, title), intro, sections, the problem region, next
steps, closing, contact lines and the signature.

Published rectification notices share a genre, not one layout. Each paragraph is first given a
*shape* by its marker: ``cn`` (``一、``), ``pcn`` (``（一）``), ``num`` (``1.`` ``1、`` ``1．``),
``pnum`` (``（1）`` ``(1)``), ``wenti`` (``问题1：`` ``问题一：``), ``guanyu`` (``关于…的问题``),
``account`` (``落实情况：`` ``整改情况：`` ``整改落实情况：`` ``整改措施及成效：`` ``整改成效：``),
``progress`` (``整改进度：``), ``contact`` or ``plain``. Then :func:`find_layout` decides what the
shapes mean in this notice:

* the *problem* shape: ``wenti`` when the notice numbers its problems so; else the shape of the
  heading an account label follows most often; else ``guanyu``; else the most frequent shape;
* the *part* and *category* shapes: the headings above the first problem, nearest first, up to a
  ``一、`` heading. That ``一、`` heading is the section the problems sit in (``二、巡察反馈问题整改
  落实情况``), unless ``一、`` headings also separate problems: then they are the parts
  (a university's ``一、…方面`` → ``（一）`` problems);
* the region ends after the last problem's block, at a ``一、`` heading, a ``下一步…`` paragraph,
  the closing (``欢迎…监督``) or the contact lines.

Headings are stored without their numbering; paragraphs keep theirs. :mod:`.notice_problems` reads
the region into parts, categories and problems.
"""
from __future__ import annotations

import re
from collections import Counter

from ..vocabulary import cn_int
from .notice_extract import parse_full_date
from .notice_problems import RANK, Layout, Para, opens, read_region
from .notice_text import INNER_STOP, TERMINAL, NoticeError, ends_sentence, merge
from .notice_tree import Notice

_CN = "一二三四五六七八九十"
_ACCOUNT_LABELS = "整改落实情况|落实情况|整改情况|整改措施及成效|整改措施及成果|整改措施和成效|整改成效|整改措施"

_RE_CN = re.compile(rf"^([{_CN}]{{1,3}})\s*[、.．]\s*(.*)$")
_RE_PCN = re.compile(rf"^[（(]\s*([{_CN}]{{1,3}})\s*[)）]\s*[、.．]?\s*(.*)$")
_RE_NUM = re.compile(r"^(\d{1,2})\s*(?:[.．](?!\d)|、)\s*(.*)$")
_RE_PNUM = re.compile(r"^[（(]\s*(\d{1,2})\s*[)）]\s*[、.．]?\s*(.*)$")
_RE_WENTI = re.compile(rf"^问题\s*(\d{{1,3}}|[{_CN}]{{1,3}})\s*[:：.．、]\s*(.*)$")
_RE_GUANYU = re.compile(r"^关于[^。；;！？]{2,80}?问题")
_RE_ACCOUNT = re.compile(rf"^[【\[]?(?:{_ACCOUNT_LABELS})[】\]]?\s*(?:[:：]\s*(.*)|)$")
_RE_PROGRESS = re.compile(r"^[【\[]?(?:整改进度|整改进展|整改状态|整改结果)[】\]]?\s*[:：]\s*(.*)$")
_RE_CONTACT = re.compile(
    r"^(?:联系方式|联系电话|举报电话|监督电话|电话|邮政信箱|通信地址|通讯地址|来信地址|地址|电子邮箱|电子信箱|邮箱|传真|"
    r"邮编|邮政编码)\s*[:：]")
_RE_CLOSING = re.compile(r"^(?:欢迎|诚恳欢迎|热忱欢迎|真诚欢迎|如有|如对|若有|对巡[察视]整改)")
_RE_NEXT = re.compile(r"^(?:下一步|下步|今后|接下来)")
_RE_DATE_LINE = re.compile(r"^(.*?)\s*((?:\d{4}|[〇零○一二三四五六七八九]{4})\s*年\s*[\d一二三四五六七八九十]{1,3}\s*月\s*"
                           r"[\d一二三四五六七八九十]{1,3}\s*日)$")
_RE_DOCNO_LINE = re.compile(r"^[\u4e00-\u9fff]{1,12}[〔\[【(（]\s*\d{4}\s*[〕\]】)）]\s*\d{1,4}\s*号$")
_MARKERS = (("pcn", _RE_PCN, True), ("cn", _RE_CN, True), ("num", _RE_NUM, False), ("pnum", _RE_PNUM, False))


def classify(text: str) -> tuple[str, int | None, str]:
    """(shape, number, text without the marker) of one paragraph."""
    m = _RE_WENTI.match(text)
    if m:
        try:
            return "wenti", cn_int(m.group(1)), m.group(2).strip()
        except ValueError:
            pass
    m = _RE_ACCOUNT.match(text)
    if m:
        return "account", None, (m.group(1) or "").strip()
    m = _RE_PROGRESS.match(text)
    if m:
        return "progress", None, m.group(1).strip()
    if _RE_CONTACT.match(text):
        return "contact", None, text
    for shape, rx, chinese in _MARKERS:
        m = rx.match(text)
        if m:
            try:
                return shape, cn_int(m.group(1)) if chinese else int(m.group(1)), m.group(2).strip()
            except ValueError:
                return "plain", None, text
    if _RE_GUANYU.match(text):
        return "guanyu", None, text
    return "plain", None, text


def _heading_like(rest: str) -> bool:
    """A title, not a paragraph: short, and no sentence ends inside it."""
    body = TERMINAL.sub("", rest)
    return len(rest) <= 100 and not INNER_STOP.search(body)


def make_para(line: int, text: str) -> Para:
    kind, num, rest = classify(text)
    heading = kind in RANK and kind != "wenti" and _heading_like(rest)
    return Para(line, text, kind, num, rest, heading)


def structure(lines: list[tuple[int, str]], repairs: list[str]) -> Notice:
    """The notice's tree from its cleaned, numbered lines (see :func:`.notice_text.clean_lines`)."""
    signature, signed_on, lines = _take_footer(lines)
    issuer, title, lines = _take_header(lines, repairs)
    paras = _join_headings(_paragraphs(lines, repairs), repairs)
    notice = Notice(title=title, issuer=issuer or signature or None, signature=signature, signed_on=signed_on,
                    repairs=repairs)
    layout = find_layout(paras)
    notice.layout = {"problem": layout.problem, "part": layout.part, "category": layout.category}
    _frame(notice, paras, layout)
    read_region(notice, paras[layout.start:layout.end], layout)
    if not notice.intro:
        notice.warnings.append("no intro paragraph before the first section")
    return notice


# --- header, footer, paragraphs --------------------------------------------------------

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
                kind, _, _ = classify(prev)
                if kind == "plain" and len(prev) <= 40 and not ends_sentence(prev):
                    signature = prev
                    lines = lines[:-1]
    if not lines:
        raise NoticeError("expected a title and paragraphs before the signature", no)
    return signature, signed_on, lines


def _take_header(lines, repairs: list[str]):
    """Issuer and title: the short lines before the first paragraph.

    The title is the line from ``关于`` on; lines before it are the issuer. A single line such as
    ``中共某大学委员会关于巡视整改进展情况的通报`` is the title, and its part before ``关于`` the issuer.
    A document number line (``某办〔2023〕5号``) and a repeated title line are dropped (and listed).
    """
    head: list[tuple[int, str]] = []
    i = 0
    while i < len(lines) and len(head) < 6:
        no, text = lines[i]
        kind, _, _ = classify(text)
        if kind != "plain" or INNER_STOP.search(text) or len(text) > 60:
            break
        i += 1
        if _RE_DOCNO_LINE.match(text):
            repairs.append(f"line {no}: set aside the document number {text!r}")
        elif head and head[-1][1] == text:
            repairs.append(f"line {no}: dropped the repeated title line {text!r}")
        else:
            head.append((no, text))
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
    if issuer is None and "关于" in title[2:]:
        issuer = title[:title.index("关于", 2)]
    return issuer, title, lines[i:]


def _paragraphs(lines, repairs: list[str]) -> list[Para]:
    """Lines joined into paragraphs: a line that does not end a sentence is continued by the next
    unless that one starts a new element (any marked shape)."""
    paras: list[Para] = []
    prev_no = None
    for no, text in lines:
        cur = paras[-1] if paras else None
        new = make_para(no, text)
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
        paras[-1] = make_para(cur.line, merged)
    return paras


def _join_headings(paras: list[Para], repairs: list[str]) -> list[Para]:
    """A heading continued on the next line (a title broken in two) is joined."""
    fixed: list[Para] = []
    for p in paras:
        prev = fixed[-1] if fixed else None
        if (prev is not None and prev.heading and p.kind == "plain" and len(p.text) <= 40
                and not ends_sentence(p.text) and len(prev.rest) + len(p.text) <= 100):
            text, dropped = merge(prev.text, p.text)
            merged = make_para(prev.line, text)
            if merged.heading:
                fixed[-1] = merged
                repairs.append(f"line {p.line}: joined a heading broken across lines (line {prev.line})")
                if dropped:
                    repairs.append(f"line {p.line}: dropped the fragment {dropped!r} repeated across the break")
                continue
        fixed.append(p)
    return fixed


# --- the layout ------------------------------------------------------------------------

def _problem_shape(paras: list[Para]) -> str:
    if any(p.kind == "wenti" for p in paras):
        return "wenti"
    before_account: Counter = Counter()
    for i, p in enumerate(paras):
        if p.kind != "account":
            continue
        j = i - 1
        while j >= 0 and paras[j].kind == "plain":
            j -= 1
        if j >= 0 and paras[j].kind in RANK:
            before_account[paras[j].kind] += 1
    if before_account:
        return max(before_account, key=lambda k: (before_account[k], RANK[k]))
    if any(p.kind == "guanyu" for p in paras):
        return "guanyu"
    shapes = Counter(p.kind for p in paras if p.kind in ("pcn", "num", "pnum"))
    if not shapes:
        raise NoticeError("no problems found: expected lines like 问题 1：…, 1.关于…的问题 or （一）… "
                          "followed by 整改情况：", paras[0].line if paras else None)
    return max(shapes, key=lambda k: (shapes[k], RANK[k]))


def find_layout(paras: list[Para]) -> Layout:
    """What the shapes mean in this notice, and where its problem region starts and ends."""
    shape = _problem_shape(paras)
    firsts = [i for i, p in enumerate(paras) if p.kind == shape]
    first, last = firsts[0], firsts[-1]
    chain: list[int] = []  # the headings above the first problem, nearest first
    section = None
    j = first - 1
    while j >= 0:
        p = paras[j]
        if p.heading and RANK[p.kind] < RANK[shape]:
            if p.kind == "cn":
                section = j
                break
            if any(paras[k].kind == p.kind for k in chain):
                break
            chain.append(j)
        j -= 1
    kinds = {paras[k].kind for k in chain} | {
        p.kind for k, p in enumerate(paras[first:last + 1], first)
        if p.heading and p.kind != "cn" and RANK[p.kind] < RANK[shape] and opens(paras, k, shape)}
    shapes = sorted(kinds, key=RANK.__getitem__)
    cn_between = any(p.kind == "cn" and p.heading for p in paras[first:last + 1])
    start = min(chain) if chain else first
    if shape != "cn" and section is not None and (
            cn_between or (not shapes and re.search(r"方面$|问题$", paras[section].rest))):
        shapes.insert(0, "cn")  # the 一、 headings are the parts
        start, section = section, None
    part = shapes[0] if shapes else None
    category = shapes[1] if len(shapes) > 1 else None
    return Layout(shape, part, category, section, start, _region_end(paras, last))


def _region_end(paras: list[Para], last: int) -> int:
    for i in range(last + 1, len(paras)):
        p = paras[i]
        if (p.kind == "cn" and p.heading) or p.kind == "contact":
            return i
        if p.kind == "plain" and (_RE_NEXT.match(p.text) or _RE_CLOSING.match(p.text)):
            return i
    return len(paras)


def _frame(notice: Notice, paras: list[Para], layout: Layout) -> None:
    """Intro, organisation section, problems heading and intro, next steps, closing and contact."""
    start, end = layout.start, layout.end
    before = [i for i, p in enumerate(paras[:start]) if p.kind == "cn" and p.heading]
    if layout.section is not None:
        notice.problems_heading = paras[layout.section].rest
        before = [i for i in before if i < layout.section]
        notice.problems_intro = [p.text for p in paras[layout.section + 1:start]]
    org_end = layout.section if layout.section is not None else start
    notice.intro = [p.text for p in paras[:before[0] if before else org_end]]
    for k, s in enumerate(before):
        stop = before[k + 1] if k + 1 < len(before) else org_end
        if k == 0:
            notice.org_heading = paras[s].rest
        else:
            notice.org_paragraphs.append(paras[s].text)
        notice.org_paragraphs.extend(p.text for p in paras[s + 1:stop])
    after = [i for i in range(end, len(paras)) if paras[i].kind == "cn" and paras[i].heading]
    tail_from = after[-1] + 1 if after else end
    contact_at = next((i for i in range(tail_from, len(paras)) if paras[i].kind == "contact"), len(paras))
    closing_at = next((i for i in range(tail_from, contact_at) if _RE_CLOSING.match(paras[i].text)), contact_at)
    notice.closing = [p.text for p in paras[closing_at:contact_at]]
    notice.contact = [p.text for p in paras[contact_at:]]
    after = [i for i in after if i < closing_at]
    notice.next_paragraphs = [p.text for p in paras[end:after[0] if after else closing_at]]
    for k, s in enumerate(after):
        stop = after[k + 1] if k + 1 < len(after) else closing_at
        if k == 0 and not notice.next_paragraphs:
            notice.next_heading = paras[s].rest
        else:
            notice.next_paragraphs.append(paras[s].text)
        notice.next_paragraphs.extend(p.text for p in paras[s + 1:stop])


__all__ = ["classify", "find_layout", "make_para", "structure"]
