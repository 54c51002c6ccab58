"""Reading a holiday schedule from the State Council notice's text or a date,kind CSV, without a database.

The notices here are made up (see ``tests/data/calendar.py``): plausible breaks, correct weekdays.
"""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import example, given, settings, strategies as st

from tests.data.calendar import CSV_2027, HOLIDAYS_2027, MAKE_UP_2027, NOTICE_2027
from workflow.holiday_schedule import ScheduleError, decode, looks_like_csv, read, read_csv, read_file, read_notice

D = dt.date
TITLE = "国务院办公厅关于2027年部分节假日安排的通知\n"


def iso(days):
    return [d.isoformat() for d in days]


def refused(text, year=None, source=None) -> ScheduleError:
    with pytest.raises(ScheduleError) as e:
        read(text, year, source)
    return e.value


# --- the notice ---------------------------------------------------------------------------

def test_the_made_up_2027_notice_reads_into_its_days_off_and_make_up_working_days():
    s = read(NOTICE_2027)
    assert s.source == "notice" and s.years == (2027,)
    assert len(s.holidays()) == HOLIDAYS_2027
    assert iso(s.workdays()) == MAKE_UP_2027
    assert iso(s.holidays())[:3] == ["2027-01-01", "2027-01-02", "2027-01-03"]
    # the weekend days inside a break are days off too, as 共9天 counts them
    assert D(2027, 2, 6) in s.holidays() and D(2027, 2, 13) in s.holidays()


def test_the_year_comes_from_the_title_or_is_given_and_the_two_must_agree():
    body = "一、元旦：1月1日（周五）至3日（周日）放假，共3天。\n"
    assert read(body, year=2027).years == (2027,)
    assert read(TITLE + body).years == (2027,)
    e = refused(TITLE + body, year=2028)
    assert "2027" in e.zh and "2028" in e.zh
    e = refused(body)
    assert "年份" in e.zh and e.line is None


def test_a_break_may_run_across_months_and_make_up_days_may_be_several():
    s = read(TITLE + "四、劳动节：4月30日（周五）至5月4日（周二）放假调休，共5天。4月25日（周日）、5月8日（周六）上班。")
    assert iso(s.holidays()) == ["2027-04-30", "2027-05-01", "2027-05-02", "2027-05-03", "2027-05-04"]
    assert iso(s.workdays()) == ["2027-04-25", "2027-05-08"]


def test_a_make_up_day_in_the_year_before_is_read_with_its_year():
    s = read(TITLE + "一、元旦：1月1日至3日放假调休，共3天。2026年12月26日（星期六）上班。")
    assert s.years == (2027,)
    assert iso(s.workdays()) == ["2026-12-26"]


@pytest.mark.parametrize("item,days", [
    ("五、端午节：6月9日（周三）放假1天，不调休。", ["2027-06-09"]),
    ("五、端午节：6月9日放假，共1天。", ["2027-06-09"]),
    ("五、国庆节：10月1日放假，与周末连休。", ["2027-10-01"]),
    ("五、元旦：12月31日至2028年1月2日放假，共3天。", ["2027-12-31", "2028-01-01", "2028-01-02"]),
    ("五、元旦：12月31日至1月2日放假，共三天。", ["2027-12-31", "2028-01-01", "2028-01-02"]),
    ("五、国庆节、中秋节：10月1日（星期五）—7日（星期四）放假调休，共7天。", [f"2027-10-0{d}" for d in range(1, 8)]),
])
def test_the_forms_a_notice_writes_a_break_in(item, days):
    assert iso(read(TITLE + item).holidays()) == days


def test_full_width_digits_spaces_and_a_sentence_on_a_line_of_its_own_are_read():
    text = TITLE + "二、春节： ２月５日（周五）至１３日（周六）放假调休，共９天。\n2月14日（周日）上班。\n"
    s = read(text)
    assert len(s.holidays()) == 9 and iso(s.workdays()) == ["2027-02-14"]


