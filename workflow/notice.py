"""Reading a published rectification notice (巡察整改情况通报) and importing it as a plan.

A notice has a settled shape: issuer and title; intro paragraphs; section 一 (how the work was
organised); section 二 (the problems: parts （一）… → categories 1. … → ``问题 N：`` text,
``落实情况：`` account, ``整改进度：`` progress); section 三 (next steps); a closing paragraph;
contact lines; the signature and the date. :func:`parse` turns such a text into a :class:`Notice`.

Notices are usually copied out of a PDF, so :func:`parse` first repairs extraction damage:

* line-end variants, byte-order marks, zero-width and non-breaking spaces, full-width digits and
  letters (``问题１：`` reads as ``问题1：``), runs of spaces;
* page-number lines (``— 3 —``, ``- 3 -``, ``第 3 页``) are dropped;
* a paragraph broken by a page break in mid-sentence is joined with its continuation: a line that
  does not end a sentence is continued by the next line unless that line starts a new element
  (a heading, ``问题 N``, ``落实情况``, ``整改进度`` or a contact line) or is itself a heading;
* a fragment repeated across such a break is kept once (``…民主生活会，认真`` followed by
  ``生活会，认真讨论…`` becomes ``…民主生活会，认真讨论…``): when the text after the break begins
  with the last :data:`MIN_OVERLAP` or more characters before it, the repeat is dropped;
* marker variants: ``问题１：``/``问题 1:``/``问题1：``, ``（一）``/``(一)``, ``1.``/``1．``/``1、``.

Every repair is listed in :attr:`Notice.repairs`. Input that does not have the shape raises
:class:`NoticeError`, naming what was expected and the line.

Headings are stored without their numbering (``Part.title`` is
``责任意识不够强，落实上级决策部署有差距方面``); paragraphs keep theirs (``（一）强化领导责任。…``).

Each account is split into measures (:func:`split_measures`): an enumeration (一是…二是…,
（一）…, 1. …) gives one measure per item, otherwise one measure per sentence. When the notice
states how many measures the plan had (``整改措施45项``) the split is balanced to that number:
the longest measure is cut at the clause boundary nearest its middle, or the two shortest
neighbours of one problem are merged, one step at a time, deterministically.

:func:`import_notice` writes the inspection, the plan (with its :meth:`Notice.preamble` JSON),
parts, categories, problems (with account and money) and measures in one transaction; importing
the same notice again updates what changed and never duplicates.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from . import planwriter

SEED_PATH = Path(__file__).resolve().parent / "data" / "000_0d210f740de8c34c.txt"

MIN_OVERLAP = 3  # characters a fragment must repeat across a break to count as a repeat
MAX_OVERLAP = 60
MAX_DOCX_BYTES = 64 * 2**20  # a notice is a few pages; refuse archives that unpack to more


class NoticeError(ValueError):
    """The text is not a notice of the expected shape; says what was expected and where."""

    def __init__(self, message: str, line: int | None = None, source: str | None = None):
        self.message = message
        self.line = line
        self.source = source
        where = ": ".join(x for x in (source, f"line {line}" if line else None) if x)
        super().__init__(f"{where}: {message}" if where else message)


# --- the tree ------------------------------------------------------------------

@dataclass
class Money:
    """Money a problem involves (涉及) and what was returned (退还/退回), in yuan."""

    involved: Decimal | None = None
    recovered: Decimal | None = None
    recovered_on: dt.date | None = None
    amounts: list[tuple[Decimal, str]] = field(default_factory=list)  # (yuan, role) as found in the text


@dataclass
class AccountabilityRecord:
    kind: str  # admonition reminder_talk veto sanction
    subject: str
    note: str


@dataclass
class RuleRecord:
    title: str
    doc_no: str | None


@dataclass
class MeasureDraft:
    seq: int
    text: str
    kind: str  # immediate time_bound long_term
    unit: str


@dataclass
class Problem:
    no: int
    text: str
    line: int
    account: str = ""
    progress: str = ""
    measures: list[MeasureDraft] = field(default_factory=list)
    money: Money = field(default_factory=Money)
    accountability: list[AccountabilityRecord] = field(default_factory=list)
    rules: list[RuleRecord] = field(default_factory=list)

    @property
    def status(self) -> str:
        """The published progress as a code: done, done_long_term, in_progress, not_done or ''."""
        return progress_status(self.progress, self.line)


@dataclass
class Category:
    no: int
    title: str
    line: int
    problems: list[Problem] = field(default_factory=list)


@dataclass
class Part:
    no: int
    title: str
    line: int
    categories: list[Category] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # problems not under a category
    intro: list[str] = field(default_factory=list)

    @property
    def all_problems(self) -> list[Problem]:
        out = list(self.problems)
        for c in self.categories:
            out.extend(c.problems)
        return out


@dataclass
class InspectionInfo:
    body: str | None = None  # 市委第八巡察组
    target: str | None = None  # 东城区
    kind: str = "special"  # routine special look_back
    onsite_start: dt.date | None = None
    onsite_end: dt.date | None = None
    feedback_date: dt.date | None = None
    rect_start: dt.date | None = None
    rect_end: dt.date | None = None


@dataclass
class Notice:
    title: str
    issuer: str | None
    intro: list[str] = field(default_factory=list)
    org_heading: str = ""
    org_paragraphs: list[str] = field(default_factory=list)
    problems_heading: str = ""
    problems_intro: list[str] = field(default_factory=list)
    parts: list[Part] = field(default_factory=list)
    next_heading: str = ""
    next_paragraphs: list[str] = field(default_factory=list)
    closing: list[str] = field(default_factory=list)
    contact: list[str] = field(default_factory=list)
    signature: str = ""
    signed_on: dt.date | None = None
    inspection: InspectionInfo = field(default_factory=InspectionInfo)
    measure_target: int | None = None  # 整改措施N项, when the notice states it
    stated_problems: int | None = None  # N个问题, when the notice states it
    repairs: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[Problem]:
        return [p for part in self.parts for p in part.all_problems]

    @property
    def measure_count(self) -> int:
        return sum(len(p.measures) for p in self.problems)

    def preamble(self) -> dict:
        """The report paragraphs, as stored in ``plans.preamble``."""
        return {
            "title": self.title,
            "issuer": self.issuer or "",
            "intro": list(self.intro),
            "org_heading": self.org_heading,
            "org_paragraphs": list(self.org_paragraphs),
            "problems_heading": self.problems_heading,
            "problems_intro": list(self.problems_intro),
            "next_heading": self.next_heading,
            "next_paragraphs": list(self.next_paragraphs),
            "closing": list(self.closing),
            "contact": list(self.contact),
            "signature": self.signature,
            "signed_on": self.signed_on.isoformat() if self.signed_on else None,
        }


# --- units (data) ----------------------------------------------------------------

@dataclass(frozen=True)
class UnitDef:
    name: str
    kind: str  # department subdistrict office
    aliases: tuple[str, ...]
    slug: str  # ascii, for demo usernames
    head_title: str  # 局长, 主任, 书记


UNITS: tuple[UnitDef, ...] = (
    UnitDef("水利局", "department", ("水利局",), "water", "局长"),
    UnitDef("区防办", "department", ("区防办", "防指办", "防汛办", "防汛抗旱指挥部办公室"), "flood", "主任"),
    UnitDef("发改局", "department", ("发改局", "发展改革局", "发展和改革局"), "devreform", "局长"),
    UnitDef("住建局", "department", ("住建局", "住房和城乡建设局"), "housing", "局长"),
    UnitDef("财政局", "department", ("财政局",), "finance", "局长"),
    UnitDef("应急管理局", "department", ("应急管理局",), "emergency", "局长"),
    UnitDef("纪工委", "department", ("纪工委",), "discipline", "书记"),
    UnitDef("祖师街道办事处", "subdistrict", ("祖师街道办事处", "祖师街道", "祖师办事处"), "zushi", "主任"),
    UnitDef("永昌街道办事处", "subdistrict", ("永昌街道办事处", "永昌街道", "永昌办事处"), "yongchang", "主任"),
    UnitDef("天宝路街道办事处", "subdistrict", ("天宝路街道办事处", "天宝路街道", "天宝路办事处", "天宝办事处"),
            "tianbao", "主任"),
    UnitDef("半截河街道办事处", "subdistrict", ("半截河街道办事处", "半截河街道", "半截河办事处", "半截河"),
            "banjiehe", "主任"),
    UnitDef("产业集聚区", "subdistrict", ("产业集聚区",), "industrial", "主任"),
    UnitDef("党工委办公室", "department", ("党工委办公室", "党政办"), "partyoffice", "主任"),
    UnitDef("整改办", "office", ("整改办", "整改工作领导小组办公室"), "rectoffice", "主任"),
)
DEFAULT_UNIT = "整改办"
UNIT_BY_NAME = {u.name: u for u in UNITS}
# subject keywords that point at a unit when no unit is named (data, like the table above)
TOPICS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("住建局", ("积水点", "管网", "收水井", "雨污")),
    ("党工委办公室", ("学习贯彻", "中心组", "理论学习")),
)
_ALIASES = sorted(((a, u.name) for u in UNITS for a in u.aliases), key=lambda x: -len(x[0]))
_ALIAS_RE = re.compile("|".join(re.escape(a) for a, _ in _ALIASES))
_ALIAS_UNIT = dict(_ALIASES)


# --- text repair -------------------------------------------------------------------

_WIDTH = {0xFF10 + i: 0x30 + i for i in range(10)}
_WIDTH.update({0xFF21 + i: 0x41 + i for i in range(26)})
_WIDTH.update({0xFF41 + i: 0x61 + i for i in range(26)})
_SPACES = re.compile(r"[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000\t\f\v]")
_INVISIBLE = re.compile(r"[\u200b-\u200d\u2060\ufeff\u00ad\x00-\x08\x0e-\x1f\x7f]")
_PAGE_NO = re.compile(
    r"^(?:[-—–－~～·\s]*\d{1,3}[-—–－~～·\s]*|第\s*\d{1,3}\s*页(?:\s*[,，/]?\s*共\s*\d{1,3}\s*页)?|\d{1,3}\s*/\s*\d{1,3})$")

CN_DIGITS = {"〇": 0, "零": 0, "○": 0, "Ｏ": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
             "七": 7, "八": 8, "九": 9}
_CN = "一二三四五六七八九十"

_TERMINAL = re.compile(r"[。！？；!?;][”’」』）)】\"']*$")
_INNER_STOP = re.compile(r"[。！？；!?;]")

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


def _cn_number(s: str) -> int:
    """``十二`` → 12, ``三十一`` → 31, ``二〇二三`` → 2023, ``12`` → 12."""
    s = s.strip()
    if s.isdigit():
        return int(s)
    if "十" in s:
        tens, _, ones = s.partition("十")
        return (CN_DIGITS.get(tens, 1) if tens else 1) * 10 + (CN_DIGITS.get(ones, 0) if ones else 0)
    n = 0
    for ch in s:
        if ch not in CN_DIGITS:
            raise ValueError(s)
        n = n * 10 + CN_DIGITS[ch]
    return n


def _clean_line(text: str) -> str:
    text = _INVISIBLE.sub("", text).translate(_WIDTH)
    text = _SPACES.sub(" ", text)
    return re.sub(r" {2,}", " ", text).strip()


def _ends_sentence(text: str) -> bool:
    return bool(_TERMINAL.search(text))


def _is_ascii_word(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch in "@._-")


def _merge(a: str, b: str) -> tuple[str, str | None]:
    """Join two fragments of one paragraph; drop a fragment repeated across the break."""
    longest = min(len(a), len(b) - 1, MAX_OVERLAP)
    for k in range(longest, MIN_OVERLAP - 1, -1):
        if a.endswith(b[:k]):
            return a + b[k:], b[:k]
    joiner = " " if a and b and _is_ascii_word(a[-1]) and _is_ascii_word(b[0]) else ""
    return a + joiner + b, None


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
                return kind, _cn_number(m.group(1)), m.group(2).strip()
            except ValueError:
                break
    m = _RE_CAT.match(text)
    if m:
        return "cat", int(m.group(1)), m.group(2).strip()
    return "plain", None, text


def _heading_like(rest: str) -> bool:
    """A title, not a paragraph: short, and no sentence ends inside it."""
    body = _TERMINAL.sub("", rest)
    return len(rest) <= 100 and not _INNER_STOP.search(body)


def _make_para(line: int, text: str) -> _Para:
    kind, num, rest = _classify(text)
    heading = kind in ("section", "part", "cat") and _heading_like(rest)
    return _Para(line, text, kind, num, rest, heading)


# --- parse -------------------------------------------------------------------------

def parse(text: str) -> Notice:
    """Parse a notice's text into a :class:`Notice`; raise :class:`NoticeError` if it is not one."""
    if not isinstance(text, str):
        raise NoticeError("expected the notice as text")
    repairs: list[str] = []
    if "\ufeff" in text or "\r" in text:
        repairs.append("normalised line ends and byte-order marks")
    raw = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines: list[tuple[int, str]] = []
    width_fixed = False
    for no, line in enumerate(raw, 1):
        cleaned = _clean_line(line)
        if not width_fixed and cleaned != re.sub(r" {2,}", " ", _SPACES.sub(" ", line)).strip():
            width_fixed = True
        if not cleaned:
            continue
        if _PAGE_NO.match(cleaned):
            repairs.append(f"line {no}: dropped page number {cleaned!r}")
            continue
        lines.append((no, cleaned))
    if width_fixed:
        repairs.append("normalised full-width digits and letters, invisible and wide spaces")
    if not lines:
        raise NoticeError("the notice is empty: expected an issuer, a title and paragraphs", 1)

    signature, signed_on, lines = _take_footer(lines)
    issuer, title, lines = _take_header(lines)
    paras = _paragraphs(lines, repairs)
    notice = Notice(title=title, issuer=issuer, signature=signature, signed_on=signed_on, repairs=repairs)
    _structure(notice, paras)
    notice.inspection = _inspection_info(notice.intro, notice.signed_on)
    _stated_counts(notice)
    for p in notice.problems:
        p.money = extract_money(p.text, p.account)
        p.accountability = extract_accountability(p.account)
        p.rules = extract_rules(p.account)
    _plan_measures(notice)
    return notice


