"""Excel ledgers (整改台账): import in the customary layouts, export in streaming mode.

Import (:func:`import_ledger`) reads the ledgers offices actually keep:

* the header row may sit under one or more title rows, and may be split over two rows;
  headers vary between offices (序号, 方面/问题类别, 问题/反馈问题/问题描述, 整改措施, 责任领导,
  责任单位, 责任人, 完成时限/整改时限, 整改类型, 整改进度/完成情况, 落实情况/整改进展情况, and
  English equivalents, see :data:`HEADERS`); unknown columns are listed and ignored;
* a problem spans several measure rows, with its cells merged (or left blank below the first);
  section rows such as ``一、责任意识不够强方面`` spanning the table set the part;
* 序号 reads as ``1`` (problem 1), ``1.2``/``1-2`` (problem 1, measure 2), or a plain row counter;
* deadlines are Excel dates or text (``2023年3月底前``, ``2023.3.15``, ``立行立改``, ``长期坚持``);
* the status column maps to states (已完成 → closed, 正在整改 → in progress, blank → assigned);
  an unknown word is refused.

Everything is read and checked before anything is written; problems are reported as
:class:`Issue` (sheet, row, column, reason) in one :class:`LedgerImportError`. The write is one
transaction. Importing the same file again updates in place: the same plan, problem number and
measure sequence number name the same measure, and each changed measure gets an ``import`` event
on its audit chain under a version-checked update. A status read from a file is the historical
record: it is the only way a measure reaches a state (even ``closed``) without the lifecycle, and
its event says so (``"lifecycle_bypassed": true``). A file never moves a measure backwards.

Before openpyxl sees a file, :func:`check_archive` refuses what is not an .xlsx zip and any zip
whose declared sizes or compression ratios are out of bounds (Python's zipfile never inflates an
entry past its declared size, so the declared sizes are a real bound).

Export (:func:`export_ledger`) writes the same layout in openpyxl's write-only mode, reading
the ledger in batches: a summary sheet and one sheet per part, a frozen header, filters, column
widths and red/yellow/green fills by light. Memory stays bounded by the batch, not the planwriter.
"""
from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import re
import struct
import unicodedata
import xml.etree.ElementTree as ET
import zipfile
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection, Engine

from . import audit, commands, db, planwriter, spec, workdays
from .clock import utcnow
from .errors import NotFound
from .models import Category, LightChange, Measure, Membership, OrgUnit, Part, Plan, Problem, User, UserRole

M = Measure.__table__

# --- limits -----------------------------------------------------------------------

MAX_FILE_BYTES = 20 * 1024 * 1024  # the .xlsx as uploaded
MAX_UNCOMPRESSED_BYTES = 128 * 1024 * 1024  # all entries, as declared in the zip directory
MAX_ENTRY_RATIO = 100  # declared size / compressed size, for entries over RATIO_FLOOR
RATIO_FLOOR = 1024 * 1024
MAX_ENTRIES = 5000
MAX_ROWS = 200_000  # data rows over all sheets
MAX_COLUMNS = 200
HEADER_SCAN_ROWS = 30
MAX_ISSUES = 200
IMPORTED_BODY = "（导入台账，未注明）"  # the inspection of a plan created from a ledger file
IMPORTED_TARGET = "（未注明）"


# --- errors -----------------------------------------------------------------------

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
        limit = limit or self.SHOW
        lines = [str(i) for i in self.issues[:limit]]
        more = len(self.issues) - limit
        if more > 0:
            lines.append(f"…另有 {more} 处问题 ({more} more)")
        return "\n".join(lines)

    @property
    def message(self) -> str:
        return self.summary()


def _issue(sheet, row, col: int | None, reason: str, header: str | None = None) -> Issue:
    from openpyxl.utils import get_column_letter

    return Issue(sheet, row, get_column_letter(col) if col else None, reason, header)


# --- the file itself ----------------------------------------------------------------

# What reading a damaged or hostile file raises, from zipfile, zlib, the XML parsers and openpyxl.
# Only the reading of the file is guarded by these; errors in our own logic after reading propagate.
# (ET.ParseError and lxml's XMLSyntaxError are SyntaxErrors; KeyError and IndexError are LookupErrors.)
READ_ERRORS: tuple[type[BaseException], ...] = (
    zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, LookupError, ValueError, TypeError,
    AttributeError, ArithmeticError, OSError, EOFError, zlib.error, struct.error, SyntaxError, RecursionError,
)


def check_archive(path: str | Path) -> None:
    """Refuse anything but a sane .xlsx before a parser touches it (size, zip, declared sizes)."""
    p = Path(path)
    if not p.is_file():
        raise LedgerImportError(f"文件不存在 (no such file): {p}")
    size = p.stat().st_size
    if size == 0:
        raise LedgerImportError(f"不是电子表格：文件为空 (not a spreadsheet: the file is empty): {p.name}")
    if size > MAX_FILE_BYTES:
        raise LedgerImportError(f"文件过大 (file too large): {p.name} is {size / 1048576:.1f} MB, "
                                f"the limit is {MAX_FILE_BYTES // 1048576} MB")
    with p.open("rb") as fh:
        magic = fh.read(8)
    if magic.startswith(b"\xd0\xcf\x11\xe0"):
        raise LedgerImportError(f"不支持旧版 .xls，请另存为 .xlsx (legacy .xls is not supported; save as .xlsx): "
                                f"{p.name}")
    if not magic.startswith(b"PK\x03\x04"):
        raise LedgerImportError(f"不是电子表格 (not a spreadsheet: an .xlsx file is a zip archive): {p.name}")
    try:
        with zipfile.ZipFile(p) as zf:
            infos = zf.infolist()
    except NotImplementedError as e:  # zipfile: "zip file version 25.5", an unknown compression
        raise LedgerImportError(f"不是电子表格：压缩包格式不受支持 (not a spreadsheet: unsupported zip feature: {e}): "
                                f"{p.name}") from None
    except READ_ERRORS as e:
        raise LedgerImportError(f"不是电子表格：压缩包损坏 (not a spreadsheet: broken zip: {type(e).__name__}: {e}): "
                                f"{p.name}") from None
    if len(infos) > MAX_ENTRIES:
        raise LedgerImportError(f"压缩包条目过多 (too many zip entries: {len(infos)} > {MAX_ENTRIES}): {p.name}")
    names = {i.filename for i in infos}
    if "xl/workbook.xml" not in names or "[Content_Types].xml" not in names:
        raise LedgerImportError(f"不是电子表格：压缩包中没有工作簿 (not a spreadsheet: no xl/workbook.xml in the zip): "
                                f"{p.name}")
    total = 0
    for i in infos:
        if i.flag_bits & 0x1:
            raise LedgerImportError(f"文件已加密 (encrypted entries are not supported): {p.name}")
        if i.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise LedgerImportError(f"不是电子表格：压缩方式不受支持 (not a spreadsheet: unsupported zip compression "
                                    f"{i.compress_type} in {i.filename}): {p.name}")
        total += i.file_size
        if i.file_size > RATIO_FLOOR and i.file_size > MAX_ENTRY_RATIO * max(i.compress_size, 1):
            raise LedgerImportError(
                f"疑似压缩炸弹，拒绝读取 (refused: compression bomb): {i.filename} declares "
                f"{i.file_size / 1048576:.0f} MB from {i.compress_size} bytes "
                f"(ratio over {MAX_ENTRY_RATIO}:1)")
    if total > MAX_UNCOMPRESSED_BYTES:
        raise LedgerImportError(
            f"解压后过大，拒绝读取 (refused: {total / 1048576:.0f} MB uncompressed, the limit is "
            f"{MAX_UNCOMPRESSED_BYTES // 1048576} MB): {p.name}")


# --- vocabulary -------------------------------------------------------------------

