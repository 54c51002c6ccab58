"""Splitting a problem's account into measures, balancing them to the count the notice states,
and giving each a kind (立行立改 / 限期整改 / 长期坚持) and a responsible unit."""
from __future__ import annotations

import re

from ..vocabulary import cn_int
from .notice_text import ends_sentence, sentences
from .notice_tree import MeasureDraft, Notice
from .notice_units import UnitDirectory, leading_phrase

_CN = "一二三四五六七八九十"

_ENUM_PATTERNS = (
    re.compile(rf"(?:^|(?<=[。；;！？\s]))([{_CN}]{{1,3}})是"),
    re.compile(rf"(?:^|(?<=[。；;！？\s]))第([{_CN}]{{1,3}})[，,、]"),
    re.compile(rf"(?:^|(?<=[。；;！？\s]))[（(]([{_CN}]{{1,3}})[)）]"),
    re.compile(r"(?:^|(?<=[。；;！？\s]))[（(](\d{1,2})[)）]"),
    re.compile(r"(?:^|(?<=[。；;！？\s]))(\d{1,2})[.．、](?!\d)"),
)
_MIN_PIECE = 12  # characters each half of a balancing cut must keep


def _enumeration(account: str) -> list[str] | None:
    for rx in _ENUM_PATTERNS:
        marks = []
        expect = 1
        for m in rx.finditer(account):
            try:
                n = cn_int(m.group(1))
            except ValueError:
                continue
            if n == expect:
                marks.append(m)
                expect += 1
        if len(marks) >= 2:
            items = []
            head = account[:marks[0].start()].strip()
            for k, m in enumerate(marks):
                end = marks[k + 1].start() if k + 1 < len(marks) else len(account)
                items.append(account[m.end():end].strip())
            if head:
                if sentences(head) and ends_sentence(head) and len(head) >= _MIN_PIECE:
                    items.insert(0, head)
                else:
                    items[0] = head + items[0]
            return [i for i in items if i]
    return None


def _base_split(account: str) -> tuple[list[str], bool]:
    """(pieces, enumerated): the items of an enumeration, else the sentences."""
    account = account.strip()
    if not account:
        return [], False
    enum = _enumeration(account)
    if enum:
        return enum, True
    for rx in _ENUM_PATTERNS:  # an enumeration of one: 一是…, (1)…, 1.… with no second item
        m = rx.match(account)
        if m and m.group(1) in ("一", "1") and account[m.end():].strip():
            return [account[m.end():].strip()], True
    return sentences(account, clauses=False) or [account], False


# a clause that starts a new action: a good place to cut a long sentence in two
_RE_CONNECTIVE = re.compile(r"^(?:并且?|同时|督促|要求|及时|同步|此外|另外|进一步|还)")


def _cut(text: str) -> tuple[str, str] | None:
    """Cut text at the clause boundary nearest its middle, keeping both halves substantial.

    A sentence end or semicolon is preferred to a comma, and a comma before a clause that starts a
    new action (并, 同时, 督促, 要求 …) to any other comma.
    """
    best = None
    for m in re.finditer(r"[。；;！？]+[”’」』）)]*|[，,]", text):
        pos = m.end()
        left, right = text[:pos].strip(), text[pos:].strip()
        if len(left) < _MIN_PIECE or len(right) < _MIN_PIECE:
            continue
        if m.group()[0] not in "，,":
            weight = 1.0
        elif _RE_CONNECTIVE.match(right):
            weight = 1.2
        else:
            weight = 1.6
        score = (abs(len(text) / 2 - pos) * weight, pos)
        if best is None or score < best[0]:
            best = (score, left, right)
    if best is None:
        return None
    left, right = best[1], best[2]
    if left[-1] in "，,":
        left = left[:-1] + "。"
    if right.startswith("并") and not right.startswith("并且") and len(right) > _MIN_PIECE:
        right = right[1:]
    return left, right


