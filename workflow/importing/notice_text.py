"""A notice's text: reading .txt and .docx files, and repairing PDF-extraction damage line by line.

* line-end variants, byte-order marks, zero-width and non-breaking spaces, full-width digits and
  letters (``问题１：`` reads as ``问题1：``), runs of spaces;
* page-number lines (``— 3 —``, ``- 3 -``, ``第 3 页``) are dropped;
* :func:`merge` joins two fragments of one paragraph and keeps a fragment repeated across the
  break once (``…民主生活会，认真`` + ``生活会，认真讨论…``) when the text after the break begins
  with the last :data:`MIN_OVERLAP` or more characters before it.

Every repair is listed in the caller's ``repairs``; a file that cannot be read raises
:class:`NoticeError` naming it.
"""
from __future__ import annotations

import re
from pathlib import Path

MIN_OVERLAP = 3  # characters a fragment must repeat across a break to count as a repeat
MAX_OVERLAP = 60
MAX_DOCX_BYTES = 64 * 2**20  # a notice is a few pages; refuse archives that unpack to more


class NoticeError(ValueError):
    """The text is not a notice of the expected shape; says what was expected and where."""

    def __init__(self, message: str, line: int | None = None, source: str | None = None):
        self.message = message
        self.line = line
        self.source = source
        where = ": ".join(x for x in (source, f"line {line}" if line else None) if x)
        super().__init__(f"{where}: {message}" if where else message)


_WIDTH = {0xFF10 + i: 0x30 + i for i in range(10)}
_WIDTH.update({0xFF21 + i: 0x41 + i for i in range(26)})
_WIDTH.update({0xFF41 + i: 0x61 + i for i in range(26)})
_SPACES = re.compile(r"[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000\t\f\v]")
_INVISIBLE = re.compile(r"[\u200b-\u200d\u2060\ufeff\u00ad\x00-\x08\x0e-\x1f\x7f]")
_PAGE_NO = re.compile(
    r"^(?:[-—–－~～·\s]*\d{1,3}[-—–－~～·\s]*|第\s*\d{1,3}\s*页(?:\s*[,，/]?\s*共\s*\d{1,3}\s*页)?|\d{1,3}\s*/\s*\d{1,3})$")

TERMINAL = re.compile(r"[。！？；!?;][”’」』）)】\"']*$")
INNER_STOP = re.compile(r"[。！？；!?;]")


def clean_line(text: str) -> str:
    """One line without invisible characters, with half-width digits and letters and single spaces."""
    text = _INVISIBLE.sub("", text).translate(_WIDTH)
    text = _SPACES.sub(" ", text)
    return re.sub(r" {2,}", " ", text).strip()


def ends_sentence(text: str) -> bool:
    return bool(TERMINAL.search(text))


def _is_ascii_word(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch in "@._-")


def merge(a: str, b: str) -> tuple[str, str | None]:
    """Join two fragments of one paragraph; drop a fragment repeated across the break."""
    longest = min(len(a), len(b) - 1, MAX_OVERLAP)
    for k in range(longest, MIN_OVERLAP - 1, -1):
        if a.endswith(b[:k]):
            return a + b[k:], b[:k]
    joiner = " " if a and b and _is_ascii_word(a[-1]) and _is_ascii_word(b[0]) else ""
    return a + joiner + b, None


def clean_lines(text: str, repairs: list[str]) -> list[tuple[int, str]]:
    """The non-blank lines of ``text`` as (line number, cleaned text); page numbers dropped."""
    if "\ufeff" in text or "\r" in text:
        repairs.append("normalised line ends and byte-order marks")
    raw = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines: list[tuple[int, str]] = []
    width_fixed = False
    for no, line in enumerate(raw, 1):
        cleaned = clean_line(line)
        if not width_fixed and cleaned != re.sub(r" {2,}", " ", _SPACES.sub(" ", line)).strip():
            width_fixed = True
        if not cleaned:
            continue
        if _PAGE_NO.match(cleaned):
            repairs.append(f"line {no}: dropped page number {cleaned!r}")
            continue
        lines.append((no, cleaned))
    if width_fixed:
        repairs.append("normalised full-width digits and letters, invisible and wide spaces")
    return lines


def read_text(path) -> str:
    """The text of a .txt (UTF-8; UTF-16 with a byte-order mark; else GB18030) or .docx file."""
    path = Path(path)
    try:
        if path.suffix.lower() == ".docx":
            return _docx_text(path)
        data = path.read_bytes()
    except OSError as e:
        raise NoticeError(f"cannot read: {e.strerror or e}", source=path.name) from None
    try:
        if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
            return data.decode("utf-16")
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return data.decode("gb18030")
        except UnicodeDecodeError:
            raise NoticeError("not UTF-8, UTF-16 or GB18030 text", source=path.name) from None


def _docx_text(path: Path) -> str:
    import zipfile

    import docx

    try:
        with zipfile.ZipFile(path) as zf:
            unpacked = sum(i.file_size for i in zf.infolist())
    except Exception as e:  # zipfile raises BadZipFile, NotImplementedError, ValueError, EOFError …
        raise NoticeError(f"not a Word (.docx) document ({type(e).__name__})", source=path.name) from None
    if unpacked > MAX_DOCX_BYTES:
        raise NoticeError(f"the document unpacks to more than {MAX_DOCX_BYTES // 2**20} MB", source=path.name)
    try:
        document = docx.Document(str(path))
        return "\n".join(p.text for p in document.paragraphs)
    except Exception as e:  # python-docx, zipfile, zlib and lxml each raise their own errors on damaged files
        raise NoticeError(f"not a readable Word (.docx) document ({type(e).__name__})", source=path.name) from None


_RE_SENTENCE = re.compile(r"[^。！？；\n]+(?:[。！？；]+[”’」』）)]*)?")
_RE_FULL_SENTENCE = re.compile(r"[^。！？\n]+(?:[。！？]+[”’」』）)]*)?")


def sentences(text: str, clauses: bool = True) -> list[str]:
    """Sentences of text; with ``clauses`` a semicolon also ends one."""
    rx = _RE_SENTENCE if clauses else _RE_FULL_SENTENCE
    return [s for s in (m.group().strip() for m in rx.finditer(text)) if s]
