"""Fuzzing the notice parser: whatever the text, it returns a consistent notice or a NoticeError."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings, strategies as st

from workflow import demo
from workflow.importing import notice as N

SEED_LINES = N.SEED_PATH.read_text(encoding="utf-8").split("\n")

# characters that make up the notice's structure, so random text often looks like one
PIECES = list("问题落实情况整改进度：:（）()一二三四五六七八九十、.．1234567890１２。，；\n \u3000万元年月日退还谈话提醒《》〔〕号是") + [
    "\n\n", "问题 1：", "落实情况：", "整改进度：已完成。", "（一）", "1. ", "一、", "二、", "联系方式：", "欢迎",
    "2023 年 3 月 30 日", "关于巡察整改情况的通报\n",
    # the genre's other shapes: labels, markers, progress words, page furniture, traditional characters
    "整改情况：", "整改落实情况：\n", "(1)", "（2）", "1、关于学习的问题。", "问题一：", "二、巡察反馈问题整改落实情况\n",
    "目前已整改完成。", "正在推进。", "下一步，", "首页 > 信息公开\n", "字号：大 中 小\n", "問題", "由县住建局牵头",
    "反馈的2个方面3个问题，已整改完成2个。",
]

DEMO_UNITS = demo.unit_directory()  # with the rectification office, every measure gets a unit
FAST = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check(text: str) -> None:
    try:
        n = N.parse(text, units=DEMO_UNITS)
    except N.NoticeError as e:
        assert str(e)
        assert e.line is None or e.line >= 1
        return
    numbers = [p.no for p in n.problems]
    assert len(numbers) == len(set(numbers)) and numbers
    assert n.title
    for p in n.problems:
        assert p.measures, p.no
        assert [m.seq for m in p.measures] == list(range(1, len(p.measures) + 1))
        assert all(m.text.strip() and m.unit and m.kind in ("immediate", "time_bound", "long_term")
                   for m in p.measures)
    assert set(n.preamble()) >= {"title", "intro", "contact", "signed_on"}


@FAST
@given(st.lists(st.sampled_from(PIECES), max_size=120).map("".join))
def test_structured_noise_parses_or_raises_notice_error(text):
    check(text)


@FAST
@given(st.text(max_size=400))
def test_any_text_parses_or_raises_notice_error(text):
    check(text)


EDIT = st.tuples(
    st.sampled_from(["delete", "duplicate", "break", "insert", "swap"]),
    st.integers(min_value=0, max_value=len(SEED_LINES) - 1),
    st.integers(min_value=0, max_value=400),
    st.lists(st.sampled_from(PIECES), max_size=4).map("".join),
)


@FAST
@given(st.lists(EDIT, min_size=1, max_size=8))
def test_damaged_seed_parses_or_raises_notice_error(edits):
    lines = list(SEED_LINES)
    for op, k, pos, junk in edits:
        if not lines:
            break
        k %= len(lines)
        if op == "delete":
            del lines[k]
        elif op == "duplicate":
            lines.insert(k, lines[pos % len(lines)])
        elif op == "break":
            t = lines[k]
            j = pos % (len(t) + 1)
            lines[k] = t[:j] + "\n\n" + t[j:]
        elif op == "insert":
            t = lines[k]
            j = pos % (len(t) + 1)
            lines[k] = t[:j] + junk + t[j:]
        else:
            j = pos % len(lines)
            lines[k], lines[j] = lines[j], lines[k]
    check("\n".join(lines))


@FAST
@given(st.integers(min_value=15, max_value=180), st.integers(min_value=1, max_value=60))
def test_a_fragment_repeated_across_any_page_break_is_dropped(line_index, cut):
    """Break a seed paragraph anywhere and repeat up to 8 characters of its tail after the break:
    the parse is the same as the seed's, as long as the repeat is long enough to be recognised."""
    lines = list(SEED_LINES)
    k = line_index % len(lines)
    text = lines[k]
    if len(text) < 24:
        return
    j = 10 + cut % (len(text) - 18)
    head, tail = text[:j], text[j:]
    repeat = head[-8:]
    if any(ch in repeat for ch in "。！？；") or head.endswith(tail[:N.MIN_OVERLAP]):
        return
    lines[k] = head + "\n\n" + repeat + tail
    damaged = N.parse("\n".join(lines))
    clean = N.parse("\n".join(SEED_LINES))
    assert damaged.preamble() == clean.preamble()
    assert [(p.text, p.account) for p in damaged.problems] == [(p.text, p.account) for p in clean.problems]
    assert [(pt.title, [c.title for c in pt.categories]) for pt in damaged.parts] == \
        [(pt.title, [c.title for c in pt.categories]) for pt in clean.parts]
