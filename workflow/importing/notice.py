"""Reading a published rectification notice (巡察整改情况通报) and importing it as a plan.

The reader works in parts: :mod:`.notice_text` reads the file and repairs extraction damage,
:mod:`.notice_layout` finds the structure, :mod:`.notice_extract` the facts the paragraphs state,
:mod:`.notice_measures` splits accounts into measures, and :mod:`.notice_apply` writes the tree
through :class:`workflow.planwriter.PlanWriter`. This module is their public face: :func:`parse`,
:func:`read` and :func:`import_notice`, and the names callers use.
"""
from __future__ import annotations

from pathlib import Path

from .notice_apply import import_notice
from .notice_extract import (
    dates_in, extract_accountability, extract_money, extract_rules, inspection_info, stated_counts,
)
from .notice_layout import structure
from .notice_measures import assign_units, balance, measure_kind, measure_unit, plan_measures, split_measures
from .notice_text import MIN_OVERLAP, NoticeError, clean_lines, read_text
from .notice_tree import (
    AccountabilityRecord, Category, InspectionInfo, MeasureDraft, Money, Notice, Part, Problem, RuleRecord,
    progress_status,
)
from .notice_units import UnitDirectory

SEED_PATH = Path(__file__).resolve().parent.parent / "data" / "000_0d210f740de8c34c.txt"


def parse(text: str, units: UnitDirectory | None = None) -> Notice:
    """Parse a notice's text into a :class:`Notice`; raise :class:`NoticeError` if it is not one.

    ``units`` is the directory of known units measures are given (see :mod:`.notice_units`);
    without it only the generic rules place them.
    """
    if not isinstance(text, str):
        raise NoticeError("expected the notice as text")
    repairs: list[str] = []
    lines = clean_lines(text, repairs)
    if not lines:
        raise NoticeError("the notice is empty: expected an issuer, a title and paragraphs", 1)
    notice = structure(lines, repairs)
    notice.inspection = inspection_info(notice.intro, notice.signed_on)
    if not notice.inspection.body or not notice.inspection.target:
        notice.warnings.append("the intro does not name the inspecting body and target (e.g. 市委第八巡察组对东城区"
                               "进行了专项巡察): they are left empty")
    stated_counts(notice)
    for p in notice.problems:
        p.money = extract_money(p.text, p.account, units)
        p.accountability = extract_accountability(p.account, units)
        p.rules = extract_rules(p.account)
    plan_measures(notice, units)
    return notice


def read(path, units: UnitDirectory | None = None) -> Notice:
    """Read a notice from a .txt (UTF-8; UTF-16 with a byte-order mark; else GB18030) or .docx file."""
    path = Path(path)
    text = read_text(path)
    try:
        return parse(text, units)
    except NoticeError as e:
        raise NoticeError(e.message, e.line, source=path.name) from None


__all__ = [
    "NoticeError", "Notice", "Part", "Category", "Problem", "MeasureDraft", "Money", "InspectionInfo",
    "AccountabilityRecord", "RuleRecord", "UnitDirectory", "SEED_PATH", "MIN_OVERLAP",
    "parse", "read", "import_notice", "split_measures", "balance", "extract_money", "extract_accountability",
    "extract_rules", "measure_kind", "measure_unit", "assign_units", "dates_in", "progress_status",
]
