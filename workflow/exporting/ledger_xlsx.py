"""The ledger as .xlsx, in the layout the importer reads, written with constant memory.

:func:`export_ledger` writes a summary sheet and one sheet per part with XlsxWriter in its
``constant_memory`` mode (each row goes to disk as the next begins), reading the ledger in batches:
a frozen header, filters, column widths, a problem's cells merged over its measures, and
red/yellow/green fills by light. Every combination of font, fill, alignment and format is one
format object made once. A part longer than a sheet goes on in continuation sheets. Labels come
from :mod:`workflow.vocabulary`. Text a person typed is always written as text: a cell beginning
with ``=`` is never a formula.
"""
from __future__ import annotations

import datetime as dt
import re
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from .. import db, outfile, spec, workdays
from ..clock import utcnow
from ..effects import Refused
from ..models import Category, Measure, Part, Problem, User
from ..vocabulary import KIND_LABELS, LIGHT_LABELS, STATE_LABELS, cn_numeral

M = Measure.__table__
EXPORT_COLUMNS = (
    ("no", "序号", 8), ("part", "方面", 22), ("category", "分类", 22), ("problem", "问题", 48),
    ("measure", "整改措施", 48), ("leader", "责任领导", 12), ("unit", "责任单位", 16), ("owner", "责任人", 12),
    ("deadline", "完成时限", 13), ("kind", "整改类型", 11), ("status", "整改进度", 11), ("light", "预警", 9),
    ("account", "落实情况", 48), ("problem_account", "问题落实情况", 48),
    ("amount_involved", "涉及金额（元）", 14), ("amount_recovered", "退还/追缴金额（元）", 16),
)
EXTRA_WIDTH = 20
# a kept cell under one of these headers is the whole cell of a standard column (several leaders,
# several milestones): written into that column instead of the value the ledger resolved from it
IN_PLACE = {"leader": "责任领导", "unit": "责任单位", "owner": "责任人", "deadline": "完成时限"}
MERGED_COLUMNS = ("part", "category", "problem", "problem_account", "amount_involved", "amount_recovered")
LIGHT_FILL = {"red": "FFC7CE", "yellow": "FFEB9C", "green": "C6EFCE", "done": "C6EFCE"}
LIGHTS = ("red", "yellow", "green", "done")
SUMMARY_SHEET = "汇总"
# characters XML 1.0 forbids (control characters left by PDF extraction): dropped from text cells
ILLEGAL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
SHEET_ROWS = 1_048_576  # Excel's rows per sheet: a part beyond it goes on in a continuation sheet


def sheet_name(no: int, title: str, used: set) -> str:
    """A sheet name for part ``no`` (at most 31 characters, none Excel forbids), unique in ``used``."""
    base = re.sub(r"[\[\]:*?/\\]", "", f"{cn_numeral(no)}、{title}")[:31] or f"第{no}部分"
    name, n = base, 1
    while name.lower() in used:
        n += 1
        suffix = f"({n})"
        name = base[:31 - len(suffix)] + suffix
    used.add(name.lower())
    return name


class Sheet:
    """One worksheet written row after row: ``append`` a list of ``(value, format)`` cells."""

    def __init__(self, ws):
        self.ws, self.title, self.rows = ws, ws.name, 0

    def append(self, cells: list) -> None:
        ws, row = self.ws, self.rows
        for col, (value, fmt) in enumerate(cells):
            if value is None:
                ws.write_blank(row, col, None, fmt)
            elif isinstance(value, str):
                ws.write_string(row, col, ILLEGAL_CHARACTERS.sub("", value), fmt)  # never a formula
            elif isinstance(value, dt.date):
                ws.write_datetime(row, col, value, fmt)
            elif isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
                ws.write_number(row, col, float(value), fmt)
            else:
                ws.write_string(row, col, str(value), fmt)
        self.rows += 1

    def merge(self, first_row: int, col: int, last_row: int, last_col: int | None = None) -> None:
        """Merge a range (rows and columns from 1) whose cells are already written: recorded, not rewritten."""
        self.ws.merge.append([first_row - 1, col - 1, last_row - 1, (last_col or col) - 1])


