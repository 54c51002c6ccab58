"""Fuzzing the Excel ledger importer with random but plausible workbooks.

Hypothesis builds real .xlsx files with openpyxl: title rows, a header (sometimes over two
rows) drawn from the accepted vocabulary with decorations and unknown columns, data rows whose
cells take every type a spreadsheet holds (text, numbers, dates, times, booleans, formulas,
error strings, very long text), section rows, merged cells, extra sheets; and damaged archives
made from them. :func:`workflow.importing.read_ledger` and :func:`workflow.importing.import_ledger`
must answer with a ledger or a :class:`LedgerImportError` (never another exception); a refused
import writes nothing; importing the same file twice creates nothing the second time; the audit
chains hold. Each test is bounded to a few seconds.
"""
from __future__ import annotations

import datetime as dt
import io
import os
import shutil
import tempfile
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import (
    HealthCheck, Phase, assume, currently_in_test_context, event, given, note, settings, strategies as st,
)
from sqlalchemy import func, select

from workflow import audit, db, importing, planwriter
from workflow.importing import ledger_vocab
from workflow.models import Event, Measure, OrgUnit, Plan, Problem, User

# Shrinking a workbook takes minutes, so it is off unless RECTIFY_FUZZ_SHRINK=1: a failure shows
# the example as generated (as Python, see note()), which the regression tests below were made from.
PHASES = [Phase.explicit, Phase.reuse, Phase.generate] + (
    [Phase.shrink] if os.environ.get("RECTIFY_FUZZ_SHRINK", "") not in ("", "0") else [])
# The suite runs with a fixed seed (derandomize); RECTIFY_FUZZ_FRESH=1 explores with fresh ones.
FRESH = os.environ.get("RECTIFY_FUZZ_FRESH", "") not in ("", "0")
BOUNDED = settings(max_examples=50, deadline=None, database=None, phases=PHASES, derandomize=not FRESH,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
NOW = dt.datetime(2026, 11, 30, 2, 0)


def outcome(name: str) -> None:
    """Count an outcome in Hypothesis' statistics (a no-op in the plain regression tests)."""
    if currently_in_test_context():
        event(name)


HEADER_FIELDS = list(ledger_vocab.HEADERS)
JUNK_HEADERS = ["备注", "Remarks", "联系电话", "牵头处室（盖章）", "", "序号序号", "问题及措施", "整改措施问题"]
NAMES = ["水利局", "住建局", "发改局", "区防办", "王局长", "李主任", "leader1", "owner1", "张三", "Ｘ局", "某某某 ",
         "县领导甲、县领导乙", "水利局；住建局"]
TEXTS = ["学习贯彻不及时", "整改措施：建立长效机制", "一是加强学习；二是完善制度。", "问题 1：落实不到位",
         "责任意识不够强方面", "2023年3月底前完成", "已完成", "正在整改", "——", "  ", "\u3000", "一、二、三"]
STATUS = list(ledger_vocab.STATUS_WORDS) + ["已完成，长期坚持", "搁置", "unknown", "完成 ", "已完成。"]
KINDS = list(ledger_vocab.KIND_WORDS) + ["随时整改", "其他"]
DEADLINES = ["2023年3月底前", "2023.3.15", "2023-03-15", "20230315", "立行立改", "长期坚持", "2023年上半年",
             "2023年第二季度", "2023年12月", "本月底", "2023年2月30日", "9999年1月1日", "0000.00.00", "3月底",
             "3月：完成摸排\n6月底前：整改到位", "2024年3月：甲；5月：乙", "11月：甲\n2月：乙", "1. 3月底前\n2. 持续"]
NUMBERS = ["1", "1.2", "1-2", "一", "（一）", "1.", "01", "1.2.3", "-1", "0", "10000000", "问题1"]
AMOUNTS = ["12.5万元", "1,234.56", "3万", "-5", "约10万元", "¥100", "1e9", "0.001"]


VALID = {
    "no": ["1", "2", "3", "1.1", "1.2", "2-1", 1, 2, 3],
    "status": list(ledger_vocab.STATUS_WORDS) + ["", None],
    "kind": list(ledger_vocab.KIND_WORDS) + [None],
    "deadline": ["2023年3月底前", "2023.3.15", "2023-03-15", "立行立改", "长期坚持", "2023年上半年", "2023年12月",
                 dt.date(2023, 6, 30), dt.datetime(2023, 9, 1), None, "2024年3月：摸排\n6月底前：整改"],
    "amount_involved": ["12.5", 1234.56, 30000, None], "amount_recovered": ["3", 100, None],
    "leader": NAMES, "unit": NAMES, "owner": NAMES,
}


def plausible(field: str, valid_only: bool = False):
    """A value a person might type under ``field`` (with ``valid_only``, one the importer accepts)."""
    if field in ("problem", "measure"):
        return st.sampled_from([t for t in TEXTS if t.strip()])
    if valid_only:
        return st.sampled_from(VALID.get(field, TEXTS))
    pools = {"no": NUMBERS, "status": STATUS, "kind": KINDS, "deadline": DEADLINES,
             "leader": NAMES, "unit": NAMES, "owner": NAMES, "amount_involved": AMOUNTS,
             "amount_recovered": AMOUNTS}
    return st.sampled_from(pools.get(field, TEXTS))


ANY_CELL = st.one_of(
    st.none(), st.just(""), st.booleans(),
    st.integers(min_value=-10**12, max_value=10**12),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(2099, 12, 31)),
    st.datetimes(min_value=dt.datetime(1900, 3, 1), max_value=dt.datetime(2099, 12, 31)),
    st.times(),
    st.sampled_from(["=1/0", "=SUM(A1:A3)", "#N/A", "#DIV/0!", "#REF!", "TRUE", "x" * 5000, "问题" * 2000]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=40),
)


