"""A notice's text: reading .txt and .docx files, and repairing PDF-extraction damage line by line.

* line-end variants, byte-order marks, zero-width and non-breaking spaces, full-width digits and
  letters (``问题１：`` reads as ``问题1：``), runs of spaces;
* page-number lines (``— 3 —``, ``- 3 -``, ``第 3 页``) are dropped;
* the furniture of a web page the notice was copied from is dropped: breadcrumbs (``首页 > 信息公开``),
  ``字号：大 中 小``, ``打印本页``, ``关闭窗口``, ``发布时间：… 来源：… 浏览次数：…``, ``信息索引号``,
  ``朗读``, ``分享``, ``上一篇``/``下一篇`` …;
* traditional characters are converted to simplified (OpenCC's ``t2s`` tables), so a notice from
  a traditional-script source reads like any other;
* :func:`merge` joins two fragments of one paragraph and keeps a fragment repeated across the
  break once (``…民主生活会，认真`` + ``生活会，认真讨论…``) when the text after the break begins
  with the last :data:`MIN_OVERLAP` or more characters before it.

Every repair is listed in the caller's ``repairs``; a file that cannot be read raises
:class:`NoticeError` naming it.
"""
from __future__ import annotations

import re
from pathlib import Path
from ..text import decode as decode_text

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

_CHROME_LINE = re.compile(
    r"^(?:当前位置|您的位置|你的位置|您现在的位置|位置)\s*[:：]"
    r"|^首页\s*(?:>|＞|›|»|/|→|-)"
    r"|(?:^|\s|[【\[])(?:字号|字体)\s*[:：]?\s*[【\[]?\s*大\s*[】\]]?\s*[【\[]?\s*中\s*[】\]]?\s*[【\[]?\s*小"
    r"|^(?:发布时间|发布日期|发文日期|成文日期|更新时间|来源|信息来源|文章来源|作者|责任编辑|编辑|审核|浏览次数|阅读次数|点击数|"
    r"访问次数|浏览量|信息索引号|索引号|主题分类|发布机构|发文机关|体裁分类|组配分类|有效性)\s*[:：]"
    r"|^(?:上一篇|下一篇|相关链接|相关文章|扫一扫|分享到)\s*[:：]?")
_CHROME_WORDS = {"朗读", "分享", "打印", "打印本页", "关闭", "关闭窗口", "关闭本页", "收藏", "返回", "返回顶部", "顶部",
                 "我要纠错", "纠错", "微信", "微博", "QQ空间", "字号", "大", "中", "小", "默认", "【", "】", "|", "/"}


def is_chrome(line: str) -> bool:
    """Whether a line is the furniture of the web page a notice was copied from."""
    if _CHROME_LINE.search(line):
        return True
    words = [w for w in re.split(r"[\s【】\[\]|｜]+", line) if w]
    return bool(words) and all(w in _CHROME_WORDS for w in words) and any(len(w) > 1 for w in words)


_T2S = None


def to_simplified(text: str) -> str:
    """The text with traditional characters converted to simplified ones."""
    global _T2S
    if _T2S is None:
        from opencc_purepy import OpenCC

        _T2S = OpenCC("t2s")
    return _T2S.convert(text)


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
    simplified = to_simplified(text)
    if simplified != text:
        changed = sum(a != b for a, b in zip(text, simplified))
        repairs.append(f"converted {changed} traditional character(s) to simplified")
        text = simplified
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
        if is_chrome(cleaned):
            repairs.append(f"line {no}: dropped web page text {cleaned!r}")
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
            return docx_text(path)
        data = path.read_bytes()
    except OSError as e:
        raise NoticeError(f"cannot read: {e.strerror or e}", source=path.name) from None
    try:
        return decode_text(data)
    except UnicodeDecodeError:
        raise NoticeError("not UTF-8, UTF-16 or GB18030 text", source=path.name) from None


def docx_text(path: Path) -> str:
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