class Styles:
    """The export's cell formats: one XlsxWriter format per combination of font, fill, alignment and
    number format, made the first time it is asked for."""

    def __init__(self, wb):
        self.wb = wb
        self.border = {"border": 1, "border_color": "#999999"}
        self.head_font = {"font_name": "黑体", "bold": True}
        self.title_font = {"font_name": "方正小标宋简体", "font_size": 16}
        self.wrap = {"text_wrap": True, "valign": "top"}
        self.center = {"align": "center", "valign": "vcenter", "text_wrap": True}
        self.head_fill = {"pattern": 1, "bg_color": "#D9E1F2"}
        self.fills = {k: {"pattern": 1, "bg_color": f"#{v}"} for k, v in LIGHT_FILL.items()}
        self.formats: dict[tuple, object] = {}

    def cell(self, ws, value, font=None, fill=None, align=None, fmt=None, bordered=True) -> tuple:
        """A ``(value, format)`` cell in the format of this combination."""
        key = (id(font), id(fill), id(align), fmt, bordered)
        f = self.formats.get(key)
        if f is None:
            props: dict = {}
            for part in (font, fill, align, self.border if bordered else None):
                props.update(part or {})
            if fmt:
                props["num_format"] = fmt
            f = self.formats[key] = self.wb.add_format(props)
        return (value, f)

    def head(self, ws, text: str) -> tuple:
        return self.cell(ws, text, font=self.head_font, fill=self.head_fill, align=self.center)


class PartSheets:
    """The sheets of the parts, written row by row; a problem's cells are merged over its measures."""

    def __init__(self, wb, styles: Styles, plan_title: str, columns: tuple = EXPORT_COLUMNS,
                 sheet_rows: int = SHEET_ROWS):
        self.wb, self.st, self.plan_title, self.columns = wb, styles, plan_title, columns
        self.sheet_rows = sheet_rows
        self.sizes: dict[int, int] = {}  # measures per problem (set by the export)
        self.ws: Sheet | None = None
        self.sheets: list[Sheet] = []
        self.used = {SUMMARY_SHEET.lower()}
        self.cur_part: int | None = None
        self.cur_problem: int | None = None
        self.first_row = self.row_idx = 0
        self.merges_out = 0
        self.money = False
        self.col_of = {f: i for i, (f, _h, _w) in enumerate(columns)}

    def close_problem(self) -> None:
        """Merge the finished problem's cells (written already: the merge is only recorded)."""
        if self.ws is None or self.cur_problem is None or self.row_idx <= self.first_row:
            return
        for f in MERGED_COLUMNS:
            if f.startswith("amount") and not self.money:
                continue
            self.ws.merge(self.first_row, self.col_of[f] + 1, self.row_idx)
            self.merges_out += 1

    def close_sheet(self) -> None:
        self.close_problem()
        if self.ws is not None:
            self.ws.ws.autofilter(1, 0, max(self.row_idx, 2) - 1, len(self.columns) - 1)

    def open_sheet(self, part_no: int, part_title: str) -> None:
        self.close_sheet()
        self.cur_part, self.cur_problem = part_no, None
        raw = self.wb.add_worksheet(sheet_name(part_no, part_title, self.used))
        ws = self.ws = Sheet(raw)
        self.sheets.append(ws)
        for i, (_f, _h, width) in enumerate(self.columns):
            raw.set_column(i, i, width)
        raw.freeze_panes(2, 4)  # E3
        raw.repeat_rows(1)  # the header on every printed page
        raw.set_landscape()
        raw.set_paper(9)  # A4
        ws.append([self.st.cell(ws, self.plan_title, font=self.st.title_font, align=self.st.center,
                                bordered=False)])
        ws.merge(1, 1, 1, len(self.columns))
        ws.append([self.st.head(ws, h) for _f, h, _w in self.columns])
        self.row_idx = 2

    def add(self, r, light: str, names: dict[str, str]) -> None:
        """Append the row of measure ``r`` (opening its part's sheet and closing a finished problem)."""
        if r.part != self.cur_part or (r.problem_id != self.cur_problem
                                        and self.row_idx + self.sizes.get(r.problem_id, 1) > self.sheet_rows):
            # a part that would pass the sheet's last row goes on in "…(2)" with the title and header
            # again; a problem is never split, so each sheet reads on its own and imports back
            self.open_sheet(r.part, r.part_title)
        assert self.ws is not None  # opened above: a part's number is never None, so the first row opens one
        new_problem = r.problem_id != self.cur_problem
        if new_problem:
            self.close_problem()
            self.cur_problem, self.first_row = r.problem_id, self.row_idx + 1
            self.money = r.amount_involved is not None or r.amount_recovered is not None
        self.row_idx += 1
        values = row_values(self.ws, self.st, r, light, names, new_problem)
        extra = r.extra or {}
        self.ws.append([values[f] if f in values else self.st.cell(self.ws, extra.get(h), align=self.st.wrap)
                        for f, h, _w in self.columns])