HEADERS: dict[str, tuple[str, ...]] = {
    "no": ("序号", "编号", "问题序号", "no", "no.", "#", "number", "item", "itemno", "seq"),
    "part": ("方面", "问题类别", "问题方面", "类别", "问题类型", "所属方面", "part", "aspect", "area",
             "problemcategory", "section"),
    "category": ("分类", "小类", "子类", "问题分类", "具体类别", "category", "subcategory"),
    "problem": ("问题", "反馈问题", "问题描述", "存在问题", "问题内容", "巡察反馈问题", "反馈意见", "具体问题",
                "problem", "issue", "finding", "problemdescription"),
    "measure": ("整改措施", "措施", "整改举措", "具体措施", "整改任务", "measure", "measures", "action",
                "rectificationmeasure", "correctiveaction"),
    "leader": ("责任领导", "牵头领导", "分管领导", "leader", "responsibleleader"),
    "unit": ("责任单位", "牵头单位", "责任部门", "unit", "responsibleunit", "department", "dept"),
    "owner": ("责任人", "具体责任人", "owner", "responsibleperson", "person", "assignee"),
    "deadline": ("完成时限", "整改时限", "时限", "完成时间", "整改期限", "deadline", "due", "duedate", "timelimit"),
    "kind": ("整改类型", "类型", "整改方式", "kind", "type", "rectificationtype"),
    "status": ("整改进度", "完成情况", "进度", "整改状态", "状态", "status", "progress", "state"),
    "account": ("落实情况", "整改进展情况", "整改落实情况", "进展情况", "整改情况", "account", "implementation",
                "progressnotes", "actiontaken"),
    "problem_account": ("问题落实情况", "问题整改情况", "公开落实情况", "problemaccount", "publishedaccount"),
    "amount_involved": ("涉及金额", "amountinvolved"),
    "amount_recovered": ("退还/追缴金额", "退还追缴金额", "退还金额", "追缴金额", "追回金额", "amountrecovered"),
}
FIELD_LABELS = {"no": "序号", "part": "方面", "category": "分类", "problem": "问题", "measure": "整改措施",
                "leader": "责任领导", "unit": "责任单位", "owner": "责任人", "deadline": "完成时限",
                "kind": "整改类型", "status": "整改进度", "account": "落实情况",
                "problem_account": "问题落实情况", "amount_involved": "涉及金额（元）",
                "amount_recovered": "退还/追缴金额（元）"}
PROBLEM_FIELDS = ("part", "category", "problem", "problem_account", "amount_involved", "amount_recovered")


def _norm_header(value) -> tuple[str, str, bool]:
    """(full, base, in_wan): a header lower-cased without spaces; base drops a trailing (unit)."""
    s = unicodedata.normalize("NFKC", str(value)).lower()
    s = re.sub(r"\s+", "", s).strip("*:：")
    m = re.match(r"^(.*?)\((.*)\)$", s)
    base, unit = (m.group(1), m.group(2)) if m else (s, "")
    return s, base, "万" in unit


_ALIAS = {alias: f for f, aliases in HEADERS.items() for alias in aliases}


def header_field(value) -> tuple[str | None, bool]:
    """The field a header cell names (or None), and whether its amounts are in 万元."""
    if value is None or not str(value).strip():
        return None, False
    full, base, wan = _norm_header(value)
    f = _ALIAS.get(full) or _ALIAS.get(base)
    if f is None and base.startswith("responsible") is False and " " in str(value):
        f = _ALIAS.get(base.replace(" ", ""))
    return f, wan


STATUS_WORDS: dict[str, str] = {}
for _state, _words in {
    "closed": ("已完成", "完成", "已整改", "已整改完成", "已整改到位", "整改完成", "已完成整改", "已销号",
               "已完成长期坚持", "已完成并长期坚持", "done", "completed", "complete", "closed", "finished"),
    "verified": ("已审核", "审核通过", "verified"),
    "submitted": ("待审核", "已提交", "submitted"),
    "in_progress": ("正在整改", "整改中", "推进中", "正在推进", "进行中", "持续整改", "持续推进", "未完成",
                    "部分完成", "inprogress", "ongoing", "started", "open"),
    "assigned": ("已交办", "未开始", "未启动", "待整改", "assigned", "notstarted", "new"),
}.items():
    for _w in _words:
        STATUS_WORDS[_w] = _state
LONG_TERM_STATUS = ("已完成长期坚持", "已完成并长期坚持")
EXPORT_STATUS = {"assigned": "已交办", "in_progress": "正在整改", "submitted": "待审核", "verified": "已审核",
                 "closed": "已完成"}
STATE_RANK = {s: i for i, s in enumerate(spec.STATES)}

KIND_WORDS = {"立行立改": "immediate", "即知即改": "immediate", "立即整改": "immediate", "限期整改": "time_bound",
              "长期坚持": "long_term", "长期整改": "long_term", "持续整改": "long_term", "immediate": "immediate",
              "timebound": "time_bound", "time-bound": "time_bound", "longterm": "long_term",
              "long-term": "long_term"}


def _squash(value) -> str:
    s = unicodedata.normalize("NFKC", str(value)).lower()
    return re.sub(r"[\s,.;:!，。；：、！_\-]+", "", s)


def parse_status(value) -> tuple[str, bool]:
    """(state, says long-term) of a status cell; blank is ``assigned``; ValueError if unknown."""
    if value is None or not str(value).strip():
        return "assigned", False
    key = _squash(value)
    state = STATUS_WORDS.get(key)
    if state is None:
        raise ValueError(f"无法识别的整改进度 (unknown status word): {str(value).strip()!r}; "
                         f"accepted: 已完成, 已完成，长期坚持, 正在整改, 待审核, 已审核, 已交办 or blank")
    return state, key in LONG_TERM_STATUS


def parse_kind(value) -> str | None:
    if value is None or not str(value).strip():
        return None
    key = _squash(value)
    kind = KIND_WORDS.get(key) or KIND_WORDS.get(str(value).strip().lower())
    if kind is None:
        raise ValueError(f"无法识别的整改类型 (unknown kind): {str(value).strip()!r}; accepted: 立行立改, 限期整改, 长期坚持")
    return kind


# --- deadlines --------------------------------------------------------------------

_DEADLINE_KIND = (("立行立改", "immediate"), ("即知即改", "immediate"), ("立即整改", "immediate"),
                  ("长期坚持", "long_term"), ("长期整改", "long_term"), ("持续整改", "long_term"),
                  ("long-term", "long_term"), ("long term", "long_term"), ("ongoing", "long_term"),
                  ("immediately", "immediate"), ("immediate", "immediate"))
_FILLER = sorted(("之前", "以前", "前", "完成整改", "整改完成", "完成", "整改到位", "为止", "截止", "截至", "止",
                  "以内", "内", "并", "和", "及", "到", "至", "by", "before", "until", "end", "of"),
                 key=len, reverse=True)
_CN_DIGIT = {"一": 1, "二": 2, "三": 3, "四": 4}
_D_YMD = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?")
_D_COMPACT = re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})(?!\d)")
_D_YM_CN = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(上旬|中旬|下旬|底|末|份|中)?")
_D_YM = re.compile(r"(\d{4})\s*[-/.]\s*(\d{1,2})(?!\d)")
_D_Y_PART = re.compile(r"(\d{4})\s*年\s*(上半年|下半年|年底|年末|底|末|全年|第?([一二三四1-4])季度)?")


def _month_end(y: int, m: int) -> dt.date:
    if not 1 <= m <= 12:
        raise ValueError(f"month {m}")
    return (dt.date(y + (m == 12), m % 12 + 1, 1) - dt.timedelta(days=1))


def parse_deadline(value) -> tuple[dt.date | None, str | None]:
    """(deadline, kind hint) of a 完成时限 cell; ValueError with the reason if it is not one.

    A month means its last day (``2023年3月底前`` and ``2023年3月`` are 2023-03-31), 上旬 the
    10th, 中旬 the 20th; a year, half-year or quarter means its last day. ``立行立改`` and
    ``长期坚持`` give the kind; they may stand alone or next to a date.
    """
    from openpyxl.utils.datetime import from_excel

    if value is None:
        return None, None
    if isinstance(value, dt.datetime):
        return value.date(), None
    if isinstance(value, dt.date):
        return value, None
    if isinstance(value, bool):
        raise ValueError(f"日期无效 (bad date): {value!r}")
    if isinstance(value, (int, float)):
        if 20000 <= value <= 80000:  # an Excel serial day number stored without a date format
            return from_excel(value).date(), None
        raise ValueError(f"日期无效 (bad date): {value!r}")
    s = unicodedata.normalize("NFKC", str(value)).strip().lower()
    if not s:
        return None, None
    kind = None
    for word, k in _DEADLINE_KIND:
        if word in s:
            kind = kind or k
            s = s.replace(word, " ")
    day = None
    for rx in (_D_YMD, _D_COMPACT, _D_YM_CN, _D_YM, _D_Y_PART):
        m = rx.search(s)
        if not m:
            continue
        try:
            y = int(m.group(1))
            if not 1990 <= y <= 2100:
                raise ValueError(f"year {y}")
            if rx in (_D_YMD, _D_COMPACT):
                day = dt.date(y, int(m.group(2)), int(m.group(3)))
            elif rx is _D_YM_CN:
                mo, part = int(m.group(2)), m.group(3)
                day = _month_end(y, mo)
                if part == "上旬":
                    day = dt.date(y, mo, 10)
                elif part in ("中旬", "中"):
                    day = dt.date(y, mo, 20)
            elif rx is _D_YM:
                day = _month_end(y, int(m.group(2)))
            else:
                part, q = m.group(2), m.group(3)
                if part == "上半年":
                    day = dt.date(y, 6, 30)
                elif q:
                    day = _month_end(y, 3 * (_CN_DIGIT.get(q) or int(q)))
                else:
                    day = dt.date(y, 12, 31)
        except ValueError:
            raise ValueError(f"日期无效 (bad date): {str(value).strip()!r}") from None
        s = s[:m.start()] + " " + s[m.end():]
        break
    rest = re.sub(r"\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?", " ", s)  # a time of day after the date
    for word in _FILLER:
        rest = rest.replace(word, " ")
    rest = re.sub(r"[\s,.;:!，。；：、！()（）\-]+", "", rest)
    if rest or (day is None and kind is None):
        raise ValueError(f"日期无效 (bad date): {str(value).strip()!r}; expected e.g. 2023-03-31, "
                         f"2023年3月底前, 立行立改, 长期坚持")
    return day, kind


