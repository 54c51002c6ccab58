"""One vocabulary: the words for every code the domain uses, and Chinese numerals.

Pages, API messages, the Excel ledger, the notice and notifications all take their words from
here, so 逾期 in one place is 逾期 everywhere. The words are Chinese; each is marked with
:func:`N_` so the Babel catalogue (``pybabel extract -k N_``) carries its English, and the web app
translates it per request. The labels of the lifecycle's triggers are declared with the triggers
themselves in :mod:`workflow.spec` (:func:`label` finds them).
"""
from __future__ import annotations


def N_(text: str) -> str:
    """Mark ``text`` for the translation catalogue; returns it unchanged (Chinese is the source)."""
    return text


STATE_LABELS = {
    "assigned": N_("已交办"),
    "in_progress": N_("整改中"),
    "submitted": N_("待审核"),
    "verified": N_("已审核"),
    "closed": N_("已销号"),
}

KIND_LABELS = {"immediate": N_("立行立改"), "time_bound": N_("限期整改"), "long_term": N_("长期坚持"),
               "self_check": N_("举一反三自查")}

FINDING_LABELS = {"exists": N_("存在"), "none": N_("不存在")}

LIGHT_LABELS = {"green": N_("正常"), "yellow": N_("临期"), "red": N_("逾期"), "done": N_("已销号")}

# escalation levels: 0 the yellow reminder, 1-3 the red ladder, 10/11 the approval SLA
LEVEL_LABELS = {
    0: N_("临期预警"),
    1: N_("一级督办"),
    2: N_("二级督办"),
    3: N_("三级督办"),
    10: N_("审核超时提醒"),
    11: N_("审核超时（报上级）"),
}

REOPEN_LABELS = {
    "public_dissatisfaction": N_("群众不满意"),
    "inspector_dissatisfaction": N_("巡察组不满意"),
    "failed_recheck": N_("复查未通过"),
    "rebound": N_("问题反弹"),
}

ROLE_LABELS = {
    "admin": N_("系统管理员"),
    "office": N_("整改办"),
    "leader": N_("责任领导"),
    "owner": N_("责任人"),
    "supervisor": N_("督查人员"),
    "inspector": N_("巡察组"),
    "inspection_office": N_("巡察办"),
}

PROGRESS_LABELS = {
    "done": N_("已完成"),
    "done_long_term": N_("已完成，长期坚持"),
    "in_progress": N_("正在整改"),
    "not_done": N_("未完成"),
}

UNIT_KIND_LABELS = {
    "district": N_("区县"),
    "subdistrict": N_("街道/办事处"),
    "community": N_("社区/村"),
    "department": N_("部门"),
    "enterprise": N_("企业"),
    "inspection_group": N_("巡察组"),
}

INSPECTION_KIND_LABELS = {"routine": N_("常规巡察"), "special": N_("专项巡察"), "look_back": N_("巡察“回头看”")}

# what kind of body found the problems: the word the notice uses for it
GENRE_LABELS = {"xuncha": N_("巡察"), "xunshi": N_("巡视"), "audit": N_("审计"), "ducha": N_("督察")}
_GENRE_WORDS = (("巡视", "xunshi"), ("审计", "audit"), ("督察", "ducha"), ("巡察", "xuncha"))


def genre_of(*texts: str | None) -> str:
    """The genre a body's name or a plan's title says (巡视, 审计, 督察; 巡察 when none does)."""
    for text in texts:
        for word, code in _GENRE_WORDS:
            if text and word in text:
                return code
    return "xuncha"


EXTENSION_STATUS_LABELS = {"pending": N_("待审批"), "granted": N_("已同意"), "denied": N_("未同意")}

FEEDBACK_STATUS_LABELS = {"new": N_("待处理"), "reopened": N_("已转重新整改"), "forwarded": N_("已转责任人"),
                          "dismissed": N_("已处理")}

ACCOUNTABILITY_LABELS = {
    "admonition": N_("约谈"),
    "reminder_talk": N_("谈话提醒"),
    "veto": N_("一票否决"),
    "sanction": N_("追责问责"),
}

