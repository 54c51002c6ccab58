"""Deadlines written the ways offices write them: dates without a year, and several milestones in a cell."""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings, strategies as st

from workflow.importing.ledger_dates import parse_deadline, parse_milestones, year_in

D = dt.date


@pytest.mark.parametrize("cell, year, expected", [
    ("6月底前", 2024, (D(2024, 6, 30), None)),
    ("3月15日前", 2024, (D(2024, 3, 15), None)),
    ("9月中旬", 2024, (D(2024, 9, 20), None)),
    ("2023年3月底前", 2024, (D(2023, 3, 31), None)),  # a written year wins over the context
    ("12月底前完成，长期坚持", 2024, (D(2024, 12, 31), "long_term")),
])
def test_a_date_without_a_year_takes_the_ledgers_year(cell, year, expected):
    assert parse_deadline(cell, year) == expected


def test_a_date_without_a_year_and_no_year_to_take_is_refused_saying_so():
    with pytest.raises(ValueError, match="bad date.*no year"):
        parse_deadline("6月底前")


@pytest.mark.parametrize("cell, year, expected", [
    ("3月：制定制度\n6月底前：全面落实", 2024, [(D(2024, 3, 31), "制定制度"), (D(2024, 6, 30), "全面落实")]),
    ("2024年4月：第一轮检查；9月：第二轮检查；12月底前：总结", None,
     [(D(2024, 4, 30), "第一轮检查"), (D(2024, 9, 30), "第二轮检查"), (D(2024, 12, 31), "总结")]),
    ("1. 2024年3月底前完成摸排\n2. 2024年6月30日前整改到位", None,
     [(D(2024, 3, 31), "完成摸排"), (D(2024, 6, 30), "整改到位")]),
    ("第一阶段（2024年3月底前）：摸排\n第二阶段（2024年6月底前）：整改\n并持续跟踪", None,
     [(D(2024, 3, 31), "摸排"), (D(2024, 6, 30), "整改；并持续跟踪")]),
    ("11月：部署\n2月：验收", 2024, [(D(2024, 11, 30), "部署"), (D(2025, 2, 28), "验收")]),  # over the new year
])
def test_every_milestone_of_a_cell_is_read_and_the_last_is_the_deadline(cell, year, expected):
    assert parse_milestones(cell, year) == expected


@pytest.mark.parametrize("cell", ["2023年3月底前", "2023年3月底前\n长期坚持", "立行立改", None, 45016,
                                  "完成摸排\n全面整改"])
def test_a_cell_of_one_date_is_no_list_of_milestones(cell):
    assert parse_milestones(cell, 2024) is None


def test_milestones_without_any_year_are_refused_saying_so():
    with pytest.raises(ValueError, match="no year"):
        parse_milestones("3月：甲\n6月：乙")


def test_the_year_of_a_title_is_the_context_of_a_yearless_date():
    assert year_in(None, "2024年巡察整改督查台账") == 2024
    assert year_in("整改台账", "第3批", "台账（２０２３年）") == 2023
    assert year_in("整改台账", "9999年") is None


WHAT = st.sampled_from(["完成摸排", "制定制度", "全面整改到位", "开展回头看", "总结验收"])
SEP = st.sampled_from(["\n", "；", ";", "\n\n", "；\n"])
COLON = st.sampled_from(["：", ":", " ： "])


@settings(derandomize=True, max_examples=200, deadline=None)
@given(start=st.dates(min_value=D(2020, 1, 1), max_value=D(2030, 12, 31)),
       steps=st.lists(st.integers(min_value=1, max_value=11), min_size=1, max_size=4),
       whats=st.lists(WHAT, min_size=5, max_size=5), sep=SEP, colon=COLON,
       style=st.sampled_from(["month", "month_end", "day", "full"]), bullets=st.booleans())
def test_milestones_written_any_way_give_their_months_in_order_and_the_last_as_deadline(
        start, steps, whats, sep, colon, style, bullets):
    months = [(start.year, start.month)]
    for step in steps:
        y, m = months[-1]
        m += step
        months.append((y + (m - 1) // 12, (m - 1) % 12 + 1))
    lines = []
    for i, (y, m) in enumerate(months):
        written = {"month": f"{m}月", "month_end": f"{m}月底前", "day": f"{m}月10日前", "full": f"{y}年{m}月"}[style]
        if i == 0 and style != "full":
            written = f"{y}年{written}"  # the first milestone carries the year, the others follow it
        lines.append((f"{i + 1}. " if bullets else "") + written + colon + whats[i])
    found = parse_milestones(sep.join(lines))
    assert found is not None
    assert [(d.year, d.month) for d, _what in found] == months
    assert [what for _d, what in found] == whats[:len(months)]