# --- numbering --------------------------------------------------------------------

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
              "九": 9}


def cn_int(s: str) -> int:
    """一 → 1, 十二 → 12, 二十三 → 23 (up to 99)."""
    s = s.strip()
    if s.isdigit():
        return int(s)
    if "十" in s:
        a, _, b = s.partition("十")
        return (_CN_DIGITS[a] if a else 1) * 10 + (_CN_DIGITS[b] if b else 0)
    n = 0
    for ch in s:
        n = n * 10 + _CN_DIGITS[ch]
    return n


_RX_PART = re.compile(r"^\s*(?:[（(]\s*([一二三四五六七八九十]+)\s*[)）]|([一二三四五六七八九十]+)\s*[、.．])\s*")
_RX_CAT = re.compile(r"^\s*(?:[（(]\s*(\d{1,3})\s*[)）]|(\d{1,3})\s*[.．、](?!\d))\s*")
_RX_NO = re.compile(r"^\s*(?:问题)?\s*[（(]?\s*(\d{1,5})\s*[)）]?\s*(?:[.\-－—_、．]\s*(\d{1,4}))?\s*[.、．]?\s*$")


def split_part(text: str) -> tuple[int | None, str]:
    """'（一）责任…方面' or '一、责任…' → (1, '责任…'); no numbering → (None, text)."""
    m = _RX_PART.match(text)
    if m:
        return cn_int(m.group(1) or m.group(2)), text[m.end():].strip()
    return None, text.strip()


def split_category(text: str) -> tuple[int | None, str]:
    m = _RX_CAT.match(text)
    if m and text[m.end():].strip():
        return int(m.group(1) or m.group(2)), text[m.end():].strip()
    return None, text.strip()


def parse_no(value) -> tuple[int | None, int | None]:
    """序号: '3' → (3, None); '3.2', '3-2' → (3, 2); blank → (None, None); ValueError otherwise."""
    if value is None:
        return None, None
    if isinstance(value, bool):
        raise ValueError(f"无法识别的序号 (bad number): {value!r}")
    if isinstance(value, int):
        return value, None
    if isinstance(value, float):
        if value.is_integer():
            return int(value), None
        value = repr(value)
    s = unicodedata.normalize("NFKC", str(value)).strip()
    if not s:
        return None, None
    m = _RX_NO.match(s)
    if not m:
        raise ValueError(f"无法识别的序号 (bad number): {s!r}; expected e.g. 3, 3.2 or 3-2")
    return int(m.group(1)), int(m.group(2)) if m.group(2) else None


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, (dt.datetime, dt.date)):
        value = value.isoformat()[:10]
    s = str(value).replace("\r\n", "\n").strip()
    return s or None


