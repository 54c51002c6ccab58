"""A workbook's sheets as plain values with their merged ranges, read once and bounded.

:func:`load_sheets` checks the archive (:mod:`.archive`), opens the workbook read-only with
openpyxl, and returns each worksheet's rows (at most :data:`MAX_COLUMNS` wide, trailing blank
rows dropped) with its merged ranges, read from the sheet XML without expanding them.
"""
from __future__ import annotations

import bisect
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

from .archive import READ_ERRORS, XLSX, ArchiveError, check_archive
from .errors import Issue, LedgerImportError

MAX_ROWS = 1_048_576  # data rows over all sheets: a full sheet, so any export of one sheet's size comes back
MAX_COLUMNS = 200
HEADER_SCAN_ROWS = 30


class Merges:
    """Merged ranges of a sheet, looked up per cell without expanding them."""

    def __init__(self, refs: list[str]):
        from openpyxl.utils.cell import range_boundaries

        self.by_col: dict[int, list[tuple[int, int, int, int]]] = defaultdict(list)
        for ref in refs:
            try:
                c0, r0, c1, r1 = range_boundaries(ref)
            except (ValueError, TypeError):
                continue
            for c in range(c0, min(c1, MAX_COLUMNS) + 1):
                self.by_col[c].append((r0, r1, c0, r0))
        self.starts = {}
        for c, ranges in self.by_col.items():
            ranges.sort()
            self.starts[c] = [r[0] for r in ranges]

    def top_left(self, row: int, col: int) -> tuple[int, int] | None:
        """The top-left cell of the range covering (row, col), unless it is that cell; else None."""
        ranges = self.by_col.get(col)
        if not ranges:
            return None
        i = bisect.bisect_right(self.starts[col], row) - 1
        if i >= 0:
            r0, r1, c0, tr = ranges[i]
            if r0 <= row <= r1 and (row, col) != (tr, c0):
                return tr, c0
        return None

    def spans_rows(self, row: int, col: int) -> bool:
        """True if (row, col) is the top of a range going down."""
        ranges = self.by_col.get(col)
        if not ranges:
            return False
        i = bisect.bisect_right(self.starts[col], row) - 1
        return i >= 0 and ranges[i][0] == row and ranges[i][1] > row


def _merge_refs(wb, ws) -> list[str]:
    path = getattr(ws, "_worksheet_path", None)
    archive = getattr(wb, "_archive", None)
    if not path or archive is None:
        return []
    refs = []
    with archive.open(path) as src:
        for _ev, el in ET.iterparse(src, events=("end",)):
            tag = el.tag.rsplit("}", 1)[-1]
            if tag == "mergeCell":
                ref = el.get("ref")
                if ref:
                    refs.append(ref)
            elif tag == "row":
                el.clear()
    return refs


class Sheet:
    """One sheet's values with merged cells resolved."""

    def __init__(self, title: str, rows: list[tuple], merges: Merges):
        self.title, self.rows, self.merges = title, rows, merges

    def raw(self, r: int, c: int):
        """The stored value of (r, c), 1-based; None outside the sheet."""
        if r < 1 or r > len(self.rows):
            return None
        row = self.rows[r - 1]
        return row[c - 1] if 0 < c <= len(row) else None

    def get(self, r: int, c: int | None) -> tuple[object, bool]:
        """(value, continued): a merged cell below or right of its top-left gives the top-left's value."""
        if c is None:
            return None, False
        tl = self.merges.top_left(r, c)
        if tl is not None:
            return self.raw(*tl), tl[0] < r
        v = self.raw(r, c)
        if isinstance(v, str) and not v.strip():
            v = None
        return v, False

    def own(self, r: int, c: int):
        """The value of (r, c), or of the merged range above it in the same column; None where a range
        from another column covers the cell (its value belongs to that column)."""
        tl = self.merges.top_left(r, c)
        if tl is not None:
            return self.raw(*tl) if tl[1] == c else None
        return self.get(r, c)[0]

    def blank(self, r: int) -> bool:
        """True if every stored value of row ``r`` is blank."""
        return all(v is None or (isinstance(v, str) and not v.strip()) for v in self.rows[r - 1])


def _read_rows(ws, name: str, total_rows: int, sheets_before: int) -> list[tuple]:
    rows = []
    for values in ws.iter_rows(values_only=True):
        rows.append(tuple(values[:MAX_COLUMNS]))
        if len(rows) + total_rows > MAX_ROWS + HEADER_SCAN_ROWS * (sheets_before + 1):
            raise LedgerImportError(f"行数过多 (too many rows: over {MAX_ROWS}): {name}")
    while rows and all(v is None or (isinstance(v, str) and not v.strip()) for v in rows[-1]):
        rows.pop()
    return rows


def load_sheets(path: str | Path) -> list[Sheet]:
    """Every worksheet of the .xlsx at ``path`` as a :class:`Sheet`; :class:`LedgerImportError` if the
    file is not a readable workbook or has no sheets."""
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    unreadable = (*READ_ERRORS, InvalidFileException)
    path = Path(path)
    try:
        check_archive(path, XLSX)
    except ArchiveError as e:
        raise LedgerImportError(str(e)) from None
    fh = path.open("rb")  # a file object: openpyxl then does not judge the file by its name
    try:
        wb = openpyxl.load_workbook(fh, read_only=True, data_only=True, keep_links=False)
    except unreadable as e:  # openpyxl, zipfile and the XML parser raise many kinds on a malformed package
        fh.close()
        raise LedgerImportError(f"不是可读的电子表格 (not a readable spreadsheet: {type(e).__name__}: {e}): "
                                f"{path.name}") from None
    sheets: list[Sheet] = []
    try:
        total_rows = 0
        for ws in wb.worksheets:
            if not hasattr(ws, "iter_rows"):
                continue  # chart sheets
            try:
                refs = _merge_refs(wb, ws)
                ws.reset_dimensions()
                rows = _read_rows(ws, path.name, total_rows, len(sheets))
            except LedgerImportError:  # a ValueError too: let it through as it is
                raise
            except unreadable as e:  # a damaged sheet: openpyxl and the XML parser raise many kinds
                raise LedgerImportError([Issue(ws.title, None, None,
                                               f"工作表无法读取 (unreadable sheet: {type(e).__name__}: {e})")]) from None
            total_rows += len(rows)
            sheets.append(Sheet(ws.title, rows, Merges(refs)))
    finally:
        wb.close()
        fh.close()
    if not sheets:
        raise LedgerImportError(f"工作簿中没有工作表 (the workbook has no sheets): {path.name}")
    return sheets
