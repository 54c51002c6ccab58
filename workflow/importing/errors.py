"""What an importer says when it refuses a file: each place (sheet, row, column) and why."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Issue:
    """One reason a file was refused: where (sheet, row, column) and why."""

    sheet: str | None
    row: int | None
    column: str | None  # a column letter, e.g. "H"
    reason: str
    header: str | None = None  # the column's header text, when known

    def __str__(self) -> str:
        where = []
        if self.sheet is not None:
            where.append(f"工作表「{self.sheet}」")
        if self.row is not None:
            where.append(f"第{self.row}行")
        if self.column:
            where.append(f"{self.column}列" + (f"（{self.header}）" if self.header else ""))
        cell = f"{self.sheet}!{self.column or ''}{self.row or ''}" if self.sheet is not None else ""
        prefix = " ".join(where)
        if cell and (self.row or self.column):
            prefix += f" [{cell}]"
        return f"{prefix}: {self.reason}" if prefix else self.reason

    def as_dict(self) -> dict:
        return {"sheet": self.sheet, "row": self.row, "column": self.column, "header": self.header,
                "reason": self.reason}


class LedgerImportError(ValueError):
    """A ledger file was refused; :attr:`issues` lists every (sheet, row, column, reason) found."""

    rule = "ledger_import"
    SHOW = 8

    def __init__(self, issues: Iterable[Issue] | str):
        if isinstance(issues, str):
            issues = [Issue(None, None, None, issues)]
        self.issues: list[Issue] = list(issues)
        super().__init__(self.summary())

    def summary(self, limit: int | None = None) -> str:
        """The first ``limit`` issues, one a line, and how many more there are."""
        limit = limit or self.SHOW
        lines = [str(i) for i in self.issues[:limit]]
        more = len(self.issues) - limit
        if more > 0:
            lines.append(f"…另有 {more} 处问题 ({more} more)")
        return "\n".join(lines)

    @property
    def message(self) -> str:
        return self.summary()


def issue_at(sheet, row, col: int | None, reason: str, header: str | None = None) -> Issue:
    """An :class:`Issue` at a 1-based column number (written as its letter)."""
    from openpyxl.utils import get_column_letter

    return Issue(sheet, row, get_column_letter(col) if col else None, reason, header)