def _first_name(text: str) -> str | None:
    from ..importing.ledger_vocab import names_in

    return names_in(text)[0]


def in_place(r, names: dict[str, str]) -> dict:
    """The leader, unit and owner cells of row ``r``, and its deadline cell when the ledger kept one.

    A kept cell naming several people or units is written whole while its first name is still the
    one in charge; a kept cell of milestones while the deadline in force is still the last of them.
    """
    extra = r.extra or {}
    out = {"leader": names.get(r.leader) if r.leader else None, "unit": r.unit,
           "owner": names.get(r.owner) if r.owner else None}
    for f in ("leader", "unit", "owner"):
        whole = extra.get(IN_PLACE[f])
        if whole and out[f] and _first_name(whole) == out[f]:
            out[f] = whole
    milestones = extra.get(IN_PLACE["deadline"])
    if milestones and r.deadline is not None and _last_milestone(milestones, r.deadline.year) == r.deadline:
        out["deadline"] = milestones
    return out


def _last_milestone(text: str, year: int):
    from ..importing.ledger_dates import parse_milestones

    try:
        found = parse_milestones(text, year)
    except ValueError:
        return None
    return found[-1][0] if found else None


def merge_orders(orders) -> list[str]:
    """One order of every key of ``orders`` (lists of keys) that keeps each list's own order where it can:
    a new key goes before the next key of its list already placed, else after the one before it."""
    out: list[str] = []
    for keys in orders:
        for i, key in enumerate(keys):
            if key in out:
                continue
            after = next((k for k in keys[i + 1:] if k in out), None)
            before = next((k for k in reversed(keys[:i]) if k in out), None)
            if after is not None:
                out.insert(out.index(after), key)
            elif before is not None:
                out.insert(out.index(before) + 1, key)
            else:
                out.append(key)
    return out


def extra_columns(conn, plan_id: int) -> tuple:
    """The export's columns: the standard ones, then one per header the plan's measures kept, in the order
    of the file they came from."""
    q = (select(M.c.extra).join(Problem, Problem.id == M.c.problem_id)
         .where(Problem.plan_id == plan_id, M.c.extra.is_not(None)).order_by(Problem.no, M.c.seq))
    orders, seen = [], set()
    for (extra,) in conn.execute(q):
        keys = tuple(extra or {})
        if keys and keys not in seen:
            seen.add(keys)
            orders.append(list(keys))
    standard = {h for _f, h, _w in EXPORT_COLUMNS}
    return EXPORT_COLUMNS + tuple((f"extra:{k}", k, EXTRA_WIDTH) for k in merge_orders(orders) if k not in standard)


def row_values(ws, st: Styles, r, light: str, names: dict[str, str], new_problem: bool) -> dict:
    """The cells of one measure's row, by field; a problem's own cells only on its first row."""
    fill = st.fills[light]
    if r.deadline is not None:
        deadline = st.cell(ws, r.deadline, fill=fill, align=st.center, fmt="yyyy-mm-dd")
    else:
        deadline = st.cell(ws, KIND_LABELS.get(r.kind) if r.kind != "time_bound" else None, fill=fill,
                           align=st.center)
    first = {
        "part": f"{cn_numeral(r.part)}、{r.part_title}",
        "category": f"{r.cat_no}. {r.cat_title}" if r.cat_title else None,
        "problem": r.problem_text, "problem_account": r.problem_account,
    }
    money = {f: st.cell(ws, getattr(r, f), align=st.wrap, fmt="#,##0.00")
             for f in ("amount_involved", "amount_recovered") if new_problem and getattr(r, f) is not None}
    people = in_place(r, names)
    if "deadline" in people:
        deadline = st.cell(ws, people.pop("deadline"), fill=fill, align=st.center)
    plain = {
        "measure": r.text, "account": r.account, **people,
        **{f: (v if new_problem else None) for f, v in first.items()},
    }
    cells = {f: st.cell(ws, v, align=st.wrap) for f, v in plain.items()}
    cells.update(money)
    cells.update({
        "no": st.cell(ws, f"{r.problem_no}.{r.seq}", align=st.center),
        "deadline": deadline,
        "kind": st.cell(ws, KIND_LABELS.get(r.kind, r.kind), align=st.center),
        "status": st.cell(ws, STATE_LABELS.get(r.state, r.state), fill=fill, align=st.center),
        "light": st.cell(ws, LIGHT_LABELS[light], fill=fill, align=st.center),
    })
    for f in ("amount_involved", "amount_recovered"):
        cells.setdefault(f, st.cell(ws, None, align=st.wrap))
    return cells


