"""Units a notice names: the directory of known units and aliases, and generic rules for the rest.

The reader knows no organisation. Known units come from a :class:`UnitDirectory`: the database's
``org_units`` and ``unit_aliases`` (:meth:`UnitDirectory.from_db`), or rows a caller supplies (the
demo's units are demo data). Names and aliases are compared normalised
(:func:`workflow.planwriter.normalize_name`). A unit the directory does not know is found only by
generic rules that name no organisation: the subject of ``由X牵头`` / ``由X负责`` / ``X牵头`` /
``X负责`` when X is a unit-like noun phrase ending in 局, 办, 委, 处, 部, 中心, 街道, 办事处, 社区,
公司, 学院 … (``由县住建局牵头`` → 县住建局). The rectification office, found under its generic
names (:data:`OFFICE_NAMES`), takes what no rule places.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..planwriter import normalize_name

# the generic names of the rectification office every inspected organisation sets up
OFFICE_NAMES = ("整改办", "巡察整改办", "整改工作领导小组办公室", "巡察整改工作领导小组办公室", "巡视整改工作领导小组办公室")
SUFFIXES = ("街道办事处", "办事处", "街道", "社区", "中心", "公司", "学院", "办公室", "局", "办", "委", "处", "部", "院",
            "所", "站", "队", "组")
_SUFFIX = "|".join(SUFFIXES)
_PRONOUN = "我本全各该此其每他内外总"
_PHRASE = rf"[\u4e00-\u9fff（）()]{{1,18}}?(?:{_SUFFIX})"
_RE_LEADING = re.compile(
    rf"由\s*({_PHRASE})\s*(?:牵头|负责|组织|会同|成立|督促|对)"
    rf"|(?:^|[，。；：,;:、\s])\s*({_PHRASE})\s*(?:牵头|负责(?!人))")
_RE_LEAD_BEFORE = re.compile(r"(?:由|设在)[省市县区乡镇]?$")
_RE_LEAD_AFTER = re.compile(r"^(?:牵头|负责|针对)")
_RE_ANY_PHRASE = re.compile(r"[\u4e00-\u9fff]{1,6}?(?:街道办事处|办事处|街道|社区|中心|公司|学院|办公室|局|办|委|处)(?![\u4e00-\u9fff]{0,2}(?:局|办|委|处))")
_RE_VERB_PREFIX = re.compile(r"^(?:坚持|建立|加强|督促|要求|组织|推动|落实|完善|制定|开展|召开|明确|成立|经|请|并|及时|同时|责成|安排)+")
_RE_GENERIC_WORDS = re.compile(rf"{_SUFFIX}|[对由向在将和与及的了所等]")


def kind_of(name: str) -> str:
    """The unit kind a name suggests: 街道/办事处 subdistrict, 社区/村 community, 公司 enterprise, else department."""
    if name.endswith(("街道办事处", "办事处", "街道")):
        return "subdistrict"
    if name.endswith(("社区", "村")):
        return "community"
    if name.endswith("公司"):
        return "enterprise"
    return "department"


@dataclass
class UnitDirectory:
    """Known units (name → kind), their aliases (alias → name) and optional topic hints
    (``(unit, (keyword, …))``: a measure about a keyword belongs to that unit when it names none)."""

    kinds: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    topics: tuple[tuple[str, tuple[str, ...]], ...] = ()
    _index: dict[str, str] | None = field(default=None, repr=False)
    _rx: re.Pattern | None = field(default=None, repr=False)

    @classmethod
    def of(cls, rows: Iterable[tuple[str, str, Iterable[str]]], topics=()) -> UnitDirectory:
        """From ``(name, kind, aliases)`` rows."""
        d = cls(topics=tuple((u, tuple(words)) for u, words in topics))
        for name, kind, aliases in rows:
            d.kinds[name] = kind
            for a in aliases:
                d.aliases.setdefault(a, name)
        return d

    @classmethod
    def from_db(cls, conn) -> UnitDirectory:
        """Every unit in ``org_units`` with its ``unit_aliases``."""
        from sqlalchemy import select

        from ..models import OrgUnit, UnitAlias

        units = {r.id: (r.name, r.kind) for r in conn.execute(select(OrgUnit.id, OrgUnit.name, OrgUnit.kind))}
        aliases: dict[int, list[str]] = {}
        for r in conn.execute(select(UnitAlias.unit_id, UnitAlias.alias).order_by(UnitAlias.id)):
            aliases.setdefault(r.unit_id, []).append(r.alias)
        return cls.of((name, kind, aliases.get(uid, ())) for uid, (name, kind) in units.items())

    def merged(self, other: UnitDirectory | None) -> UnitDirectory:
        """This directory with the units, aliases and topics of ``other`` it lacks."""
        if other is None:
            return self
        d = UnitDirectory(dict(self.kinds), dict(self.aliases), self.topics or other.topics)
        for name, kind in other.kinds.items():
            if d.find(name) is None:
                d.kinds[name] = kind
                d._index = None
        for alias, name in other.aliases.items():
            if d.find(alias) is None:
                d.aliases[alias] = d.find(name) or name
                d._index = None
        return d

    def _names(self) -> dict[str, str]:
        if self._index is None:
            index = {normalize_name(n): n for n in self.kinds}
            for a, n in self.aliases.items():
                index.setdefault(normalize_name(a), n)
            self._index = index
            words = sorted({w for n in self.kinds for w in (n, normalize_name(n))}
                           | {w for a in self.aliases for w in (a, normalize_name(a))}, key=len, reverse=True)
            self._rx = re.compile("|".join(re.escape(w) for w in words if w)) if words else None
        return self._index

    def find(self, name: str | None) -> str | None:
        """The unit called ``name`` or known by it as an alias, or None."""
        if not name or not str(name).strip():
            return None
        return self._names().get(normalize_name(name))

    def kind(self, name: str) -> str:
        return self.kinds.get(name) or kind_of(name)

    @property
    def default(self) -> str | None:
        """The rectification office, if the directory knows it."""
        return next((u for u in map(self.find, OFFICE_NAMES) if u), None)

    def aliases_of(self, name: str) -> list[str]:
        return [name] + [a for a, n in self.aliases.items() if n == name and a != name]

    def mentions(self, text: str) -> list[tuple[int, int, str]]:
        """Known units named in text as (start, end, unit), in order; 《titles》 and units of a
        higher body (preceded by 市 or 省) are not mentions."""
        self._names()
        if self._rx is None:
            return []
        clean = re.sub(r"《[^》]*》", lambda m: " " * len(m.group()), text)
        out: list[tuple[int, int, str]] = []
        for m in self._rx.finditer(clean):
            if m.start() > 0 and clean[m.start() - 1] in "市省":
                continue
            unit = self.find(m.group())
            if unit is not None:  # the pattern holds only known names and aliases
                out.append((m.start(), m.end(), unit))
        return out

    def names_in(self, text: str) -> list[str]:
        """Known units named in text, in order, each once."""
        out: list[str] = []
        for _, _, name in self.mentions(text):
            if name not in out:
                out.append(name)
        return out

    def resolve(self, phrase: str) -> str:
        """A unit-like phrase as a unit name: the known unit it names (``区纪工委`` → ``纪工委`` when
        only a short place prefix differs), else the phrase itself."""
        found = self.find(phrase)
        if found:
            return found
        clean = normalize_name(phrase)
        for k in range(1, min(4, len(clean) - 1) + 1):
            found = self.find(clean[k:])
            if found:
                return found
        return clean

    def named(self, text: str) -> tuple[str | None, str | None, str | None]:
        """(leading, first department, first place) of the known units named in text.

        Leading: a unit that ``牵头``/``负责``, or that things are done ``由``/``设在``. Places
        (sub-districts, communities) often appear as where something happens rather than who does it.
        The organisation as a whole (a district) and inspection groups are not responsible units.
        """
        dept = place = None
        for start, end, name in self.mentions(text):
            if self.kind(name) in ("district", "inspection_group"):
                continue
            if _RE_LEAD_BEFORE.search(text[max(0, start - 3):start]) or _RE_LEAD_AFTER.match(text[end:]):
                return name, None, None
            if self.kind(name) in ("subdistrict", "community"):
                place = place or name
            else:
                dept = dept or name
        return None, dept, place

    def topic(self, text: str) -> str | None:
        for name, words in self.topics:
            if any(w in text for w in words):
                return name
        return None


def leading_phrase(text: str) -> str | None:
    """The unit-like subject of ``由X牵头`` / ``X负责`` … in text, as written; None if there is none."""
    for m in _RE_LEADING.finditer(text):
        phrase = _RE_VERB_PREFIX.sub("", (m.group(1) or m.group(2) or "").strip())
        core = re.sub(rf"(?:{_SUFFIX})$", "", phrase)
        if len(core) >= 2 and phrase[0] not in _PRONOUN:
            return phrase
    return None


def unit_cores(text: str) -> list[str]:
    """The distinctive cores of unit-like phrases in text (``对天宝路街道办事处`` → ``天宝路``), for
    matching a sentence to another that names the same unit differently."""
    cores = []
    for m in _RE_ANY_PHRASE.finditer(text):
        core = _RE_GENERIC_WORDS.sub("", m.group())
        if len(core) >= 2:
            cores.append(core)
    return cores


def shares_unit(cores: list[str], sentence: str) -> bool:
    """Whether ``sentence`` names a unit with one of ``cores`` (two characters in common suffice)."""
    return any(core[k:k + 2] in sentence for core in cores for k in range(len(core) - 1))


def last_unit_phrase(text: str) -> list[str]:
    """The last unit-like phrase in text, as a one-element list (empty if there is none)."""
    found = [m.group().lstrip("对由向在将和与及并") for m in _RE_ANY_PHRASE.finditer(text)]
    found = [f for f in found if len(f) >= 3 and f[0] not in _PRONOUN]
    return found[-1:]