def test_remarks_addressees_and_the_signature_are_not_schedule_lines():
    text = (TITLE + "各有关单位：\n现将2027年放假调休日期通知如下。\n"
            "二、春节：2月5日至13日放假调休，共9天。鼓励各单位安排职工在除夕（2月5日）休息。\n"
            "测试办公室\n2026年11月20日\n")
    assert len(read(text).holidays()) == 9


@pytest.mark.parametrize("line,needle", [
    ("一、元旦：1月1日（周四）至3日（周日）放假，共3天。", "标注为周四"),
    ("一、元旦：1月1日至3日放假，共4天。", "共4天"),
    ("一、元旦：1月1日至3日放假，共3天。1月4日（周一）上班。", "应为周六或周日"),
    ("一、元旦：1月1日至3日放假，共3天。1月2日（周六）上班。", "重复出现"),
    ("一、元旦：1月1日至3日休息。", "无法识别"),
    ("一、元旦：1月1日至3日放假，共3天，另行通知。", "无法识别"),
    ("一、元旦：2月30日放假。", "不是有效日期"),
    ("一、元旦：1月3日至1日放假。", "早于"),
    ("元旦：1月1日至3日放假，共3天。", "序号"),
])
def test_a_line_that_cannot_be_read_is_refused_naming_it(line, needle):
    text = TITLE + "各有关单位：\n\n" + line + "\n二、春节：2月5日至13日放假调休，共9天。\n"
    e = refused(text, source="notice.txt")
    assert e.line == 4 and needle in e.zh, e.zh
    assert e.text("zh").startswith("notice.txt: 第4行：") and "line 4" in e.text("en")


def test_the_same_date_in_two_items_is_refused_naming_the_second():
    e = refused(TITLE + "一、元旦：1月1日至3日放假，共3天。\n二、又一：1月3日放假。\n")
    assert e.line == 3 and "第2行" in e.zh


def test_a_text_without_any_break_is_refused():
    e = refused(TITLE + "各有关单位：\n请各单位据此安排工作。\n")
    assert "没有找到放假安排" in e.zh
    assert "没有内容" in refused(" \n\n").zh


# --- the CSV --------------------------------------------------------------------------------

def test_a_csv_of_date_and_kind_reads_with_header_comments_and_chinese_kinds():
    s = read(CSV_2027)
    assert s.source == "csv" and s.years == (2027,)
    assert len(s.holidays()) == 12 and iso(s.workdays()) == ["2027-02-14", "2027-02-20"]
    s = read_csv("2027-01-01,放假\n\n2027-02-14,上班\n")
    assert iso(s.holidays()) == ["2027-01-01"] and iso(s.workdays()) == ["2027-02-14"]


def test_a_csv_covers_the_years_it_lists_holidays_in_not_a_lone_make_up_day():
    s = read("date,kind\n2026-12-26,workday\n2027-01-01,holiday\n2028-01-01,holiday\n")
    assert s.years == (2027, 2028)
    assert read("2026-12-26,workday\n2027-01-01,holiday\n", year=2027).years == (2027,)


@pytest.mark.parametrize("row,needle", [
    ("2027/01/04,holiday", "YYYY-MM-DD"),
    ("2027-02-30,holiday", "不是有效日期"),
    ("2027-01-04,vacation", "holiday"),
    ("2027-01-04,workday", "应为周六或周日"),
    ("2027-01-01,holiday", "重复出现"),
    ("2027-01-04", "两列"),
    ("2027-01-04,holiday,元旦", "两列"),
])
def test_a_bad_csv_row_is_refused_naming_its_line(row, needle):
    e = refused(f"date,kind\n2027-01-01,holiday\n{row}\n2027-01-05,holiday\n", source="days.csv")
    assert e.line == 3 and needle in e.zh, e.zh