class Tally:
    """Counts for the summary sheet: by state, by light, and by unit."""

    def __init__(self):
        self.state: Counter[str] = Counter()
        self.light: Counter[str] = Counter()
        self.by_unit: dict[str, Counter] = defaultdict(Counter)
        self.rows = 0

    def add(self, r, light: str) -> None:
        self.state[r.state] += 1
        self.light[light] += 1
        u = self.by_unit[r.unit or "（未指定）"]
        u["total"] += 1
        u[light] += 1
        u["closed" if r.state == "closed" else "open"] += 1
        self.rows += 1


def write_summary(ws, st: Styles, plan_title: str, now: dt.datetime, today: dt.date, problems: int,
                  tally: Tally) -> None:
    """The summary sheet: totals, measures by state, by light and by unit."""
    for i, width in enumerate((22, 12, 12, 12, 10, 10, 10)):
        ws.ws.set_column(i, i, width)
    ws.ws.freeze_panes(3, 0)  # A4
    c = st.cell
    ws.append([c(ws, f"{plan_title} · 整改台账汇总", font=st.title_font, bordered=False)])
    ws.append([c(ws, f"导出时间 {workdays.local_today(now).isoformat()}（统计口径：{today.isoformat()}）",
                 bordered=False)])
    ws.append([])
    ws.append([st.head(ws, h) for h in ("合计", "数量")])
    ws.append([c(ws, "问题"), c(ws, problems)])
    ws.append([c(ws, "整改措施"), c(ws, tally.rows)])
    ws.append([])
    ws.append([st.head(ws, h) for h in ("状态", "措施数")])
    for state in spec.STATES:
        ws.append([c(ws, STATE_LABELS[state]), c(ws, tally.state.get(state, 0))])
    ws.append([])
    ws.append([st.head(ws, h) for h in ("预警", "措施数")])
    for lt in LIGHTS:
        ws.append([c(ws, LIGHT_LABELS[lt], fill=st.fills[lt]), c(ws, tally.light.get(lt, 0), fill=st.fills[lt])])
    ws.append([])
    ws.append([st.head(ws, h) for h in ("责任单位", "措施数", "已销号", "未销号", LIGHT_LABELS["red"],
                                        LIGHT_LABELS["yellow"], LIGHT_LABELS["green"])])
    for unit in sorted(tally.by_unit):
        u = tally.by_unit[unit]
        ws.append([c(ws, unit)] + [c(ws, u.get(k, 0)) for k in ("total", "closed", "open", "red", "yellow",
                                                                 "green")])


def problem_sizes(conn, plan_id: int, per_sheet: int) -> dict[int, int]:
    """Measures per problem of the plan; Refused if one problem alone has more than a sheet holds."""
    sizes = dict(conn.execute(select(M.c.problem_id, func.count()).join(Problem, Problem.id == M.c.problem_id)
                              .where(Problem.plan_id == plan_id).group_by(M.c.problem_id)).all())
    for pid, n in sizes.items():
        if n > per_sheet:
            no = conn.execute(select(Problem.no).where(Problem.id == pid)).scalar()
            raise Refused("sheet_too_long", f"问题{no}有 {n} 条措施，超过一个工作表能容纳的 {per_sheet} 行 "
                                            f"(problem {no} has {n} measures, more than the {per_sheet} rows a sheet holds)")
    return sizes


def ledger_query(plan_id: int):
    from ..readmodels import items_query

    return (items_query(plan_id=plan_id)
            .add_columns(Problem.text.label("problem_text"), Problem.account.label("problem_account"),
                         Problem.amount_involved, Problem.amount_recovered, Problem.id.label("problem_id"),
                         Part.title.label("part_title"), Category.no.label("cat_no"),
                         Category.title.label("cat_title"), M.c.account.label("account"), M.c.extra)
            .outerjoin(Category, Category.id == Problem.category_id)
            .order_by(None).order_by(Part.no, Problem.no, M.c.seq))