def _key(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


_NAME_SPLIT = re.compile(r"[、，,；;/\n]+")


def _names(value) -> tuple[str | None, str | None]:
    """The first name of a people or unit cell, and the whole cell if it named several."""
    s = _text(value)
    if not s:
        return None, None
    parts = [p.strip() for p in _NAME_SPLIT.split(s) if p.strip()]
    if not parts:
        return None, None
    return parts[0][:200], (s if len(parts) > 1 else None)


def parse_amount(value, wan: bool) -> Decimal | None:
    """An amount in yuan: 90000, '9万元', '5.04万', '1,200元'; a 万元 column multiplies by 10 000."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError(f"金额无效 (bad amount): {value!r}")
    if isinstance(value, (int, float, Decimal)):
        d = Decimal(str(value))
    else:
        s = unicodedata.normalize("NFKC", str(value)).strip().replace(",", "").replace(" ", "")
        m = re.fullmatch(r"(-?\d+(?:\.\d+)?)(万)?(元)?", s)
        if not m:
            raise ValueError(f"金额无效 (bad amount): {str(value).strip()!r}")
        d = Decimal(m.group(1))
        if m.group(2):
            d *= 10000
            wan = False
    if wan:
        d *= 10000
    if d < 0:
        raise ValueError(f"金额无效 (negative amount): {value!r}")
    try:
        return d.quantize(Decimal("0.01"))
    except InvalidOperation:
        raise ValueError(f"金额无效 (bad amount): {value!r}") from None


# --- reading a workbook -----------------------------------------------------------

@dataclass
class MeasureIn:
    sheet: str
    row: int
    seq: int | None
    text: str
    leader: str | None = None
    unit: str | None = None
    owner: str | None = None
    deadline: dt.date | None = None
    kind: str = "time_bound"
    state: str = "assigned"
    account: str | None = None
    several: dict = field(default_factory=dict)  # cells that named several people/units, kept verbatim


@dataclass
class ProblemIn:
    sheet: str
    row: int
    no: int | None
    text: str
    part: str  # key into LedgerIn.parts
    category: str | None  # key into PartIn.categories
    account: str | None = None
    amount_involved: Decimal | None = None
    amount_recovered: Decimal | None = None
    measures: list[MeasureIn] = field(default_factory=list)
    no_merged: bool = False
    counters: list[int] = field(default_factory=list)  # plain 序号 integers of its rows


@dataclass
class CategoryIn:
    no: int | None
    title: str


@dataclass
class PartIn:
    no: int | None
    title: str
    sheet: str
    row: int
    categories: dict[str, CategoryIn] = field(default_factory=dict)


@dataclass
class LedgerIn:
    """A ledger file as read and checked, not yet matched against the database."""

    name: str
    title: str | None = None
    parts: dict[str, PartIn] = field(default_factory=dict)
    problems: list[ProblemIn] = field(default_factory=list)
    sheets: list[str] = field(default_factory=list)
    skipped_sheets: list[str] = field(default_factory=list)
    ignored_columns: dict[str, list[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def measure_count(self) -> int:
        return sum(len(p.measures) for p in self.problems)


class _Merges:
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


class _Sheet:
    """One sheet's values with merged cells resolved."""

    def __init__(self, title: str, rows: list[tuple], merges: _Merges):
        self.title, self.rows, self.merges = title, rows, merges

    def raw(self, r: int, c: int):
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


def read_ledger(path: str | Path) -> LedgerIn:
    """Read and check a ledger file; raise :class:`LedgerImportError` listing every problem found."""
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    unreadable = (*READ_ERRORS, InvalidFileException)
    path = Path(path)
    check_archive(path)
    fh = path.open("rb")  # a file object: openpyxl then does not judge the file by its name
    try:
        wb = openpyxl.load_workbook(fh, read_only=True, data_only=True, keep_links=False)
    except unreadable as e:  # openpyxl, zipfile and the XML parser raise many kinds on a malformed package
        fh.close()
        raise LedgerImportError(f"不是可读的电子表格 (not a readable spreadsheet: {type(e).__name__}: {e}): "
                                f"{path.name}") from None
    led = LedgerIn(name=path.name)
    issues: list[Issue] = []
    try:
        total_rows = 0
        sheets = []
        for ws in wb.worksheets:
            if not hasattr(ws, "iter_rows"):
                continue  # chart sheets
            try:
                refs = _merge_refs(wb, ws)
                ws.reset_dimensions()
                rows = []
                for values in ws.iter_rows(values_only=True):
                    rows.append(tuple(values[:MAX_COLUMNS]))
                    if len(rows) + total_rows > MAX_ROWS + HEADER_SCAN_ROWS * (len(sheets) + 1):
                        raise LedgerImportError(f"行数过多 (too many rows: over {MAX_ROWS}): {path.name}")
            except LedgerImportError:  # a ValueError too: let it through as it is
                raise
            except unreadable as e:  # a damaged sheet: openpyxl and the XML parser raise many kinds
                raise LedgerImportError([Issue(ws.title, None, None,
                                               f"工作表无法读取 (unreadable sheet: {type(e).__name__}: {e})")]) from None
            while rows and all(v is None or (isinstance(v, str) and not v.strip()) for v in rows[-1]):
                rows.pop()
            total_rows += len(rows)
            sheets.append(_Sheet(ws.title, rows, _Merges(refs)))
    finally:
        wb.close()
        fh.close()
    if not sheets:
        raise LedgerImportError(f"工作簿中没有工作表 (the workbook has no sheets): {path.name}")
    found_any = False
    state = _ReadState()
    for sh in sheets:
        hdr = _find_header(sh)
        if hdr is None:
            led.skipped_sheets.append(sh.title)
            continue
        found_any = True
        led.sheets.append(sh.title)
        _read_sheet(sh, hdr, led, state, issues)
        if len(issues) >= MAX_ISSUES:
            break
    if not found_any:
        first = sheets[0]
        raise LedgerImportError([Issue(first.title, None, None,
                                       "缺少表头：前 30 行中没有同时含“问题”和“整改措施”的表头行 (missing header: no row "
                                       "names both 问题 and 整改措施; expected headers such as 序号, 方面, 问题, 整改措施, "
                                       "责任领导, 责任单位, 责任人, 完成时限, 整改进度)")])
    if not issues:
        _number(led, state, issues)
    if issues:
        raise LedgerImportError(issues[:MAX_ISSUES])
    if not led.problems:
        raise LedgerImportError([Issue(led.sheets[0], None, None, "表中没有任何整改措施 (no measures in the file)")])
    return led


@dataclass
class _Header:
    row: int  # the last header row; data follows
    cols: dict[str, int]
    wan: dict[str, bool]
    labels: dict[int, str]
    ignored: list[str]
    title: str | None
    dupes: list[tuple[str, int, int]]


def _find_header(sh: _Sheet) -> _Header | None:
    """The first row (of the first 30) naming at least three known columns, or 问题 and 整改措施."""
    for r in range(1, min(len(sh.rows), HEADER_SCAN_ROWS) + 1):
        fields = {header_field(v)[0] for v in sh.rows[r - 1]} - {None}
        if len(fields) >= 3 or {"problem", "measure"} <= fields:
            return _build_header(sh, r)
    return None


def _build_header(sh: _Sheet, r: int) -> _Header:
    hdr = _Header(r, {}, {}, {}, [], None, [])

    def take(row_no: int, continuation: bool):
        for c, v in enumerate(sh.rows[row_no - 1], 1):
            if v is None or not str(v).strip():
                continue
            f, w = header_field(v)
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

    take(r, False)
    if r < len(sh.rows):
        # a header split over two rows (责任主体 over 责任领导 | 责任单位 | 责任人)
        cells = [v for v in sh.rows[r] if v is not None and str(v).strip()]
        known = [v for v in cells if header_field(v)[0]]
        if known and 2 * len(known) >= len(cells):
            take(r + 1, True)
    for rr in range(1, r):
        texts = [v.strip() for v in sh.rows[rr - 1] if isinstance(v, str) and v.strip()]
        if texts:
            hdr.title = texts[0]
            break
    return hdr


@dataclass
class _ReadState:
    part_key: str | None = None
    category_key: str | None = None
    problem: ProblemIn | None = None
    counter_sheets: set = field(default_factory=set)
    sheet_problems: dict = field(default_factory=lambda: defaultdict(list))


_DEFAULT_PART = "巡察反馈问题"


def _part(led: LedgerIn, text: str, sheet: str, row: int, issues: list[Issue], col: int | None) -> str:
    no, title = split_part(text)
    title = title or text.strip()
    key = _key(title)
    have = led.parts.get(key)
    if have is None:
        for other in led.parts.values():
            if no is not None and other.no == no:
                issues.append(_issue(sheet, row, col, f"方面编号重复 (duplicate part number {no}): "
                                                      f"{title!r} and {other.title!r}", "方面"))
        led.parts[key] = PartIn(no, title, sheet, row)
    elif no is not None and have.no is None:
        have.no = no
    return key


def _category(part: PartIn, text: str) -> str:
    no, title = split_category(text)
    key = _key(title)
    if key not in part.categories:
        part.categories[key] = CategoryIn(no, title)
    return key


def _section_row(sh: _Sheet, r: int, measure_col: int) -> str | None:
    """The text of a section row: one value alone on the row, or one value merged across it.

    A lone value in the measure column is a measure, not a section.
    """
    row = sh.rows[r - 1]
    vals = [(c, v) for c, v in enumerate(row, 1) if v is not None and str(v).strip()]
    if len(vals) != 1:
        return None
    c, v = vals[0]
    across = sh.merges.top_left(r, c + 1) == (r, c)
    if c == measure_col and not across:
        return None
    if any(sh.merges.top_left(r, cc) not in (None, (r, c)) and sh.merges.top_left(r, cc)[0] == r
           for cc in range(1, len(row) + 1)):
        return None
    return str(v).strip()


def _read_sheet(sh: _Sheet, hdr: _Header, led: LedgerIn, st: _ReadState, issues: list[Issue]) -> None:
    cols = hdr.cols
    name = sh.title
    label = {f: hdr.labels.get(c, FIELD_LABELS.get(f)) for f, c in cols.items()}
    missing = [FIELD_LABELS[f] for f in ("problem", "measure") if f not in cols]
    if missing:
        issues.append(Issue(name, hdr.row, None, f"缺少表头 (missing header): {'、'.join(missing)}; found "
                                                 f"{'、'.join(hdr.labels.values())}"))
        return
    for f, c1, c2 in hdr.dupes:
        issues.append(_issue(name, hdr.row, c2, f"重复的列 (two columns for {FIELD_LABELS[f]}: also column "
                                                f"{_issue(None, None, c1, '').column})", FIELD_LABELS[f]))
    if hdr.ignored:
        led.ignored_columns[name] = hdr.ignored
    if hdr.title and led.title is None:
        led.title = hdr.title
    st.problem = None
    st.category_key = None if "category" not in cols else st.category_key

    def cell(r, f):
        return sh.get(r, cols.get(f))

    for r in range(hdr.row + 1, len(sh.rows) + 1):
        row = sh.rows[r - 1]
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in row) and not any(
                sh.merges.top_left(r, c) for c in cols.values()):
            continue
        measure_v, measure_cont = cell(r, "measure")
        problem_v, problem_cont = cell(r, "problem")
        measure_text = _text(measure_v)
        section = _section_row(sh, r, cols["measure"])
        if section is not None:
            spans = measure_text == section and not measure_cont and _text(sh.raw(r, cols["measure"])) is None
            if split_part(section)[0] is not None or (spans and split_category(section)[0] is None):
                st.part_key = _part(led, section, name, r, issues, None)
                st.category_key = st.problem = None
                continue
            if split_category(section)[0] is not None and st.part_key is not None:
                st.category_key = _category(led.parts[st.part_key], section)
                st.problem = None
                continue
        if measure_cont and st.problem is not None and st.problem.measures and \
                st.problem.measures[-1].text == measure_text:
            continue  # a measure merged over several rows is one measure
        if not measure_text:
            if section is not None and not (cols.get("problem") and _text(sh.raw(r, cols["problem"])) == section):
                led.warnings.append(f"{name}!{r}: 忽略说明行 (note row ignored): {section[:40]}")
                continue
            issues.append(_issue(name, r, cols["measure"], "缺少整改措施 (missing 整改措施)", label["measure"]))
            continue
        # the part and category of this row
        part_v, part_cont = cell(r, "part")
        if _text(part_v):
            st.part_key = _part(led, _text(part_v), name, r, issues, cols.get("part"))
        elif st.part_key is None:
            st.part_key = _part(led, _DEFAULT_PART, name, r, issues, None)
        cat_v, _ = cell(r, "category")
        if "category" in cols:
            st.category_key = _category(led.parts[st.part_key], _text(cat_v)) if _text(cat_v) else None
        no_v, no_cont = cell(r, "no")
        try:
            pno, mseq = parse_no(no_v)
        except ValueError as e:
            issues.append(_issue(name, r, cols.get("no"), str(e), label.get("no")))
            pno, mseq = None, None
        ptext = _text(problem_v)
        cur = st.problem
        new_problem = False
        if cur is None:
            new_problem = True
        elif problem_cont:
            new_problem = False
        elif ptext and (_key(ptext) != _key(cur.text) or cur.part != st.part_key):
            new_problem = True
        elif ptext and mseq is not None and pno is not None and cur.no is not None and pno != cur.no:
            new_problem = True
        if new_problem:
            if not ptext:
                issues.append(_issue(name, r, cols.get("problem"), "缺少问题 (missing 问题)", label.get("problem")))
                continue
            cur = ProblemIn(name, r, pno, ptext, st.part_key, st.category_key)
            cur.no_merged = bool(cols.get("no") and sh.merges.spans_rows(r, cols["no"]))
            pa, _ = cell(r, "problem_account")
            cur.account = _text(pa)
            for f in ("amount_involved", "amount_recovered"):
                v, _ = cell(r, f)
                try:
                    setattr(cur, f, parse_amount(v, hdr.wan.get(f, False)))
                except ValueError as e:
                    issues.append(_issue(name, r, cols.get(f), str(e), label.get(f)))
            st.problem = cur
            led.problems.append(cur)
            st.sheet_problems[name].append(cur)
        if no_v is not None and not no_cont and mseq is None and pno is not None:
            cur.counters.append(pno)
        # the measure of this row
        m = MeasureIn(name, r, mseq if (mseq is not None and (pno is None or cur.no is None or pno == cur.no))
                      else None, measure_text)
        if mseq is not None and cur.no is not None and pno is not None and pno != cur.no:
            issues.append(_issue(name, r, cols.get("no"), f"序号与问题不符 (序号 {no_v} does not belong to problem "
                                                          f"{cur.no})", label.get("no")))
        for f in ("leader", "unit", "owner"):
            v, _ = cell(r, f)
            first, several = _names(v)
            setattr(m, f, first)
            if several:
                m.several[f] = several
        kind_hint = None
        v, _ = cell(r, "deadline")
        try:
            m.deadline, kind_hint = parse_deadline(v)
        except ValueError as e:
            issues.append(_issue(name, r, cols.get("deadline"), str(e), label.get("deadline")))
        v, _ = cell(r, "status")
        status_long = False
        try:
            m.state, status_long = parse_status(v)
        except ValueError as e:
            issues.append(_issue(name, r, cols.get("status"), str(e), label.get("status")))
        v, _ = cell(r, "kind")
        try:
            kind = parse_kind(v)
        except ValueError as e:
            issues.append(_issue(name, r, cols.get("kind"), str(e), label.get("kind")))
            kind = None
        m.kind = kind or kind_hint or ("long_term" if status_long else "time_bound")
        v, acc_cont = cell(r, "account")
        m.account = _text(v)
        m._account_cont = acc_cont  # type: ignore[attr-defined]
        cur.measures.append(m)
        if len(issues) >= MAX_ISSUES:
            return
    # a 落实情况 cell merged over all of a problem's rows is the problem's published account
    for p in st.sheet_problems[name]:
        ms = p.measures
        if len(ms) > 1 and all(getattr(x, "_account_cont", False) for x in ms[1:]) and ms[0].account:
            if p.account is None:
                p.account = ms[0].account
            for x in ms:
                x.account = None
        if len(p.counters) >= 2 and not p.no_merged and len(set(p.counters)) == len(p.counters):
            st.counter_sheets.add(name)


