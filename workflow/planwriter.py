"""Building the ledger: units, people, inspections, plans, problems and measures.

Every measure is born with the first link of its audit chain (``create``, or ``import`` when it
comes from a file). These functions take an open write connection so a loader can put a whole
plan in one transaction.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections import Counter
from decimal import Decimal

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from . import spec, vocabulary
from .commands.measures import record_creation
from .models import (
    Accountability, Category, Delegation, Inspection, Measure, Membership, OrgUnit, Part, Plan, Problem, RuleMade,
    Target, UnitAlias, User, UserRole,
)
from .passwords import hash_password


def _insert(conn: Connection, model, **values) -> int:
    return conn.execute(insert(model.__table__).returning(model.__table__.c.id), values).scalar_one()


def unit(conn: Connection, name: str, kind: str = "department", parent: str | None = None) -> int:
    """Get or create an org unit by name."""
    uid = conn.execute(select(OrgUnit.id).where(OrgUnit.name == name)).scalar()
    if uid is not None:
        return uid
    parent_id = unit(conn, parent) if parent else None
    return _insert(conn, OrgUnit, name=name, kind=kind, parent_id=parent_id, webhook_format="json")


def user(conn: Connection, username: str, name: str, roles=(), unit_name: str | None = None,
         password: str | None = None, email: str | None = None, head: bool = False,
         password_hash: str | None = None) -> int:
    """Get or create a person with roles and (optionally) membership of a unit."""
    bad = set(roles) - set(spec.ROLES)
    if bad:
        raise spec.Refused("invalid_input", f"unknown role(s): {', '.join(sorted(bad))}")
    uid = conn.execute(select(User.id).where(User.username == username)).scalar()
    unit_id = unit(conn, unit_name) if unit_name else None
    if uid is None:
        uid = _insert(conn, User, username=username, name=name, unit_id=unit_id, email=email, active=True,
                      locale="zh", password_hash=password_hash or (hash_password(password) if password else None))
    for role in roles:
        if conn.execute(select(UserRole.role).where(UserRole.user_id == uid, UserRole.role == role)).first() is None:
            conn.execute(insert(UserRole.__table__), {"user_id": uid, "role": role})
    if unit_id is not None and conn.execute(select(Membership.user_id).where(
            Membership.user_id == uid, Membership.unit_id == unit_id)).first() is None:
        conn.execute(insert(Membership.__table__), {"user_id": uid, "unit_id": unit_id, "is_head": head})
    return uid


def set_superior(conn: Connection, username: str, superior: str) -> None:
    sid = conn.execute(select(User.id).where(User.username == superior)).scalar_one()
    conn.execute(update(User.__table__).where(User.username == username).values(superior_id=sid))


def delegate(conn: Connection, leader: str, delegate_username: str) -> None:
    lid = conn.execute(select(User.id).where(User.username == leader)).scalar_one()
    did = conn.execute(select(User.id).where(User.username == delegate_username)).scalar_one()
    conn.execute(insert(Delegation.__table__), {"leader_id": lid, "delegate_id": did})


def target(conn: Connection, name: str | None, now: dt.datetime | None = None) -> int | None:
    """The inspected organisation called ``name`` (created when new); None for no name or a placeholder."""
    clean = normalize_name(name or "")
    if not clean or clean.startswith("（"):
        return None
    tid = conn.execute(select(Target.id).where(Target.name == clean)).scalar()
    if tid is None:
        tid = _insert(conn, Target, name=clean, created_at=(now or dt.datetime.now(dt.UTC)).replace(tzinfo=None))
    return tid


def inspection(conn: Connection, body: str, target_name: str, kind: str = "special", *, genre: str | None = None,
               title: str | None = None, dates: dict[str, dt.date | None] | None = None,
               **more_dates: dt.date | None) -> int:
    """A new round of inspection: its target found or created, numbered after the target's earlier rounds;
    its genre (巡察, 巡视, 审计, 督察) from ``genre`` or from what the body's name and ``title`` say;
    ``dates`` (and keywords): onsite_start, onsite_end, feedback_date, rect_start, rect_end."""
    tid = target(conn, target_name)
    round_no = None
    if tid is not None:
        last = conn.execute(select(func.max(Inspection.round_no)).where(Inspection.target_id == tid)).scalar()
        round_no = (last or 0) + 1
    return _insert(conn, Inspection, body=body, target=target_name, kind=kind, target_id=tid, round_no=round_no,
                   genre=genre or vocabulary.genre_of(body, title), **(dates or {}), **more_dates)


def plan(conn: Connection, inspection_id: int, title: str, issuer: str | None = None,
         evidence_waived: bool = False, ladder: dict | None = None, preamble: dict | None = None) -> int:
    tid = conn.execute(select(Inspection.target_id).where(Inspection.id == inspection_id)).scalar()
    return _insert(conn, Plan, inspection_id=inspection_id, title=title, issuer=issuer, target_id=tid,
                   evidence_waived=evidence_waived, ladder=ladder, preamble=preamble)


def part(conn: Connection, plan_id: int, no: int, title: str) -> int:
    pid = conn.execute(select(Part.id).where(Part.plan_id == plan_id, Part.no == no)).scalar()
    if pid is None:
        pid = _insert(conn, Part, plan_id=plan_id, no=no, title=title)
    return pid


def category(conn: Connection, part_id: int, no: int, title: str) -> int:
    cid = conn.execute(select(Category.id).where(Category.part_id == part_id, Category.no == no)).scalar()
    if cid is None:
        cid = _insert(conn, Category, part_id=part_id, no=no, title=title)
    return cid


def problem(conn: Connection, plan_id: int, part_id: int, no: int, text: str, category_id: int | None = None,
            account: str | None = None, amount_involved: Decimal | None = None,
            amount_recovered: Decimal | None = None, recovered_on: dt.date | None = None) -> int:
    return _insert(conn, Problem, plan_id=plan_id, part_id=part_id, category_id=category_id, no=no, text=text,
                   account=account, amount_involved=amount_involved, amount_recovered=amount_recovered,
                   recovered_on=recovered_on)


def measure(conn: Connection, problem_id: int, seq: int, text: str, *, kind: str = "time_bound",
            leader_id: int | None, unit_id: int | None, owner_id: int | None, deadline: dt.date | None,
            now: dt.datetime, actor: str = "system", event_kind: str = "create", state: str = "assigned",
            extra: dict | None = None) -> int:
    """Create a measure and the first event of its audit chain."""
    if kind not in spec.KINDS:
        raise spec.Refused("invalid_input", f"unknown measure kind: {kind}")
    if state not in spec.STATES:
        raise spec.Refused("invalid_input", f"unknown state: {state}")
    now = now.replace(tzinfo=None)
    mid = _insert(conn, Measure, problem_id=problem_id, seq=seq, text=text, kind=kind, leader_id=leader_id,
                  unit_id=unit_id, owner_id=owner_id, deadline=deadline, deadline_original=deadline,
                  state=state, version=1, evidence_count=0, pending_extension=False, reopen_count=0,
                  light="done" if state == "closed" else "green", level=-1, head_seq=0, head_hash="0" * 64,
                  created_at=now, closed_at=now if state == "closed" else None)
    body = {"problem_id": problem_id, "seq": seq, "text": text, "kind": kind, "leader_id": leader_id,
            "unit_id": unit_id, "owner_id": owner_id, "deadline": deadline.isoformat() if deadline else None}
    body.update(extra or {})
    record_creation(conn, mid, actor, body, now, kind=event_kind, to_state=state)
    return mid


def accountability(conn: Connection, kind: str, subject: str, problem_id: int | None = None,
                   measure_id: int | None = None, note: str | None = None, on: dt.date | None = None) -> int:
    return _insert(conn, Accountability, kind=kind, subject=subject, problem_id=problem_id, measure_id=measure_id,
                   note=note, on=on)


def rule_made(conn: Connection, title: str, problem_id: int | None = None, doc_no: str | None = None,
              on: dt.date | None = None) -> int:
    return _insert(conn, RuleMade, title=title, problem_id=problem_id, doc_no=doc_no, on=on)


# --- one writer for every importer ------------------------------------------------------

_CENT = Decimal("0.01")
PROBLEM_FIELDS = ("part_id", "category_id", "text", "account", "amount_involved", "amount_recovered",
                  "recovered_on")


def normalize_name(name: str) -> str:
    """A unit's name as compared: NFKC (full-width → half-width), no spaces, brackets made uniform."""
    s = unicodedata.normalize("NFKC", str(name or ""))
    s = re.sub(r"\s+", "", s)
    return s.replace("(", "（").replace(")", "）")


