"""The package checks shared by the .xlsx ledger reader and the .docx notice reader."""
from __future__ import annotations

import pytest

from tests.data import ledgers
from workflow.importing.archive import DOCX, XLSX, ArchiveError, check_archive


def test_a_word_package_passes_as_a_docx_and_is_refused_as_a_workbook(tmp_path):
    doc = tmp_path / "notice.docx"
    doc.write_bytes(ledgers.docx_bytes())
    check_archive(doc, DOCX)
    with pytest.raises(ArchiveError, match="not a spreadsheet: no xl/workbook.xml"):
        check_archive(doc, XLSX)


def test_a_workbook_is_refused_as_a_docx_naming_the_missing_part(tmp_path):
    book = ledgers.write_xlsx(tmp_path / "a.xlsx", [["问题", "整改措施"], ["问题一。", "措施一"]])
    check_archive(book, XLSX)
    with pytest.raises(ArchiveError, match="not a Word document: no word/document.xml"):
        check_archive(book, DOCX)


def test_limits_are_the_callers(tmp_path):
    bomb = ledgers.zip_bomb(tmp_path / "bomb.docx", inflated_mb=8)
    with pytest.raises(ArchiveError, match="compression bomb"):
        check_archive(bomb, XLSX)
    with pytest.raises(ArchiveError, match="8 MB uncompressed, the limit is 4 MB"):
        check_archive(bomb, XLSX, max_ratio=10**6, max_uncompressed=4 * 2**20)
    legacy = tmp_path / "old.doc"
    legacy.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512)
    with pytest.raises(ArchiveError, match=r"legacy \.doc is not supported; save as \.docx"):
        check_archive(legacy, DOCX)
    with pytest.raises(ArchiveError, match="file too large"):
        check_archive(legacy, DOCX, max_bytes=100)