def test_a_csv_and_a_notice_are_told_apart_by_their_first_line():
    assert looks_like_csv("date,kind\n") and looks_like_csv("\n# 注释\n2027-01-01,holiday")
    assert not looks_like_csv(NOTICE_2027)


def test_files_in_gb18030_read_and_a_word_file_given_as_text_is_refused():
    assert decode(NOTICE_2027.encode("gb18030")) == NOTICE_2027
    assert decode("\ufeff".encode() + b"date,kind") == "date,kind"
    with pytest.raises(ScheduleError, match="Word"):
        decode(b"PK\x03\x04rest of a zip")


def test_a_notice_in_a_word_file_reads_like_its_text_and_a_file_in_gb18030_too(tmp_path):
    import docx

    doc = docx.Document()
    for line in NOTICE_2027.splitlines():
        doc.add_paragraph(line)
    doc.save(tmp_path / "2027.docx")
    (tmp_path / "2027.txt").write_bytes(NOTICE_2027.encode("gb18030"))
    for name in ("2027.docx", "2027.txt"):
        s = read_file(tmp_path / name)
        assert len(s.holidays()) == HOLIDAYS_2027 and iso(s.workdays()) == MAKE_UP_2027
    with pytest.raises(ScheduleError, match="missing.txt"):
        read_file(tmp_path / "missing.txt")


# --- properties -------------------------------------------------------------------------------

def _notice(year: int, breaks: list[tuple[dt.date, int]], make_up: list[dt.date]) -> str:
    wd = "一二三四五六日"
    lines = [f"国务院办公厅关于{year}年部分节假日安排的通知"]
    for i, (start, n) in enumerate(breaks):
        end = start + dt.timedelta(days=n - 1)
        head = f"{'一二三四五六七八九十'[i]}、节日{i}：{start.month}月{start.day}日（周{wd[start.weekday()]}）"
        if n > 1:
            tail = f"{end.month}月{end.day}日" if end.month != start.month else f"{end.day}日"
            head += f"至{tail}（星期{wd[end.weekday()]}）"
        lines.append(head + f"放假调休，共{n}天。")
    if make_up:
        lines[-1] += "、".join(f"{d.month}月{d.day}日（周{wd[d.weekday()]}）" for d in make_up) + "上班。"
    return "\n".join(lines)


@st.composite
def schedules(draw):
    year = draw(st.integers(2027, 2060))
    starts = sorted(draw(st.sets(st.integers(0, 23), min_size=1, max_size=7)))  # one break per half month
    breaks = [(dt.date(year, 1 + s // 2, 1 + 15 * (s % 2)) + dt.timedelta(days=draw(st.integers(0, 4))),
               draw(st.integers(1, 9))) for s in starts]
    off = {b + dt.timedelta(days=i) for b, n in breaks for i in range(n)}
    weekends = [d for d in (dt.date(year, 1, 1) + dt.timedelta(days=i) for i in range(365))
                if d.year == year and d.weekday() >= 5 and d not in off]
    make_up = sorted(draw(st.sets(st.sampled_from(weekends), max_size=4)))
    return year, breaks, make_up, off


@settings(derandomize=True, max_examples=150, deadline=None)
@given(schedules())
def test_any_notice_written_in_the_format_reads_back_to_its_days(case):
    year, breaks, make_up, off = case
    s = read_notice(_notice(year, breaks, make_up))
    assert s.years == (year,)
    assert set(s.holidays()) == off
    assert s.workdays() == make_up


@settings(derandomize=True, max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("一、元旦：1月3日至（周五）放假调休，共天。上班\n2027年-,holidaywork#")),
               max_size=120))
@example("一、元旦：1月1日至99日放假。")
@example("2027-01-01,holiday\n2027-13-01,holiday")
@example("一、元旦：13月1日放假")
def test_any_text_is_read_or_refused_with_a_schedule_error_never_anything_else(text):
    try:
        s = read(text, year=2027)
    except ScheduleError as e:
        assert e.zh and e.en
        return
    assert s.holidays()
