"""Reading a year's holiday schedule: the State Council notice's text, or a CSV of ``date,kind``.

Pure functions, no database: :func:`read` gives a :class:`Schedule` or raises
:class:`ScheduleError` naming the line. Nothing is half-read: the whole text is checked first.

The notice (国务院办公厅关于2027年部分节假日安排的通知) gives the year in its title (or the caller
gives it) and one numbered item per holiday::

    一、元旦：1月1日（周五）至3日（周日）放假，共3天。
    二、春节：2月5日（农历除夕、周五）至13日（周六）放假调休，共9天。2月14日（周日）、2月20日（周六）上班。
    三、劳动节：4月30日至5月4日放假调休，共5天。

Each sentence of an item is a break (``…放假`` / ``…放假调休``, with ``共N天`` or ``与周末连休``) or
make-up working days (``…上班``); a date may carry its year (``2026年12月31日（周四）上班``).
Sentences that name no day off or on (``鼓励各单位……``) are ignored, and so are the lines around
the items (addressees, preamble, signature). What is checked: a weekday written beside a date
(``（周五）``, ``（星期五）``) must be that date's weekday in that year; ``共N天`` must be the length
of the break; a make-up working day must be a Saturday or Sunday; no date is listed twice.

The CSV has one ``date,kind`` row per day (ISO date; ``holiday`` or ``workday``, also ``放假`` /
``上班``), an optional header, blank lines and ``#`` comments. Unless the year is given, the CSV
covers each year in which it lists a holiday (a make-up day alone, like a 31 December worked for
the next year's 元旦, does not make its year covered).

Holidays are every day off in a break, weekend days inside it included (as 共N天 counts them and
as ``chinese-calendar`` lists them); make-up working days are the weekend days that are worked.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from .vocabulary import cn_int
from .text import decode as decode_text

HOLIDAY, WORKDAY = "holiday", "workday"
KINDS = {"holiday": HOLIDAY, "workday": WORKDAY, "放假": HOLIDAY, "休": HOLIDAY, "休息": HOLIDAY,
         "上班": WORKDAY, "班": WORKDAY}
YEARS = range(2000, 2101)
MAX_TEXT = 200_000  # characters: a notice is about two thousand

TITLE_RE = re.compile(r"关于(\d{4})年部分节假日安排的通知")
ITEM_RE = re.compile(r"^[一二三四五六七八九十]+[、.]([^:]{1,24}):(.*)$")
DATE = r"(?:(\d{4})年)?(\d{1,2})月(\d{1,2})日"
END = r"(?:(?:(\d{4})年)?(\d{1,2})月)?(\d{1,2})日"
LABEL = r"(?:\(([^()]*)\))?"
N = r"([\d一二两三四五六七八九十]+)"
BREAK_RE = re.compile(rf"^{DATE}{LABEL}(?:(?:至|-|~|—|–){END}{LABEL})?放假(?:调休)?(?:{N}天)?((?:,[^,]*)*)$")
TAIL_RE = re.compile(rf"^(?:共{N}天|与周末连休|不调休)$")
ONE_DAY_RE = re.compile(rf"{DATE}{LABEL}")
ANY_DATE_RE = re.compile(r"(?:\d{4}年)?\d{1,2}月\d{1,2}日")
WEEKDAY_RE = re.compile(r"(?:周|星期|礼拜)([一二三四五六日天])")
WEEKDAYS = "一二三四五六日"
ISO_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
HEADERS = {("date", "kind"), ("日期", "类型")}


class ScheduleError(ValueError):
    """A schedule that cannot be read: which line (1-based, or None for the whole text) and why."""

    def __init__(self, zh: str, en: str, line: int | None = None, source: str | None = None):
        self.zh, self.en, self.line, self.source = zh, en, line, source
        super().__init__(self.text())

    def text(self, lang: str = "both") -> str:
        where_zh = f"第{self.line}行：" if self.line else ""
        where_en = f"line {self.line}: " if self.line else ""
        src = f"{self.source}: " if self.source else ""
        if lang == "zh":
            return f"{src}{where_zh}{self.zh}"
        if lang == "en":
            return f"{src}{where_en}{self.en}"
        return f"{src}{where_zh}{self.zh} ({where_en}{self.en})"

    def at(self, source: str | None) -> ScheduleError:
        return ScheduleError(self.zh, self.en, self.line, source)


@dataclass
class Schedule:
    """Days off and make-up working days, and the years they settle."""

    years: tuple[int, ...]
    source: str  # notice | csv
    days: dict[dt.date, str] = field(default_factory=dict)  # date -> holiday | workday
    text: str = ""

    def holidays(self, year: int | None = None) -> list[dt.date]:
        return sorted(d for d, k in self.days.items() if k == HOLIDAY and (year is None or d.year == year))

    def workdays(self, year: int | None = None) -> list[dt.date]:
        return sorted(d for d, k in self.days.items() if k == WORKDAY and (year is None or d.year == year))


# --- the notice ---------------------------------------------------------------------------

def _norm(line: str) -> str:
    """Full-width forms folded (（ → (, ：→ :, ，→ ,), every space removed."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", line))


