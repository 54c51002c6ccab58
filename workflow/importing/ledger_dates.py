"""Deadlines in ledger cells: dates, customary text, and several dated milestones in one cell.

A month means its last day (``2023年3月底前`` and ``2023年3月`` are 2023-03-31), 上旬 the 10th,
中旬 the 20th; a year, half-year or quarter means its last day. ``立行立改`` and ``长期坚持`` give
the kind; they may stand alone or next to a date. A date without a year (``6月底前``) takes the
year the caller gives (the ledger's title year), else it is refused.

A cell of milestones (``2024年3月：完成摸排\\n6月底前：全部整改到位``) is read by
:func:`parse_milestones`: every dated line is kept, the last one is the deadline.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata

from ..vocabulary import cn_int

_DEADLINE_KIND = (("立行立改", "immediate"), ("即知即改", "immediate"), ("立即整改", "immediate"),
                  ("长期坚持", "long_term"), ("长期整改", "long_term"), ("持续整改", "long_term"),
                  ("long-term", "long_term"), ("long term", "long_term"), ("ongoing", "long_term"),
                  ("immediately", "immediate"), ("immediate", "immediate"))
_FILLER = sorted(("之前", "以前", "前", "完成整改", "整改完成", "完成", "整改到位", "为止", "截止", "截至", "止",
                  "以内", "内", "并", "和", "及", "到", "至", "by", "before", "until", "end", "of"),
                 key=len, reverse=True)
_D_YMD = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?")
_D_COMPACT = re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})(?!\d)")
_D_YM_CN = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(上旬|中旬|下旬|底|末|份|中)?")
_D_YM = re.compile(r"(\d{4})\s*[-/.]\s*(\d{1,2})(?!\d)")
_D_Y_PART = re.compile(r"(\d{4})\s*年\s*(上半年|下半年|年底|年末|底|末|全年|第?([一二三四1-4])季度)?")
_D_MD = re.compile(r"(?<!\d)(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]")  # no year: 3月15日
_D_M = re.compile(r"(?<![\d年])(\d{1,2})\s*月\s*(上旬|中旬|下旬|底|末|份|中)?")  # no year: 6月底
WITH_YEAR = (_D_YMD, _D_COMPACT, _D_YM_CN, _D_YM, _D_Y_PART)
WITHOUT_YEAR = (_D_MD, _D_M)
_BULLET = re.compile(r"^\s*(?:\d{1,2}\s*[.、．)）]|[（(]\s*\d{1,2}\s*[)）]|[①-⑳]|[-•·*])\s*")
_YEARLESS = re.compile(r"(?<![\d年])\d{1,2}\s*月")
_LABELLED = re.compile(r"^(?P<when>[^：:]{1,30}?)\s*[：:]\s*(?P<what>.*)$", re.S)


def _month_end(y: int, m: int) -> dt.date:
    if not 1 <= m <= 12:
        raise ValueError(f"month {m}")
    return (dt.date(y + (m == 12), m % 12 + 1, 1) - dt.timedelta(days=1))


def _in_month(y: int, mo: int, part: str | None) -> dt.date:
    if part == "上旬":
        return dt.date(y, mo, 10)
    if part in ("中旬", "中"):
        return dt.date(y, mo, 20)
    return _month_end(y, mo)


def _day_of(rx: re.Pattern, m: re.Match, year: int | None) -> dt.date:
    """The date a match of one of the patterns names; ValueError if it names none."""
    if rx in WITHOUT_YEAR:
        if year is None:
            raise LookupError("no year")
        y = year
    else:
        y = int(m.group(1))
    if not 1990 <= y <= 2100:
        raise ValueError(f"year {y}")
    if rx in (_D_YMD, _D_COMPACT):
        return dt.date(y, int(m.group(2)), int(m.group(3)))
    if rx is _D_YM_CN:
        return _in_month(y, int(m.group(2)), m.group(3))
    if rx is _D_YM:
        return _month_end(y, int(m.group(2)))
    if rx is _D_MD:
        return dt.date(y, int(m.group(1)), int(m.group(2)))
    if rx is _D_M:
        return _in_month(y, int(m.group(1)), m.group(2))
    part, q = m.group(2), m.group(3)
    if part == "上半年":
        return dt.date(y, 6, 30)
    if q:
        return _month_end(y, 3 * cn_int(q))
    return dt.date(y, 12, 31)


def _find_date(s: str, year: int | None, at_start: bool = False) -> tuple[dt.date, re.Match] | None:
    """The first date in ``s`` (patterns with a year first); LookupError if only a yearless one is there."""
    for rx in WITH_YEAR + WITHOUT_YEAR:
        m = rx.match(s) if at_start else rx.search(s)
        if m:
            return _day_of(rx, m, year), m
    return None


def _bad(value, more: str = "") -> ValueError:
    return ValueError(f"日期无效 (bad date): {str(value).strip()!r}{more}")


def _from_number(value) -> tuple[dt.date | None, str | None]:
    from openpyxl.utils.datetime import from_excel

    if isinstance(value, dt.datetime):
        return value.date(), None
    if isinstance(value, dt.date):
        return value, None
    if not isinstance(value, bool) and 20000 <= value <= 80000:  # an Excel serial day without a date format
        return from_excel(value).date(), None
    raise _bad(value)


def parse_deadline(value, year: int | None = None) -> tuple[dt.date | None, str | None]:
    """(deadline, kind hint) of a 完成时限 cell; ValueError with the reason if it is not one.

    ``year`` is the year of a date written without one (``6月底前``); without it such a date is refused.
    """
    if value is None:
        return None, None
    if isinstance(value, (dt.date, int, float)):
        return _from_number(value)
    s = unicodedata.normalize("NFKC", str(value)).strip().lower()
    if not s:
        return None, None
    kind = None
    for word, k in _DEADLINE_KIND:
        if word in s:
            kind = kind or k
            s = s.replace(word, " ")
    day = None
    try:
        found = _find_date(s, year)
    except LookupError:
        raise _bad(value, "; 缺少年份 (no year: write e.g. 2024年6月底前)") from None
    except ValueError:
        raise _bad(value) from None
    if found:
        day, m = found
        s = s[:m.start()] + " " + s[m.end():]
    rest = re.sub(r"\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?", " ", s)  # a time of day after the date
    for word in _FILLER:
        rest = rest.replace(word, " ")
    rest = re.sub(r"[\s,.;:!，。；：、！()（）\-]+", "", rest)
    if rest or (day is None and kind is None):
        raise _bad(value, "; expected e.g. 2023-03-31, 2023年3月底前, 立行立改, 长期坚持")
    return day, kind


def _milestone(item: str, year: int | None) -> tuple[dt.date, str, int] | None:
    """(date, what, year) of one line of a milestone cell, or None if it names no date first."""
    item = _BULLET.sub("", item, count=1)
    labelled = _LABELLED.match(item)
    tries = [(labelled.group("when"), False, labelled.group("what"))] if labelled else []
    tries.append((item, True, None))
    for text, at_start, what in tries:
        try:
            found = _find_date(text, year, at_start)
        except (LookupError, ValueError):
            found = None
        if found:
            day, m = found
            what = what if what is not None else re.sub(r"^(?:之前|以前|前|为止|止)", "", item[m.end():].strip())
            return day, what.strip(" ：:，,"), day.year
    return None


def parse_milestones(value, year: int | None = None) -> list[tuple[dt.date, str]] | None:
    """Every (date, what) of a cell holding two or more dated lines (``3月：…\\n6月底前：…``), else None.

    A line without a date continues the line before. A date without a year takes the year of the
    line before (the next year when its month comes earlier), or ``year`` for the first line;
    ValueError if there is none to take.
    """
    if not isinstance(value, str):
        return None
    items = [i.strip() for i in re.split(r"[\n；;]+", unicodedata.normalize("NFKC", value)) if i.strip()]
    if len(items) < 2:
        return None
    out: list[tuple[dt.date, str]] = []
    cur_year = year
    for item in items:
        got = _milestone(item, cur_year)
        if got is None and cur_year is None and _YEARLESS.search(item):
            raise _bad(value, "; 缺少年份 (no year: write the year on the first milestone, e.g. 2024年3月)")
        if got is None:
            if out:
                out[-1] = (out[-1][0], f"{out[-1][1]}；{item}".strip("；"))
            continue
        day, what, cur_year = got
        if out and day < out[-1][0] and not re.search(r"\d{4}", item):
            day = _next_year(day)  # 11月, then 3月: the next year
            cur_year = day.year
        out.append((day, what))
    return out if len(out) >= 2 else None


def _next_year(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def year_in(*texts: str | None) -> int | None:
    """The first plausible year (1990–2100) written in any of ``texts``: the context of a yearless date."""
    for t in texts:
        for m in re.finditer(r"(?<!\d)(\d{4})\s*年", unicodedata.normalize("NFKC", t or "")):
            if 1990 <= int(m.group(1)) <= 2100:
                return int(m.group(1))
    return None