def _number(led: LedgerIn, st: _ReadState, issues: list[Issue]) -> None:
    """Problem numbers and measure sequence numbers; duplicates are refused."""
    seen: dict[int, ProblemIn] = {}
    for p in led.problems:
        if p.sheet in st.counter_sheets:
            p.no = None  # the 序号 column counts rows, not problems
            for m in p.measures:
                m.seq = None
        if p.no is not None:
            if p.no in seen:
                other = seen[p.no]
                issues.append(Issue(p.sheet, p.row, None, f"序号重复 (duplicate 序号 {p.no}: problem also at "
                                                          f"{other.sheet}!{other.row})", "序号"))
            else:
                seen[p.no] = p
        used: dict[int, MeasureIn] = {}
        explicit = {m.seq for m in p.measures if m.seq is not None}
        pos = 0
        for m in p.measures:
            if m.seq is None:
                pos += 1
                while pos in explicit or pos in used:
                    pos += 1
                m.seq = pos
            if m.seq in used:
                issues.append(Issue(m.sheet, m.row, None, f"序号重复 (duplicate 序号 {p.no or ''}.{m.seq}: measure "
                                                          f"also at row {used[m.seq].row})", "序号"))
            used[m.seq] = m


# --- matching against the database ----------------------------------------------

@dataclass
class _Person:
    id: int | None
    username: str
    name: str
    roles: set
    units: set


class _Diff:
    """What an import will do: built from reads only, then applied in the same transaction."""

    def __init__(self):
        self.plan_id: int | None = None
        self.plan_title: str = ""
        self.part_ids: dict[str, int | None] = {}
        self.part_nos: dict[str, int] = {}
        self.part_updates: list[tuple[int, str]] = []
        self.cat_nos: dict[tuple[str, str], int] = {}
        self.cat_ids: dict[tuple[str, str], int | None] = {}
        self.cat_updates: list[tuple[int, str]] = []
        self.problems: list[tuple[ProblemIn, int | None, int, dict]] = []  # (p, existing id, no, changes)
        self.measures: list[tuple[MeasureIn, ProblemIn, object, dict, str | None]] = []
        self.new_units: list[str] = []
        self.new_users: dict[str, _Person] = {}
        self.grants: list[tuple[str, str, str | None]] = []  # (username, role, unit)
        self.warnings: list[str] = []
        self.counts = Counter()
        self.person_of: dict[tuple, _Person] = {}


def _resolve_plan(conn: Connection, led: LedgerIn, plan_id: int | None, title: str | None) -> tuple[int | None, str]:
    if plan_id is not None:
        row = conn.execute(select(Plan.id, Plan.title).where(Plan.id == plan_id)).first()
        if row is None:
            raise NotFound(f"no such plan: {plan_id}")
        return row.id, row.title
    title = (title or led.title or Path(led.name).stem).strip()[:300]
    pid = conn.execute(select(Plan.id).where(Plan.title == title).order_by(Plan.id.desc())).scalar()
    return pid, title


def _match_numbered(items: dict, db_rows: dict[int, tuple[int, str]]):
    """Match a file's parts (or one part's categories) to the stored ones; each stored row is taken once.

    ``items`` maps a title key to an object with ``no`` and ``title``; ``db_rows`` maps a stored
    number to (id, title). A numbered item takes the stored row of its number (renaming it if the
    title differs); then an unnumbered item takes a stored row of the same title that no item has
    taken; the rest are new, unnumbered ones on the first free number. Returns (ids, nos, updates,
    created): ids[key] is None for a new row, updates lists (id, new title).
    """
    ids: dict[str, int | None] = {}
    nos: dict[str, int] = {}
    updates: list[tuple[int, str]] = []
    claimed: set[int] = set()
    for key, it in items.items():
        if it.no is not None and it.no in db_rows:
            row_id, t = db_rows[it.no]
            ids[key], nos[key] = row_id, it.no
            claimed.add(it.no)
            if t != it.title:
                updates.append((row_id, it.title))
    by_title: dict[str, list[int]] = defaultdict(list)
    for no in sorted(db_rows):
        if no not in claimed:
            by_title[_key(db_rows[no][1])].append(no)
    taken = set(db_rows) | {it.no for it in items.values() if it.no is not None}
    created = 0
    for key, it in items.items():
        if key in ids:
            continue
        same = by_title.get(key) if it.no is None else None
        if same:
            no = same.pop(0)
            ids[key], nos[key] = db_rows[no][0], no
            continue
        no = it.no
        if no is None:
            no = 1
            while no in taken:
                no += 1
        taken.add(no)
        ids[key], nos[key] = None, no
        created += 1
    return ids, nos, updates, created


