"""Test notices in the layouts rectification notices are published in, written for these tests.

Every organisation, person and event here is fictional (测试县, 测试大学, 示例区 …). :data:`TREE` is a
small plan; :func:`render` writes it in one of the layouts with a chosen punctuation, numbering and
order, so property tests can check that the reader reads the same tree whatever the dress.
The fixed texts below (:data:`PORTAL`, :data:`TRADITIONAL`) add what a renderer does not: web
page furniture, a missing inspection group, traditional characters.
"""
from __future__ import annotations

from dataclasses import dataclass

from workflow.vocabulary import cn_numeral


@dataclass(frozen=True)
class P:
    """One problem: its title (关于…的问题 layouts use it), description, measures and progress."""

    title: str
    text: str
    measures: tuple[str, ...]
    progress: str  # 已完成 / 正在推进 / 已完成，长期坚持 / 持续推进


TREE: tuple[tuple[str, tuple[P, ...]], ...] = (
    ("党的领导弱化方面", (
        P("学习贯彻上级精神不深入", "理论学习中心组学习次数偏少，研讨不够深入。",
          ("制定年度理论学习计划并按月开展集中学习", "建立学习研讨台账并逐次记录发言要点"), "已完成"),
        P("议事规则执行不严格", "部分重大事项未经集体研究即作出决定。",
          ("修订党组会议议事规则", "对重大事项决策程序开展专项检查", "将议事规则执行情况纳入年度考核"),
          "已完成，长期坚持"),
    )),
    ("日常监督管理薄弱方面", (
        P("资产管理不规范", "固定资产账实不符，部分设备长期闲置。",
          ("开展固定资产全面清查", "对闲置设备进行调剂使用"), "正在推进"),
        P("公务用车管理不严格", "车辆使用登记不完整。",
          ("完善公务用车使用登记制度",), "已完成"),
        P("项目资金拨付滞后", "部分项目资金未按进度拨付。",
          ("建立项目资金拨付进度台账", "每月通报资金拨付进度"), "持续推进"),
    )),
)

STATE = {"已完成": "closed", "已完成，长期坚持": "closed", "正在推进": "in_progress", "持续推进": "in_progress"}


@dataclass(frozen=True)
class Style:
    """How a notice is dressed: the layout and its punctuation, numbering and order."""

    layout: str = "county"  # seed county wenti university
    colon: str = "："
    brackets: tuple[str, str] = ("（", "）")
    sep: str = "."  # after an Arabic number: . 、 ．
    restart: bool = False  # county layout: problem numbers start again in each part
    order: tuple[tuple[int, ...], ...] | None = None  # the problems of each part in this order
    with_totals: bool = True


def ordered(style: Style) -> list[tuple[str, list[P]]]:
    """The tree in the style's order."""
    out = []
    for k, (title, problems) in enumerate(TREE):
        order = style.order[k] if style.order else range(len(problems))
        out.append((title, [problems[i] for i in order]))
    return out


def _head(style: Style) -> list[str]:
    return ["中共测试县示例局党组", "关于县委第二巡察组巡察反馈意见整改情况的通报", "",
            "根据县委统一部署，2023年3月1日至4月28日，县委第二巡察组对县示例局党组进行了常规巡察。"
            "2023年6月5日，巡察组反馈了巡察意见。现将整改情况予以公布。", ""]


def _tail() -> list[str]:
    return ["", "三、下一步工作打算", "", "我局将持续巩固整改成果，建立长效机制。", "",
            "欢迎广大干部群众对巡察整改落实情况进行监督。如有意见建议，请及时向我们反映。", "",
            "联系电话：0000-0000000", "", "中共测试县示例局党组", "", "2023年9月1日"]


def _org(style: Style) -> list[str]:
    n_problems = sum(len(ps) for _, ps in TREE)
    done = sum(p.progress.startswith("已完成") for _, ps in TREE for p in ps)
    totals = (f"巡察组反馈的{len(TREE)}个方面{n_problems}个问题，已整改完成{done}个，其余正在持续推进。"
              if style.with_totals else "局党组召开专题会议研究整改工作。")
    return ["一、提高政治站位，扎实推进整改工作", "", totals, ""]