def read(path) -> Notice:
    """Read a notice from a .txt (UTF-8; UTF-16 with a byte-order mark; else GB18030) or .docx file."""
    path = Path(path)
    try:
        if path.suffix.lower() == ".docx":
            text = _docx_text(path)
        else:
            data = path.read_bytes()
            try:
                if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
                    text = data.decode("utf-16")
                else:
                    text = data.decode("utf-8-sig")
            except UnicodeDecodeError:
                try:
                    text = data.decode("gb18030")
                except UnicodeDecodeError:
                    raise NoticeError("not UTF-8, UTF-16 or GB18030 text", source=path.name) from None
    except OSError as e:
        raise NoticeError(f"cannot read: {e.strerror or e}", source=path.name) from None
    try:
        return parse(text)
    except NoticeError as e:
        raise NoticeError(e.message, e.line, source=path.name) from None


def _docx_text(path: Path) -> str:
    import zipfile

    import docx

    try:
        with zipfile.ZipFile(path) as zf:
            unpacked = sum(i.file_size for i in zf.infolist())
    except Exception as e:  # zipfile raises BadZipFile, NotImplementedError, ValueError, EOFError …
        raise NoticeError(f"not a Word (.docx) document ({type(e).__name__})", source=path.name) from None
    if unpacked > MAX_DOCX_BYTES:
        raise NoticeError(f"the document unpacks to more than {MAX_DOCX_BYTES // 2**20} MB", source=path.name)
    try:
        document = docx.Document(str(path))
        return "\n".join(p.text for p in document.paragraphs)
    except Exception as e:  # python-docx, zipfile, zlib and lxml each raise their own errors on damaged files
        raise NoticeError(f"not a readable Word (.docx) document ({type(e).__name__})", source=path.name) from None


