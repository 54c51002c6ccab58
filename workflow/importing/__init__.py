"""Importing files into the ledger: Excel ledgers and published notices, one report for both.

:func:`import_file` takes either kind (an .xlsx ledger, a .txt/.docx notice; by suffix, else by
content) and returns one report: ``{kind, parts, problems, measures, units_created,
unmapped_columns, warnings}`` plus what the importer of that kind tells. :func:`detect` shows
how a ledger's columns would be read, for a page that lets an office correct the mapping.

* :mod:`.archive` — safety checks on .xlsx/.docx packages before a parser opens them;
* :mod:`.ledger_vocab`, :mod:`.ledger_dates` — the words of a ledger (headers, status, kinds,
  numbers, amounts, deadlines and milestones);
* :mod:`.ledger_book` — a workbook's sheets as values with merged ranges;
* :mod:`.ledger_header`, :mod:`.ledger_read` — the header and the rows read into a checked tree;
* :mod:`.ledger_people`, :mod:`.ledger_apply` — the tree written through the plan writer;
* :mod:`.notice` — published notices of any layout (text repair, layout, extraction, writing).
"""
from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

from sqlalchemy.engine import Engine

from .errors import Issue, LedgerImportError
from .ledger_apply import import_ledger, preview
from .ledger_read import read_ledger

NOTICE_SUFFIXES = (".txt", ".docx")
LEDGER_SUFFIXES = (".xlsx", ".xlsm")
REPORT_KEYS = ("kind", "parts", "problems", "measures", "units_created", "unmapped_columns", "warnings")
FIRST_ROWS = 5


class ImportRefused(ValueError):
    """A file or an option the importer does not take; :attr:`rule` names why."""

    def __init__(self, rule: str, message: str):
        self.rule = rule
        super().__init__(message)


def kind_of(path: str | Path) -> str:
    """``ledger`` or ``notice``: by suffix, else by content; :class:`ImportRefused` if neither."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in LEDGER_SUFFIXES:
        return "ledger"
    if suffix in NOTICE_SUFFIXES:
        return "notice"
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                names = set(zf.namelist())
            if "xl/workbook.xml" in names:
                return "ledger"
            if "word/document.xml" in names:
                return "notice"
    except (OSError, zipfile.BadZipFile):
        pass
    raise ImportRefused("unsupported_file", f"{path.name}: expected an .xlsx ledger or a .txt/.docx notice")


def import_file(path: str | Path, *, dry_run: bool = False, mapping: dict[str, str] | None = None,
                plan_id: int | None = None, title: str | None = None, actor: str = "system",
                now: dt.datetime | None = None, engine: Engine | None = None, target: str | None = None) -> dict:
    """Import a ledger or a notice, all or nothing; return the one report (see the module's docstring).

    ``mapping`` ({header: field}), ``plan_id``/``title`` and ``target`` (the inspected organisation, whose
    new round a new plan is) apply to ledgers; ``dry_run`` writes nothing. A notice names its own target.
    Either kind compares its problems with the target's earlier rounds (``recurrence_candidates``).
    Raises :class:`LedgerImportError`, the notice importer's error, :class:`ImportRefused` or NotFound.
    """
    if kind_of(path) == "ledger":
        return import_ledger(path, plan_id=plan_id, title=title, dry_run=dry_run, actor=actor, now=now,
                             engine=engine, mapping=mapping, target=target)
    return _import_notice(Path(path), dry_run=dry_run, mapping=mapping, plan_id=plan_id, title=title, now=now,
                          engine=engine, actor=actor)


def _import_notice(path: Path, *, dry_run: bool, mapping, plan_id, title, now, engine, actor) -> dict:
    from ..clock import utcnow
    from . import notice

    if mapping or plan_id is not None or title:
        raise ImportRefused("ledger_only", "--map, --plan and --title apply to .xlsx ledgers")
    return notice.import_notice(path, (now or utcnow()).replace(tzinfo=None), engine=engine, dry_run=dry_run,
                                actor=actor)


def detect(path: str | Path, mapping: dict[str, str] | None = None) -> dict:
    """How a ledger's columns would be read: ``{kind, sheets, sheet, header_row, headers: [{column,
    header, field|None}], first_rows, fields}`` (``fields`` the codes and labels a header may map to).

    ``mapping`` ({header: field}) is applied first, as :func:`import_file` would. A notice gives
    ``{kind: "notice"}`` with empty lists. Raises :class:`LedgerImportError` for a file it cannot read.
    """
    from .ledger_book import load_sheets
    from .ledger_header import describe, find_header
    from .ledger_vocab import EXTRA, EXTRA_LABEL, FIELD_LABELS, cell_text, normalize_mapping

    fields = {**FIELD_LABELS, EXTRA: EXTRA_LABEL}
    if kind_of(path) == "notice":
        return {"kind": "notice", "sheets": [], "sheet": None, "header_row": None, "headers": [],
                "first_rows": [], "fields": fields}
    try:
        norm = normalize_mapping(mapping)
    except ValueError as e:
        raise LedgerImportError(str(e)) from None
    sheets = load_sheets(path)
    out: dict[str, object] = {"kind": "ledger", "sheets": [sh.title for sh in sheets], "sheet": None,
                              "header_row": None, "headers": [], "first_rows": [], "fields": fields}
    for sh in sheets:
        hdr = find_header(sh, norm)
        if hdr is None:
            continue
        from openpyxl.utils import column_index_from_string

        headers = describe(hdr)
        cols = [column_index_from_string(h["column"]) for h in headers]
        rows = [r for r in range(hdr.row + 1, len(sh.rows) + 1) if not sh.blank(r)][:FIRST_ROWS]
        out.update(sheet=sh.title, header_row=hdr.row, headers=headers,
                   first_rows=[[cell_text(sh.own(r, c)) for c in cols] for r in rows])
        break
    return out


__all__ = ["ImportRefused", "Issue", "LedgerImportError", "REPORT_KEYS", "detect", "import_file", "import_ledger",
           "kind_of", "preview", "read_ledger"]
