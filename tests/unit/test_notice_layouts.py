"""The notice reader on the genre: notices in the layouts offices publish, written for these tests.

Each layout is checked for its parts, problems, measures, states and kinds and its warnings;
property tests reorder, re-number and re-punctuate the same plan and read the same tree.
"""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.data import notices as T
from workflow.importing import notice as N

STATE = {"done": "closed", "done_long_term": "closed", "in_progress": "in_progress", "": "assigned"}


def tree(n: N.Notice) -> list[tuple[str, list[tuple[str, tuple[str, ...], str, tuple[str, ...]]]]]:
    """(part title, [(problem text, measure texts, state, kinds)]) of a parsed notice."""
    return [(pt.title, [(p.text, tuple(m.text.rstrip("。；;") for m in p.measures), STATE[p.status],
                         tuple(m.kind for m in p.measures)) for p in pt.all_problems]) for pt in n.parts]


def expected(style: T.Style) -> list:
    """What the reader should find in ``T.render(style)``."""
    out = []
    for title, problems in T.ordered(style):
        rows = []
        for p in problems:
            text = {"county": f"关于{p.title}的问题。{p.text}", "university": f"{p.title}。"}.get(
                style.layout, f"{p.title}。{p.text}")
            long_term = "长期坚持" in p.progress or "持续" in p.progress
            kinds = tuple("long_term" if long_term and k == len(p.measures) - 1 else "time_bound"
                          for k in range(len(p.measures)))
            rows.append((text, p.measures, T.STATE[p.progress], kinds))
        out.append((title, rows))
    return out


@pytest.mark.parametrize("layout", ["seed", "county", "wenti", "university"])
def test_each_layout_reads_as_the_same_plan(layout):
    style = T.Style(layout=layout)
    n = N.parse(T.render(style))
    assert tree(n) == expected(style)
    assert [p.no for p in n.problems] == [1, 2, 3, 4, 5]
    assert n.measure_count == 10
    assert n.warnings == []
    assert n.signed_on is not None and n.issuer


def test_the_seed_layout_reads_problem_n_accounts_and_progress_lines():
    n = N.parse(T.render(T.Style(layout="seed")))
    assert n.layout == {"problem": "wenti", "part": "pcn", "category": None}
    assert n.problems_heading == "巡察反馈问题整改落实情况" and n.org_heading == "提高政治站位，扎实推进整改工作"
    assert (n.stated_parts, n.stated_problems, n.stated_done) == (2, 5, 3)
    assert (n.inspection.body, n.inspection.target, n.inspection.kind) == ("县委第二巡察组", "县示例局", "routine")


def test_a_county_bureau_notice_reads_guanyu_problems_under_fangmian_parts():
    n = N.parse(T.render(T.Style(layout="county")))
    assert n.layout == {"problem": "num", "part": "pcn", "category": None}
    assert [pt.title for pt in n.parts] == ["党的领导弱化方面", "日常监督管理薄弱方面"]
    p1 = n.problems[0]
    assert p1.account.startswith("一是制定年度理论学习计划") and p1.progress == "已完成"
    assert "目前" not in p1.account  # the sentence that only states the progress is not a measure
    assert n.next_heading == "下一步工作打算" and n.contact == ["联系电话：0000-0000000"]


def test_problems_numbered_in_chinese_with_ascii_bracket_measures_are_read():
    n = N.parse(T.render(T.Style(layout="wenti", colon=":", brackets=("(", ")"))))
    assert n.layout["problem"] == "wenti"
    assert [len(p.measures) for p in n.problems] == [2, 3, 2, 1, 2]
    assert n.problems[1].measures[0].text.startswith("修订党组会议议事规则")


def test_a_university_notice_reads_top_level_parts_and_numbered_measures():
    n = N.parse(T.render(T.Style(layout="university")))
    assert n.layout == {"problem": "pcn", "part": "cn", "category": None}
    assert n.issuer == "中共测试大学委员会" and n.title.startswith("中共测试大学委员会关于")
    assert (n.inspection.body, n.inspection.target) == ("省委第五巡视组", "测试大学")
    assert n.next_paragraphs == ["下一步，学校党委将持续抓好整改落实，巩固整改成果。"]
    assert n.closing[0].startswith("欢迎广大师生") and n.signature == "中共测试大学委员会"
    assert [p.status for p in n.problems] == ["done", "done_long_term", "in_progress", "done", "in_progress"]