def _take_footer(lines):
    """Signature and date at the end: ``中共…工委`` / ``2023 年 3 月 30 日``."""
    signature, signed_on = "", None
    no, last = lines[-1]
    m = _RE_DATE_LINE.match(last)
    if m:
        signed_on = _parse_full_date(m.group(2))
        if signed_on is not None:
            prefix = m.group(1).strip()
            lines = lines[:-1]
            if prefix and len(prefix) <= 40 and not _ends_sentence(prefix):
                signature = prefix
            elif lines:
                pno, prev = lines[-1]
                kind, _, _ = _classify(prev)
                if kind == "plain" and len(prev) <= 40 and not _ends_sentence(prev):
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
        if kind != "plain" or _INNER_STOP.search(text) or len(text) > 60:
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
        if cur is None or new.kind != "plain" or _ends_sentence(cur.text):
            paras.append(new)
            continue
        merged, dropped = _merge(cur.text, text)
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
                and not _ends_sentence(p.text) and len(prev.rest) + len(p.text) <= 100):
            text, dropped = _merge(prev.text, p.text)
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
                prob.progress = _TERMINAL.sub("", p.rest).strip()
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


def progress_status(progress: str, line: int | None = None) -> str:
    """Map a published 整改进度 to done, done_long_term, in_progress, not_done or '' (blank)."""
    s = re.sub(r"[\s。，,；;、]", "", progress or "")
    if not s:
        return ""
    if s.startswith("未完成"):
        return "not_done"
    if s.startswith("已完成") or s.startswith("已整改完成") or s.startswith("已整改到位") or s == "完成":
        return "done_long_term" if "长期坚持" in s or "持续" in s else "done"
    if s.startswith(("正在整改", "整改中", "持续整改", "正在推进", "基本完成", "推进中")):
        return "in_progress"
    raise NoticeError(f"unknown 整改进度 {progress!r}: expected 已完成, 已完成，长期坚持, 正在整改 or 未完成", line)


