"""Facts a notice states: dates, the inspection (who inspected whom, when), the totals it claims,
money involved and recovered, accountability records and rules made."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from ..vocabulary import cn_int
from .notice_text import sentences
from .notice_tree import AccountabilityRecord, InspectionInfo, Money, Notice, RuleRecord
from .notice_units import UnitDirectory, last_unit_phrase, shares_unit, unit_cores

_RE_DATE = re.compile(r"(?:(\d{4})\s*年\s*)?(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_RE_RANGE_SEP = re.compile(r"^\s*(?:至|到|—|－|-|~|～)\s*$")


def parse_full_date(s: str) -> dt.date | None:
    m = re.match(r"^\s*(\d{4}|[〇零○一二三四五六七八九]{4})\s*年\s*([\d一二三四五六七八九十]{1,3})\s*月\s*"
                 r"([\d一二三四五六七八九十]{1,3})\s*日\s*$", s)
    if not m:
        return None
    try:
        return dt.date(cn_int(m.group(1)), cn_int(m.group(2)), cn_int(m.group(3)))
    except ValueError:
        return None


def dates_in(text: str, year: int | None = None) -> list[tuple[dt.date, int, int]]:
    """Dates in text order as (date, start, end); a missing year is carried from the previous date,
    and a month earlier than the previous date's month rolls the year forward."""
    out = []
    prev: dt.date | None = None
    for m in _RE_DATE.finditer(text):
        y, mo, d = m.group(1), int(m.group(2)), int(m.group(3))
        if y:
            year = int(y)
        elif year is None:
            continue
        elif prev is not None and mo < prev.month:
            year += 1
        try:
            day = dt.date(year, mo, d)
        except ValueError:
            continue
        out.append((day, m.start(), m.end()))
        prev = day
    return out


_KIND_WORDS = (("回头看", "look_back"), ("专项", "special"), ("机动", "special"), ("常规", "routine"))
_RE_BODY = re.compile(
    r"([^，。；、,;\s]{2,30}?巡[察视][^，。；、,;\s]{0,6}?组)\s*(?:于[^，。；]{0,30}?)?对\s*([^，。；、,;\s]{2,40}?)\s*"
    r"(?:党[工委组][^，。；]{0,6}?)?(?:开展|进行)了?\s*(?:为期[^，。；]{0,12}?的)?\s*([^，。；]{0,12}?)巡[察视]")


def inspection_info(intro: list[str], signed_on: dt.date | None) -> InspectionInfo:
    info = InspectionInfo()
    text = "".join(intro)
    m = _RE_BODY.search(text)
    if m:
        info.body, info.target = m.group(1), m.group(2)
        words = m.group(3) or ""
        info.kind = next((k for w, k in _KIND_WORDS if w in words), "special" if "专项" in text else "routine")
    year = signed_on.year if signed_on else None
    dates = dates_in(text, year)
    first_year = next((int(x.group(1)) for x in _RE_DATE.finditer(text) if x.group(1)), None)
    if first_year is not None:
        dates = dates_in(text)
    sentences = [(s.start(), s.end(), s.group()) for s in re.finditer(r"[^。！？]+[。！？]?", text)]
    ranges, singles = [], []
    k = 0
    while k < len(dates):
        d, s, e = dates[k]
        if k + 1 < len(dates) and _RE_RANGE_SEP.match(text[e:dates[k + 1][1]]):
            ranges.append((d, dates[k + 1][0], s))
            k += 2
        else:
            singles.append((d, s))
            k += 1

    def sentence_at(pos: int) -> str:
        return next((t for a, b, t in sentences if a <= pos < b), "")

    rect = next((r for r in ranges if "整改" in sentence_at(r[2])), None)
    onsite = next((r for r in ranges if r is not rect and "整改" not in sentence_at(r[2])), None)
    feedback = next((d for d, pos in singles if "反馈" in sentence_at(pos)), None)
    if onsite:
        info.onsite_start, info.onsite_end = onsite[0], onsite[1]
    if rect:
        info.rect_start, info.rect_end = rect[0], rect[1]
    info.feedback_date = feedback or (rect[0] if rect else None)
    if info.rect_start is None and info.feedback_date is not None:
        info.rect_start = info.feedback_date
    return info