def _label_weekday(label: str | None) -> int | None:
    m = WEEKDAY_RE.search(label or "")
    if not m:
        return None
    return 6 if m.group(1) in "日天" else WEEKDAYS.index(m.group(1))


def _day(year: int, yy: int, mo: int, d: int, label: str | None, line: int, written: str) -> dt.date:
    """The date (yy, mo, d) of a notice for ``year``, its weekday label checked against the calendar."""
    try:
        day = dt.date(yy, mo, d)
    except ValueError:
        raise ScheduleError(f"“{written}”不是有效日期", f"{yy}-{mo}-{d} is not a date", line) from None
    if abs(yy - year) > 1:
        raise ScheduleError(f"“{written}”不在{year}年前后", f"{day} is too far from {year}", line)
    want = _label_weekday(label)
    if want is not None and want != day.weekday():
        raise ScheduleError(
            f"“{written}”标注为周{WEEKDAYS[want]}，但{yy}年{mo}月{d}日是周{WEEKDAYS[day.weekday()]}",
            f"{day} is labelled {dt.date(2024, 1, 1 + want):%A} but is a {day:%A}", line)
    return day


def _start(year: int, y: str | None, mo: str, d: str, label: str | None, line: int) -> dt.date:
    return _day(year, int(y) if y else year, int(mo), int(d), label, line, f"{y + '年' if y else ''}{mo}月{d}日")


def _break(m: re.Match, year: int, line: int) -> list[dt.date]:
    y1, mo1, d1, lab1, y2, mo2, d2, lab2, n1, tail = m.groups()
    start = _start(year, y1, mo1, d1, lab1, line)
    end = start
    if d2 is not None:
        mo, d = int(mo2) if mo2 else start.month, int(d2)
        yy = int(y2) if y2 else start.year + (start.month == 12 and mo == 1)  # 12月31日至1月2日
        end = _day(year, yy, mo, d, lab2, line, f"{y2 + '年' if y2 else ''}{mo2 + '月' if mo2 else ''}{d2}日")
    if end < start:
        raise ScheduleError(f"放假结束日 {end} 早于开始日 {start}", f"the break ends ({end}) before it starts ({start})",
                            line)
    days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    stated = [n1] if n1 else []
    for clause in tail.split(",")[1:]:
        c = TAIL_RE.match(clause)
        if c is None:
            raise ScheduleError(f"无法识别“{clause}”（应为“共N天”“与周末连休”或“不调休”）", f"cannot read {clause!r}", line)
        if c.group(1):
            stated.append(c.group(1))
    for n in stated:
        if cn_int(n.replace("两", "二")) != len(days):
            raise ScheduleError(f"写明共{n}天，但{start}至{end}共{len(days)}天",
                                f"says {n} days but {start} to {end} is {len(days)} days", line)
    if len(days) > 15:
        raise ScheduleError(f"{start}至{end}放假{len(days)}天，超过15天", f"a break of {len(days)} days", line)
    return days


def _workdays(text: str, year: int, line: int) -> list[dt.date] | None:
    """The dates of ``…上班`` (``1月26日（周日）、2月8日（周六）``), or None if it is not that."""
    out, pos = [], 0
    while pos < len(text):
        m = ONE_DAY_RE.match(text, pos)
        if m is None:
            return None
        out.append(_start(year, m.group(1), m.group(2), m.group(3), m.group(4), line))
        pos = m.end()
        if pos < len(text):
            if text[pos] not in "、,和及":
                return None
            pos += 1
    return out