def _counts(conn, plan_id: int, query) -> tuple[int, int]:
    """Measures and problems the export writes: the plan's, or those of the filtered ``query``."""
    if query is None:
        return (conn.execute(select(func.count()).select_from(M).join(Problem, Problem.id == M.c.problem_id)
                             .where(Problem.plan_id == plan_id)).scalar_one(),
                conn.execute(select(func.count()).select_from(Problem).where(Problem.plan_id == plan_id)).scalar_one())
    return (conn.execute(select(func.count()).select_from(
                query.with_only_columns(M.c.id).order_by(None).subquery())).scalar_one(),
            conn.execute(select(func.count()).select_from(
                query.with_only_columns(M.c.problem_id).order_by(None).distinct().subquery())).scalar_one())


def export_ledger(path: str | Path, *, plan_id: int | None = None, now: dt.datetime | None = None,
                  engine: Engine | None = None, progress: Callable[[int, int], None] | None = None,
                  batch: int = 1000, where=None, sheet_rows: int = SHEET_ROWS) -> dict:
    """Write the plan's ledger as .xlsx in the import layout, streaming; return counts.

    ``progress(done, total)`` is called every ``batch`` rows and at the end. ``where``: a condition
    on the ledger's rows (a filtered view, see :func:`workflow.readmodels.ledger.ledger_condition`);
    the summary then counts what was exported. A part with more rows than a sheet holds
    (``sheet_rows``, Excel's 1,048,576) is split over continuation sheets.
    """
    import xlsxwriter
    from xlsxwriter.exceptions import FileCreateError

    from ..stats import resolve_plan

    now = (now or utcnow()).replace(tzinfo=None)
    today = workdays.local_today(now)
    engine = engine or db.get_engine()
    # constant_memory keeps each sheet's rows in a temporary file until close: in a folder of our own,
    # removed whether the export finishes or fails half-way (no ledger rows left behind in /tmp)
    with outfile.atomic(path) as tmp, tempfile.TemporaryDirectory(prefix="rectify-export-") as scratch:
        wb = xlsxwriter.Workbook(str(tmp), {"constant_memory": True, "strings_to_formulas": False,
                                            "strings_to_urls": False, "strings_to_numbers": False,
                                            "tmpdir": scratch})
        summary_ws = Sheet(wb.add_worksheet(SUMMARY_SHEET))
        st = Styles(wb)
        tally = Tally()
        with db.read_tx(engine) as conn:
            plan = resolve_plan(conn, plan_id)
            names = {r.username: r.name for r in conn.execute(select(User.username, User.name))}
            query = ledger_query(plan.id)
            if where is not None:
                query = query.where(where)
            total, problems = _counts(conn, plan.id, query if where is not None else None)
            if progress:
                progress(0, total)
            sheets = PartSheets(wb, st, plan.title, extra_columns(conn, plan.id), sheet_rows=max(3, sheet_rows))
            sheets.sizes = problem_sizes(conn, plan.id, sheets.sheet_rows - 2)
            rules = None  # one plan: its ladder once
            for r in conn.execution_options(stream_results=True, yield_per=batch).execute(query):
                if rules is None:
                    rules = workdays.ladder(r.ladder)
                light, _level = workdays.light(r.state, r.deadline, today, rules)
                sheets.add(r, light, names)
                tally.add(r, light)
                if progress and tally.rows % batch == 0:
                    progress(tally.rows, total)
            sheets.close_sheet()
        write_summary(summary_ws, st, plan.title, now, today, problems, tally)
        if not sheets.sheets:
            empty = Sheet(wb.add_worksheet("台账"))
            empty.append([st.head(empty, h) for _f, h, _w in EXPORT_COLUMNS])
        titles = [ws.name for ws in wb.worksheets()]
        try:
            wb.close()
        except FileCreateError as e:  # XlsxWriter's wrapper of the OSError (a full disk): outfile names the file
            raise (e.args[0] if e.args and isinstance(e.args[0], OSError) else OSError(str(e))) from None
    if progress:
        progress(tally.rows, total)
    return {"file": str(path), "plan_id": plan.id, "rows": tally.rows, "problems": problems,
            "sheets": titles, "by_state": dict(tally.state),
            "by_light": dict(tally.light), "merged_ranges": sheets.merges_out}