def _diff(conn: Connection, led: LedgerIn, plan_id: int | None, title: str | None) -> _Diff:
    d = _Diff()
    d.plan_id, d.plan_title = _resolve_plan(conn, led, plan_id, title)
    pid = d.plan_id
    # parts and categories
    db_parts = {r.no: (r.id, r.title) for r in conn.execute(
        select(Part.id, Part.no, Part.title).where(Part.plan_id == pid))} if pid else {}
    ids, nos, d.part_updates, created = _match_numbered(led.parts, db_parts)
    for key in led.parts:
        d.part_ids[key], d.part_nos[key] = ids[key], nos[key]
    d.counts["parts_created"] += created
    d.counts["parts_updated"] = len(d.part_updates)
    for pkey, p in led.parts.items():
        part_id = d.part_ids[pkey]
        db_cats = {}
        if part_id:
            db_cats = {r.no: (r.id, r.title) for r in conn.execute(
                select(Category.id, Category.no, Category.title).where(Category.part_id == part_id))}
        ids, nos, updates, created = _match_numbered(p.categories, db_cats)
        for ckey in p.categories:
            d.cat_ids[(pkey, ckey)], d.cat_nos[(pkey, ckey)] = ids[ckey], nos[ckey]
        d.cat_updates += updates
        d.counts["categories_created"] += created
    d.counts["categories_updated"] = len(d.cat_updates)
    # problems
    db_probs = {}
    if pid:
        for r in conn.execute(select(Problem.__table__).where(Problem.plan_id == pid)):
            db_probs[r.no] = r
    db_by_text: dict[str, list] = defaultdict(list)
    for r in sorted(db_probs.values(), key=lambda r: r.no):
        db_by_text[_key(r.text)].append(r)
    explicit = {p.no for p in led.problems if p.no is not None}
    reserved = set(db_probs) | explicit
    claimed: dict[int, ProblemIn] = {}
    for p in led.problems:
        row = None
        if p.no is not None:
            row = db_probs.get(p.no)
            no = p.no
        else:
            # the first problem of that text not yet matched (a file may repeat a text)
            row = next((r for r in db_by_text.get(_key(p.text), ()) if r.no not in claimed
                        and r.no not in explicit), None)
            if row is not None:
                no = row.no
            else:
                no = 1
                while no in reserved:
                    no += 1
                reserved.add(no)
        if no in claimed:
            raise LedgerImportError([Issue(p.sheet, p.row, None, f"序号重复 (duplicate problem {no}: also at "
                                                                  f"{claimed[no].sheet}!{claimed[no].row})")])
        claimed[no] = p
        changes = {}
        if row is not None:
            new_part = d.part_ids.get(p.part)
            new_cat = d.cat_ids.get((p.part, p.category)) if p.category else None
            if row.text != p.text:
                changes["text"] = [row.text, p.text]
            # new parts and categories have no id yet (None): compared by key, resolved when applied
            if new_part != row.part_id:
                changes["part"] = [row.part_id, p.part]
            if p.category is None and row.category_id is not None and new_part == row.part_id:
                pass  # a file without a category column keeps the category
            elif new_cat != row.category_id or (p.category is not None and new_cat is None):
                changes["category"] = [row.category_id, p.category]
            for f in ("account", "amount_involved", "amount_recovered"):
                new = getattr(p, f)
                if new is not None and new != getattr(row, f):
                    changes[f] = [getattr(row, f), new]
            d.counts["problems_updated" if changes else "problems_unchanged"] += 1
        else:
            d.counts["problems_created"] += 1
        d.problems.append((p, row.id if row is not None else None, no, changes))
    # people and units
    units = {r.name: r.id for r in conn.execute(select(OrgUnit.id, OrgUnit.name))}
    people: dict[str, list[_Person]] = defaultdict(list)
    roles = defaultdict(set)
    for uid, role in conn.execute(select(UserRole.user_id, UserRole.role)):
        roles[uid].add(role)
    members = defaultdict(set)
    for uid, unit_id in conn.execute(select(Membership.user_id, Membership.unit_id)):
        members[uid].add(unit_id)
    usernames = set()
    for r in conn.execute(select(User.id, User.username, User.name).where(User.active.is_(True)).order_by(User.id)):
        people[r.name].append(_Person(r.id, r.username, r.name, roles[r.id], members[r.id]))
        usernames.add(r.username)
    for r in conn.execute(select(User.username)):
        usernames.add(r.username)
    unit_name_of = {v: k for k, v in units.items()}

    def person(name: str, role: str, unit: str | None) -> _Person:
        key = (name, role, unit)
        if key in d.person_of:
            return d.person_of[key]
        unit_id = units.get(unit) if unit else None
        cands = people.get(name, [])
        pick = None
        for test in (lambda c: role in c.roles and (unit_id is None or unit_id in c.units),
                     lambda c: role in c.roles, lambda c: True):
            pick = next((c for c in cands if test(c)), None)
            if pick:
                break
        if pick is None:
            username = _username(name, usernames)
            usernames.add(username)
            pick = _Person(None, username, name, set(), set())
            people[name].append(pick)
            d.new_users[username] = pick
        need_unit = unit if role == "owner" else None
        if role not in pick.roles or (need_unit and (units.get(need_unit) not in pick.units)):
            d.grants.append((pick.username, role, need_unit))
            pick.roles.add(role)
            if need_unit:
                pick.units.add(units.get(need_unit))
        d.person_of[key] = pick
        return pick

    for p, _pid, _no, _ch in d.problems:
        for m in p.measures:
            if m.unit and m.unit not in units:
                units[m.unit] = f"new:{m.unit}"  # a placeholder id until the unit is created
                d.new_units.append(m.unit)
    # measures
    existing = defaultdict(dict)
    if pid:
        q = select(M).join(Problem, Problem.id == M.c.problem_id).where(Problem.plan_id == pid)
        for r in conn.execute(q):
            existing[r.problem_id][r.seq] = r
    names_by_id = {r.id: r.name for r in conn.execute(select(User.id, User.name))}
    for p, prob_id, no, _ch in d.problems:
        have = existing.get(prob_id, {}) if prob_id else {}
        for m in p.measures:
            lead = person(m.leader, "leader", None) if m.leader else None
            own = person(m.owner, "owner", m.unit) if m.owner else None
            m._leader, m._owner = lead, own  # type: ignore[attr-defined]
            row = have.get(m.seq)
            if row is None:
                d.measures.append((m, p, None, {}, None))
                d.counts["measures_created"] += 1
                if m.state == "closed":
                    d.counts["closed_by_import"] += 1
                continue
            changes = {}
            if row.text != m.text:
                changes["text"] = [row.text, m.text]
            if row.kind != m.kind:
                changes["kind"] = [row.kind, m.kind]
            if m.deadline is not None and row.deadline != m.deadline:
                changes["deadline"] = [row.deadline.isoformat() if row.deadline else None, m.deadline.isoformat()]
            if m.account is not None and (row.account or None) != m.account:
                changes["account"] = [row.account, m.account]
            if m.unit is not None and unit_name_of.get(row.unit_id) != m.unit:
                changes["unit"] = [unit_name_of.get(row.unit_id), m.unit]
            if lead is not None and (row.leader_id is None or lead.id != row.leader_id):
                changes["leader"] = [names_by_id.get(row.leader_id), lead.name]
            if own is not None and (row.owner_id is None or own.id != row.owner_id):
                changes["owner"] = [names_by_id.get(row.owner_id), own.name]
            to_state = None
            if m.state != row.state:
                if STATE_RANK[m.state] > STATE_RANK[row.state]:
                    to_state = m.state
                    if m.state == "closed":
                        d.counts["closed_by_import"] += 1
                else:
                    d.warnings.append(
                        f"{m.sheet}!{m.row}: 台账中为“{EXPORT_STATUS[row.state]}”，文件为“{EXPORT_STATUS[m.state]}”，"
                        f"保留台账状态 (the ledger is further along; state kept)")
            if changes or to_state:
                d.measures.append((m, p, row, changes, to_state))
                d.counts["measures_updated"] += 1
            else:
                d.counts["measures_unchanged"] += 1
    return d


def _username(name: str, taken: set) -> str:
    """A stable ASCII username for a person known only by display name."""
    base = "u" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:10]
    cand, n = base, 1
    while cand in taken:
        n += 1
        cand = f"{base}-{n}"
    return cand


