"""The tree a notice is read into: parts → categories → problems → measure drafts, with the notice's
paragraphs, inspection details, stated totals, repairs and warnings. Plain data, no parsing."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from .notice_text import NoticeError

if TYPE_CHECKING:
    from .notice_units import UnitDirectory


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
    unit: str  # the responsible unit's name; "" when the notice names none


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
    status: str = ""  # the published progress as a code: done, done_long_term, in_progress, not_done or ''
    long_term: bool = False  # the progress says the work goes on (长期坚持, 持续推进)


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
    stated_parts: int | None = None  # N个方面 / N部分
    stated_done: int | None = None  # 已整改完成N个
    layout: dict = field(default_factory=dict)  # the shapes found: problem, part, category markers
    units: UnitDirectory | None = None  # the directory measures were given units from
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


_RE_LONG_PROGRESS = re.compile(r"长期坚持|持续|常态化|长效")


def progress_status(progress: str, line: int | None = None) -> str:
    """Map a published 整改进度 to done, done_long_term, in_progress, not_done or '' (blank).

    已完成 / 已整改(完成|到位) / 整改完成 → done (done_long_term with 长期坚持 or 持续…);
    正在整改 / 正在推进 / 整改中 / 推进中 / 基本完成 / 持续推进 / 长期坚持 (alone) → in_progress;
    未完成 → not_done. Anything else is a :class:`NoticeError` naming the line.
    """
    s = re.sub(r"[\s。，,；;、]", "", progress or "")
    if not s:
        return ""
    if s.startswith("未完成"):
        return "not_done"
    if s.startswith(("已完成", "已整改", "整改完成", "已办结", "已销号")) or s == "完成":
        return "done_long_term" if _RE_LONG_PROGRESS.search(s) else "done"
    if s.startswith(("正在整改", "整改中", "持续整改", "持续推进", "正在推进", "基本完成", "推进中", "长期坚持")):
        return "in_progress"
    raise NoticeError(f"unknown 整改进度 {progress!r}: expected 已完成, 已完成，长期坚持, 正在整改 or 未完成", line)


def is_long_term(progress: str) -> bool:
    """Whether a progress says the work goes on after the problem is dealt with."""
    return bool(_RE_LONG_PROGRESS.search(progress or ""))
