"""Reading a ledger workbook into a checked tree (:class:`LedgerIn`), before any database work.

The ledgers offices actually keep:

* the header row may sit under one or more title rows, and may be split over two rows; headers
  vary between offices (see :data:`.ledger_vocab.HEADERS`);
* a problem spans several measure rows, with its cells merged (or left blank below the first);
  section rows such as ``一、责任意识不够强方面`` spanning the table set the part;
* 序号 reads as ``1`` (problem 1), ``1.2``/``1-2`` (problem 1, measure 2), or a plain row counter;
* deadlines are Excel dates or text (``2023年3月底前``, ``2023.3.15``, ``立行立改``, ``长期坚持``);
* the status column maps to states; an unknown word is refused.

Everything is read and checked before anything is written; every problem found is reported as
an :class:`.errors.Issue` (sheet, row, column, reason) in one :class:`.errors.LedgerImportError`.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from .errors import Issue, LedgerImportError, issue_at
from .ledger_book import Sheet, load_sheets
from .ledger_header import Header, describe, find_header
from .ledger_vocab import (
    FIELD_LABELS, KEPT_FIELDS, cell_text, leading_status, mapping_field, names_in, normalize_mapping, parse_amount,
    parse_deadline, parse_kind, parse_milestones, parse_no, parse_status, split_category, split_part, text_key,
    year_in,
)

MAX_ISSUES = 200
DEFAULT_PART = "巡察反馈问题"


@dataclass
class MeasureIn:
    sheet: str
    row: int
    seq: int | None
    text: str
    leader: str | None = None
    unit: str | None = None
    owner: str | None = None
    deadline: dt.date | None = None
    kind: str = "time_bound"
    state: str = "assigned"
    account: str | None = None
    several: dict = field(default_factory=dict)  # cells that named several people/units, kept verbatim
    account_continued: bool = False  # the 落实情况 cell is merged down from an earlier row
    extra: dict = field(default_factory=dict)  # cells with no column of their own: {header: text}, in column order
    milestones: list = field(default_factory=list)  # [(date, what)] when the deadline cell held several

    @property
    def number(self) -> int:
        """``seq`` of a read ledger: reading gives every measure one (see ``_number``)."""
        assert self.seq is not None, f"{self.sheet}!{self.row}: the measure was not numbered"
        return self.seq


@dataclass
class ProblemIn:
    sheet: str
    row: int
    no: int | None
    text: str
    part: str  # key into LedgerIn.parts
    category: str | None  # key into PartIn.categories
    account: str | None = None
    amount_involved: Decimal | None = None
    amount_recovered: Decimal | None = None
    measures: list[MeasureIn] = field(default_factory=list)
    no_merged: bool = False
    counters: list[int] = field(default_factory=list)  # plain 序号 integers of its rows


@dataclass
class CategoryIn:
    no: int | None
    title: str


@dataclass
class PartIn:
    no: int | None
    title: str
    sheet: str
    row: int
    categories: dict[str, CategoryIn] = field(default_factory=dict)


@dataclass
class LedgerIn:
    """A ledger file as read and checked, not yet matched against the database."""

    name: str
    title: str | None = None
    parts: dict[str, PartIn] = field(default_factory=dict)
    problems: list[ProblemIn] = field(default_factory=list)
    sheets: list[str] = field(default_factory=list)
    skipped_sheets: list[str] = field(default_factory=list)
    ignored_columns: dict[str, list[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    unmapped_columns: list[str] = field(default_factory=list)  # headers kept on the measures, in order
    columns: dict[str, list[dict]] = field(default_factory=dict)  # sheet → [{column, header, field}]
    mapping: dict[str, str] = field(default_factory=dict)  # the office's header → field overrides applied

    @property
    def measure_count(self) -> int:
        return sum(len(p.measures) for p in self.problems)


# --- the rows -------------------------------------------------------------------------

@dataclass
class ReadState:
    """What carries from row to row (and sheet to sheet): the current part, category and problem."""

    part_key: str | None = None
    category_key: str | None = None
    problem: ProblemIn | None = None
    counter_sheets: set = field(default_factory=set)
    sheet_problems: dict = field(default_factory=lambda: defaultdict(list))


def _part(led: LedgerIn, text: str, sheet: str, row: int, issues: list[Issue], col: int | None) -> str:
    no, title = split_part(text)
    title = title or text.strip()
    key = text_key(title)
    have = led.parts.get(key)
    if have is None:
        for other in led.parts.values():
            if no is not None and other.no == no:
                issues.append(issue_at(sheet, row, col, f"方面编号重复 (duplicate part number {no}): "
                                                        f"{title!r} and {other.title!r}", "方面"))
        led.parts[key] = PartIn(no, title, sheet, row)
    elif no is not None and have.no is None:
        have.no = no
    return key


def _category(part: PartIn, text: str) -> str:
    no, title = split_category(text)
    key = text_key(title)
    if key not in part.categories:
        part.categories[key] = CategoryIn(no, title)
    return key


def _section_row(sh: Sheet, r: int, measure_col: int) -> str | None:
    """The text of a section row: one value alone on the row, or one value merged across it.

    A lone value in the measure column is a measure, not a section.
    """
    row = sh.rows[r - 1]
    vals = [(c, v) for c, v in enumerate(row, 1) if v is not None and str(v).strip()]
    if len(vals) != 1:
        return None
    c, v = vals[0]
    across = sh.merges.top_left(r, c + 1) == (r, c)
    if c == measure_col and not across:
        return None
    for cc in range(1, len(row) + 1):
        corner = sh.merges.top_left(r, cc)
        if corner is not None and corner != (r, c) and corner[0] == r:
            return None
    return str(v).strip()


class SheetReader:
    """Reads the data rows of one sheet under its header into the ledger tree.

    Three shapes: problems with their measures (问题 and 整改措施 columns), problems only (each row
    a problem that is its own measure), measures only (each row its own problem, or grouped by a
    problem number: 序号 ``1.2`` or a 问题编号 column).
    """

    def __init__(self, sh: Sheet, hdr: Header, led: LedgerIn, st: ReadState, issues: list[Issue]):
        self.sh, self.hdr, self.led, self.st, self.issues = sh, hdr, led, st, issues
        self.cols = hdr.cols
        self.name = sh.title
        self.label = {f: hdr.labels.get(c, FIELD_LABELS.get(f)) for f, c in hdr.cols.items()}
        if "measure" in self.cols:
            self.mode = "both" if "problem" in self.cols else "measures"
        else:
            self.mode = "problems"
        self.text_field = "problem" if self.mode == "problems" else "measure"
        self.year = year_in(hdr.title, led.title, sh.title, led.name)

    def cell(self, r: int, f: str) -> tuple[object, bool]:
        return self.sh.get(r, self.cols.get(f))

    def problem_issue(self, r: int, f: str, reason: str) -> None:
        self.issues.append(issue_at(self.name, r, self.cols.get(f), reason, self.label.get(f)))

    def check_header(self) -> bool:
        """Record the header's own problems; False if the sheet cannot be read."""
        hdr, name = self.hdr, self.name
        if "problem" not in self.cols and "measure" not in self.cols:
            self.issues.append(Issue(name, hdr.row, None, f"缺少表头 (missing header): 问题 或 整改措施 (问题 or "
                                                          f"整改措施); found {'、'.join(hdr.labels.values())}"))
            return False
        for f, c1, c2 in hdr.dupes:
            self.issues.append(issue_at(name, hdr.row, c2, f"重复的列 (two columns for {FIELD_LABELS[f]}: also "
                                                           f"column {issue_at(None, None, c1, '').column})",
                                        FIELD_LABELS[f]))
        if hdr.ignored:
            self.led.ignored_columns[name] = hdr.ignored
        if hdr.title and self.led.title is None:
            self.led.title = hdr.title
        for header in hdr.kept.values():
            self._unmapped(header)
        self.led.warnings.extend(hdr.notes)
        self.led.columns[name] = describe(hdr)
        return True

    def _unmapped(self, header: str) -> None:
        if header not in self.led.unmapped_columns:
            self.led.unmapped_columns.append(header)

    def read(self) -> None:
        if not self.check_header():
            return
        self.st.problem = None
        self.st.category_key = None if "category" not in self.cols else self.st.category_key
        for r in range(self.hdr.row + 1, len(self.sh.rows) + 1):
            if self.sh.blank(r) and not any(self.sh.merges.top_left(r, c) for c in self.cols.values()):
                continue
            self.row(r)
            if len(self.issues) >= MAX_ISSUES:
                return
        self.finish()

    def section(self, r: int, text: str | None, cont: bool) -> tuple[bool, str | None]:
        """(consumed, section text): a section row sets the part or the category."""
        sh, st, col = self.sh, self.st, self.cols[self.text_field]
        section = _section_row(sh, r, col)
        if section is None:
            return False, None
        spans = text == section and not cont and cell_text(sh.raw(r, col)) is None
        if split_part(section)[0] is not None or (spans and split_category(section)[0] is None):
            st.part_key = _part(self.led, section, self.name, r, self.issues, None)
            st.category_key = st.problem = None
            return True, section
        if split_category(section)[0] is not None and st.part_key is not None:
            st.category_key = _category(self.led.parts[st.part_key], section)
            st.problem = None
            return True, section
        return False, section

    def locate(self, r: int) -> None:
        """The part and category of row ``r``."""
        st = self.st
        part_v, _ = self.cell(r, "part")
        part_text = cell_text(part_v)
        if part_text:
            st.part_key = _part(self.led, part_text, self.name, r, self.issues, self.cols.get("part"))
        elif st.part_key is None:
            st.part_key = _part(self.led, DEFAULT_PART, self.name, r, self.issues, None)
        cat_v, _ = self.cell(r, "category")
        if "category" in self.cols:
            cat_text = cell_text(cat_v)
            st.category_key = _category(self.led.parts[st.part_key], cat_text) if cat_text else None

    def row(self, r: int) -> None:
        v, cont = self.cell(r, self.text_field)
        text = cell_text(v)
        consumed, section = self.section(r, text, cont)
        if consumed:
            return
        cur = self.st.problem
        if self.mode != "problems" and cont and cur is not None and cur.measures and cur.measures[-1].text == text:
            return  # a measure merged over several rows is one measure
        if not text:
            col = self.cols.get("problem") if self.mode == "both" else None
            if section is not None and not (col and cell_text(self.sh.raw(r, col)) == section):
                self.led.warnings.append(f"{self.name}!{r}: 忽略说明行 (note row ignored): {section[:40]}")
                return
            label = FIELD_LABELS[self.text_field]
            self.problem_issue(r, self.text_field, f"缺少{label} (missing {label})")
            return
        self.locate(r)
        no_v, pno, mseq, counter = self.numbers(r)
        cur = self.problem_of(r, pno, mseq, text, cont)
        if cur is None:
            return
        if counter and pno is not None:  # a plain counter is a number
            cur.counters.append(pno)
        cur.measures.append(self.measure(r, cur, text, no_v, pno, mseq))

    def numbers(self, r: int) -> tuple[object, int | None, int | None, bool]:
        """(序号 cell, problem number, measure number, the cell is a plain counter) of row ``r``."""
        no_v, no_cont = self.cell(r, "no")
        try:
            pno, mseq = parse_no(no_v)
        except ValueError as e:
            self.problem_issue(r, "no", str(e))
            pno, mseq = None, None
        if "problem_no" not in self.cols:
            return no_v, pno, mseq, no_v is not None and not no_cont and mseq is None and pno is not None
        pv, _ = self.cell(r, "problem_no")
        try:
            own_no = parse_no(pv)[0]
        except ValueError as e:
            self.problem_issue(r, "problem_no", str(e))
            own_no = None
        return no_v, own_no, (mseq if mseq is not None and pno == own_no else None), False

    def _starts_problem(self, cur: ProblemIn | None, ptext: str | None, pcont: bool, pno, mseq) -> bool:
        st = self.st
        if cur is None:
            return True
        if self.mode == "measures":
            return pno is None or pno != cur.no or cur.part != st.part_key
        if pcont:
            return False
        if self.mode == "problems":
            return True
        if ptext and (text_key(ptext) != text_key(cur.text) or cur.part != st.part_key):
            return True
        return bool(ptext and mseq is not None and pno is not None and cur.no is not None and pno != cur.no)

    def problem_of(self, r: int, pno: int | None, mseq: int | None, text: str, cont: bool) -> ProblemIn | None:
        """The problem row ``r`` belongs to: the current one, or a new one it starts."""
        st = self.st
        if self.mode == "both":
            problem_v, pcont = self.cell(r, "problem")
            ptext = cell_text(problem_v)
        else:  # a problem that is its own measure, or a measure that is its own problem
            ptext, pcont = text, (cont if self.mode == "problems" else False)
        cur = st.problem
        if not self._starts_problem(cur, ptext, pcont, pno, mseq):
            return cur
        if not ptext:
            self.problem_issue(r, "problem", "缺少问题 (missing 问题)")
            return None
        assert st.part_key is not None  # row() locates the row's part before it asks for its problem
        cur = ProblemIn(self.name, r, pno, ptext, st.part_key, st.category_key)
        cur.no_merged = bool(self.cols.get("no") and self.sh.merges.spans_rows(r, self.cols["no"]))
        pa, _ = self.cell(r, "problem_account")
        cur.account = cell_text(pa)
        for f in ("amount_involved", "amount_recovered"):
            v, _ = self.cell(r, f)
            try:
                setattr(cur, f, parse_amount(v, self.hdr.wan.get(f, False)))
            except ValueError as e:
                self.problem_issue(r, f, str(e))
        st.problem = cur
        self.led.problems.append(cur)
        st.sheet_problems[self.name].append(cur)
        return cur

    def measure(self, r: int, cur: ProblemIn, text: str, no_v, pno: int | None, mseq: int | None) -> MeasureIn:
        """The measure of row ``r``: people, deadline, state, kind, account and kept cells, each checked."""
        m = MeasureIn(self.name, r, mseq if (mseq is not None and (pno is None or cur.no is None or pno == cur.no))
                      else None, text)
        if mseq is not None and cur.no is not None and pno is not None and pno != cur.no:
            self.problem_issue(r, "no", f"序号与问题不符 (序号 {no_v} does not belong to problem {cur.no})")
        kept: list[tuple[int, str, str]] = []  # (column, key, text) for measures.extra
        for f in ("leader", "unit", "owner"):
            v, _ = self.cell(r, f)
            first, several = names_in(v)
            setattr(m, f, first)
            if several:
                m.several[f] = several
                kept.append((self.cols[f], FIELD_LABELS[f], several))
        kind_hint = self.deadline(r, m, kept)
        v, m.account_continued = self.cell(r, "account")
        m.account = cell_text(v)
        status_long = self.status(r, m)
        v, _ = self.cell(r, "kind")
        try:
            kind = parse_kind(v)
        except ValueError as e:
            self.problem_issue(r, "kind", str(e))
            kind = None
        m.kind = kind or kind_hint or ("long_term" if status_long else "time_bound")
        m.extra = self.extra(r, kept)
        return m

    def deadline(self, r: int, m: MeasureIn, kept: list) -> str | None:
        """Set the deadline (the last of several milestones); return the kind the cell names, if any."""
        v, _ = self.cell(r, "deadline")
        try:
            milestones = parse_milestones(v, self.year)
            if milestones:
                m.milestones = milestones
                m.deadline = milestones[-1][0]
                kept.append((self.cols["deadline"], FIELD_LABELS["deadline"], cell_text(v)))
                return None
            m.deadline, kind_hint = parse_deadline(v, self.year)
            return kind_hint
        except ValueError as e:
            self.problem_issue(r, "deadline", str(e))
            return None

    def status(self, r: int, m: MeasureIn) -> bool:
        """Set the state from the status cell (or the account's leading word); True if it says long-term."""
        if self.hdr.status_in_account:
            m.state, long_term = leading_status(m.account) or ("assigned", False)
            return long_term
        v, _ = self.cell(r, "status")
        try:
            m.state, long_term = parse_status(v)
            return long_term
        except ValueError as e:
            self.problem_issue(r, "status", str(e))
            return False

    def extra(self, r: int, kept: list[tuple[int, str, str]]) -> dict:
        """The cells of row ``r`` that have no column of their own, under their headers, in column order."""
        from openpyxl.utils import get_column_letter

        for f in KEPT_FIELDS:
            text = cell_text(self.cell(r, f)[0])
            if text:
                kept.append((self.cols[f], FIELD_LABELS[f], text))
        for c in range(1, max(len(self.sh.rows[r - 1]), max(self.hdr.kept, default=0)) + 1):
            if c in self.hdr.labels:
                continue
            text = cell_text(self.sh.own(r, c))
            if not text:
                continue
            if c not in self.hdr.kept:  # data under no header at all: kept under its column letter
                self.hdr.kept[c] = f"{get_column_letter(c)}列"
                self._unmapped(self.hdr.kept[c])
            kept.append((c, self.hdr.kept[c], text))
        out: dict[str, str] = {}
        for _c, key, text in sorted(kept, key=lambda k: k[0]):
            name, n = key, 1
            while name in out:
                n += 1
                name = f"{key}（{n}）"
            out[name] = text
        return out

    def finish(self) -> None:
        """A 落实情况 cell merged over all of a problem's rows is the problem's published account."""
        for p in self.st.sheet_problems[self.name]:
            ms = p.measures
            if len(ms) > 1 and all(x.account_continued for x in ms[1:]) and ms[0].account:
                if p.account is None:
                    p.account = ms[0].account
                for x in ms:
                    x.account = None
            if len(p.counters) >= 2 and not p.no_merged and len(set(p.counters)) == len(p.counters):
                self.st.counter_sheets.add(self.name)

