"""Two rounds of inspection of one fictional target, written for these tests.

Round 1 (县委第一巡察组, 2023) finds ten problems. Round 2 (县委第三巡察组, 2025) restates five of them in
other words and finds five new ones that only look alike (same field, another problem), taken from
:mod:`bench.recurrence_pairs`. :func:`notice` renders a round in the layout most notices use.
"""
from __future__ import annotations

from bench.recurrence_pairs import NEW, SAME

TARGET = "测试县水利局"
ROUND1 = [a for a, _b in SAME[:10]]
RESTATED = [b for _a, b in SAME[:5]]  # round 2 problems 1-5: round 1 problems 1-5 found again
LOOK_ALIKE = [b for _a, b in NEW[5:10]]  # round 2 problems 6-10: new, though in round 1's fields
ROUND2 = RESTATED + LOOK_ALIKE


def notice(body: str, problems: list[str], *, year: int, progress: str, target: str = TARGET) -> str:
    """A notice of ``problems`` found by ``body`` in ``target`` in ``year``, every problem at ``progress``."""
    lines = ["中共测试县水利局党组", "关于巡察整改情况的通报", "",
             f"根据县委统一部署，{year}年3月1日至4月28日，{body}对{target}进行了常规巡察。"
             f"{year}年6月5日，{body}反馈了巡察意见。现将整改情况予以公布。", "",
             "一、整改工作开展情况", "", "局党组高度重视，成立整改工作领导小组，逐项制定整改措施。", "",
             "二、巡察反馈问题整改落实情况", "", "（一）履职尽责方面", ""]
    for i, text in enumerate(problems, 1):
        if i == 6:
            lines += ["（二）作风建设方面", ""]
        lines += [f"问题{i}：{text}", "",
                  "落实情况：一是由水利局牵头制定专项整改方案。二是建立整改台账，逐项对账销号。", "",
                  f"整改进度：{progress}。", ""]
    lines += ["三、下一步工作打算", "", "持续巩固整改成果。", "", "联系电话：0000-0000000", "",
              "中共测试县水利局党组", "", f"{year}年9月1日"]
    return "\n".join(lines)
