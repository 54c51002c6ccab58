"""Reading a notice's problem region into parts → categories → problems with account and progress.

:func:`read_region` walks the paragraphs :func:`.notice_layout.find_layout` marked as the region.
A heading of the part or category shape opens a part or category; a paragraph of the problem
shape opens a problem; ``落实情况：``-style labels start its account (the label alone on its line,
or followed by the text) and ``整改进度：`` its progress. Inside a problem, a numbered line of a
structural shape is a new part, category or problem only when its number continues the sequence
and it opens something (a problem followed by its own account, a part followed by a problem);
otherwise it is an item of the text (``1.…`` measures under ``整改落实情况：``).

Without a label, a ``关于…的问题`` title is the problem and what follows it the account. Without a
``整改进度`` line, the account's last sentence is read for the progress words (``已完成``,
``已整改``, ``基本完成``, ``正在整改``, ``正在推进``, ``持续推进``, ``长期坚持``).
Text the reader cannot place in the tree is kept where it stands and named in a warning.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .notice_text import TERMINAL, NoticeError, sentences
from .notice_tree import Category, Notice, Part, Problem, is_long_term, progress_status

RANK = {"cn": 0, "pcn": 1, "num": 2, "pnum": 3, "guanyu": 4, "wenti": 5}
DEFAULT_PART_TITLE = "巡察反馈问题"
_LABELS = "整改落实情况|落实情况|整改情况|整改措施及成效|整改措施及成果|整改措施和成效|整改成效|整改措施"
_RE_INLINE_ACCOUNT = re.compile(rf"^(.*?[。；;])\s*[【\[]?(?:{_LABELS})[】\]]?\s*[:：]\s*(.+)$", re.S)
_RE_INLINE_PROGRESS = re.compile(r"^(.*?)\s*[【\[]?(?:整改进度|整改进展|整改状态)[】\]]?\s*[:：]\s*([^。；;\n]{1,20})[。；;]?$",
                                 re.S)
_RE_GUANYU_TITLE = re.compile(r"^(关于[^。；;！？]{2,80}?问题)[。．.；;：:]?\s*(.*)$", re.S)
_PROGRESS_WORDS = r"已完成(?:整改)?|已整改(?:完成|到位|完毕)?|已全部整改|整改完成|基本完成|正在整改|正在推进|持续推进|持续整改|长期坚持|整改中"
_RE_TRAILING_PROGRESS = re.compile(
    rf"(?:[（(【\[]\s*({_PROGRESS_WORDS})(?:[，,、]\s*(长期坚持|持续推进|持续整改))?\s*[)）】\]]"
    rf"|(?:^|[，,：:]|该问题|此问题|问题|目前|现)\s*({_PROGRESS_WORDS})(?:[，,、]\s*(长期坚持|持续推进|持续整改))?)"
    r"[。；;！]?$")


@dataclass
class Para:
    line: int
    text: str
    kind: str = "plain"  # a shape: cn pcn num pnum wenti guanyu account progress contact plain
    num: int | None = None
    rest: str = ""
    heading: bool = False


@dataclass
class Layout:
    problem: str  # the shape of a problem
    part: str | None  # the shape of a part heading, None when the notice has no parts
    category: str | None
    section: int | None  # index of the 一、 heading the problems sit under
    start: int  # the region: paras[start:end]
    end: int
    texts: dict = field(default_factory=dict)


def opens(paras: list[Para], k: int, shape: str) -> bool:
    """Whether the heading at ``k`` has children: the next marked paragraph is a problem, or a
    heading of another shape above the problems."""
    for p in paras[k + 1:]:
        if p.kind == "plain":
            continue
        if p.kind == shape:
            return True
        return p.heading and p.kind != paras[k].kind and RANK.get(p.kind, 9) < RANK[shape]
    return False


def _opens_problem(paras: list[Para], k: int, shape: str) -> bool:
    """Whether the problem-shaped paragraph at ``k`` is followed by its own account or progress."""
    if _RE_INLINE_ACCOUNT.match(paras[k].rest):
        return True
    for p in paras[k + 1:]:
        if p.kind in ("plain", "contact"):
            continue
        return p.kind in ("account", "progress")
    return False


def read_region(notice: Notice, paras: list[Para], layout: Layout) -> None:
    """Fill ``notice.parts`` from the region's paragraphs."""
    reader = _Reader(notice, paras, layout)
    for i, p in enumerate(paras):
        reader.step(i, p)
    reader.finish()