# --- dates --------------------------------------------------------------------------

_RE_DATE = re.compile(r"(?:(\d{4})\s*年\s*)?(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_RE_RANGE_SEP = re.compile(r"^\s*(?:至|到|—|－|-|~|～)\s*$")


def _parse_full_date(s: str) -> dt.date | None:
    m = re.match(r"^\s*(\d{4}|[〇零○一二三四五六七八九]{4})\s*年\s*([\d一二三四五六七八九十]{1,3})\s*月\s*"
                 r"([\d一二三四五六七八九十]{1,3})\s*日\s*$", s)
    if not m:
        return None
    try:
        return dt.date(_cn_number(m.group(1)), _cn_number(m.group(2)), _cn_number(m.group(3)))
    except ValueError:
        return None


def dates_in(text: str, year: int | None = None) -> list[tuple[dt.date, int, int]]:
    """Dates in text order as (date, start, end); a missing year is carried from the previous date,
    and a month earlier than the previous date's month rolls the year forward."""
    out = []
    prev: dt.date | None = None
    for m in _RE_DATE.finditer(text):
        y, mo, d = m.group(1), int(m.group(2)), int(m.group(3))
        if y:
            year = int(y)
        elif year is None:
            continue
        elif prev is not None and mo < prev.month:
            year += 1
        try:
            day = dt.date(year, mo, d)
        except ValueError:
            continue
        out.append((day, m.start(), m.end()))
        prev = day
    return out


_KIND_WORDS = (("回头看", "look_back"), ("专项", "special"), ("机动", "special"), ("常规", "routine"))
_RE_BODY = re.compile(
    r"([^，。；、,;\s]{2,30}?巡[察视][^，。；、,;\s]{0,6}?组)\s*(?:于[^，。；]{0,30}?)?对\s*([^，。；、,;\s]{2,40}?)\s*"
    r"(?:党[工委组][^，。；]{0,6}?)?(?:开展|进行)了?\s*(?:为期[^，。；]{0,12}?的)?\s*([^，。；]{0,12}?)巡[察视]")


def _inspection_info(intro: list[str], signed_on: dt.date | None) -> InspectionInfo:
    info = InspectionInfo()
    text = "".join(intro)
    m = _RE_BODY.search(text)
    if m:
        info.body, info.target = m.group(1), m.group(2)
        words = m.group(3) or ""
        info.kind = next((k for w, k in _KIND_WORDS if w in words), "special" if "专项" in text else "routine")
    year = signed_on.year if signed_on else None
    dates = dates_in(text, year)
    first_year = next((int(x.group(1)) for x in _RE_DATE.finditer(text) if x.group(1)), None)
    if first_year is not None:
        dates = dates_in(text)
    sentences = [(s.start(), s.end(), s.group()) for s in re.finditer(r"[^。！？]+[。！？]?", text)]
    ranges, singles = [], []
    k = 0
    while k < len(dates):
        d, s, e = dates[k]
        if k + 1 < len(dates) and _RE_RANGE_SEP.match(text[e:dates[k + 1][1]]):
            ranges.append((d, dates[k + 1][0], s))
            k += 2
        else:
            singles.append((d, s))
            k += 1

    def sentence_at(pos: int) -> str:
        return next((t for a, b, t in sentences if a <= pos < b), "")

    rect = next((r for r in ranges if "整改" in sentence_at(r[2])), None)
    onsite = next((r for r in ranges if r is not rect and "整改" not in sentence_at(r[2])), None)
    feedback = next((d for d, pos in singles if "反馈" in sentence_at(pos)), None)
    if onsite:
        info.onsite_start, info.onsite_end = onsite[0], onsite[1]
    if rect:
        info.rect_start, info.rect_end = rect[0], rect[1]
    info.feedback_date = feedback or (rect[0] if rect else None)
    if info.rect_start is None and info.feedback_date is not None:
        info.rect_start = info.feedback_date
    return info


def _stated_counts(notice: Notice) -> None:
    text = "".join(notice.org_paragraphs + notice.intro + notice.problems_intro)
    m = re.search(r"(?:整改)?措施\s*(\d{1,4})\s*[项条个]", text) or re.search(r"(\d{1,4})\s*[项条]\s*整改措施", text)
    if m:
        notice.measure_target = int(m.group(1))
    m = re.search(r"(\d{1,4})\s*个问题", text)
    if m:
        notice.stated_problems = int(m.group(1))
        if notice.stated_problems != len(notice.problems):
            notice.warnings.append(
                f"the notice speaks of {notice.stated_problems} problems; {len(notice.problems)} were found")


# --- money, accountability, rules -----------------------------------------------------

_RE_AMOUNT = re.compile(r"(\d+(?:[.．]\d+)?)\s*(余)?\s*(亿元|万元|元)")
_UNIT_YUAN = {"亿元": Decimal(100000000), "万元": Decimal(10000), "元": Decimal(1)}
_RE_MISUSE = re.compile(r"用于|挪用|超标准|超过[^，。；]{0,8}标准|超范围|违规|套取|虚报|冒领|涉及金额|侵占|截留|挤占|私分|"
                        r"骗取|多发|多付|超支|超额|虚列|虚增")
_RE_EXCESS_BEFORE = re.compile(r"(?:超过|超出|超标准|多付|多发|超额)[^，。；\d]{0,8}$")
_RE_INVOLVED_BEFORE = re.compile(r"涉及(?:金额|资金)?[^，。；\d]{0,4}$")
_RE_RECOVER = re.compile(r"退还|退回|追回|追缴|收回|缴回|返还|上缴")
_CENT = Decimal("0.01")


def _yuan(num: str, unit: str) -> Decimal:
    return (Decimal(num.replace("．", ".")) * _UNIT_YUAN[unit]).quantize(_CENT)


_RE_SENTENCE = re.compile(r"[^。！？；\n]+(?:[。！？；]+[”’」』）)]*)?")
_RE_FULL_SENTENCE = re.compile(r"[^。！？\n]+(?:[。！？]+[”’」』）)]*)?")


def _sentences(text: str, clauses: bool = True) -> list[str]:
    """Sentences of text; with ``clauses`` a semicolon also ends one."""
    rx = _RE_SENTENCE if clauses else _RE_FULL_SENTENCE
    return [s for s in (m.group().strip() for m in rx.finditer(text)) if s]


def units_in(text: str) -> list[str]:
    """Unit names mentioned in text, in order (aliases resolved; 《titles》 and 市/省 bodies ignored)."""
    text = re.sub(r"《[^》]*》", lambda m: " " * len(m.group()), text)
    out = []
    for m in _ALIAS_RE.finditer(text):
        if m.start() > 0 and text[m.start() - 1] in "市省":
            continue
        name = _ALIAS_UNIT[m.group()]
        if name not in out:
            out.append(name)
    return out


def extract_money(problem_text: str, account: str) -> Money:
    """Amounts involved (from the problem) and returned (from the account), in yuan.

    In a sentence that describes misuse (用于, 超标准, 涉及金额 …) the amount over the standard or
    the amount "involved" is the one that counts, else every amount in it. A return (退还/退回 …)
    in the account gives ``recovered_on``; its amount is the one named in that sentence, else the
    problem amounts of the units the sentence names (``水利局所涉及资金`` → the 水利局's amount).
    """
    money = Money()
    sentence_amounts: list[tuple[str, list[Decimal]]] = []
    for s in _sentences(problem_text):
        found = list(_RE_AMOUNT.finditer(s))
        if not found:
            continue
        if not _RE_MISUSE.search(s):
            for a in found:
                money.amounts.append((_yuan(a.group(1), a.group(3)), "mentioned"))
            continue
        excess = [a for a in found if _RE_EXCESS_BEFORE.search(s[:a.start()])]
        involved = [a for a in found if _RE_INVOLVED_BEFORE.search(s[:a.start()])]
        chosen = excess + [a for a in involved if a not in excess] or found
        for a in found:
            role = "excess" if a in excess else "involved" if a in chosen else "paid"
            money.amounts.append((_yuan(a.group(1), a.group(3)), role))
        sentence_amounts.append((s, [_yuan(a.group(1), a.group(3)) for a in chosen]))
    if sentence_amounts:
        money.involved = sum((sum(v) for _, v in sentence_amounts), Decimal(0)).quantize(_CENT)
    recovered = Decimal(0)
    used: set[int] = set()
    any_amount = False
    for s in _sentences(account):
        verb = _RE_RECOVER.search(s)
        if not verb:
            continue
        ds = [d for d, start, _ in dates_in(s) if start < verb.start()]
        if not ds:
            continue
        money.recovered_on = max(ds[-1], money.recovered_on) if money.recovered_on else ds[-1]
        own = [a for a in _RE_AMOUNT.finditer(s[:verb.start()])]
        if own:
            recovered += sum(_yuan(a.group(1), a.group(3)) for a in own)
            any_amount = True
            continue
        names = units_in(s)
        hits = [k for k, (ps, _) in enumerate(sentence_amounts)
                if any(alias in ps for n in names for alias in UNIT_BY_NAME[n].aliases)]
        if not hits and len(sentence_amounts) == 1:
            hits = [0]
        for k in hits:
            if k not in used:
                used.add(k)
                recovered += sum(sentence_amounts[k][1], Decimal(0))
                any_amount = True
    if any_amount:
        money.recovered = recovered.quantize(_CENT)
    return money


_ACCOUNTABILITY_KINDS = (
    ("谈话提醒", "reminder_talk"), ("提醒谈话", "reminder_talk"), ("诫勉谈话", "admonition"), ("约谈", "admonition"),
    ("一票否决", "veto"), ("通报批评", "sanction"), ("批评教育", "sanction"), ("警告处分", "sanction"),
    ("记过处分", "sanction"), ("党纪处分", "sanction"), ("政务处分", "sanction"), ("问责", "sanction"),
)
_RE_ACCOUNTABLE = re.compile(
    r"对([^，。；对]{1,30}?)(?:进行了?|开展了?|给予了?|予以)?(" + "|".join(w for w, _ in _ACCOUNTABILITY_KINDS) + ")")
_GENERIC_SUBJECT = re.compile(r"^(?:其?相关|有关)?(?:人员|责任人|责任人员|负责人|干部)$")


def extract_accountability(account: str) -> list[AccountabilityRecord]:
    """Talks and sanctions the account reports (``对…相关人员进行谈话提醒``)."""
    kinds = dict(_ACCOUNTABILITY_KINDS)
    out = []
    for s in _sentences(account):
        for m in _RE_ACCOUNTABLE.finditer(s):
            subject = m.group(1).strip()
            if _GENERIC_SUBJECT.match(subject):
                names = units_in(s[:m.start()])
                if names:
                    subject = names[-1] + subject
            out.append(AccountabilityRecord(kinds[m.group(2)], subject, s))
    return out


_RE_RULE = re.compile(r"《([^》]{2,80})》\s*[（(]\s*([^（）()《》]{1,20}?[〔\[【(（]\s*\d{4}\s*[〕\]】)）]\s*\d{1,4}\s*号)\s*[)）]")


def extract_rules(account: str) -> list[RuleRecord]:
    """Rules the account says were made, with their document number (``《…》（祖办〔2022〕14号）``)."""
    out = []
    for m in _RE_RULE.finditer(account):
        doc = re.sub(r"\s+", "", m.group(2))
        if not any(r.doc_no == doc for r in out):
            out.append(RuleRecord(m.group(1).strip(), doc))
    return out


# --- measures ----------------------------------------------------------------------------

_ENUM_PATTERNS = (
    re.compile(rf"(?:^|(?<=[。；;！？\s]))([{_CN}]{{1,3}})是"),
    re.compile(rf"(?:^|(?<=[。；;！？\s]))第([{_CN}]{{1,3}})[，,、]"),
    re.compile(rf"(?:^|(?<=[。；;！？\s]))[（(]([{_CN}]{{1,3}})[)）]"),
    re.compile(r"(?:^|(?<=[。；;！？\s]))[（(](\d{1,2})[)）]"),
    re.compile(r"(?:^|(?<=[。；;！？\s]))(\d{1,2})[.．、](?!\d)"),
)
_MIN_PIECE = 12  # characters each half of a balancing cut must keep


def _enumeration(account: str) -> list[str] | None:
    for rx in _ENUM_PATTERNS:
        marks = []
        expect = 1
        for m in rx.finditer(account):
            try:
                n = _cn_number(m.group(1))
            except ValueError:
                continue
            if n == expect:
                marks.append(m)
                expect += 1
        if len(marks) >= 2:
            items = []
            head = account[:marks[0].start()].strip()
            for k, m in enumerate(marks):
                end = marks[k + 1].start() if k + 1 < len(marks) else len(account)
                items.append(account[m.end():end].strip())
            if head:
                if _sentences(head) and _ends_sentence(head) and len(head) >= _MIN_PIECE:
                    items.insert(0, head)
                else:
                    items[0] = head + items[0]
            return [i for i in items if i]
    return None


def _base_split(account: str) -> tuple[list[str], bool]:
    """(pieces, enumerated): the items of an enumeration, else the sentences."""
    account = account.strip()
    if not account:
        return [], False
    enum = _enumeration(account)
    if enum:
        return enum, True
    return _sentences(account, clauses=False) or [account], False


# a clause that starts a new action: a good place to cut a long sentence in two
_RE_CONNECTIVE = re.compile(r"^(?:并且?|同时|督促|要求|及时|同步|此外|另外|进一步|还)")


def _cut(text: str) -> tuple[str, str] | None:
    """Cut text at the clause boundary nearest its middle, keeping both halves substantial.

    A sentence end or semicolon is preferred to a comma, and a comma before a clause that starts a
    new action (并, 同时, 督促, 要求 …) to any other comma.
    """
    best = None
    for m in re.finditer(r"[。；;！？]+[”’」』）)]*|[，,]", text):
        pos = m.end()
        left, right = text[:pos].strip(), text[pos:].strip()
        if len(left) < _MIN_PIECE or len(right) < _MIN_PIECE:
            continue
        if m.group()[0] not in "，,":
            weight = 1.0
        elif _RE_CONNECTIVE.match(right):
            weight = 1.2
        else:
            weight = 1.6
        score = (abs(len(text) / 2 - pos) * weight, pos)
        if best is None or score < best[0]:
            best = (score, left, right)
    if best is None:
        return None
    left, right = best[1], best[2]
    if left[-1] in "，,":
        left = left[:-1] + "。"
    if right.startswith("并") and not right.startswith("并且") and len(right) > _MIN_PIECE:
        right = right[1:]
    return left, right


def balance(groups: list[list[str]], target: int, fixed: list[bool] | None = None) -> list[list[str]]:
    """Bring the number of measures to ``target``, one step at a time.

    Too few: cut the longest measure (of a group that is not ``fixed``, i.e. not an enumeration
    the notice itself numbered) at its best clause boundary. Too many: merge the adjacent pair
    with the fewest characters within one unfixed group. Deterministic: ties go to the earliest
    problem and measure; stops early when nothing more can be cut or merged.
    """
    groups = [list(g) for g in groups]
    fixed = list(fixed) if fixed is not None else [False] * len(groups)
    total = sum(len(g) for g in groups)
    while total < target:
        best = None
        for gi, g in enumerate(groups):
            if fixed[gi]:
                continue
            for mi, text in enumerate(g):
                if (best is None or len(text) > len(groups[best[0]][best[1]])) and _cut(text):
                    best = (gi, mi)
        if best is None:
            break
        gi, mi = best
        groups[gi][mi:mi + 1] = list(_cut(groups[gi][mi]))
        total += 1
    while total > target:
        best = None
        for gi, g in enumerate(groups):
            if fixed[gi]:
                continue
            for mi in range(len(g) - 1):
                size = len(g[mi]) + len(g[mi + 1])
                if best is None or size < best[0]:
                    best = (size, gi, mi)
        if best is None:
            break
        _, gi, mi = best
        groups[gi][mi:mi + 2] = [groups[gi][mi] + groups[gi][mi + 1]]
        total -= 1
    return groups


def split_measures(account: str, target: int | None = None) -> list[str]:
    """Split one 落实情况 into measure texts: enumerated items (一是…二是…), else sentences;
    then, if ``target`` is given and the account is not an enumeration, balance to it."""
    pieces, enumerated = _base_split(account)
    if target is not None and pieces and not enumerated:
        pieces = balance([pieces], target)[0]
    return pieces


_RE_LONG = re.compile(r"长效|长期|常态化|机制|每年|定期|持续|坚持")
_RE_IMMEDIATE = re.compile(r"立行立改|即知即改|立即|当场|已于|已(?:经)?[^，。；]{0,30}?(?:完毕|完工|到位|退还|退回|搬入|出具)")


def measure_kind(text: str, last: bool, long_term_problem: bool) -> str:
    """long_term for the last measure of a 长期坚持 problem; else by cues in the text."""
    if long_term_problem and last:
        return "long_term"
    if _RE_IMMEDIATE.search(text):
        return "immediate"
    if _RE_LONG.search(text):
        return "long_term"
    return "time_bound"


_RE_LEAD_BEFORE = re.compile(r"(?:由区?|设在区?)$")
_RE_LEAD_AFTER = re.compile(r"^(?:牵头|负责|针对)")


def _named_units(text: str) -> tuple[str | None, str | None, str | None]:
    """(leading, first department, first place) named in text.

    Leading: a unit that ``牵头``/``负责``, or that things are done ``由``/``设在``. Places
    (sub-districts) often appear as where something happens rather than who does it, so they
    rank after the subject keywords in :func:`measure_unit`.
    """
    clean = re.sub(r"《[^》]*》", lambda m: " " * len(m.group()), text)
    dept = place = None
    for m in _ALIAS_RE.finditer(clean):
        if m.start() > 0 and clean[m.start() - 1] in "市省":
            continue
        name = _ALIAS_UNIT[m.group()]
        if _RE_LEAD_BEFORE.search(clean[max(0, m.start() - 3):m.start()]) or _RE_LEAD_AFTER.match(clean[m.end():]):
            return name, None, None
        if UNIT_BY_NAME[name].kind == "subdistrict":
            place = place or name
        else:
            dept = dept or name
    return None, dept, place


def _topic_unit(text: str) -> str | None:
    for name, words in TOPICS:
        if any(w in text for w in words):
            return name
    return None


def _unit_of(text: str) -> str | None:
    lead, dept, place = _named_units(text)
    return lead or dept or _topic_unit(text) or place


def measure_unit(text: str, category: str = "", account: str = "", problem: str = "",
                 previous: str | None = None) -> str:
    """The responsible unit of a measure, from the keyword table :data:`UNITS` and :data:`TOPICS`.

    Looked for in the measure's own text (a leading unit beats a named department, which beats a
    subject keyword, which beats a named place); else a unit named in the category title; else the
    unit of the ``previous`` measure of the same problem; else the whole account, then the problem
    text. Default: the rectification office (整改办).
    """
    unit = _unit_of(text)
    if unit:
        return unit
    lead, dept, place = _named_units(category)
    if lead or dept or place:
        return lead or dept or place
    if previous:
        return previous
    for source in (account, problem):
        unit = _unit_of(source) if source else None
        if unit:
            return unit
    return DEFAULT_UNIT


def _plan_measures(notice: Notice) -> None:
    problems = notice.problems
    splits = [_base_split(p.account) for p in problems]
    groups = [pieces or [p.text] for (pieces, _), p in zip(splits, problems)]
    if notice.measure_target and notice.measure_target >= len(problems):
        groups = balance(groups, notice.measure_target, [enum for _, enum in splits])
        got = sum(len(g) for g in groups)
        if got != notice.measure_target:
            notice.warnings.append(f"the notice speaks of {notice.measure_target} measures; {got} could be made")
    cat_title = {id(p): c.title for part in notice.parts for c in part.categories for p in c.problems}
    for p, texts in zip(problems, groups):
        long_term = p.status == "done_long_term"
        p.measures = []
        previous = None
        for k, t in enumerate(texts):
            previous = measure_unit(t, cat_title.get(id(p), ""), p.account, p.text, previous)
            p.measures.append(MeasureDraft(k + 1, t, measure_kind(t, k == len(texts) - 1, long_term), previous))


# --- import ---------------------------------------------------------------------------------

_STATE_BY_STATUS = {"done": "closed", "done_long_term": "closed", "in_progress": "in_progress",
                    "not_done": "in_progress", "": "assigned"}


def import_notice(notice: Notice, now: dt.datetime, engine=None, owner_map: Mapping | None = None, *,
                  initial_state: str | None = None,
                  deadline_for: Callable[[int, int, str], dt.date | None] | None = None,
                  evidence_waived: bool = False) -> dict:
    """Write the notice as a plan, in one transaction; importing it again updates, never duplicates.

    The plan is matched by inspecting body, target and title; parts, categories and problems by
    number, measures by (problem, seq). Matched plans, parts, categories and problems take the new
    text, account and money; a matched measure is left alone (its state and history belong to the
    workflow now) and counted in ``unchanged_measures``; measures new to the notice are created.
    Accountability and rules-made records are added when not already there.

    ``owner_map`` maps a unit name to ``(owner_username, leader_username)`` (or a dict with keys
    ``owner`` and ``leader``); units missing from it get their unit head as owner and no leader.
    ``initial_state`` overrides the state taken from 整改进度 (已完成 → closed, 正在整改 →
    in_progress, blank → assigned). ``deadline_for(problem_no, seq, kind)`` gives a measure's
    deadline; by default it is the end of the concentrated rectification period.
    Returns a summary dict of what was created, updated and left unchanged.
    """
    from sqlalchemy import select, update

    from . import db, spec
    from .models import (
        Accountability, Category as CategoryRow, Inspection, Measure, Membership, OrgUnit, Part as PartRow, Plan,
        Problem as ProblemRow, RuleMade, User,
    )

    info = notice.inspection
    if not info.body or not info.target:
        raise NoticeError("expected the intro to name the inspecting body and target "
                          "(e.g. 市委第八巡察组对东城区进行了专项巡察)")
    if initial_state is not None and initial_state not in spec.STATES:
        raise NoticeError(f"unknown state {initial_state!r}")
    now = now.replace(tzinfo=None)
    summary = {"created": {"inspection": 0, "plan": 0, "parts": 0, "categories": 0, "problems": 0, "measures": 0,
                           "units": 0, "accountability": 0, "rules_made": 0},
               "updated": {"problems": 0, "parts": 0, "categories": 0},
               "unchanged_measures": 0}
    with db.write_tx(engine) as conn:
        def user_id(username):
            if not username:
                return None
            uid = conn.execute(select(User.id).where(User.username == username)).scalar()
            if uid is None:
                raise NoticeError(f"owner_map names an unknown user: {username}")
            return uid

        def owner_leader(unit_name: str, unit_id: int):
            entry = (owner_map or {}).get(unit_name)
            if isinstance(entry, Mapping):
                entry = (entry.get("owner"), entry.get("leader"))
            if entry:
                return user_id(entry[0]), user_id(entry[1])
            head = conn.execute(select(Membership.user_id).where(
                Membership.unit_id == unit_id, Membership.is_head.is_(True)).order_by(Membership.user_id)).scalar()
            return head, None

        dates = {"onsite_start": info.onsite_start, "onsite_end": info.onsite_end,
                 "feedback_date": info.feedback_date, "rect_start": info.rect_start, "rect_end": info.rect_end}
        found = conn.execute(
            select(Plan.id, Plan.inspection_id).join(Inspection, Inspection.id == Plan.inspection_id)
            .where(Inspection.body == info.body, Inspection.target == info.target, Plan.title == notice.title)
            .order_by(Plan.id)).first()
        if found:
            plan_id, insp_id = found
            conn.execute(update(Inspection.__table__).where(Inspection.id == insp_id).values(kind=info.kind, **dates))
            conn.execute(update(Plan.__table__).where(Plan.id == plan_id).values(
                issuer=notice.issuer, preamble=notice.preamble()))
        else:
            insp_id = planwriter.inspection(conn, info.body, info.target, info.kind, **dates)
            plan_id = planwriter.plan(conn, insp_id, notice.title, issuer=notice.issuer,
                                  evidence_waived=evidence_waived, preamble=notice.preamble())
            summary["created"]["inspection"] = summary["created"]["plan"] = 1
        summary["plan_id"], summary["inspection_id"] = plan_id, insp_id

        unit_ids: dict[str, int] = {}

        def unit_id(name: str) -> int:
            if name not in unit_ids:
                existing = conn.execute(select(OrgUnit.id).where(OrgUnit.name == name)).scalar()
                if existing is None:
                    summary["created"]["units"] += 1
                d = UNIT_BY_NAME.get(name)
                unit_ids[name] = existing or planwriter.unit(conn, name, d.kind if d else "department")
            return unit_ids[name]

        for part in notice.parts:
            row = conn.execute(select(PartRow.id, PartRow.title).where(
                PartRow.plan_id == plan_id, PartRow.no == part.no)).first()
            if row is None:
                part_id = planwriter.part(conn, plan_id, part.no, part.title)
                summary["created"]["parts"] += 1
            else:
                part_id = row.id
                if row.title != part.title:
                    conn.execute(update(PartRow.__table__).where(PartRow.id == part_id).values(title=part.title))
                    summary["updated"]["parts"] += 1
            cats: list[tuple[int | None, Problem]] = [(None, p) for p in part.problems]
            for cat in part.categories:
                row = conn.execute(select(CategoryRow.id, CategoryRow.title).where(
                    CategoryRow.part_id == part_id, CategoryRow.no == cat.no)).first()
                if row is None:
                    cat_id = planwriter.category(conn, part_id, cat.no, cat.title)
                    summary["created"]["categories"] += 1
                else:
                    cat_id = row.id
                    if row.title != cat.title:
                        conn.execute(update(CategoryRow.__table__).where(CategoryRow.id == cat_id)
                                     .values(title=cat.title))
                        summary["updated"]["categories"] += 1
                cats.extend((cat_id, p) for p in cat.problems)
            for cat_id, prob in cats:
                values = {"part_id": part_id, "category_id": cat_id, "text": prob.text, "account": prob.account,
                          "amount_involved": prob.money.involved, "amount_recovered": prob.money.recovered,
                          "recovered_on": prob.money.recovered_on}
                row = conn.execute(select(ProblemRow.__table__).where(
                    ProblemRow.plan_id == plan_id, ProblemRow.no == prob.no)).first()
                if row is None:
                    prob_id = planwriter.problem(conn, plan_id, part_id, prob.no, prob.text, category_id=cat_id,
                                             account=prob.account, amount_involved=prob.money.involved,
                                             amount_recovered=prob.money.recovered,
                                             recovered_on=prob.money.recovered_on)
                    summary["created"]["problems"] += 1
                else:
                    prob_id = row.id
                    if any(_differs(getattr(row, k), v) for k, v in values.items()):
                        conn.execute(update(ProblemRow.__table__).where(ProblemRow.id == prob_id).values(**values))
                        summary["updated"]["problems"] += 1
                state = initial_state or _STATE_BY_STATUS[prob.status]
                for m in prob.measures:
                    exists = conn.execute(select(Measure.id).where(
                        Measure.problem_id == prob_id, Measure.seq == m.seq)).scalar()
                    if exists is not None:
                        summary["unchanged_measures"] += 1
                        continue
                    uid = unit_id(m.unit)
                    owner_id, leader_id = owner_leader(m.unit, uid)
                    deadline = deadline_for(prob.no, m.seq, m.kind) if deadline_for else info.rect_end
                    extra = {"source": "notice", "problem_no": prob.no, "unit": m.unit}
                    if state == "closed":
                        extra["account"] = m.text
                    mid = planwriter.measure(conn, prob_id, m.seq, m.text, kind=m.kind, leader_id=leader_id,
                                         unit_id=uid, owner_id=owner_id, deadline=deadline, now=now,
                                         event_kind="import", state=state, extra=extra)
                    if state == "closed":
                        conn.execute(update(Measure.__table__).where(Measure.id == mid).values(account=m.text))
                    summary["created"]["measures"] += 1
                for a in prob.accountability:
                    if conn.execute(select(Accountability.id).where(
                            Accountability.problem_id == prob_id, Accountability.kind == a.kind,
                            Accountability.subject == a.subject)).first() is None:
                        planwriter.accountability(conn, a.kind, a.subject, problem_id=prob_id, note=a.note)
                        summary["created"]["accountability"] += 1
                for r in prob.rules:
                    if conn.execute(select(RuleMade.id).where(
                            RuleMade.problem_id == prob_id, RuleMade.title == r.title)).first() is None:
                        planwriter.rule_made(conn, r.title, problem_id=prob_id, doc_no=r.doc_no)
                        summary["created"]["rules_made"] += 1
    summary["problems"] = len(notice.problems)
    summary["measures"] = notice.measure_count
    return summary


def _differs(old, new) -> bool:
    if isinstance(new, Decimal) and old is not None:
        return Decimal(str(old)).quantize(_CENT) != new
    return old != new


__all__ = [
    "NoticeError", "Notice", "Part", "Category", "Problem", "MeasureDraft", "Money", "InspectionInfo",
    "AccountabilityRecord", "RuleRecord", "UnitDef", "UNITS", "DEFAULT_UNIT", "SEED_PATH",
    "parse", "read", "import_notice", "split_measures", "balance", "extract_money", "extract_accountability",
    "extract_rules", "measure_kind", "measure_unit", "units_in", "dates_in", "progress_status",
]
