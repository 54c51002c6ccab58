"""The words of a ledger: deadlines, numbers, status and kind words, headers, amounts."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from workflow import excel

D = dt.date


@pytest.mark.parametrize("cell, expected", [
    (dt.datetime(2023, 3, 31, 0, 0), (D(2023, 3, 31), None)),
    (D(2023, 3, 31), (D(2023, 3, 31), None)),
    (45016, (D(2023, 3, 31), None)),  # an Excel serial day without a date format
    ("2023年3月底前", (D(2023, 3, 31), None)),
    ("2023年3月", (D(2023, 3, 31), None)),
    ("2023年2月底前完成", (D(2023, 2, 28), None)),
    ("2024年2月底", (D(2024, 2, 29), None)),
    ("2023年3月15日前", (D(2023, 3, 15), None)),
    ("2023年3月上旬", (D(2023, 3, 10), None)),
    ("2023年3月中旬前", (D(2023, 3, 20), None)),
    ("2023年12月下旬", (D(2023, 12, 31), None)),
    ("2023.3.15", (D(2023, 3, 15), None)),
    ("2023/03/31 00:00:00", (D(2023, 3, 31), None)),
    ("2023-3", (D(2023, 3, 31), None)),
    ("20230315", (D(2023, 3, 15), None)),
    ("2023年底前", (D(2023, 12, 31), None)),
    ("2023年上半年", (D(2023, 6, 30), None)),
    ("2023年第三季度", (D(2023, 9, 30), None)),
    ("２０２３年３月底前", (D(2023, 3, 31), None)),  # full-width digits
    ("立行立改", (None, "immediate")),
    ("长期坚持", (None, "long_term")),
    ("2022年12月底前完成，长期坚持", (D(2022, 12, 31), "long_term")),
    ("立行立改，2022年10月底前", (D(2022, 10, 31), "immediate")),
    ("long-term", (None, "long_term")),
    ("By 2023-03-31", (D(2023, 3, 31), None)),
    (None, (None, None)),
    ("  ", (None, None)),
])
def test_deadlines_are_read_from_dates_and_customary_text(cell, expected):
    assert excel.parse_deadline(cell) == expected


@pytest.mark.parametrize("cell", ["2023年13月底前", "2023年2月30日", "下个月", "尽快", "2023年3月底前后再说", 3.5,
                                  True, "1899-12-31", "2023年中旬"])
def test_what_is_not_a_deadline_is_refused_with_the_reason(cell):
    with pytest.raises(ValueError, match="bad date"):
        excel.parse_deadline(cell)


@pytest.mark.parametrize("cell, expected", [
    ("3", (3, None)), (3, (3, None)), (3.0, (3, None)), ("3.2", (3, 2)), ("3-2", (3, 2)), ("3－2", (3, 2)),
    (3.2, (3, 2)), ("（3）", (3, None)), ("问题3", (3, None)), ("12、", (12, None)), (None, (None, None)),
])
def test_numbers_name_a_problem_and_a_measure(cell, expected):
    assert excel.parse_no(cell) == expected


@pytest.mark.parametrize("cell", ["三", "a1", "1.2.3", True])
def test_a_number_that_is_not_one_is_refused(cell):
    with pytest.raises(ValueError, match="bad number"):
        excel.parse_no(cell)


@pytest.mark.parametrize("cell, expected", [
    ("已完成", ("closed", False)), ("已完成，长期坚持", ("closed", True)), ("已完成。", ("closed", False)),
    ("已销号", ("closed", False)), ("正在整改", ("in_progress", False)), ("整改中", ("in_progress", False)),
    ("待审核", ("submitted", False)), ("已审核", ("verified", False)), (None, ("assigned", False)),
    ("", ("assigned", False)), ("已交办", ("assigned", False)), ("Done", ("closed", False)),
    ("In progress", ("in_progress", False)),
])
def test_status_words_map_to_states(cell, expected):
    assert excel.parse_status(cell) == expected


def test_an_unknown_status_word_is_refused_listing_the_accepted_ones():
    with pytest.raises(ValueError, match="unknown status word.*已完成"):
        excel.parse_status("基本完成")


@pytest.mark.parametrize("cell, field", [
    ("序号", "no"), ("方面", "part"), ("问题类别", "part"), ("问题", "problem"), ("反馈问题", "problem"),
    ("问题描述", "problem"), ("整改措施", "measure"), ("责任领导", "leader"), ("责任单位", "unit"),
    ("责任人", "owner"), ("完成时限", "deadline"), ("整改时限", "deadline"), ("整改类型", "kind"),
    ("整改进度", "status"), ("完成情况", "status"), ("落实情况", "account"), ("整改进展情况", "account"),
    ("No.", "no"), ("Problem", "problem"), ("Responsible unit", "unit"), ("Due date", "deadline"),
    ("完成时限\n（年月日）", "deadline"), ("涉及金额（万元）", "amount_involved"), ("*问题", "problem"),
    ("备注", None), ("", None),
])
def test_headers_vary_between_offices(cell, field):
    assert excel.header_field(cell)[0] == field


def test_amounts_are_yuan_and_a_wan_column_is_multiplied():
    assert excel.parse_amount(90000, False) == Decimal("90000.00")
    assert excel.parse_amount("5.04万元", False) == Decimal("50400.00")
    assert excel.parse_amount("1,200元", False) == Decimal("1200.00")
    assert excel.parse_amount(3.82, True) == Decimal("38200.00")
    assert excel.header_field("涉及金额（万元）") == ("amount_involved", True)
    with pytest.raises(ValueError, match="bad amount"):
        excel.parse_amount("若干", False)


def test_part_and_category_numbering_is_split_from_the_title():
    assert excel.split_part("（一）责任意识不够强方面") == (1, "责任意识不够强方面")
    assert excel.split_part("十二、其他方面") == (12, "其他方面")
    assert excel.split_part("责任意识不够强方面") == (None, "责任意识不够强方面")
    assert excel.split_category("1. 关于学习贯彻") == (1, "关于学习贯彻")
    assert excel.split_category("2．风险意识淡薄") == (2, "风险意识淡薄")
    assert excel.split_category("2023年的问题") == (None, "2023年的问题")
    assert [excel.cn_numeral(n) for n in (1, 10, 12, 20, 23)] == ["一", "十", "十二", "二十", "二十三"]
    assert [excel.cn_int(s) for s in ("一", "十", "十二", "二十", "二十三")] == [1, 10, 12, 20, 23]
