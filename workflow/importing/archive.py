"""Safety checks on an Office Open XML file (.xlsx, .docx) before any parser opens it.

An .xlsx or .docx is a zip archive. :func:`check_archive` refuses what is not one (an empty file,
a legacy .xls/.doc, random bytes), a damaged or encrypted zip, an unknown compression, a package
of the wrong kind (a Word file named .xlsx), and anything whose declared sizes or compression
ratios are out of bounds. Python's zipfile never inflates an entry past its declared size, so
the declared sizes are a real bound on what a parser will read.
"""
from __future__ import annotations

import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

MAX_FILE_BYTES = 20 * 1024 * 1024  # the file as uploaded
MAX_UNCOMPRESSED_BYTES = 128 * 1024 * 1024  # all entries, as declared in the zip directory
MAX_ENTRY_RATIO = 100  # declared size / compressed size, for entries over RATIO_FLOOR
RATIO_FLOOR = 1024 * 1024
MAX_ENTRIES = 5000

# What reading a damaged or hostile file raises, from zipfile, zlib, the XML parsers and openpyxl.
# Only the reading of the file is guarded by these; errors in our own logic after reading propagate.
# (ET.ParseError and lxml's XMLSyntaxError are SyntaxErrors; KeyError and IndexError are LookupErrors.)
READ_ERRORS: tuple[type[BaseException], ...] = (
    zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, LookupError, ValueError, TypeError,
    AttributeError, ArithmeticError, OSError, EOFError, zlib.error, struct.error, SyntaxError, RecursionError,
)


class ArchiveError(ValueError):
    """The file is not a sane package of the expected kind; the message says why (Chinese, then English)."""


@dataclass(frozen=True)
class Package:
    """A kind of OOXML package: what to call it, its main part, its legacy binary ancestor."""

    noun: str  # Chinese
    noun_en: str
    suffix: str
    legacy_suffix: str
    main_part: str
    main_noun: str  # Chinese name of the main part


XLSX = Package("电子表格", "spreadsheet", ".xlsx", ".xls", "xl/workbook.xml", "工作簿")
DOCX = Package("Word 文档", "Word document", ".docx", ".doc", "word/document.xml", "文档正文")


def _open_entries(p: Path, kind: Package) -> list[zipfile.ZipInfo]:
    not_ = f"不是{kind.noun}"
    try:
        with zipfile.ZipFile(p) as zf:
            return zf.infolist()
    except NotImplementedError as e:  # zipfile: "zip file version 25.5", an unknown compression
        raise ArchiveError(f"{not_}：压缩包格式不受支持 (not a {kind.noun_en}: unsupported zip feature: {e}): "
                           f"{p.name}") from None
    except READ_ERRORS as e:
        raise ArchiveError(f"{not_}：压缩包损坏 (not a {kind.noun_en}: broken zip: {type(e).__name__}: {e}): "
                           f"{p.name}") from None


def _check_file(p: Path, kind: Package, max_bytes: int) -> None:
    if not p.is_file():
        raise ArchiveError(f"文件不存在 (no such file): {p}")
    size = p.stat().st_size
    if size == 0:
        raise ArchiveError(f"不是{kind.noun}：文件为空 (not a {kind.noun_en}: the file is empty): {p.name}")
    if size > max_bytes:
        raise ArchiveError(f"文件过大 (file too large): {p.name} is {size / 1048576:.1f} MB, "
                           f"the limit is {max_bytes // 1048576} MB")
    with p.open("rb") as fh:
        magic = fh.read(8)
    if magic.startswith(b"\xd0\xcf\x11\xe0"):
        raise ArchiveError(f"不支持旧版 {kind.legacy_suffix}，请另存为 {kind.suffix} (legacy {kind.legacy_suffix} "
                           f"is not supported; save as {kind.suffix}): {p.name}")
    if not magic.startswith(b"PK\x03\x04"):
        raise ArchiveError(f"不是{kind.noun} (not a {kind.noun_en}: a {kind.suffix} file is a zip archive): "
                           f"{p.name}")


def _check_entry(i: zipfile.ZipInfo, p: Path, kind: Package, max_ratio: int) -> None:
    if i.flag_bits & 0x1:
        raise ArchiveError(f"文件已加密 (encrypted entries are not supported): {p.name}")
    if i.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise ArchiveError(f"不是{kind.noun}：压缩方式不受支持 (not a {kind.noun_en}: unsupported zip compression "
                           f"{i.compress_type} in {i.filename}): {p.name}")
    if i.file_size > RATIO_FLOOR and i.file_size > max_ratio * max(i.compress_size, 1):
        raise ArchiveError(f"疑似压缩炸弹，拒绝读取 (refused: compression bomb): {i.filename} declares "
                           f"{i.file_size / 1048576:.0f} MB from {i.compress_size} bytes "
                           f"(ratio over {max_ratio}:1)")


def check_archive(path: str | Path, kind: Package = XLSX, *, max_bytes: int = MAX_FILE_BYTES,
                  max_uncompressed: int = MAX_UNCOMPRESSED_BYTES, max_entries: int = MAX_ENTRIES,
                  max_ratio: int = MAX_ENTRY_RATIO) -> None:
    """Refuse anything but a sane package of ``kind`` (:data:`XLSX` or :data:`DOCX`) before a parser
    touches it: size, zip magic, directory, encryption, compression, declared sizes and ratios.

    Raises :class:`ArchiveError` with the reason and the file's name.
    """
    p = Path(path)
    _check_file(p, kind, max_bytes)
    infos = _open_entries(p, kind)
    if len(infos) > max_entries:
        raise ArchiveError(f"压缩包条目过多 (too many zip entries: {len(infos)} > {max_entries}): {p.name}")
    names = {i.filename for i in infos}
    if kind.main_part not in names or "[Content_Types].xml" not in names:
        raise ArchiveError(f"不是{kind.noun}：压缩包中没有{kind.main_noun} (not a {kind.noun_en}: no "
                           f"{kind.main_part} in the zip): {p.name}")
    total = 0
    for i in infos:
        _check_entry(i, p, kind, max_ratio)
        total += i.file_size
    if total > max_uncompressed:
        raise ArchiveError(f"解压后过大，拒绝读取 (refused: {total / 1048576:.0f} MB uncompressed, the limit is "
                           f"{max_uncompressed // 1048576} MB): {p.name}")