def test_a_notice_copied_from_a_portal_drops_the_page_and_imports_without_a_group():
    n = N.parse(T.PORTAL)
    assert n.title == "关于巡察整改进展情况的通报"
    assert n.issuer == "中共示例区教育局党组"  # from the signature, not from the page furniture
    assert n.inspection.body is None and n.inspection.target is None
    assert n.warnings == ["the intro does not name the inspecting body and target (e.g. 市委第八巡察组对东城区进行了专项巡察):"
                          " they are left empty"]
    assert [(pt.title, len(pt.all_problems)) for pt in n.parts] == [("落实全面从严治党主体责任方面", 2), ("作风建设方面", 1)]
    assert [(p.status, len(p.measures)) for p in n.problems] == [("done", 2), ("in_progress", 2), ("done", 2)]
    assert [m.unit for m in n.problems[0].measures] == ["局纪检组", "区教育发展中心"]  # 由X牵头 / 由X负责
    dropped = [r for r in n.repairs if "dropped web page text" in r]
    assert len(dropped) == 8 and any("信息索引号" in r for r in dropped)
    for chrome in ("首页", "字号", "朗读", "分享", "打印本页", "浏览次数"):
        assert chrome not in repr(n.preamble()) and all(chrome not in p.text for p in n.problems)


def test_a_notice_in_traditional_characters_reads_as_simplified():
    n = N.parse(T.TRADITIONAL)
    assert n.title == "关于巡察整改情况的通报" and n.issuer == "中共测试县示例公司委员会"
    assert [pt.title for pt in n.parts] == ["党的建设方面", "经营管理方面"]
    assert [(p.text, p.status, len(p.measures)) for p in n.problems] == [
        ("党建工作责任制落实不到位。", "done", 2), ("基层党组织活动不规范。", "done", 1), ("合同管理不规范。", "in_progress", 2)]
    assert [m.unit for m in n.problems[2].measures] == ["公司法务部", "公司法务部"]
    assert any("traditional character" in r for r in n.repairs) and n.warnings == []


def test_stated_totals_that_disagree_with_the_notice_are_warnings():
    text = T.render(T.Style(layout="county")).replace("2个方面5个问题，已整改完成3个", "3个方面6个问题，已整改完成4个")
    n = N.parse(text)
    assert n.warnings == ["the notice speaks of 6 problems; 5 were found",
                          "the notice speaks of 3 parts (方面); 2 were found",
                          "the notice speaks of 4 problems rectified (已整改完成); 3 were found"]


def test_text_between_a_part_heading_and_its_first_problem_is_named_in_a_warning():
    text = T.render(T.Style(layout="county")).replace("（二）日常监督管理薄弱方面\n", "（二）日常监督管理薄弱方面\n\n本方面共有三个问题。\n")
    n = N.parse(text)
    assert len(n.problems) == 5
    assert len(n.warnings) == 1 and "is not imported" in n.warnings[0] and "本方面共有三个问题" in n.warnings[0]


def test_an_opening_that_names_no_group_is_a_warning_not_a_refusal():
    text = T.render(T.Style(layout="county")).replace(
        "根据县委统一部署，2023年3月1日至4月28日，县委第二巡察组对县示例局党组进行了常规巡察。", "根据区委巡察工作统一部署，")
    n = N.parse(text)
    assert len(n.problems) == 5 and n.inspection.body is None
    assert any("inspecting body" in w for w in n.warnings)



GUANYU_PARTS = """测试县示例局党组
关于县委第一巡察组反馈意见整改情况的通报
根据县委统一部署，2024年3月1日至4月30日，县委第一巡察组对县示例局党组进行了常规巡察。现将巡察整改情况予以公布。
一、整改工作总体情况
局党组召开专题会议研究部署整改工作。
二、巡察反馈问题整改落实情况
关于党的领导方面存在的问题
问题1：理论学习制度执行不到位。
落实情况：局办公室建立学习台账，按月通报。
问题2：议事规则不健全。
落实情况：局办公室修订党组议事规则。
关于作风建设方面存在的问题
问题3：文件会议偏多。
落实情况：局办公室精简会议文件。
三、下一步工作打算
持续巩固整改成果。
测试县示例局党组
2024年6月1日
"""


def test_guanyu_headings_over_problem_n_are_parts_numbered_in_order():
    n = N.parse(GUANYU_PARTS)
    assert [(pt.no, pt.title) for pt in n.parts] == [(1, "关于党的领导方面存在的问题"), (2, "关于作风建设方面存在的问题")]
    assert [[p.no for p in pt.all_problems] for pt in n.parts] == [[1, 2], [3]]

# --- the same tree, whatever the dress ------------------------------------------------------

def _orders():
    return st.tuples(*(st.permutations(range(len(ps))).map(tuple) for _, ps in T.TREE))


STYLES = st.builds(
    T.Style, layout=st.sampled_from(["seed", "county", "wenti", "university"]), colon=st.sampled_from(["：", ":"]),
    brackets=st.sampled_from([("（", "）"), ("(", ")")]), sep=st.sampled_from([".", "、", "．"]),
    restart=st.booleans(), order=_orders(), with_totals=st.booleans())


@settings(derandomize=True, max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(STYLES)
def test_reordered_renumbered_and_repunctuated_notices_read_the_same_tree(style):
    n = N.parse(T.render(style))
    assert tree(n) == expected(style)
    assert [p.no for p in n.problems] == list(range(1, 6))
    assert n.warnings == []