def clean_name(name: str) -> str:
    """A name as stored: trimmed; whitespace dropped except one space between two Latin words or numbers
    (``区 党政办`` → ``区党政办``, ``Emergency  office`` → ``Emergency office``)."""
    s = re.sub(r"\s+", " ", str(name or "").strip())
    return re.sub(r"(?<![A-Za-z0-9]) | (?![A-Za-z0-9])", "", s)


def _differs(old, new) -> bool:
    if isinstance(new, Decimal) and old is not None:
        return Decimal(str(old)).quantize(_CENT) != new.quantize(_CENT)
    return old != new


class PlanWriter:
    """Writes one plan's tree inside the caller's transaction, matching what is already stored.

    Parts, categories and problems are matched by number within their parent and updated when their
    text changed; measures are created (a stored measure belongs to the workflow and is never
    rewritten here). Units are found by name or alias (:func:`normalize_name` on both sides) and
    created when unknown, each listed in :attr:`units_created`. The counters make the import report.
    A dry run is the same writing in a transaction that is rolled back, so it reports exactly what a
    real run would do.
    """

    def __init__(self, conn: Connection, *, now: dt.datetime, actor: str = "system"):
        self.conn = conn
        self.now = now.replace(tzinfo=None)
        self.actor = actor
        self.created: Counter = Counter()
        self.updated: Counter = Counter()
        self.unchanged: Counter = Counter()
        self.units_created: list[str] = []
        self._units: dict[str, int] | None = None

    # units -------------------------------------------------------------------------
    def _unit_index(self) -> dict[str, int]:
        if self._units is None:
            self._units = {normalize_name(r.name): r.id for r in self.conn.execute(select(OrgUnit.id, OrgUnit.name))}
            for r in self.conn.execute(select(UnitAlias.unit_id, UnitAlias.alias)):
                self._units.setdefault(normalize_name(r.alias), r.unit_id)
        return self._units

    def find_unit(self, name: str | None) -> int | None:
        """The id of the unit called ``name`` (or known by it as an alias), or None."""
        if not name or not str(name).strip():
            return None
        return self._unit_index().get(normalize_name(name))

    def unit(self, name: str, kind: str = "department") -> int:
        """The unit called ``name`` or known by that alias; created (and reported) when unknown."""
        found = self.find_unit(name)
        if found is not None:
            return found
        clean = clean_name(name)[:200]
        uid = _insert(self.conn, OrgUnit, name=clean, kind=kind, parent_id=None, webhook_format="json")
        self._unit_index()[normalize_name(clean)] = uid
        self.units_created.append(clean)
        self.created["units"] += 1
        return uid

    # the tree ----------------------------------------------------------------------
    def part(self, plan_id: int, no: int, title: str) -> int:
        """Part ``no`` of the plan, created or retitled."""
        return self._numbered(Part, "parts", Part.plan_id, plan_id, no, title)

    def category(self, part_id: int, no: int, title: str) -> int:
        """Category ``no`` of the part, created or retitled."""
        return self._numbered(Category, "categories", Category.part_id, part_id, no, title)

    def _numbered(self, model, counter: str, parent_col, parent_id: int, no: int, title: str) -> int:
        row = self.conn.execute(select(model.id, model.title).where(parent_col == parent_id, model.no == no)).first()
        if row is None:
            self.created[counter] += 1
            return _insert(self.conn, model, **{parent_col.key: parent_id, "no": no, "title": title})
        if row.title != title:
            self.conn.execute(update(model.__table__).where(model.id == row.id).values(title=title))
            self.updated[counter] += 1
        return row.id

    def problem(self, plan_id: int, no: int, **values) -> int:
        """Create problem ``no`` of the plan, or update the fields of ``values`` that differ.

        ``values`` takes :data:`PROBLEM_FIELDS`; a value of None leaves a stored one as it is.
        """
        unknown = set(values) - set(PROBLEM_FIELDS)
        if unknown:
            raise TypeError(f"not problem fields: {sorted(unknown)}")
        row = self.conn.execute(select(Problem.__table__).where(Problem.plan_id == plan_id, Problem.no == no)).first()
        if row is None:
            self.created["problems"] += 1
            return _insert(self.conn, Problem, plan_id=plan_id, no=no, **values)
        changes = {k: v for k, v in values.items()
                   if (v is not None or k == "category_id") and _differs(getattr(row, k), v)}
        if changes:
            self.conn.execute(update(Problem.__table__).where(Problem.id == row.id).values(**changes))
            self.updated["problems"] += 1
        else:
            self.unchanged["problems"] += 1
        return row.id

    def measure(self, problem_id: int, seq: int, text: str, **kw) -> int | None:
        """Create measure ``seq`` of the problem (see :func:`measure`); None when it already exists."""
        exists = self.conn.execute(select(Measure.id).where(Measure.problem_id == problem_id,
                                                            Measure.seq == seq)).scalar()
        if exists is not None:
            self.unchanged["measures"] += 1
            return None
        kw.setdefault("actor", self.actor)
        self.created["measures"] += 1
        return measure(self.conn, problem_id, seq, text, now=self.now, **kw)