_N = r"(\d{1,4}|[零〇一二两三四五六七八九十百]{1,5})"
_RE_STATED_MEASURES = (re.compile(rf"(?:整改)?措施\s*{_N}\s*[项条个]"), re.compile(rf"{_N}\s*[项条]\s*整改措施"))
_RE_STATED_PROBLEMS = re.compile(rf"{_N}\s*(?:个|项|条)(?:具体)?问题")
_RE_STATED_PARTS = re.compile(rf"{_N}\s*(?:个方面|个部分|部分|方面|大类)")
_DONE_WORDS = r"已(?:经)?(?:全部)?(?:整改完成|完成整改|整改到位|整改完毕|办结|完成|整改)"
_RE_STATED_DONE = (re.compile(rf"{_DONE_WORDS}\s*(?:问题)?\s*{_N}\s*(?:个|项|条)"),
                   re.compile(rf"{_N}\s*(?:个|项|条)(?:问题)?\s*{_DONE_WORDS}"))


def _stated(rxs, text: str) -> int | None:
    for rx in rxs if isinstance(rxs, tuple) else (rxs,):
        m = rx.search(text)
        if m:
            try:
                return cn_int(m.group(1))
            except (ValueError, KeyError):
                continue
    return None


def stated_counts(notice: Notice) -> None:
    """The totals the notice states about itself (``反馈的4个方面18个问题…已整改完成16个``, ``整改措施45项``),
    each compared with what was read: a mismatch is a warning, never silence."""
    text = "".join(notice.org_paragraphs + notice.intro + notice.problems_intro)
    notice.measure_target = _stated(_RE_STATED_MEASURES, text)
    notice.stated_problems = _stated(_RE_STATED_PROBLEMS, text)
    notice.stated_parts = _stated(_RE_STATED_PARTS, text)
    notice.stated_done = _stated(_RE_STATED_DONE, text)
    found = {"problems": len(notice.problems), "parts": len(notice.parts),
             "done": sum(p.status in ("done", "done_long_term") for p in notice.problems)}
    for key, stated in (("problems", notice.stated_problems), ("parts", notice.stated_parts),
                        ("done", notice.stated_done)):
        if stated is not None and stated != found[key]:
            what = {"problems": "problems", "parts": "parts (方面)", "done": "problems rectified (已整改完成)"}[key]
            notice.warnings.append(f"the notice speaks of {stated} {what}; {found[key]} were found")


# --- money, accountability, rules -----------------------------------------------------

_RE_AMOUNT = re.compile(r"(\d+(?:[.．]\d+)?)\s*(余)?\s*(亿元|万元|元)")
_UNIT_YUAN = {"亿元": Decimal(100000000), "万元": Decimal(10000), "元": Decimal(1)}
_RE_MISUSE = re.compile(r"用于|挪用|超标准|超过[^，。；]{0,8}标准|超范围|违规|套取|虚报|冒领|涉及金额|侵占|截留|挤占|私分|"
                        r"骗取|多发|多付|超支|超额|虚列|虚增")
_RE_EXCESS_BEFORE = re.compile(r"(?:超过|超出|超标准|多付|多发|超额)[^，。；\d]{0,8}$")
_RE_INVOLVED_BEFORE = re.compile(r"涉及(?:金额|资金)?[^，。；\d]{0,4}$")
_RE_RECOVER = re.compile(r"退还|退回|追回|追缴|收回|缴回|返还|上缴")
_CENT = Decimal("0.01")


def _yuan(num: str, unit: str) -> Decimal:
    return (Decimal(num.replace("．", ".")) * _UNIT_YUAN[unit]).quantize(_CENT)