def cell(field: str, noise: int):
    """Noise 0: what the importer accepts; 1: any plausible word; 2: any value at all, often."""
    if noise == 0:
        return plausible(field, valid_only=True)
    if noise == 1:
        return plausible(field)
    return st.one_of(plausible(field), plausible(field), ANY_CELL)


def header_text(field: str):
    aliases = list(ledger_vocab.HEADERS[field]) + [ledger_vocab.FIELD_LABELS.get(field, field)]
    return st.tuples(st.sampled_from(aliases), st.sampled_from(["", " ", "*", "（万元）", "(元)", "：", "\n"]),
                     st.booleans()).map(lambda t: (t[0].upper() if t[2] else t[0]) + t[1])


_XLSX_CACHE: dict[str, bytes] = {}


@dataclass
class Book:
    """A workbook as data (so a failing example prints readably): sheets of rows and merges."""

    sheets: list[tuple[str, list[list], list[tuple[int, int, int, int]]]]

    def to_xlsx(self) -> bytes:
        # openpyxl writes the save time into the file: the same book must give the same bytes
        # every time, or Hypothesis sees the damaged() strategy change between runs
        key = repr(self.sheets)
        if key not in _XLSX_CACHE:
            _XLSX_CACHE[key] = self._build()
        return _XLSX_CACHE[key]

    def _build(self) -> bytes:
        from openpyxl import Workbook

        wb = Workbook()
        wb.remove(wb.active)
        for title, rows, merges in self.sheets:
            ws = wb.create_sheet(title)
            for r, values in enumerate(rows, start=1):
                for c, value in enumerate(values, start=1):
                    if value is not None:
                        ws.cell(r, c, value)
            for r1, c1, r2, c2 in merges:
                ws.merge_cells(start_row=r1, start_column=c1, end_row=r2, end_column=c2)
        out = io.BytesIO()
        wb.save(out)
        return out.getvalue()