def _number(led: LedgerIn, st: ReadState, issues: list[Issue]) -> None:
    """Problem numbers and measure sequence numbers; duplicates are refused."""
    seen: dict[int, ProblemIn] = {}
    for p in led.problems:
        if p.sheet in st.counter_sheets:
            p.no = None  # the 序号 column counts rows, not problems
            for m in p.measures:
                m.seq = None
        if p.no is not None:
            if p.no in seen:
                other = seen[p.no]
                issues.append(Issue(p.sheet, p.row, None, f"序号重复 (duplicate 序号 {p.no}: problem also at "
                                                          f"{other.sheet}!{other.row})", "序号"))
            else:
                seen[p.no] = p
        used: dict[int, MeasureIn] = {}
        explicit = {m.seq for m in p.measures if m.seq is not None}
        pos = 0
        for m in p.measures:
            if m.seq is None:
                pos += 1
                while pos in explicit or pos in used:
                    pos += 1
                m.seq = pos
            if m.seq in used:
                issues.append(Issue(m.sheet, m.row, None, f"序号重复 (duplicate 序号 {p.no or ''}.{m.seq}: measure "
                                                          f"also at row {used[m.seq].row})", "序号"))
            used[m.seq] = m


def read_sheets(sheets: list[Sheet], name: str, mapping: dict[str, str] | None = None) -> LedgerIn:
    """The ledger tree of loaded sheets, headers looked up through ``mapping`` ({header: field}) first;
    raise :class:`LedgerImportError` listing every problem found."""
    try:
        norm = normalize_mapping(mapping)
        given = {str(h).strip(): mapping_field(f) for h, f in (mapping or {}).items()}
    except ValueError as e:
        raise LedgerImportError(str(e)) from None
    led = LedgerIn(name=name, mapping=given)
    issues: list[Issue] = []
    found_any = False
    state = ReadState()
    for sh in sheets:
        hdr = find_header(sh, norm)
        if hdr is None:
            led.skipped_sheets.append(sh.title)
            continue
        found_any = True
        led.sheets.append(sh.title)
        SheetReader(sh, hdr, led, state, issues).read()
        if len(issues) >= MAX_ISSUES:
            break
    if not found_any:
        raise LedgerImportError([Issue(sheets[0].title, None, None,
                                       "缺少表头：前 30 行中没有含“问题”或“整改措施”的表头行 (missing header: no row "
                                       "names 问题 or 整改措施 with other columns; expected headers such as 序号, 方面, "
                                       "问题, 整改措施, 责任领导, 责任单位, 责任人, 完成时限, 整改进度)")])
    if not issues:
        _number(led, state, issues)
    if issues:
        raise LedgerImportError(issues[:MAX_ISSUES])
    if not led.problems:
        raise LedgerImportError([Issue(led.sheets[0], None, None, "表中没有任何整改措施 (no measures in the file)")])
    return led


def read_ledger(path: str | Path, mapping: dict[str, str] | None = None) -> LedgerIn:
    """Read and check a ledger file; raise :class:`LedgerImportError` listing every problem found."""
    path = Path(path)
    return read_sheets(load_sheets(path), path.name, mapping)
