"""Parsing a published rectification notice: the seed, its extraction damage, and variants."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from workflow import demo
from workflow.importing import notice as N

SEED = N.SEED_PATH.read_text(encoding="utf-8")
DEMO_UNITS = demo.unit_directory()  # the demo's org chart: the units the seed names, as data
MEASURES_PER_PROBLEM = {1: 2, 2: 2, 3: 3, 4: 4, 5: 2, 6: 2, 7: 1, 8: 1, 9: 3, 10: 8, 11: 2, 12: 2, 13: 1, 14: 5,
                        15: 4, 16: 3}


@pytest.fixture(scope="module")
def seed() -> N.Notice:
    return N.parse(SEED, units=DEMO_UNITS)


def problem(notice: N.Notice, no: int) -> N.Problem:
    return next(p for p in notice.problems if p.no == no)


# --- the seed ------------------------------------------------------------------------

def test_seed_has_three_parts_seven_categories_and_sixteen_problems(seed):
    assert [p.no for p in seed.parts] == [1, 2, 3]
    assert [len(p.categories) for p in seed.parts] == [2, 3, 2]
    assert [p.no for p in seed.problems] == list(range(1, 17))
    assert seed.stated_problems == 16 and seed.measure_target == 45
    assert seed.warnings == []


def test_headings_are_stored_without_their_numbering(seed):
    assert seed.parts[0].title == "责任意识不够强，落实上级决策部署有差距方面"
    assert seed.parts[0].categories[0].title == "关于学习贯彻习近平总书记关于防灾减灾救灾工作的重要指示批示精神不及时"
    assert seed.parts[2].categories[1].title == "资金使用不规范"
    assert seed.org_heading == "扛起主体责任，抓好整改工作的安排部署"
    assert seed.problems_heading == "坚持问题导向，从严从快抓好整改工作"
    assert seed.next_heading == "加大工作力度，抓好下步工作"


def test_header_footer_closing_and_contact_are_separated(seed):
    assert seed.issuer == "中共许昌市东城区工作委员会"
    assert seed.title == "关于巡察整改情况的通报"
    assert seed.signature == "中共许昌市东城区工委"
    assert seed.signed_on == dt.date(2023, 3, 30)
    assert len(seed.intro) == 2 and seed.intro[0].startswith("根据市委统一部署")
    assert len(seed.org_paragraphs) == 5 and seed.org_paragraphs[-1].startswith("（四）严格责任追究。")
    assert len(seed.next_paragraphs) == 4 and seed.next_paragraphs[-1].startswith("（三）严格落实党委主体责任。")
    assert seed.closing == ["欢迎广大干部群众对巡察整改落实情况进行监督。如有意见和建议，请及时向我们反映。"]
    assert seed.contact == ["联系方式：电话 2959960；", "邮政信箱：河南省许昌市东城区新兴东路 2966 号；",
                            "电子邮箱：dcqbg@163.com。"]


def test_problem_texts_accounts_and_progress_are_intact(seed):
    p1 = problem(seed, 1)
    assert p1.text == ("学习不主动。2021 年 7 月以来，区党工委仅于 2022 年 6 月学习过 1 次习近平总书记关于防灾减灾救灾工作的指示批示。")
    assert p1.progress == "已完成，长期坚持" and p1.status == "done_long_term"
    assert problem(seed, 2).account.startswith("把习近平总书记关于防灾减灾救灾工作的重要指示精神纳入理论中心组学习计划")
    assert problem(seed, 3).text.startswith("贯彻有差距。")
    assert "三是建立了区、办事处、社区（村）和企业（行业）四级联动" in problem(seed, 3).account
    assert problem(seed, 13).text.endswith("巡察期间，巡察组已要求纪工委督促各办事处重新召开民主生活会进行“补课”。")
    assert "及时清理雨水收水井篦子上堵塞物" in problem(seed, 14).account
    assert "该笔资金已于 2022 年 6 月 21 日退回。同时" in problem(seed, 16).account
    for p in seed.problems:
        assert "\n" not in p.text and "\n" not in p.account, p.no
        assert not p.text.startswith("问题") and not p.account.startswith("落实情况")


def test_fragment_repeated_across_a_page_break_is_kept_once(seed):
    para = seed.org_paragraphs[1]
    assert "区党工委召开专题民主生活会，认真讨论，研究部署整改工作" in para
    assert "认真生活会" not in para and para.count("生活会") == 1
    assert any("dropped the fragment '生活会，认真'" in r for r in seed.repairs)


def test_words_split_across_page_breaks_are_joined(seed):
    assert "对需要建立的制度，抓紧制定完善" in seed.next_paragraphs[2]
    assert "发现个别已改造完工路段的积水仍然严重" in problem(seed, 9).text
    assert "祖师街道办事处“7·20”房屋受损居民杨某全家" in problem(seed, 10).account
    joined = [r for r in seed.repairs if "joined a paragraph broken across a page break" in r]
    assert len(joined) == 11


def test_seed_splits_into_45_measures_keeping_the_notices_enumerations(seed):
    assert {p.no: len(p.measures) for p in seed.problems} == MEASURES_PER_PROBLEM
    assert seed.measure_count == 45
    p14 = [m.text for m in problem(seed, 14).measures]
    assert [t[:8] for t in p14] == ["加快改造工程进度", "制定整体改造计划", "改造收水井篦子。", "完善长效管护机制", "加强防汛集中调度"]
    assert problem(seed, 3).measures[0].text.startswith("组织召开了防灾减灾救灾问题反馈整改专项会议")
    for p in seed.problems:
        assert [m.seq for m in p.measures] == list(range(1, len(p.measures) + 1))
        assert all(m.text.strip() for m in p.measures)
        # nothing of the account is lost by splitting (enumeration markers aside)
        rebuilt = re.sub(r"[。，\s]", "", "".join(m.text for m in p.measures))
        original = re.sub(r"[。，\s]|[一二三四五六七八九十]是", "", p.account)
        if not re.search(r"[一二三四五]是", p.account):
            assert rebuilt.replace("并", "") == original.replace("并", ""), p.no


def test_measure_kinds_follow_the_progress_and_text_cues(seed):
    for p in seed.problems:
        assert p.measures[-1].kind == "long_term"  # every seed problem is 已完成，长期坚持
    assert problem(seed, 4).measures[1].kind == "immediate"  # 所有隐患均已整改到位
    assert problem(seed, 15).measures[1].kind == "immediate"  # 已于 … 退还
    assert problem(seed, 3).measures[0].kind == "time_bound"


def test_measure_units_are_derived_from_the_text(seed):
    def units(no):
        return [m.unit for m in problem(seed, no).measures]

    assert units(1) == ["党工委办公室"] * 2
    assert units(3) == ["发改局"] * 3  # 办公室设在发改局
    assert units(4) == ["区防办"] * 4  # 区防办牵头
    assert units(8) == ["产业集聚区"]
    assert units(9) == ["水利局"] * 3  # named in the problem
    assert units(10) == ["祖师街道办事处"] * 8
    assert units(12) == ["水利局", "纪工委"]  # the category names 纪工委
    assert units(14) == ["住建局"] * 4 + ["区防办"]  # 东城区防指办; 市水利局 is not ours
    assert units(15) == ["纪工委", "水利局", "永昌街道办事处", "永昌街道办事处"]


def test_money_of_problems_15_and_16_is_in_yuan(seed):
    m15 = problem(seed, 15).money
    assert m15.involved == Decimal("140400.00")  # 9 万元 + 5.04 万元
    assert m15.recovered == Decimal("90000.00") and m15.recovered_on == dt.date(2022, 9, 15)
    m16 = problem(seed, 16).money
    assert m16.involved == Decimal("135200.00")  # 9.7 万元 over the standard + 3.82 万元
    assert m16.recovered == Decimal("97000.00") and m16.recovered_on == dt.date(2022, 6, 21)
    assert (Decimal("145800.00"), "paid") in m16.amounts
    # an investment is mentioned, not misused
    assert problem(seed, 14).money.involved is None
    assert all(problem(seed, n).money.involved is None for n in range(1, 15))


def test_accountability_and_rules_made_are_found_by_pattern(seed):
    talks = [(p.no, a.kind, a.subject) for p in seed.problems for a in p.accountability]
    assert talks == [(15, "reminder_talk", "水利局相关人员"), (15, "reminder_talk", "永昌街道办事处相关人员"),
                     (16, "reminder_talk", "天宝路街道办事处相关人员")]
    rules = [(p.no, r.title, r.doc_no) for p in seed.problems for r in p.rules]
    assert rules == [(10, "祖师街道办事处突发事件总体应急预案", "祖办〔2022〕14号"),
                     (10, "祖师街道办事处防汛紧急避险安置预案", "祖办〔2022〕15号")]


def test_inspection_dates_carry_the_year_and_roll_it_over(seed):
    info = seed.inspection
    assert (info.body, info.target, info.kind) == ("市委第八巡察组", "东城区", "special")
    assert (info.onsite_start, info.onsite_end) == (dt.date(2022, 7, 11), dt.date(2022, 8, 19))
    assert info.feedback_date == dt.date(2022, 10, 11)
    assert (info.rect_start, info.rect_end) == (dt.date(2022, 10, 11), dt.date(2023, 1, 11))


def test_dates_without_a_year_take_the_previous_one():
    got = [d for d, _, _ in N.dates_in("2021年11月3日至12月30日，1月5日反馈，3 月 1 日完成")]
    assert got == [dt.date(2021, 11, 3), dt.date(2021, 12, 30), dt.date(2022, 1, 5), dt.date(2022, 3, 1)]


def test_preamble_has_exactly_the_keys_the_report_reads(seed):
    pre = seed.preamble()
    assert set(pre) == {"title", "issuer", "intro", "org_heading", "org_paragraphs", "problems_heading",
                        "problems_intro", "next_heading", "next_paragraphs", "closing", "contact", "signature",
                        "signed_on"}
    assert pre["signed_on"] == "2023-03-30"
    assert pre["problems_intro"][0].startswith("东城区党工委对市委第八巡察组反馈的问题进行了认真分析")


# --- variants and damage -------------------------------------------------------------

@pytest.mark.parametrize("old,new", [
    ("问题 1：", "问题１："),
    ("问题 1：", "问题 1:"),
    ("问题 1：", "问题1："),
    ("问题 1：", "问题 1 ： "),
    ("（一）责任意识", "(一) 责任意识"),
    ("1. 关于学习贯彻", "1．关于学习贯彻"),
    ("2. 风险意识淡薄", "2、风险意识淡薄"),
    ("落实情况：东城党工委", "落实情况:  东城党工委"),
    ("整改进度：已完成，长期坚持。\n\n问题 2", "整改进度:已完成，长期坚持\n\n问题 2"),
])
def test_marker_width_and_spacing_variants_parse_alike(seed, old, new):
    assert old in SEED
    varied = N.parse(SEED.replace(old, new, 1))
    assert [(p.no, p.text, p.account, p.progress) for p in varied.problems] == \
        [(p.no, p.text, p.account, p.progress) for p in seed.problems]
    assert [pt.title for pt in varied.parts] == [pt.title for pt in seed.parts]
    assert varied.measure_count == 45


def test_full_width_digits_crlf_and_wide_spaces_are_normalised(seed):
    text = (SEED.replace("\n", "\r\n").replace("2022年12月2日", "２０２２年１２月２日")
            .replace("问题 14：", "问题\u3000１４：").replace("14.58 万元", "14.58\u00a0万元"))
    varied = N.parse("\ufeff" + text)
    assert "2022年12月2日" in varied.org_paragraphs[1]
    assert problem(varied, 14).text == problem(seed, 14).text
    assert problem(varied, 16).money.involved == Decimal("135200.00")


def test_text_without_blank_lines_parses_alike(seed):
    packed = "\n".join(line for line in SEED.split("\n") if line.strip())
    n = N.parse(packed)
    assert [(p.no, p.text, p.account) for p in n.problems] == [(p.no, p.text, p.account) for p in seed.problems]
    assert n.contact == seed.contact and n.signature == seed.signature


def test_page_number_lines_are_dropped(seed):
    damaged = SEED.replace("认真\n\n生活会", "认真\n\n— 2 —\n\n生活会").replace("的重\n\n要指示", "的重\n\n- 3 -\n\n要指示")
    n = N.parse(damaged)
    assert n.org_paragraphs[1] == seed.org_paragraphs[1]
    assert problem(n, 2).account == problem(seed, 2).account
    assert sum("dropped page number" in r for r in n.repairs) == 2


def test_a_heading_broken_across_lines_is_joined(seed):
    n = N.parse(SEED.replace("（一）责任意识不够强，落实上级决策部署", "（一）责任意识不够强，落实上级决策部署\n\n", 1))
    assert n.parts[0].title == seed.parts[0].title


def test_chinese_numeral_signing_date_is_read():
    n = N.parse(SEED.replace("2023 年 3 月 30 日", "二〇二三年三月三十日"))
    assert n.signed_on == dt.date(2023, 3, 30)


def test_progress_in_progress_and_blank_are_told_apart():
    text = SEED.replace("整改进度：已完成，长期坚持。\n\n问题 2", "整改进度：正在整改。\n\n问题 2", 1)
    text = text.replace("整改进度：已完成，长期坚持。\n\n问题3", "问题3", 1)
    n = N.parse(text)
    assert problem(n, 1).status == "in_progress"
    assert problem(n, 2).status == ""
    assert problem(n, 3).status == "done_long_term"


def test_docx_round_trip_reads_like_the_text(tmp_path, seed):
    import docx

    document = docx.Document()
    for line in SEED.split("\n"):
        document.add_paragraph(line)
    path = tmp_path / "通报.docx"
    document.save(str(path))
    n = N.read(path)
    assert [(p.no, p.text, p.account, p.progress) for p in n.problems] == \
        [(p.no, p.text, p.account, p.progress) for p in seed.problems]
    assert n.preamble() == seed.preamble()
    assert n.measure_count == 45


@pytest.mark.parametrize("encoding", ["gb18030", "utf-16", "utf-8-sig"])
def test_text_files_in_common_encodings_are_read(tmp_path, seed, encoding):
    path = tmp_path / "notice.txt"
    path.write_bytes(SEED.encode(encoding))
    assert N.read(path).preamble() == seed.preamble()


def test_control_characters_are_ignored(seed):
    n = N.parse(SEED.replace("问题 1：", "问题\x00 1：\x07", 1))
    assert problem(n, 1).text == problem(seed, 1).text


# --- errors -----------------------------------------------------------------------------

def test_empty_text_is_refused_with_a_reason():
    with pytest.raises(N.NoticeError, match="empty"):
        N.parse("\n \n\u3000\n")


def test_an_account_outside_a_problem_names_its_line():
    text = SEED.replace("问题 1：学习不主动。", "学习不主动。", 1)
    with pytest.raises(N.NoticeError) as err:
        N.parse(text)
    assert err.value.line == 35 and "落实情况 is not under a 问题 N" in str(err.value)
    assert str(err.value).startswith("line 35:")


def test_a_duplicate_problem_number_names_both_lines():
    text = SEED.replace("问题 2：", "问题 1：", 1)
    with pytest.raises(N.NoticeError, match=r"line 39: 问题 1 appears twice \(first at line 33\)"):
        N.parse(text)


def test_an_unknown_progress_is_refused():
    text = SEED.replace("整改进度：已完成，长期坚持。", "整改进度：差不多了。", 1)
    with pytest.raises(N.NoticeError, match="line 37: unknown 整改进度"):
        N.parse(text)


def test_a_problem_outside_any_part_is_refused():
    text = SEED.replace("（一）责任意识不够强，落实上级决策部署有差距方面", "", 1).replace(
        "1. 关于学习贯彻习近平总书记关于防灾减灾救灾工作的重要指示批示精神不及时", "", 1)
    with pytest.raises(N.NoticeError, match="问题 1 is not under a part heading"):
        N.parse(text)


def test_text_without_problems_is_refused():
    with pytest.raises(N.NoticeError, match="no problems found"):
        N.parse("关于巡察整改情况的通报\n\n我区高度重视。\n")


def test_an_unreadable_file_is_a_notice_error(tmp_path):
    bad = tmp_path / "bad.docx"
    bad.write_bytes(b"not a zip")
    with pytest.raises(N.NoticeError, match="bad.docx: not a Word"):
        N.read(bad)


# --- splitting ----------------------------------------------------------------------------

def test_enumerated_items_become_one_measure_each():
    account = "一是建立台账。二是逐项销号，确保到位。三是健全机制，防止反弹。"
    assert N.split_measures(account) == ["建立台账。", "逐项销号，确保到位。", "健全机制，防止反弹。"]


def test_enumerations_in_brackets_and_numbers_are_recognised():
    assert N.split_measures("（一）开展排查。（二）建立台账。") == ["开展排查。", "建立台账。"]
    assert N.split_measures("1.开展排查。2.建立台账。3.对账销号。") == ["开展排查。", "建立台账。", "对账销号。"]


def test_words_ending_in_shi_are_not_enumeration_markers():
    account = "这不是一是二是的问题。但是需要整改。"
    assert N.split_measures(account) == ["这不是一是二是的问题。", "但是需要整改。"]


def test_sentences_are_split_and_balanced_to_a_target_deterministically():
    account = ("区防办牵头组织排查，建立台账，实行销号管理，所有隐患均已整改到位，并同步开展业务培训，提升风险意识。"
               "持续督促各单位加强管理。")
    assert N.split_measures(account) == [
        "区防办牵头组织排查，建立台账，实行销号管理，所有隐患均已整改到位，并同步开展业务培训，提升风险意识。",
        "持续督促各单位加强管理。"]
    three = N.split_measures(account, target=3)
    assert three == N.split_measures(account, target=3)
    assert three == ["区防办牵头组织排查，建立台账，实行销号管理。", "所有隐患均已整改到位，并同步开展业务培训，提升风险意识。",
                     "持续督促各单位加强管理。"]
    assert N.split_measures(account, target=1) == ["".join(N.split_measures(account))]


def test_a_long_sentence_is_cut_before_a_clause_that_starts_a_new_action():
    account = "组织开展防汛隐患排查，建立工作台账，实行销号管理，同时开展业务培训会议两次，提升风险意识。"
    assert N.split_measures(account, target=2) == ["组织开展防汛隐患排查，建立工作台账，实行销号管理。",
                                                   "同时开展业务培训会议两次，提升风险意识。"]


def test_an_enumeration_is_not_rebalanced():
    account = "一是建立台账。二是逐项销号，确保到位，防止反弹，巩固成果，长期坚持下去。"
    assert N.split_measures(account, target=5) == N.split_measures(account)