def _item(body: str, year: int, line: int, days: dict[dt.date, str], lines_of: dict[dt.date, int]) -> int:
    """Read one numbered item's sentences into ``days``; the number of breaks it held."""
    breaks = 0
    for sentence in (s for s in re.split(r"[。;]", body) if s):
        if sentence.endswith("上班"):
            found = _workdays(sentence[:-2], year, line)
            kind = WORKDAY
        elif (m := BREAK_RE.match(sentence)) is not None:
            found, kind = _break(m, year, line), HOLIDAY
            breaks += 1
        elif "放假" in sentence or "上班" in sentence or ANY_DATE_RE.match(sentence):
            found = None
        else:
            continue  # 鼓励各单位…安排职工在除夕（2月5日）休息: a remark, no day off or on
        if not found:
            raise ScheduleError(f"无法识别“{sentence}”（应如“1月1日至3日放假，共3天”或“2月14日（周日）上班”）",
                                f"cannot read {sentence!r}", line)
        for d in found:
            _take(days, lines_of, d, kind, line)
    return breaks


def _notice_year(lines: list[str], year: int | None) -> int:
    found = TITLE_RE.search("".join(lines))
    if found is not None:
        titled = int(found.group(1))
        if year is not None and year != titled:
            raise ScheduleError(f"标题写的是{titled}年，但指定了{year}年",
                                f"the title says {titled} but {year} was given")
        year = titled
    if year is None:
        raise ScheduleError("未找到年份：标题应为“国务院办公厅关于20XX年部分节假日安排的通知”，或另行指定年份",
                            "no year: give the title (国务院办公厅关于20XX年部分节假日安排的通知) or --year")
    if year not in YEARS:
        raise ScheduleError(f"年份{year}超出范围", f"year {year} is out of range")
    return year


def read_notice(text: str, year: int | None = None) -> Schedule:
    """The schedule in the State Council notice ``text`` (the year from its title, or ``year``)."""
    lines = [_norm(x) for x in text.splitlines()]
    year = _notice_year(lines, year)
    days: dict[dt.date, str] = {}
    lines_of: dict[dt.date, int] = {}
    breaks, in_item = 0, False
    for no, line in enumerate(lines, 1):
        if not line:
            continue
        m = ITEM_RE.match(line)
        body = m.group(2) if m is not None else line
        about_days = "放假" in body or "上班" in body
        if m is not None and (about_days or ANY_DATE_RE.search(body)):
            breaks += _item(body, year, no, days, lines_of)
            in_item = True
        elif in_item and about_days and ANY_DATE_RE.match(body):  # an item's sentence on a line of its own
            breaks += _item(body, year, no, days, lines_of)
        elif about_days and ANY_DATE_RE.search(line):
            raise ScheduleError("无法识别的放假安排：应以“一、元旦：”这样的序号和节日名开头",
                                "a schedule line must start with its number and holiday (一、元旦：)", no)
        else:
            in_item = False
    if not breaks:
        raise ScheduleError("没有找到放假安排（如“一、元旦：1月1日至3日放假，共3天。”）",
                            "no holidays found (一、元旦：1月1日至3日放假，共3天。)")
    return Schedule((year,), "notice", days, text)


# --- the CSV ------------------------------------------------------------------------------

def read_csv(text: str, year: int | None = None) -> Schedule:
    """The schedule in a CSV of ``date,kind`` rows; covering ``year``, or each year it lists holidays in."""
    days: dict[dt.date, str] = {}
    lines_of: dict[dt.date, int] = {}
    rows = list(csv.reader(io.StringIO(text)))
    for no, row in enumerate(rows, 1):
        cells = [_norm(c) for c in row]
        while cells and not cells[-1]:
            cells.pop()
        if not cells or cells[0].startswith("#"):
            continue
        if not days and tuple(c.lower() for c in cells) in HEADERS:
            continue
        if len(cells) != 2:
            raise ScheduleError(f"应为“日期,类型”两列，实为{len(cells)}列", f"expected date,kind, got {len(cells)} "
                                "column(s)", no)
        when, kind = cells[0], KINDS.get(cells[1].lower())
        if not ISO_RE.match(when):
            raise ScheduleError(f"日期“{when}”应写作 YYYY-MM-DD", f"date {when!r} is not YYYY-MM-DD", no)
        try:
            d = dt.date.fromisoformat(when)
        except ValueError:
            raise ScheduleError(f"“{when}”不是有效日期", f"{when} is not a date", no) from None
        if kind is None:
            raise ScheduleError(f"类型“{cells[1]}”应为 holiday（放假）或 workday（上班）",
                                f"kind {cells[1]!r} is not holiday or workday", no)
        if d.year not in YEARS or (year is not None and abs(d.year - year) > 1):
            raise ScheduleError(f"{d} 不在{year or ''}年前后", f"{d} is out of range", no)
        _take(days, lines_of, d, kind, no)
    years = (year,) if year is not None else tuple(sorted({d.year for d, k in days.items() if k == HOLIDAY}))
    if not any(k == HOLIDAY and d.year in years for d, k in days.items()):
        raise ScheduleError("没有找到放假日期（每行“日期,类型”，如 2027-01-01,holiday）",
                            "no holidays found (rows of date,kind such as 2027-01-01,holiday)")
    if year is not None and year not in YEARS:
        raise ScheduleError(f"年份{year}超出范围", f"year {year} is out of range")
    return Schedule(years, "csv", days, text)