def extract_money(problem_text: str, account: str, units: UnitDirectory | None = None) -> Money:
    """Amounts involved (from the problem) and returned (from the account), in yuan.

    In a sentence that describes misuse (用于, 超标准, 涉及金额 …) the amount over the standard or
    the amount "involved" is the one that counts, else every amount in it. A return (退还/退回 …)
    in the account gives ``recovered_on``; its amount is the one named in that sentence, else the
    problem amounts of the units the sentence names (``水利局所涉及资金`` → the 水利局's amount):
    known units of ``units`` by their aliases, others by the core of their name.
    """
    money = Money()
    sentence_amounts: list[tuple[str, list[Decimal]]] = []
    for s in sentences(problem_text):
        found = list(_RE_AMOUNT.finditer(s))
        if not found:
            continue
        if not _RE_MISUSE.search(s):
            for a in found:
                money.amounts.append((_yuan(a.group(1), a.group(3)), "mentioned"))
            continue
        excess = [a for a in found if _RE_EXCESS_BEFORE.search(s[:a.start()])]
        involved = [a for a in found if _RE_INVOLVED_BEFORE.search(s[:a.start()])]
        chosen = excess + [a for a in involved if a not in excess] or found
        for a in found:
            role = "excess" if a in excess else "involved" if a in chosen else "paid"
            money.amounts.append((_yuan(a.group(1), a.group(3)), role))
        sentence_amounts.append((s, [_yuan(a.group(1), a.group(3)) for a in chosen]))
    if sentence_amounts:
        money.involved = sum((sum(v, Decimal(0)) for _, v in sentence_amounts), Decimal(0)).quantize(_CENT)
    recovered = Decimal(0)
    used: set[int] = set()
    any_amount = False
    for s in sentences(account):
        verb = _RE_RECOVER.search(s)
        if not verb:
            continue
        ds = [d for d, start, _ in dates_in(s) if start < verb.start()]
        if not ds:
            continue
        money.recovered_on = max(ds[-1], money.recovered_on) if money.recovered_on else ds[-1]
        own = [a for a in _RE_AMOUNT.finditer(s[:verb.start()])]
        if own:
            recovered += sum(_yuan(a.group(1), a.group(3)) for a in own)
            any_amount = True
            continue
        hits = _sentences_naming(s, [ps for ps, _ in sentence_amounts], units or UnitDirectory())
        if not hits and len(sentence_amounts) == 1:
            hits = [0]
        for k in hits:
            if k not in used:
                used.add(k)
                recovered += sum(sentence_amounts[k][1], Decimal(0))
                any_amount = True
    if any_amount:
        money.recovered = recovered.quantize(_CENT)
    return money


def _sentences_naming(s: str, candidates: list[str], units: UnitDirectory) -> list[int]:
    """Indexes of the candidate sentences that name a unit ``s`` names."""
    names = units.names_in(s)
    hits = [k for k, ps in enumerate(candidates) if any(a in ps for n in names for a in units.aliases_of(n))]
    if not hits:
        cores = unit_cores(s)
        hits = [k for k, ps in enumerate(candidates) if shares_unit(cores, ps)]
    return hits


_ACCOUNTABILITY_KINDS = (
    ("谈话提醒", "reminder_talk"), ("提醒谈话", "reminder_talk"), ("诫勉谈话", "admonition"), ("约谈", "admonition"),
    ("一票否决", "veto"), ("通报批评", "sanction"), ("批评教育", "sanction"), ("警告处分", "sanction"),
    ("记过处分", "sanction"), ("党纪处分", "sanction"), ("政务处分", "sanction"), ("问责", "sanction"),
)
_RE_ACCOUNTABLE = re.compile(
    r"对([^，。；对]{1,30}?)(?:进行了?|开展了?|给予了?|予以)?(" + "|".join(w for w, _ in _ACCOUNTABILITY_KINDS) + ")")
_GENERIC_SUBJECT = re.compile(r"^(?:其?相关|有关)?(?:人员|责任人|责任人员|负责人|干部)$")


def extract_accountability(account: str, units: UnitDirectory | None = None) -> list[AccountabilityRecord]:
    """Talks and sanctions the account reports (``对…相关人员进行谈话提醒``); a subject such as
    ``相关人员`` takes the unit named last before it."""
    kinds = dict(_ACCOUNTABILITY_KINDS)
    units = units or UnitDirectory()
    out = []
    for s in sentences(account):
        for m in _RE_ACCOUNTABLE.finditer(s):
            subject = m.group(1).strip()
            if _GENERIC_SUBJECT.match(subject):
                names = units.names_in(s[:m.start()]) or last_unit_phrase(s[:m.start()])
                if names:
                    subject = names[-1] + subject
            out.append(AccountabilityRecord(kinds[m.group(2)], subject, s))
    return out


_RE_RULE = re.compile(r"《([^》]{2,80})》\s*[（(]\s*([^（）()《》]{1,20}?[〔\[【(（]\s*\d{4}\s*[〕\]】)）]\s*\d{1,4}\s*号)\s*[)）]")


def extract_rules(account: str) -> list[RuleRecord]:
    """Rules the account says were made, with their document number (``《…》（祖办〔2022〕14号）``)."""
    out: list[RuleRecord] = []
    for m in _RE_RULE.finditer(account):
        doc = re.sub(r"\s+", "", m.group(2))
        if not any(r.doc_no == doc for r in out):
            out.append(RuleRecord(m.group(1).strip(), doc))
    return out

