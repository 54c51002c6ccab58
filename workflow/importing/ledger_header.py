"""Finding a sheet's header and what each column holds.

The header is the first row (of the first 30) naming at least three known columns, or both
问题 and 整改措施; it may be split over two rows (责任主体 over 责任领导 | 责任单位 | 责任人). Each
header cell is looked up in the vocabulary (:func:`.ledger_vocab.header_field`), after the
office's own mapping (``--map``). A column whose header names no field is kept: its cells are
stored under its header on each measure. A column headed 完成情况/进展情况 that holds prose rather
than status words is read as the account (落实情况), its leading status word (if any) as the state.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .ledger_book import HEADER_SCAN_ROWS, Sheet
from .ledger_vocab import EITHER_STATUS_OR_ACCOUNT, cell_text, header_field, parse_status, text_key

STATUS_SAMPLE_ROWS = 500


@dataclass
class Header:
    row: int  # the last header row; data follows
    cols: dict[str, int]  # field → column
    wan: dict[str, bool]
    labels: dict[int, str]  # column → header text, of the columns naming a field
    ignored: list[str]  # header cells of the first header row that name no field
    title: str | None
    dupes: list[tuple[str, int, int]]
    first: int = 0  # the first header row
    kept: dict[int, str] = field(default_factory=dict)  # column → header text, of columns naming no field
    status_in_account: bool = False  # the status column holds prose: read as the account
    notes: list[str] = field(default_factory=list)

    def field_of(self, col: int) -> str | None:
        return next((f for f, c in self.cols.items() if c == col), None)


def find_header(sh: Sheet, mapping: dict[str, str] | None = None) -> Header | None:
    """The header of ``sh`` (see the module's docstring), or None if it has none."""
    for r in range(1, min(len(sh.rows), HEADER_SCAN_ROWS) + 1):
        fields = {header_field(v, mapping)[0] for v in sh.rows[r - 1]} - {None}
        if len(fields) >= 3 or {"problem", "measure"} <= fields:
            return _build_header(sh, r, mapping)
    return None


def _take_header_row(sh: Sheet, hdr: Header, row_no: int, continuation: bool, mapping) -> None:
    for c, v in enumerate(sh.rows[row_no - 1], 1):
        if v is None or not str(v).strip():
            continue
        f, w = header_field(v, mapping)
        if continuation and c in hdr.labels:
            continue
        if f is None:
            if not continuation:
                hdr.ignored.append(str(v).strip())
            continue
        if f in hdr.cols and hdr.cols[f] != c:
            hdr.dupes.append((f, hdr.cols[f], c))
            continue
        hdr.cols[f], hdr.wan[f], hdr.labels[c] = c, w, str(v).strip()
        if continuation:
            hdr.row = row_no


def _build_header(sh: Sheet, r: int, mapping) -> Header:
    hdr = Header(r, {}, {}, {}, [], None, [], first=r)
    _take_header_row(sh, hdr, r, False, mapping)
    if r < len(sh.rows):
        cells = [v for v in sh.rows[r] if v is not None and str(v).strip()]
        known = [v for v in cells if header_field(v, mapping)[0]]
        if known and 2 * len(known) >= len(cells):
            _take_header_row(sh, hdr, r + 1, True, mapping)
    for rr in range(1, r):
        texts = [v.strip() for v in sh.rows[rr - 1] if isinstance(v, str) and v.strip()]
        if texts:
            hdr.title = texts[0]
            break
    _kept_columns(sh, hdr)
    _settle_status(sh, hdr)
    return hdr


def _kept_columns(sh: Sheet, hdr: Header) -> None:
    """The columns under a header that names no field, with that header (the lowest header cell)."""
    width = max((len(sh.rows[rr - 1]) for rr in range(hdr.first, hdr.row + 1)), default=0)
    for c in range(1, width + 1):
        if c in hdr.labels:
            continue
        for rr in range(hdr.row, hdr.first - 1, -1):
            text = cell_text(sh.get(rr, c)[0])
            if text:
                hdr.kept[c] = text.replace("\n", " ")
                break


def _settle_status(sh: Sheet, hdr: Header) -> None:
    """A 完成情况/进展情况 column of prose (no account column beside it) is the account."""
    col = hdr.cols.get("status")
    if col is None or "account" in hdr.cols or text_key(hdr.labels[col]) not in EITHER_STATUS_OR_ACCOUNT:
        return
    words = prose = 0
    for r in range(hdr.row + 1, min(len(sh.rows), hdr.row + STATUS_SAMPLE_ROWS) + 1):
        value = cell_text(sh.raw(r, col))
        if not value:
            continue
        try:
            parse_status(value)
            words += 1
        except ValueError:
            prose += 1
    if prose > words:
        hdr.cols["account"] = hdr.cols.pop("status")
        hdr.wan.pop("status", None)
        hdr.status_in_account = True
        hdr.notes.append(f"{sh.title}: 列「{hdr.labels[col]}」是文字说明，按落实情况读入，开头的状态词记为整改状态 "
                         f"(column read as the account: its cells are prose; a leading status word sets the state)")


def describe(hdr: Header) -> list[dict]:
    """Each column under the header, in order: {column, header, field} (field None for a kept column)."""
    from openpyxl.utils import get_column_letter

    out = []
    for c in sorted(set(hdr.labels) | set(hdr.kept)):
        out.append({"column": get_column_letter(c), "header": hdr.labels.get(c) or hdr.kept.get(c),
                    "field": hdr.field_of(c) if c in hdr.labels else None})
    return out