@st.composite
def ledger_book(draw) -> Book:
    """A workbook that looks like a ledger more often than not."""
    noise = draw(st.sampled_from([0, 0, 1, 2]))
    title = draw(st.sampled_from(["整改台账", "Sheet1", "台账（2023）", "x" * 31]))
    fields = draw(st.lists(st.sampled_from(HEADER_FIELDS), min_size=0, max_size=10, unique=True))
    if draw(st.integers(0, 9)) < 7:
        fields = list(dict.fromkeys(["problem", "measure", *fields]))
    columns = [(f, draw(header_text(f))) for f in fields]
    columns += [(None, draw(st.sampled_from(JUNK_HEADERS))) for _ in range(draw(st.integers(0, 2)))]
    columns = draw(st.permutations(columns))
    width = max(1, len(columns))
    rows: list[list] = []
    merges: list[tuple[int, int, int, int]] = []
    for _ in range(draw(st.integers(0, 3))):  # title rows
        rows.append([draw(st.sampled_from(["某区巡察整改台账", "附件1", "", "截至2023年3月30日", "2024年督查台账"]))])
        if width > 1 and draw(st.booleans()):
            merges.append((len(rows), 1, len(rows), width))
    if draw(st.integers(0, 4)) == 0 and width >= 3:  # a two-row header: a group label over three columns
        rows.append(["责任主体"])
        merges.append((len(rows), 1, len(rows), 3))
    rows.append([label for _f, label in columns])
    first_data = len(rows) + 1
    for _ in range(draw(st.integers(0, 25))):
        if draw(st.integers(0, 9)) == 0:  # a section row
            rows.append([draw(st.sampled_from(["二、工作作风不够扎实方面", "（三）其他", "三、"]))])
            if width > 1 and draw(st.booleans()):
                merges.append((len(rows), 1, len(rows), width))
        else:
            rows.append([draw(cell(f, noise) if f else ANY_CELL) for f, _label in columns])
    last = len(rows)
    taken: set = {(r, c) for r1, c1, r2, c2 in merges for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)}
    for _ in range(draw(st.integers(0, 4))):  # merges in the data area, vertical mostly
        if last - first_data < 1:
            break
        top = draw(st.integers(first_data - 1, last - 1))
        left = draw(st.integers(1, width))
        bottom = draw(st.integers(top, min(last, top + 4)))
        right = left if draw(st.integers(0, 3)) else draw(st.integers(left, width))
        area = {(r, c) for r in range(top, bottom + 1) for c in range(left, right + 1)}
        if len(area) > 1 and not area & taken:
            merges.append((top, left, bottom, right))
            taken |= area
    sheets = [(title, rows, merges)]
    for i in range(draw(st.integers(0, 2))):  # more sheets: empty, or notes
        notes = [["填表说明：按实际情况填写"]] if draw(st.booleans()) else []
        sheets.append((draw(st.sampled_from(["说明", "Sheet2", "附表"])) + str(i + 2), notes, []))
    book = Book(sheets)
    try:
        book.to_xlsx()
    except (ValueError, TypeError):  # openpyxl refuses some characters and types: not a file anyone has
        assume(False)
    return book


def workbook():
    """The bytes of a :func:`ledger_book`."""
    return ledger_book().map(Book.to_xlsx)


@st.composite
def damaged(draw) -> bytes:
    """A generated workbook with its archive hurt: bytes flipped, cut short, or a part replaced."""
    data = draw(workbook())
    how = draw(st.sampled_from(["flip", "truncate", "part", "drop"]))
    if how == "flip":
        buf = bytearray(data)
        for _ in range(draw(st.integers(1, 10))):
            buf[draw(st.integers(0, len(buf) - 1))] ^= draw(st.integers(1, 255))
        return bytes(buf)
    if how == "truncate":
        return data[:draw(st.integers(0, len(data) - 1))]
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        names = src.namelist()
        victim = draw(st.sampled_from(names))
        for name in names:
            if name != victim:
                z.writestr(name, src.read(name))
            elif how == "part":
                z.writestr(name, draw(st.sampled_from([b"", b"<x", b"<?xml version='1.0'?><worksheet/>",
                                                       b"\xff\xfe<\x00", src.read(name)[:50]])))
    return out.getvalue()


