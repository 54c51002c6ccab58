"""Units a notice names: the table of known units and aliases, and finding them in a sentence."""
from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class UnitDef:
    name: str
    kind: str  # department subdistrict office
    aliases: tuple[str, ...]
    slug: str  # ascii, for demo usernames
    head_title: str  # 局长, 主任, 书记


UNITS: tuple[UnitDef, ...] = (
    UnitDef("水利局", "department", ("水利局",), "water", "局长"),
    UnitDef("区防办", "department", ("区防办", "防指办", "防汛办", "防汛抗旱指挥部办公室"), "flood", "主任"),
    UnitDef("发改局", "department", ("发改局", "发展改革局", "发展和改革局"), "devreform", "局长"),
    UnitDef("住建局", "department", ("住建局", "住房和城乡建设局"), "housing", "局长"),
    UnitDef("财政局", "department", ("财政局",), "finance", "局长"),
    UnitDef("应急管理局", "department", ("应急管理局",), "emergency", "局长"),
    UnitDef("纪工委", "department", ("纪工委",), "discipline", "书记"),
    UnitDef("祖师街道办事处", "subdistrict", ("祖师街道办事处", "祖师街道", "祖师办事处"), "zushi", "主任"),
    UnitDef("永昌街道办事处", "subdistrict", ("永昌街道办事处", "永昌街道", "永昌办事处"), "yongchang", "主任"),
    UnitDef("天宝路街道办事处", "subdistrict", ("天宝路街道办事处", "天宝路街道", "天宝路办事处", "天宝办事处"),
            "tianbao", "主任"),
    UnitDef("半截河街道办事处", "subdistrict", ("半截河街道办事处", "半截河街道", "半截河办事处", "半截河"),
            "banjiehe", "主任"),
    UnitDef("产业集聚区", "subdistrict", ("产业集聚区",), "industrial", "主任"),
    UnitDef("党工委办公室", "department", ("党工委办公室", "党政办"), "partyoffice", "主任"),
    UnitDef("整改办", "office", ("整改办", "整改工作领导小组办公室"), "rectoffice", "主任"),
)
DEFAULT_UNIT = "整改办"
UNIT_BY_NAME = {u.name: u for u in UNITS}
# subject keywords that point at a unit when no unit is named (data, like the table above)
TOPICS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("住建局", ("积水点", "管网", "收水井", "雨污")),
    ("党工委办公室", ("学习贯彻", "中心组", "理论学习")),
)
_ALIASES = sorted(((a, u.name) for u in UNITS for a in u.aliases), key=lambda x: -len(x[0]))
_ALIAS_RE = re.compile("|".join(re.escape(a) for a, _ in _ALIASES))
_ALIAS_UNIT = dict(_ALIASES)


def units_in(text: str) -> list[str]:
    """Unit names mentioned in text, in order (aliases resolved; 《titles》 and 市/省 bodies ignored)."""
    text = re.sub(r"《[^》]*》", lambda m: " " * len(m.group()), text)
    out = []
    for m in _ALIAS_RE.finditer(text):
        if m.start() > 0 and text[m.start() - 1] in "市省":
            continue
        name = _ALIAS_UNIT[m.group()]
        if name not in out:
            out.append(name)
    return out