LINK_STATUS_LABELS = {"candidate": N_("待确认"), "confirmed": N_("已确认"), "dismissed": N_("已排除")}

# audit events that are not triggers of the lifecycle
EVENT_LABELS = {"create": N_("创建"), "import": N_("导入"), "escalate": N_("督办"),
                "remove_evidence": N_("删除佐证材料")}

TABLES: dict[str, dict] = {
    "state": STATE_LABELS, "kind": KIND_LABELS, "light": LIGHT_LABELS, "level": LEVEL_LABELS,
    "reopen": REOPEN_LABELS, "role": ROLE_LABELS, "progress": PROGRESS_LABELS, "unit_kind": UNIT_KIND_LABELS,
    "inspection_kind": INSPECTION_KIND_LABELS, "extension_status": EXTENSION_STATUS_LABELS,
    "feedback_status": FEEDBACK_STATUS_LABELS, "accountability": ACCOUNTABILITY_LABELS, "genre": GENRE_LABELS,
    "finding": FINDING_LABELS, "link_status": LINK_STATUS_LABELS,
}


def trigger_label(code: str | None) -> str:
    """The word for a trigger of the lifecycle or another audit event (Chinese)."""
    from .spec import TRIGGERS

    spec_ = TRIGGERS.get(code or "")
    if spec_ is not None:
        return spec_.label
    return EVENT_LABELS.get(code or "", code or "")


def label(table: str, code) -> str:
    """The Chinese word for ``code`` in ``table`` (``state``, ``kind``, ``light`` …, ``trigger``);
    an unknown code is shown as itself, None as an empty string."""
    if table == "trigger":
        return trigger_label(code)
    if code is None:
        return ""
    return TABLES[table].get(code, str(code))


# --- Chinese numerals ----------------------------------------------------------------

CN_DIGITS = {"〇": 0, "零": 0, "○": 0, "Ｏ": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
             "六": 6, "七": 7, "八": 8, "九": 9}
_CN_WRITE = "零一二三四五六七八九"


def cn_int(text: str) -> int:
    """Read a number written in Chinese or in digits: 一 → 1, 十二 → 12, 二十三 → 23, 九十九 → 99,
    一百零五 → 105, 二〇二三 → 2023 (digit by digit), 12 → 12. ValueError if it is not one."""
    s = text.strip()
    if s.isdigit():
        return int(s)
    if not s:
        raise ValueError(text)
    if "百" in s:
        hundreds, _, rest = s.partition("百")
        rest = rest.lstrip("零〇")
        return (CN_DIGITS[hundreds] if hundreds else 1) * 100 + (cn_int(rest) if rest else 0)
    if "十" in s:
        tens, _, ones = s.partition("十")
        if (tens and tens not in CN_DIGITS) or (ones and ones not in CN_DIGITS):
            raise ValueError(text)
        return (CN_DIGITS[tens] if tens else 1) * 10 + (CN_DIGITS[ones] if ones else 0)
    n = 0
    for ch in s:
        if ch not in CN_DIGITS:
            raise ValueError(text)
        n = n * 10 + CN_DIGITS[ch]
    return n


def cn_numeral(n: int) -> str:
    """Write a number in Chinese as a notice numbers its parts: 1 → 一, 12 → 十二, 23 → 二十三,
    105 → 一百零五; 0 and numbers past 999 in digits."""
    n = int(n)
    if n <= 0 or n > 999:
        return str(n)
    if n < 10:
        return _CN_WRITE[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return (_CN_WRITE[tens] if tens > 1 else "") + "十" + (_CN_WRITE[ones] if ones else "")
    hundreds, rest = divmod(n, 100)
    if rest == 0:
        tail = ""
    elif rest < 10:
        tail = "零" + _CN_WRITE[rest]
    else:
        tail = ("一" if rest < 20 else "") + cn_numeral(rest)
    return _CN_WRITE[hundreds] + "百" + tail


def cn_ordinal(n) -> str:
    """1 → （一）, 12 → （十二）: how a notice numbers its sub-sections; '' for what is not a number."""
    try:
        n = int(n)
    except (TypeError, ValueError):
        return ""
    return f"（{cn_numeral(n)}）"