def read(data: bytes):
    """read_ledger on ``data``: the ledger, or None after a proper LedgerImportError."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "台账.xlsx"
        path.write_bytes(data)
        try:
            led = importing.read_ledger(path)
        except importing.LedgerImportError as e:
            assert e.issues and all(str(i).strip() for i in e.issues)
            outcome("refused")
            return None
        outcome("read")
        return led


@BOUNDED
@given(workbook())
def test_any_plausible_workbook_reads_as_a_ledger_or_a_ledger_import_error(data):
    led = read(data)
    if led is not None:
        assert led.problems and led.measure_count >= 1


@settings(BOUNDED, max_examples=40)
@given(damaged())
def test_a_damaged_workbook_is_a_ledger_import_error(data):
    read(data)


# --- into the database ------------------------------------------------------------------

@pytest.fixture(scope="module")
def template_db(tmp_path_factory):
    """A migrated SQLite file with a few people, copied for every example (a fresh database each)."""
    folder = tmp_path_factory.mktemp("fuzz-excel")
    url = f"sqlite:///{folder / 'template.db'}"
    db.init_db(url)


    engine = db.get_engine(url)
    with db.write_tx(engine) as conn:
        planwriter.user(conn, "system", "系统")
        planwriter.user(conn, "leader1", "分管领导甲", ["leader"], "管委会")
        planwriter.user(conn, "owner1", "水利局责任人", ["owner"], "水利局")
    db.reset_engines()
    yield folder / "template.db"


@contextmanager
def fresh_db(template: Path):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rectify.db"
        shutil.copyfile(template, path)
        engine = db.make_engine(f"sqlite:///{path}")
        try:
            yield engine
        finally:
            engine.dispose()


def counts(engine) -> dict:
    with db.read_tx(engine) as conn:
        return {m.__name__: conn.execute(select(func.count()).select_from(m)).scalar_one()
                for m in (Plan, Problem, Measure, Event, OrgUnit, User)}


def import_twice(engine, book: Book, title: str | None) -> bool:
    """Import ``book``: refused, nothing is written; imported, a second import changes nothing."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "台账.xlsx"
        path.write_bytes(book.to_xlsx())
        before = counts(engine)
        try:
            importing.import_ledger(path, title=title, now=NOW, engine=engine)
        except importing.LedgerImportError:
            outcome("refused")
            assert counts(engine) == before, "a refused import wrote rows"
            return False
        outcome("imported")
        after = counts(engine)
        again = importing.import_ledger(path, title=title, now=NOW, engine=engine)
        assert not any(again["create"].values()), again["create"]
        assert not any(again["update"].values()), again["update"]
        assert counts(engine) == after
    broken = audit.verify(engine)
    assert broken is None, str(broken)
    return True


@settings(BOUNDED, max_examples=30)
@given(ledger_book(), st.sampled_from([None, "模糊测试整改方案"]))
def test_a_workbook_imports_once_or_is_refused_without_a_trace(template_db, book, title):
    note(f"book = {book!r}")
    with fresh_db(template_db) as engine:
        import_twice(engine, book, title)


@settings(BOUNDED, max_examples=25)
@given(ledger_book(), ledger_book())
def test_an_edited_ledger_imported_over_the_first_updates_it_or_is_refused(template_db, first, second):
    """Two files into the same plan, as an office re-imports its edited planwriter."""
    note(f"first = {first!r}")
    note(f"second = {second!r}")
    with fresh_db(template_db) as engine:
        import_twice(engine, first, "同一整改方案")
        import_twice(engine, second, "同一整改方案")


# --- regressions found by the fuzzers -----------------------------------------------------

SIMPLE = Book([("整改台账", [["序号", "问题", "整改措施", "责任单位", "完成时限"],
                            [1, "学习贯彻不及时", "建立学习制度", "水利局", "2023年3月底前"]], [])])


def test_a_zip_needing_an_unsupported_zip_version_is_a_ledger_import_error():
    data = bytearray(SIMPLE.to_xlsx())
    at = data.index(b"PK\x01\x02")  # the first central-directory entry
    data[at + 6:at + 8] = (255).to_bytes(2, "little")  # "version needed to extract": 25.5
    assert read(bytes(data)) is None


def test_importing_an_edited_ledger_a_second_time_changes_nothing(template_db):
    """Found by the fuzzer: the second file, imported over the first into one plan, created a part
    and moved a problem into it on its second import (it settled only on the third)."""
    first = Book([("Sheet1", [[None, "", "具体问题 ", "整改举措："],
                              [None, None, "正在整改", "一是加强学习；二是完善制度。"]], [])])
    second = Book([("Sheet1", [["问题", "RECTIFICATIONMEASURE(元)"], ["责任意识不够强方面", "2023年3月底前完成"],
                               [None, None, "一、二、三"]], [])])
    with fresh_db(template_db) as engine:
        assert import_twice(engine, first, "同一整改方案")
        assert import_twice(engine, second, "同一整改方案")

