"""The words of a ledger: headers and their synonyms, status and kind words, deadlines, numbers, amounts.

Every function here reads one cell and either returns what it means or raises ValueError with a
reason a person can act on; the reader adds where (sheet, row, column).
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal, InvalidOperation

from ..vocabulary import cn_int
from .ledger_dates import parse_deadline as parse_deadline, parse_milestones as parse_milestones, year_in as year_in

# --- vocabulary -------------------------------------------------------------------

HEADERS: dict[str, tuple[str, ...]] = {
    "no": ("序号", "编号", "问题序号", "no", "no.", "#", "number", "item", "itemno", "seq"),
    "problem_no": ("问题编号", "对应问题", "对应问题序号", "对应问题编号", "所属问题", "所属问题序号", "problemno",
                   "problemnumber"),
    "part": ("方面", "问题类别", "问题方面", "类别", "问题类型", "所属方面", "问题领域", "part", "aspect", "area",
             "problemcategory", "section"),
    "category": ("分类", "小类", "子类", "问题分类", "具体类别", "category", "subcategory"),
    "problem": ("问题", "反馈问题", "问题描述", "存在问题", "问题内容", "巡察反馈问题", "巡视反馈问题", "反馈意见",
                "具体问题", "问题简述", "问题概述", "主要问题", "发现问题", "审计发现问题", "审计发现的问题", "问题表现",
                "problem", "issue", "finding", "problemdescription"),
    "measure": ("整改措施", "措施", "整改举措", "具体措施", "整改任务", "整改要求", "审计建议", "整改建议",
                "具体整改措施", "整改措施及要求", "measure", "measures", "action", "rectificationmeasure",
                "correctiveaction", "recommendation"),
    "leader": ("责任领导", "牵头领导", "分管领导", "包保领导", "督办领导", "责任校领导", "分管负责人", "leader",
               "responsibleleader"),
    "unit": ("责任单位", "牵头单位", "责任部门", "整改责任单位", "主责单位", "牵头部门", "承办单位", "责任科室",
             "责任处室", "unit", "responsibleunit", "department", "dept"),
    "co_units": ("配合单位", "协办单位", "配合部门", "协同单位", "参与单位", "co-units", "counits",
                 "cooperatingunits", "supportingunits"),
    "owner": ("责任人", "具体责任人", "整改负责人", "整改责任人", "责任人员", "承办人", "owner", "responsibleperson",
              "person", "assignee"),
    "deadline": ("完成时限", "整改时限", "时限", "完成时间", "整改期限", "时间节点", "完成期限", "整改完成时限",
                 "计划完成时间", "办结时限", "deadline", "due", "duedate", "timelimit", "milestones"),
    "kind": ("整改类型", "类型", "整改方式", "kind", "type", "rectificationtype"),
    "status": ("整改进度", "完成情况", "进度", "整改状态", "状态", "整改验收情况", "进展情况", "是否完成", "推进情况",
               "整改进展", "办理状态", "status", "progress", "state"),
    "account": ("落实情况", "整改进展情况", "整改落实情况", "整改情况", "整改反馈", "整改成效", "整改完成情况",
                "整改结果", "反馈情况", "整改措施落实情况", "account", "implementation", "progressnotes",
                "actiontaken"),
    "problem_account": ("问题落实情况", "问题整改情况", "公开落实情况", "problemaccount", "publishedaccount"),
    "amount_involved": ("涉及金额", "amountinvolved"),
    "amount_recovered": ("退还/追缴金额", "退还追缴金额", "退还金额", "追缴金额", "追回金额", "amountrecovered"),
    "remarks": ("备注", "说明", "备注说明", "其他说明", "remarks", "remark", "notes", "note", "comments"),
    # the light is computed from the deadline at every reading, never imported (the export writes it)
    "light": ("预警", "预警状态", "亮灯情况", "红黄绿灯", "light", "warning"),
}
FIELD_LABELS = {"no": "序号", "problem_no": "问题编号", "part": "方面", "category": "分类", "problem": "问题",
                "measure": "整改措施", "leader": "责任领导", "unit": "责任单位", "co_units": "配合单位",
                "owner": "责任人", "deadline": "完成时限", "kind": "整改类型", "status": "整改进度",
                "account": "落实情况", "problem_account": "问题落实情况", "amount_involved": "涉及金额（元）",
                "amount_recovered": "退还/追缴金额（元）", "remarks": "备注", "light": "预警"}
EXTRA = "extra"  # a column kept as it is, under its header, on the measure (measures.extra)
EXTRA_LABEL = "其他信息"
KEPT_FIELDS = ("co_units", "remarks")  # fields with no column of their own: kept in measures.extra
PROBLEM_FIELDS = ("part", "category", "problem", "problem_account", "amount_involved", "amount_recovered")
# headers that name a status column in some offices and a column of prose in others: decided by content
EITHER_STATUS_OR_ACCOUNT = ("完成情况", "进展情况", "推进情况", "整改进展")


def _norm_header(value) -> tuple[str, str, bool]:
    """(full, base, in_wan): a header lower-cased without spaces; base drops a trailing (unit)."""
    s = unicodedata.normalize("NFKC", str(value)).lower()
    s = re.sub(r"\s+", "", s).strip("*:：")
    m = re.match(r"^(.*?)\((.*)\)$", s)
    base, unit = (m.group(1), m.group(2)) if m else (s, "")
    return s, base, "万" in unit


_ALIAS = {alias: f for f, aliases in HEADERS.items() for alias in aliases}


def header_field(value, mapping: dict[str, str] | None = None) -> tuple[str | None, bool]:
    """The field a header cell names (or None), and whether its amounts are in 万元.

    ``mapping`` (from :func:`normalize_mapping`) overrides the vocabulary; a header mapped to
    :data:`EXTRA` names no field (its column is kept as it is).
    """
    if value is None or not str(value).strip():
        return None, False
    full, base, wan = _norm_header(value)
    if mapping:
        f = mapping.get(full) or mapping.get(base)
        if f is not None:
            return (None if f == EXTRA else f), wan
    f = _ALIAS.get(full) or _ALIAS.get(base)
    if f is None and base.startswith("responsible") is False and " " in str(value):
        f = _ALIAS.get(base.replace(" ", ""))
    return f, wan


def mapping_field(name: str) -> str:
    """The field a ``--map 表头=字段`` names: a field code (``owner``), its label (``责任人``), any header
    of the vocabulary (``整改负责人``), or ``extra``/``其他信息`` (keep the column as it is)."""
    s = str(name or "").strip()
    low = s.lower()
    if low in FIELD_LABELS or low == EXTRA:
        return low
    if s in (EXTRA_LABEL, "其他", "保留"):
        return EXTRA
    f, _wan = header_field(s)
    if f is not None:
        return f
    codes = ", ".join(f"{code}（{label}）" for code, label in FIELD_LABELS.items())
    raise ValueError(f"未知字段 (unknown field): {s!r}; fields: {codes}, {EXTRA}（{EXTRA_LABEL}）")


def normalize_mapping(mapping: dict[str, str] | None) -> dict[str, str]:
    """{header as compared: field} of a mapping {header: field name}; ValueError naming a bad entry."""
    out: dict[str, str] = {}
    for header, name in (mapping or {}).items():
        if not str(header or "").strip():
            raise ValueError(f"空表头 (empty header) in mapping {header!r}={name!r}")
        out[_norm_header(header)[0]] = mapping_field(name)
    return out


def parse_map_option(items) -> dict[str, str]:
    """``['表头=字段', …]`` (the command line's ``--map``) as {header: field}; ValueError on a bad item."""
    out: dict[str, str] = {}
    for item in items or ():
        header, sep, name = str(item).rpartition("=")
        if not sep or not header.strip() or not name.strip():
            raise ValueError(f"--map 需要 表头=字段 (expected HEADER=FIELD): {item!r}")
        out[header.strip()] = mapping_field(name)
    return out


STATUS_WORDS: dict[str, str] = {}
for _state, _words in {
    "closed": ("已完成", "完成", "已整改", "已整改完成", "已整改到位", "整改完成", "整改到位", "已完成整改", "完成整改",
               "已销号", "已办结", "已完成长期坚持", "已完成并长期坚持", "是", "done", "completed", "complete",
               "closed", "finished"),
    "verified": ("已审核", "审核通过", "已验收", "verified"),
    "submitted": ("待审核", "已提交", "整改完成待审核", "完成待审核", "待验收", "已提交待审核", "submitted"),
    "in_progress": ("正在整改", "整改中", "推进中", "正在推进", "进行中", "未完成", "部分完成", "已启动", "否",
                    "长期坚持", "持续整改", "持续推进", "长期坚持中", "inprogress", "ongoing", "started", "open",
                    "longterm"),
    "assigned": ("已交办", "未开始", "未启动", "尚未启动", "待整改", "未整改", "assigned", "notstarted", "new"),
}.items():
    for _w in _words:
        STATUS_WORDS[_w] = _state
LONG_TERM_STATUS = ("已完成长期坚持", "已完成并长期坚持", "长期坚持", "持续整改", "持续推进", "长期坚持中", "longterm")

KIND_WORDS = {"立行立改": "immediate", "即知即改": "immediate", "立即整改": "immediate", "限期整改": "time_bound",
              "长期坚持": "long_term", "长期整改": "long_term", "持续整改": "long_term", "immediate": "immediate",
              "timebound": "time_bound", "time-bound": "time_bound", "longterm": "long_term",
              "long-term": "long_term"}


def _squash(value) -> str:
    s = unicodedata.normalize("NFKC", str(value)).lower()
    return re.sub(r"[\s,.;:!，。；：、！_\-]+", "", s)


def parse_status(value) -> tuple[str, bool]:
    """(state, says long-term) of a status cell; blank is ``assigned``; ValueError if unknown.

    整改完成/已完成/已整改/已销号 → closed; 整改完成待审核/待审核/已提交 → submitted; 整改中/正在整改/
    推进中 → in_progress; 待整改/未整改/未启动 → assigned; 长期坚持/持续整改 → in_progress, long-term.
    """
    if value is None or not str(value).strip():
        return "assigned", False
    key = _squash(value)
    state = STATUS_WORDS.get(key)
    if state is None:
        raise ValueError(f"无法识别的整改进度 (unknown status word): {str(value).strip()!r}; "
                         f"accepted: 已完成, 已完成，长期坚持, 整改中, 长期坚持, 待审核, 已审核, 待整改 or blank")
    return state, key in LONG_TERM_STATUS


def leading_status(value) -> tuple[str, bool] | None:
    """(state, long-term) of prose that begins with a status word (``已完成。召开了专题会议…``), else None."""
    s = cell_text(value)
    if not s:
        return None
    head = re.split(r"[，,。；;：:\n（(]", s, maxsplit=1)[0]
    try:
        return parse_status(head) if head.strip() else None
    except ValueError:
        return None


def parse_kind(value) -> str | None:
    """The kind code of a 整改类型 cell (None when blank); ValueError if unknown."""
    if value is None or not str(value).strip():
        return None
    key = _squash(value)
    kind = KIND_WORDS.get(key) or KIND_WORDS.get(str(value).strip().lower())
    if kind is None:
        raise ValueError(f"无法识别的整改类型 (unknown kind): {str(value).strip()!r}; accepted: 立行立改, 限期整改, 长期坚持")
    return kind


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