def render(style: Style = Style()) -> str:
    """The tree as a notice in ``style``."""
    if style.layout == "university":
        return _university(style)
    lines = _head(style) + _org(style) + ["二、巡察反馈问题整改落实情况", ""]
    lb, rb = style.brackets
    c = style.colon
    n = 0
    for k, (title, problems) in enumerate(ordered(style), 1):
        lines += [f"{lb}{cn_numeral(k)}{rb}{title}", ""]
        if style.restart and style.layout == "county":
            n = 0
        for p in problems:
            n += 1
            if style.layout == "county":
                items = "；".join(f"{cn_numeral(i)}是{m}" for i, m in enumerate(p.measures, 1))
                lines += [f"{n}{style.sep}关于{p.title}的问题。{p.text}", "",
                          f"整改情况{c}{items}。目前，{p.progress}。", ""]
            elif style.layout == "wenti":
                items = "；".join(f"{lb}{i}{rb}{m}" for i, m in enumerate(p.measures, 1))
                lines += [f"问题{cn_numeral(n)}{c}{p.title}。{p.text}", "", f"整改措施及成效{c}{items}。", "",
                          f"整改进度{c}{p.progress}。", ""]
            else:  # seed
                lines += [f"问题 {n}{c}{p.title}。{p.text}", "", f"落实情况{c}" + "".join(f"{m}。" for m in p.measures),
                          "", f"整改进度{c}{p.progress}。", ""]
    return "\n".join(lines + _tail())


def _university(style: Style) -> str:
    lb, rb = style.brackets
    c = style.colon
    lines = ["中共测试大学委员会关于省委第五巡视组巡视反馈意见整改进展情况的通报", "",
             "根据省委统一部署，2023年4月10日至6月9日，省委第五巡视组对测试大学党委进行了常规巡视。"
             "2023年8月20日，巡视组反馈了巡视意见。"
             + (f"反馈的{len(TREE)}个方面{sum(len(ps) for _, ps in TREE)}个问题已全部制定整改措施。"
                if style.with_totals else ""), ""]
    for k, (title, problems) in enumerate(ordered(style), 1):
        lines += [f"{cn_numeral(k)}、{title}", ""]
        for i, p in enumerate(problems, 1):
            lines += [f"{lb}{cn_numeral(i)}{rb}{p.title}。", "", f"整改落实情况{c}", ""]
            lines += [f"{j}{style.sep}{m}。" for j, m in enumerate(p.measures, 1)]
            lines += [f"目前，该问题{p.progress}。", ""]
    lines += ["下一步，学校党委将持续抓好整改落实，巩固整改成果。", "",
              "欢迎广大师生对巡视整改落实情况进行监督。联系电话：0000-1111111；电子邮箱：test@example.invalid。", "",
              "中共测试大学委员会", "", "2024年1月10日"]
    return "\n".join(lines)


# a notice copied from a government portal: page furniture, and no inspection group named
PORTAL = """首页 > 信息公开 > 通知公告
关于巡察整改进展情况的通报
发布时间：2024-03-05 10:00 来源：示例区教育局 浏览次数：321
字号：大 中 小
朗读
分享
根据区委巡察工作统一部署，局党组对照巡察反馈意见，逐项抓好整改。

一、巡察反馈问题整改情况

（一）落实全面从严治党主体责任方面

1、关于廉政风险排查不全面的问题。

整改情况：一是由局纪检组牵头开展廉政风险点全面排查；二是由区教育发展中心负责修订风险防控手册。目前已整改完成。

2、关于干部培训针对性不强的问题。

整改情况:一是制定分层分类培训计划；二是开展业务骨干专题培训。正在推进。

（二）作风建设方面

3、关于督查检查过多的问题。

整改情况：一是精简督查检查事项；二是建立督查计划统筹制度。目前已整改完成。

欢迎社会各界监督。联系电话：0000-2222222。

中共示例区教育局党组

2024年3月1日

【打印本页】【关闭窗口】
信息索引号：000000-2024-00001
上一篇：无
"""

# a notice in traditional characters (written for this test)
TRADITIONAL = """中共測試縣示例公司委員會
關於巡察整改情況的通報

根據縣委統一部署，2023年5月8日至6月30日，縣委第一巡察組對測試縣示例公司黨委進行了常規巡察。反饋的2個方面3個問題，已整改完成2個。

一、巡察反饋問題整改落實情況

（一）黨的建設方面

問題1：黨建工作責任制落實不到位。

落實情況：修訂黨建工作責任清單。開展黨建述職評議。

整改進度：已完成。

問題2：基層黨組織活動不規範。

落實情況：制定支部活動指引並組織培訓。

整改進度：已完成。

（二）經營管理方面

問題3：合同管理不規範。

落實情況：由公司法務部牽頭建立合同審查制度。開展合同履行情況專項檢查。

整改進度：正在整改。

中共測試縣示例公司委員會

2023年10月9日
"""