class _Reader:
    def __init__(self, notice: Notice, paras: list[Para], layout: Layout):
        self.notice, self.paras, self.layout = notice, paras, layout
        self.part: Part | None = None
        self.cat: Category | None = None
        self.prob: Problem | None = None
        self.field = "text"
        self.last_marker = 0  # the number on the last problem's marker
        self.seen: dict[int, int] = {}
        self.texts: dict[int, list[str]] = {}  # problem no → its text paragraphs
        self.labelled: set[int] = set()  # problems with an account label
        self.after_progress: dict[int, int] = {}
        self.unplaced: list[Para] = []
        self.has_labels = any(p.kind == "account" for p in paras)

    def role(self, i: int, p: Para) -> str | None:
        lay = self.layout
        if p.kind == lay.problem:
            level = "problem"
        elif p.heading and p.kind == lay.part:
            level = "part"
        elif p.heading and p.kind == lay.category:
            level = "category"
        else:
            return None
        if self.prob is None or p.kind in ("wenti", "guanyu"):
            return level
        if level == "problem":
            if p.num != self.last_marker + 1:
                return None
            return level if not self.has_labels or _opens_problem(self.paras, i, lay.problem) else None
        last = self.part.no if level == "part" and self.part else self.cat.no if self.cat else 0
        return level if p.num == last + 1 and opens(self.paras, i, lay.problem) else None

    def step(self, i: int, p: Para) -> None:
        role = self.role(i, p)
        if role == "part":
            no = p.num if p.num is not None else len(self.notice.parts) + 1  # 关于…问题 carries no number
            if any(x.no == no for x in self.notice.parts):
                raise NoticeError(f"part {p.text[:6]} appears twice", p.line)
            self.part, self.cat, self.prob = Part(no, p.rest, p.line), None, None
            self.notice.parts.append(self.part)
        elif role == "category":
            if self.part is None:
                raise NoticeError(f"category {p.num}. is not under a part heading （一）…", p.line)
            no = p.num if p.num is not None else len(self.part.categories) + 1
            if any(c.no == no for c in self.part.categories):
                raise NoticeError(f"category {no}. appears twice in part （{self.part.no}）", p.line)
            self.cat, self.prob = Category(no, p.rest, p.line), None
            self.part.categories.append(self.cat)
        elif role == "problem":
            self.new_problem(p)
        elif p.kind in ("account", "progress"):
            self.label(p)
        else:
            self.text(p)

    def new_problem(self, p: Para) -> None:
        if self.part is None:
            if self.layout.part is not None:
                raise NoticeError(f"问题 {p.num or len(self.seen) + 1} is not under a part heading （一）…", p.line)
            self.part = Part(1, self.notice.problems_heading or DEFAULT_PART_TITLE, p.line)
            self.notice.parts.append(self.part)
        if p.kind == "wenti" and p.num is not None:  # 问题N： always carries its N
            no = p.num
            if no in self.seen:
                raise NoticeError(f"问题 {no} appears twice (first at line {self.seen[no]})", p.line)
        else:
            no = len(self.seen) + 1
        self.seen[no] = p.line
        self.last_marker = p.num or 0
        text, account = p.rest, ""
        inline = _RE_INLINE_ACCOUNT.match(text)
        if inline and self.layout.problem != "wenti":
            text, account = inline.group(1).strip(), inline.group(2).strip()
            self.labelled.add(no)
        self.prob = Problem(no, text, p.line, account=account)
        self.texts[no] = [text]
        (self.cat.problems if self.cat is not None else self.part.problems).append(self.prob)
        self.field = "account" if account else "text"

    def label(self, p: Para) -> None:
        prob = self.prob
        name = re.split(r"[:：]", p.text, maxsplit=1)[0].strip("【】[] ")
        if prob is None:
            raise NoticeError(f"{name} is not under a 问题 N：", p.line)
        if p.kind == "account":
            prob.account = _join(prob.account, p.rest)
            self.labelled.add(prob.no)
            self.field = "account"
            return
        if prob.progress:
            raise NoticeError(f"问题 {prob.no} has two {name} lines", p.line)
        prob.progress = TERMINAL.sub("", p.rest).strip()
        progress_status(prob.progress, p.line)
        self.field = "progress"

    def text(self, p: Para) -> None:
        prob = self.prob
        if prob is None:
            if self.part is None:
                self.notice.problems_intro.append(p.text)
            else:
                self.part.intro.append(p.text)
                self.unplaced.append(p)
        elif self.field == "text":
            prob.text = _join(prob.text, p.text)
            self.texts[prob.no].append(p.text)
        elif self.field == "account":
            prob.account = _join(prob.account, p.text)
        else:
            self.after_progress[prob.no] = self.after_progress.get(prob.no, 0) + 1
            prob.account = _join(prob.account, p.text)

    def finish(self) -> None:
        notice = self.notice
        for no, n in self.after_progress.items():
            notice.warnings.append(f"问题 {no}: text after 整改进度 kept with the account ({n} paragraph(s))")
        for p in self.unplaced:
            notice.warnings.append(f"line {p.line}: text between a heading and its first problem is not imported: "
                                   f"{p.text[:30]!r}")
        for prob in notice.problems:
            if prob.no not in self.labelled and self.layout.problem != "wenti":
                _split_unlabelled(prob, self.texts.get(prob.no, [prob.text]))
            _progress(prob)
            if not prob.text:
                raise NoticeError(f"问题 {prob.no} has no text", prob.line)


def _split_unlabelled(prob: Problem, texts: list[str]) -> None:
    """A problem without an account label: its title is the problem, what follows the account."""
    first = texts[0] if texts else prob.text
    m = _RE_GUANYU_TITLE.match(first)
    head, tail = (m.group(1) + "。", m.group(2).strip()) if m else (first, "")
    rest = [t for t in [tail, *texts[1:]] if t]
    if rest:
        prob.text = head if m else first
        prob.account = _join("\n".join(rest), prob.account)


def _progress(prob: Problem) -> None:
    """The problem's status: from its 整改进度 line, else from progress words closing its account."""
    if not prob.progress and prob.account:
        inline = _RE_INLINE_PROGRESS.match(prob.account)
        if inline and inline.group(1).strip():
            prob.account, prob.progress = inline.group(1).strip(), inline.group(2).strip()
        else:
            last = sentences(prob.account, clauses=False)
            m = _RE_TRAILING_PROGRESS.search(last[-1]) if last else None
            if m:
                words = [w for w in m.groups() if w]
                prob.progress = "，".join(words)
                if len(last[-1]) <= 16 and len(last) > 1:  # a sentence that only says the progress
                    prob.account = prob.account[:prob.account.rindex(last[-1])].rstrip()
    if prob.progress:
        try:
            prob.status = progress_status(prob.progress, prob.line)
        except NoticeError:
            prob.status = ""
        prob.long_term = is_long_term(prob.progress)


def _join(a: str, b: str) -> str:
    return f"{a}\n{b}" if a and b else (a or b)