def _apply(conn: Connection, d: _Diff, led: LedgerIn, now: dt.datetime, actor: str, source: str) -> None:
    now = now.replace(tzinfo=None)
    if d.plan_id is None:
        insp = planwriter.inspection(conn, IMPORTED_BODY, IMPORTED_TARGET, "routine")
        d.plan_id = planwriter.plan(conn, insp, d.plan_title)
    pid = d.plan_id
    for key, part_no in d.part_nos.items():
        if d.part_ids[key] is None:
            d.part_ids[key] = planwriter.part(conn, pid, part_no, led.parts[key].title)
    for part_id, title in d.part_updates:
        conn.execute(update(Part.__table__).where(Part.id == part_id).values(title=title))
    for (pkey, ckey), no in d.cat_nos.items():
        if d.cat_ids[(pkey, ckey)] is None:
            d.cat_ids[(pkey, ckey)] = planwriter.category(conn, d.part_ids[pkey], no, led.parts[pkey].categories[ckey].title)
    for cid, title in d.cat_updates:
        conn.execute(update(Category.__table__).where(Category.id == cid).values(title=title))
    for name in d.new_units:
        planwriter.unit(conn, name)
    unit_ids = {r.name: r.id for r in conn.execute(select(OrgUnit.id, OrgUnit.name))}
    for username, person in d.new_users.items():
        person.id = planwriter.user(conn, username, person.name)
    for username, role, unit in d.grants:
        planwriter.user(conn, username, "", [role], unit)
    problem_ids = {}
    for p, prob_id, no, changes in d.problems:
        part_id = d.part_ids[p.part]
        cat_id = d.cat_ids.get((p.part, p.category)) if p.category else None
        if prob_id is None:
            prob_id = planwriter.problem(conn, pid, part_id, no, p.text, category_id=cat_id, account=p.account,
                                     amount_involved=p.amount_involved, amount_recovered=p.amount_recovered)
        elif changes:
            values = {}
            for f, (_old, new) in changes.items():
                if f == "part":
                    values["part_id"] = part_id
                elif f == "category":
                    values["category_id"] = cat_id
                else:
                    values[f] = new
            conn.execute(update(Problem.__table__).where(Problem.id == prob_id).values(**values))
        problem_ids[id(p)] = prob_id
    for m, p, row, changes, to_state in d.measures:
        lead, own = m._leader, m._owner  # type: ignore[attr-defined]
        where = {"source": source, "sheet": m.sheet, "row": m.row}
        if m.several:
            where["several"] = m.several
        if row is None:
            extra = dict(where)
            if m.account:
                extra["account"] = m.account
            if m.state != "assigned":
                extra["lifecycle_bypassed"] = True
            mid = planwriter.measure(conn, problem_ids[id(p)], m.seq, m.text, kind=m.kind,
                                 leader_id=lead.id if lead else None, unit_id=unit_ids.get(m.unit) if m.unit else None,
                                 owner_id=own.id if own else None, deadline=m.deadline, now=now, actor=actor,
                                 event_kind="import", state=m.state, extra=extra)
            if m.account:
                conn.execute(update(M).where(M.c.id == mid).values(account=m.account))
            if m.state == "closed":
                conn.execute(insert(LightChange.__table__), {"measure_id": mid, "light": "done", "level": -1,
                                                             "at": now})
            continue
        values: dict = {}
        if "text" in changes:
            values["text"] = m.text
        if "kind" in changes:
            values["kind"] = m.kind
        if "deadline" in changes:
            values["deadline"] = m.deadline
            if row.deadline_original is None:
                values["deadline_original"] = m.deadline
        if "account" in changes:
            values["account"] = m.account
        if "unit" in changes:
            values["unit_id"] = unit_ids.get(m.unit)
        if "leader" in changes:
            values["leader_id"] = lead.id
        if "owner" in changes:
            values["owner_id"] = own.id
        body = {"changes": changes, **where}
        if to_state:
            body["lifecycle_bypassed"] = True
            values["state"] = to_state
            if to_state == "closed":
                values.update(closed_at=now, light="done", level=-1)
                conn.execute(insert(LightChange.__table__), {"measure_id": row.id, "light": "done", "level": -1,
                                                             "at": now})
        seq, h = audit.append(conn, row.id, row.head_seq, row.head_hash, "import", actor,
                              row.state if to_state else None, to_state, body, now)
        values.update(version=row.version + 1, head_seq=seq, head_hash=h)
        commands.write_checked(conn, row.id, row.version, values)


def _summary(d: _Diff, led: LedgerIn, dry_run: bool, preview_rows: int = 10) -> dict:
    c = d.counts
    rows = []
    for m, p, row, changes, to_state in d.measures[:preview_rows]:
        rows.append({
            "action": "create" if row is None else "update", "sheet": m.sheet, "row": m.row,
            "problem_no": next(no for pp, _i, no, _c in d.problems if pp is p), "seq": m.seq,
            "measure": m.text[:60], "unit": m.unit, "owner": m.owner, "leader": m.leader,
            "deadline": m.deadline.isoformat() if m.deadline else None, "kind": m.kind,
            "state": to_state or (m.state if row is None else row.state),
            "changes": sorted(changes) + (["state"] if to_state else []),
        })
    return {
        "file": led.name, "dry_run": dry_run, "plan_id": d.plan_id, "plan_title": d.plan_title,
        "plan_created": d.plan_id is None,
        "sheets": led.sheets, "skipped_sheets": led.skipped_sheets, "ignored_columns": led.ignored_columns,
        "create": {"parts": c["parts_created"], "categories": c["categories_created"],
                   "problems": c["problems_created"], "measures": c["measures_created"],
                   "units": len(d.new_units), "users": len(d.new_users)},
        "update": {"parts": c["parts_updated"], "categories": c["categories_updated"],
                   "problems": c["problems_updated"], "measures": c["measures_updated"]},
        "unchanged": {"problems": c["problems_unchanged"], "measures": c["measures_unchanged"]},
        "closed_by_import": c["closed_by_import"],
        "roles_granted": [{"username": u, "role": r, "unit": un} for u, r, un in d.grants
                          if u not in d.new_users],
        "new_users": [{"username": u, "name": p.name} for u, p in d.new_users.items()],
        "totals": {"problems": len(led.problems), "measures": led.measure_count},
        "warnings": led.warnings + d.warnings,
        "preview": rows,
    }


def import_ledger(path: str | Path, *, plan_id: int | None = None, title: str | None = None,
                  dry_run: bool = False, actor: str = "system", now: dt.datetime | None = None,
                  engine: Engine | None = None) -> dict:
    """Import an .xlsx ledger into a plan, all or nothing; return what was (or would be) done.

    The plan is ``plan_id``, else the plan titled ``title`` (or the file's title row, or its
    name), created if there is none. ``dry_run`` reads and matches but writes nothing.
    Raises :class:`LedgerImportError` (nothing written) or :class:`workflow.errors.NotFound`.
    """
    path = Path(path)
    led = read_ledger(path)
    now = (now or utcnow()).replace(tzinfo=None)
    if dry_run:
        with db.read_tx(engine) as conn:
            d = _diff(conn, led, plan_id, title)
            return _summary(d, led, True)
    with db.write_tx(engine) as conn:
        d = _diff(conn, led, plan_id, title)
        summary = _summary(d, led, False)
        _apply(conn, d, led, now, actor, path.name)
        summary["plan_id"] = d.plan_id
    return summary


def preview(path: str | Path, **kw) -> dict:
    """What :func:`import_ledger` would do, without writing."""
    return import_ledger(path, dry_run=True, **kw)


# --- export -----------------------------------------------------------------------

EXPORT_COLUMNS = (
    ("no", "序号", 8), ("part", "方面", 22), ("category", "分类", 22), ("problem", "问题", 48),
    ("measure", "整改措施", 48), ("leader", "责任领导", 12), ("unit", "责任单位", 16), ("owner", "责任人", 12),
    ("deadline", "完成时限", 13), ("kind", "整改类型", 11), ("status", "整改进度", 11), ("light", "预警", 9),
    ("account", "落实情况", 48), ("problem_account", "问题落实情况", 48),
    ("amount_involved", "涉及金额（元）", 14), ("amount_recovered", "退还/追缴金额（元）", 16),
)
MERGED_COLUMNS = ("part", "category", "problem", "problem_account", "amount_involved", "amount_recovered")
LIGHT_FILL = {"red": "FFC7CE", "yellow": "FFEB9C", "green": "C6EFCE", "done": "C6EFCE"}
LIGHT_LABELS = {"red": "红灯", "yellow": "黄灯", "green": "绿灯", "done": "已销号"}
CN_NUMERALS = "零一二三四五六七八九十"


def cn_numeral(n: int) -> str:
    """1 → 一, 12 → 十二, 23 → 二十三 (up to 99)."""
    if n <= 10:
        return CN_NUMERALS[n]
    tens, ones = divmod(n, 10)
    return (CN_NUMERALS[tens] if tens > 1 else "") + "十" + (CN_NUMERALS[ones] if ones else "")


def _sheet_name(no: int, title: str, used: set) -> str:
    base = re.sub(r"[\[\]:*?/\\]", "", f"{cn_numeral(no)}、{title}")[:31] or f"第{no}部分"
    name, n = base, 1
    while name.lower() in used:
        n += 1
        suffix = f"({n})"
        name = base[:31 - len(suffix)] + suffix
    used.add(name.lower())
    return name