def balance(groups: list[list[str]], target: int, fixed: list[bool] | None = None) -> list[list[str]]:
    """Bring the number of measures to ``target``, one step at a time.

    Too few: cut the longest measure (of a group that is not ``fixed``, i.e. not an enumeration
    the notice itself numbered) at its best clause boundary. Too many: merge the adjacent pair
    with the fewest characters within one unfixed group. Deterministic: ties go to the earliest
    problem and measure; stops early when nothing more can be cut or merged.
    """
    groups = [list(g) for g in groups]
    fixed = list(fixed) if fixed is not None else [False] * len(groups)
    total = sum(len(g) for g in groups)
    while total < target:
        best: tuple[int, int, tuple[str, str]] | None = None  # the longest measure that cuts, and its halves
        for gi, g in enumerate(groups):
            if fixed[gi]:
                continue
            for mi, text in enumerate(g):
                if best is None or len(text) > len(groups[best[0]][best[1]]):
                    halves = _cut(text)
                    if halves:
                        best = (gi, mi, halves)
        if best is None:
            break
        gi, mi, halves = best
        groups[gi][mi:mi + 1] = list(halves)
        total += 1
    while total > target:
        pair: tuple[int, int, int] | None = None  # the shortest two neighbours: (size, group, index)
        for gi, g in enumerate(groups):
            if fixed[gi]:
                continue
            for mi in range(len(g) - 1):
                size = len(g[mi]) + len(g[mi + 1])
                if pair is None or size < pair[0]:
                    pair = (size, gi, mi)
        if pair is None:
            break
        _, gi, mi = pair
        groups[gi][mi:mi + 2] = [groups[gi][mi] + groups[gi][mi + 1]]
        total -= 1
    return groups


def split_measures(account: str, target: int | None = None) -> list[str]:
    """Split one 落实情况 into measure texts: enumerated items (一是…二是…), else sentences;
    then, if ``target`` is given and the account is not an enumeration, balance to it."""
    pieces, enumerated = _base_split(account)
    if target is not None and pieces and not enumerated:
        pieces = balance([pieces], target)[0]
    return pieces


_RE_LONG = re.compile(r"长效|长期|常态化|机制|每年|定期|持续|坚持")
_RE_IMMEDIATE = re.compile(r"立行立改|即知即改|立即|当场|已于|已(?:经)?[^，。；]{0,30}?(?:完毕|完工|到位|退还|退回|搬入|出具)")


def measure_kind(text: str, last: bool, long_term_problem: bool) -> str:
    """long_term for the last measure of a 长期坚持 problem; else by cues in the text."""
    if long_term_problem and last:
        return "long_term"
    if _RE_IMMEDIATE.search(text):
        return "immediate"
    if _RE_LONG.search(text):
        return "long_term"
    return "time_bound"


def _unit_of(text: str, units: UnitDirectory) -> str | None:
    lead, dept, place = units.named(text)
    if lead:
        return lead
    phrase = leading_phrase(text)
    if phrase:
        return units.resolve(phrase)
    return dept or units.topic(text) or place


def measure_unit(text: str, category: str = "", account: str = "", problem: str = "",
                 previous: str | None = None, units: UnitDirectory | None = None) -> str:
    """The responsible unit of a measure: a known unit of ``units`` or one the text leads with.

    Looked for in the measure's own text (a leading known unit beats the subject of ``由X牵头``,
    which beats a named department, then a topic hint, then a named place); else a unit named in
    the category title; else the unit of the ``previous`` measure of the same problem; else the
    whole account, then the problem text. Default: the rectification office when the directory
    knows it, else "" (no unit).
    """
    units = units or UnitDirectory()
    unit = _unit_of(text, units)
    if unit:
        return unit
    lead, dept, place = units.named(category)
    named = lead or dept or place
    if named:
        return named
    if previous:
        return previous
    for source in (account, problem):
        unit = _unit_of(source, units) if source else None
        if unit:
            return unit
    return units.default or ""


def plan_measures(notice: Notice, units: UnitDirectory | None = None) -> None:
    """Split every problem's account into measures with kinds, then give them units."""
    problems = notice.problems
    splits = [_base_split(p.account) for p in problems]
    groups = [pieces or [p.text] for (pieces, _), p in zip(splits, problems)]
    if notice.measure_target and notice.measure_target >= len(problems):
        groups = balance(groups, notice.measure_target, [enum for _, enum in splits])
        got = sum(len(g) for g in groups)
        if got != notice.measure_target:
            notice.warnings.append(f"the notice speaks of {notice.measure_target} measures; {got} could be made")
    for p, texts in zip(problems, groups):
        long_term = p.long_term or p.status == "done_long_term"
        p.measures = [MeasureDraft(k + 1, t, measure_kind(t, k == len(texts) - 1, long_term), "")
                      for k, t in enumerate(texts)]
    assign_units(notice, units)


def assign_units(notice: Notice, units: UnitDirectory | None = None) -> list[str]:
    """Give every measure its unit from ``units`` (see :func:`measure_unit`); returns the places
    (``问题N.k``) of measures no rule could give a unit."""
    units = units or UnitDirectory()
    notice.units = units
    cat_title = {id(p): c.title for part in notice.parts for c in part.categories for p in c.problems}
    missing = []
    for p in notice.problems:
        previous = None
        for m in p.measures:
            m.unit = previous = measure_unit(m.text, cat_title.get(id(p), ""), p.account, p.text, previous, units)
            if not m.unit:
                missing.append(f"问题{p.no}.{m.seq}")
    return missing