# --- either ---------------------------------------------------------------------------------

def looks_like_csv(text: str) -> bool:
    """True if the first line that says anything is a ``date,kind`` header or row."""
    for line in text.splitlines():
        line = _norm(line)
        if not line or line.startswith("#"):
            continue
        head = line.lower()
        return head.startswith(("date,", "日期,")) or bool(re.match(r"^\d{4}-\d{2}-\d{2},", head))
    return False


def read(text: str, year: int | None = None, source: str | None = None) -> Schedule:
    """A notice or a CSV, whichever ``text`` is; errors name ``source`` (a file name) and the line."""
    if len(text) > MAX_TEXT:
        raise ScheduleError(f"文本超过{MAX_TEXT}字", f"longer than {MAX_TEXT} characters", source=source)
    if not text.strip():
        raise ScheduleError("没有内容：请粘贴通知全文，或给出“日期,类型”的 CSV", "empty: give the notice's text or a "
                            "date,kind CSV", source=source)
    try:
        return read_csv(text, year) if looks_like_csv(text) else read_notice(text, year)
    except ScheduleError as e:
        raise e.at(source) from None


def _take(days: dict, lines_of: dict, d: dt.date, kind: str, line: int) -> None:
    """Note day ``d`` as ``kind`` (read on ``line``): a day listed twice, or a make-up working day
    that is not a weekend day, is refused naming both lines."""
    if d in days:
        raise ScheduleError(f"{d} 重复出现（第{lines_of[d]}行已列出）",
                            f"{d} is listed twice (first on line {lines_of[d]})", line)
    if kind == WORKDAY and d.weekday() < 5:
        raise ScheduleError(f"调休上班日 {d} 是周{WEEKDAYS[d.weekday()]}，应为周六或周日",
                            f"make-up working day {d} is a weekday", line)
    days[d], lines_of[d] = kind, line


def decode(data: bytes, source: str | None = None) -> str:
    """Text of a file: UTF-8 (with or without a byte-order mark), UTF-16 with one, else GB18030."""
    if data[:4] == b"PK\x03\x04":
        raise ScheduleError("这是 Word 或压缩文件：请粘贴通知文本，或上传 .txt / .csv 文件",
                            "a Word or zip file: paste the notice's text, or give a .txt or .csv file", source=source)
    try:
        return decode_text(data)
    except UnicodeDecodeError:
        raise ScheduleError("不是 UTF-8、UTF-16 或 GB18030 文本", "not UTF-8, UTF-16 or GB18030 text",
                            source=source) from None


def read_file(path: str | Path, year: int | None = None) -> Schedule:
    """A schedule from a .txt/.csv file (or a .docx notice)."""
    path = Path(path)
    try:
        if path.suffix.lower() == ".docx":
            from .importing.notice_text import NoticeError, docx_text

            try:
                text = docx_text(path)
            except NoticeError as e:
                raise ScheduleError(f"无法读取 Word 文档：{e.message}", e.message, source=path.name) from None
        else:
            text = decode(path.read_bytes(), path.name)
    except OSError as e:
        raise ScheduleError(f"无法读取：{e.strerror or e}", f"cannot read: {e.strerror or e}", source=path.name) \
            from None
    return read(text, year, path.name)