def export_ledger(path: str | Path, *, plan_id: int | None = None, now: dt.datetime | None = None,
                  engine: Engine | None = None, progress: Callable[[int, int], None] | None = None,
                  batch: int = 1000) -> dict:
    """Write the plan's ledger as .xlsx in the import layout, streaming; return counts.

    ``progress(done, total)`` is called every ``batch`` rows and at the end.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
    from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Side
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.cell_range import CellRange

    from .readmodels import items_query
    from .stats import resolve_plan

    now = (now or utcnow()).replace(tzinfo=None)
    today = workdays.local_today(now)
    path = Path(path)
    tmp = path.with_name(f".{path.name}.part")
    engine = engine or db.get_engine()
    wb = Workbook(write_only=True)
    summary_ws = wb.create_sheet("汇总")
    thin = Side(style="thin", color="999999")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    head_font = Font(name="黑体", bold=True)
    title_font = Font(name="方正小标宋简体", size=16)
    wrap = Alignment(wrap_text=True, vertical="top")
    center = Alignment(horizontal="center", vertical="center", wrap_text=True)
    head_fill = PatternFill("solid", fgColor="D9E1F2")
    fills = {k: PatternFill("solid", fgColor=v) for k, v in LIGHT_FILL.items()}
    ncols = len(EXPORT_COLUMNS)
    col_of = {f: i for i, (f, _h, _w) in enumerate(EXPORT_COLUMNS)}

    named: dict[tuple, str] = {}

    def styled(ws, value, font=None, fill=None, align=None, fmt=None, bordered=True):
        # one named style per combination: assigning fonts, fills and borders cell by cell
        # hashes the style objects each time and costs most of the export
        key = (id(font), id(fill), id(align), fmt, bordered)
        name = named.get(key)
        if name is None:
            name = named[key] = f"rectify-{len(named) + 1}"
            kw = {k: v for k, v in (("font", font), ("fill", fill), ("alignment", align), ("number_format", fmt),
                                    ("border", border if bordered else None)) if v is not None}
            wb.add_named_style(NamedStyle(name=name, **kw))
        if isinstance(value, str):
            value = ILLEGAL_CHARACTERS_RE.sub("", value)  # control characters left by PDF extraction
        c = WriteOnlyCell(ws, value=value)
        c.style = name
        return c

    counts_state, counts_light = Counter(), Counter()
    by_unit: dict[str, Counter] = defaultdict(Counter)
    done = 0
    with db.read_tx(engine) as conn:
        plan = resolve_plan(conn, plan_id)
        names = {r.username: r.name for r in conn.execute(select(User.username, User.name))}
        total = conn.execute(select(func.count()).select_from(M).join(Problem, Problem.id == M.c.problem_id)
                             .where(Problem.plan_id == plan.id)).scalar_one()
        problems = conn.execute(select(func.count()).select_from(Problem).where(Problem.plan_id == plan.id)).scalar_one()
        q = (items_query(plan_id=plan.id)
             .add_columns(Problem.text.label("problem_text"), Problem.account.label("problem_account"),
                          Problem.amount_involved, Problem.amount_recovered, Problem.id.label("problem_id"),
                          Part.title.label("part_title"), Category.no.label("cat_no"),
                          Category.title.label("cat_title"), M.c.account.label("account"))
             .outerjoin(Category, Category.id == Problem.category_id)
             .order_by(None).order_by(Part.no, Problem.no, M.c.seq))
        if progress:
            progress(0, total)
        ws = None
        used_names = {"汇总"}
        cur_part = cur_problem = None
        first_row = row_idx = 0
        merges_out = 0
        money = False
        last_col = get_column_letter(ncols)

        def close_problem():
            # merged ranges are added to the set directly: MultiCellRange.add scans every range
            nonlocal merges_out
            if ws is not None and cur_problem is not None and row_idx > first_row:
                for f in MERGED_COLUMNS:
                    if f.startswith("amount") and not money:
                        continue
                    c = col_of[f] + 1
                    ws.merged_cells.ranges.add(CellRange(min_col=c, min_row=first_row, max_col=c, max_row=row_idx))
                    merges_out += 1

        def close_sheet():
            close_problem()
            if ws is not None:
                ws.auto_filter.ref = f"A2:{last_col}{max(row_idx, 2)}"

        result = conn.execution_options(stream_results=True, yield_per=batch).execute(q)
        for r in result:
            if r.part != cur_part:
                close_sheet()
                cur_part, cur_problem = r.part, None
                ws = wb.create_sheet(_sheet_name(r.part, r.part_title, used_names))
                for i, (_f, _h, width) in enumerate(EXPORT_COLUMNS):
                    ws.column_dimensions[get_column_letter(i + 1)].width = width
                ws.freeze_panes = "E3"
                ws.print_title_rows = "2:2"
                ws.page_setup.orientation = "landscape"
                ws.page_setup.paperSize = 9  # A4
                ws.append([styled(ws, plan.title, font=title_font, align=center, bordered=False)])
                ws.merged_cells.ranges.add(CellRange(min_col=1, min_row=1, max_col=ncols, max_row=1))
                ws.append([styled(ws, h, font=head_font, fill=head_fill, align=center) for _f, h, _w in EXPORT_COLUMNS])
                row_idx = 2
            new_problem = r.problem_id != cur_problem
            if new_problem:
                close_problem()
                cur_problem, first_row = r.problem_id, row_idx + 1
                money = r.amount_involved is not None or r.amount_recovered is not None
            row_idx += 1
            lt, _level = workdays.light(r.state, r.deadline, today, workdays.ladder(r.ladder))
            fill = fills[lt]
            if r.deadline is not None:
                deadline = styled(ws, r.deadline, fill=fill, align=center, fmt="yyyy-mm-dd")
            else:
                deadline = styled(ws, spec.KIND_LABELS.get(r.kind) if r.kind != "time_bound" else None,
                                  fill=fill, align=center)
            values = {
                "no": styled(ws, f"{r.problem_no}.{r.seq}", align=center),
                "part": f"{cn_numeral(r.part)}、{r.part_title}" if new_problem else None,
                "category": (f"{r.cat_no}. {r.cat_title}" if r.cat_title else None) if new_problem else None,
                "problem": r.problem_text if new_problem else None,
                "measure": r.text,
                "leader": names.get(r.leader) if r.leader else None,
                "unit": r.unit,
                "owner": names.get(r.owner) if r.owner else None,
                "deadline": deadline,
                "kind": styled(ws, spec.KIND_LABELS.get(r.kind, r.kind), align=center),
                "status": styled(ws, EXPORT_STATUS.get(r.state, r.state), fill=fill, align=center),
                "light": styled(ws, LIGHT_LABELS[lt], fill=fill, align=center),
                "account": r.account,
                "problem_account": r.problem_account if new_problem else None,
                "amount_involved": styled(ws, r.amount_involved, align=wrap, fmt="#,##0.00")
                if new_problem and r.amount_involved is not None else None,
                "amount_recovered": styled(ws, r.amount_recovered, align=wrap, fmt="#,##0.00")
                if new_problem and r.amount_recovered is not None else None,
            }
            out = []
            for f, _h, _w in EXPORT_COLUMNS:
                v = values[f]
                if isinstance(v, Cell):
                    out.append(v)
                else:
                    out.append(styled(ws, v, align=wrap))
            ws.append(out)
            counts_state[r.state] += 1
            counts_light[lt] += 1
            u = by_unit[r.unit or "（未指定）"]
            u["total"] += 1
            u[lt] += 1
            u["closed" if r.state == "closed" else "open"] += 1
            done += 1
            if progress and done % batch == 0:
                progress(done, total)
        close_sheet()
    # the summary sheet
    for i, width in enumerate((22, 12, 12, 12, 10, 10, 10), 1):
        summary_ws.column_dimensions[get_column_letter(i)].width = width
    s = summary_ws
    s.append([styled(s, f"{plan.title} · 整改台账汇总", font=title_font, bordered=False)])
    s.append([styled(s, f"导出时间 {workdays.local_today(now).isoformat()}（统计口径：{today.isoformat()}）",
                     bordered=False)])
    s.append([])
    s.append([styled(s, h, font=head_font, fill=head_fill, align=center) for h in ("合计", "数量")])
    s.append([styled(s, "问题"), styled(s, problems)])
    s.append([styled(s, "整改措施"), styled(s, done)])
    s.append([])
    s.append([styled(s, h, font=head_font, fill=head_fill, align=center) for h in ("状态", "措施数")])
    for st in spec.STATES:
        s.append([styled(s, spec.STATE_LABELS[st]), styled(s, counts_state.get(st, 0))])
    s.append([])
    s.append([styled(s, h, font=head_font, fill=head_fill, align=center) for h in ("预警", "措施数")])
    for lt in ("red", "yellow", "green", "done"):
        s.append([styled(s, LIGHT_LABELS[lt], fill=fills[lt]), styled(s, counts_light.get(lt, 0), fill=fills[lt])])
    s.append([])
    s.append([styled(s, h, font=head_font, fill=head_fill, align=center)
              for h in ("责任单位", "措施数", "已销号", "未销号", "红灯", "黄灯", "绿灯")])
    for unit in sorted(by_unit):
        u = by_unit[unit]
        s.append([styled(s, unit)] + [styled(s, u.get(k, 0)) for k in ("total", "closed", "open", "red", "yellow",
                                                                         "green")])
    s.freeze_panes = "A4"
    if wb.worksheets == [summary_ws]:
        empty = wb.create_sheet("台账")
        empty.append([styled(empty, h, font=head_font, fill=head_fill, align=center) for _f, h, _w in EXPORT_COLUMNS])
    wb.save(tmp)
    tmp.replace(path)
    if progress:
        progress(done, total)
    return {"file": str(path), "plan_id": plan.id, "rows": done, "problems": problems,
            "sheets": [ws.title for ws in wb.worksheets], "by_state": dict(counts_state),
            "by_light": dict(counts_light), "merged_ranges": merges_out}
