"""The words of a ledger: headers and their synonyms, status and kind words, deadlines, numbers, amounts.

Every function here reads one cell and either returns what it means or raises ValueError with a
reason a person can act on; the reader adds where (sheet, row, column).
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal, InvalidOperation

from .. import spec
from ..vocabulary import cn_int

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
    """The kind code of a 整改类型 cell (None when blank); ValueError if unknown."""
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

_RX_PART = re.compile(r"^\s*(?:[（(]\s*([一二三四五六七八九十]+)\s*[)）]|([一二三四五六七八九十]+)\s*[、.．])\s*")
_RX_CAT = re.compile(r"^\s*(?:[（(]\s*(\d{1,3})\s*[)）]|(\d{1,3})\s*[.．、](?!\d))\s*")
_RX_NO = re.compile(r"^\s*(?:问题)?\s*[（(]?\s*(\d{1,5})\s*[)）]?\s*(?:[.\-－—_、．]\s*(\d{1,4}))?\s*[.、．]?\s*$")


def split_part(text: str) -> tuple[int | None, str]:
    """'（一）责任…方面' or '一、责任…' → (1, '责任…'); no numbering → (None, text)."""
    m = _RX_PART.match(text)
    if m:
        try:
            return cn_int(m.group(1) or m.group(2)), text[m.end():].strip()
        except ValueError:  # 十十、 is no numeral
            pass
    return None, text.strip()


def split_category(text: str) -> tuple[int | None, str]:
    """'1. 关于学习贯彻' or '（2）…' → (1, '关于学习贯彻'); no numbering → (None, text)."""
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


def cell_text(value) -> str | None:
    """A cell as stripped text (dates as ISO days, whole floats as integers); None when blank."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, (dt.datetime, dt.date)):
        value = value.isoformat()[:10]
    s = str(value).replace("\r\n", "\n").strip()
    return s or None


def text_key(text: str) -> str:
    """Text as compared: NFKC, without whitespace."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


_NAME_SPLIT = re.compile(r"[、，,；;/\n]+")


def names_in(value) -> tuple[str | None, str | None]:
    """The first name of a people or unit cell, and the whole cell if it named several."""
    s = cell_text(value)
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
