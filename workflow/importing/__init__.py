"""Importing files into the ledger: Excel ledgers (``ledger_*``) and published notices.

* :mod:`.archive` — safety checks on .xlsx/.docx packages before a parser opens them;
* :mod:`.ledger_vocab` — the words of a ledger (headers, status, kinds, deadlines, numbers, amounts);
* :mod:`.ledger_book` — a workbook's sheets as values with merged ranges;
* :mod:`.ledger_read` — the sheets read into a checked tree;
* :mod:`.ledger_people`, :mod:`.ledger_apply` — the tree written through the plan writer.
"""
from __future__ import annotations

from .errors import Issue, LedgerImportError
from .ledger_apply import import_ledger, preview
from .ledger_read import read_ledger

__all__ = ["Issue", "LedgerImportError", "import_ledger", "preview", "read_ledger"]
