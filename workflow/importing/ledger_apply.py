"""Writing a read ledger (:class:`.ledger_read.LedgerIn`) into a plan through the one plan writer.

The whole import is one write transaction: the plan, its parts, categories and problems go
through :class:`workflow.planwriter.PlanWriter` (matched by number, units by name or alias and
created when unknown), people through :class:`.ledger_people.People`, new measures through the
writer and stored ones are updated here under a version check. A dry run does exactly the same
writing and rolls it back, so its report is what a real run would do and nothing is written.

Importing the same file again updates in place: the same plan, problem number and measure
sequence number name the same measure, and each changed measure gets an ``import`` event on its
audit chain. A status read from a file is the historical record: it is the only way a measure
reaches a state (even ``closed``) without the lifecycle, and its event says so
(``"lifecycle_bypassed": true``). A file never moves a measure backwards.

Cells with no field of their own (unknown columns, 配合单位, 备注, a cell naming several leaders or
holding several milestones) are stored on the measure as ``measures.extra`` ({header: text}, in
the file's column order); a header map given with the import is remembered on the plan
(``plans.column_map``, {header: field}) and applied to every later import into it.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from pathlib import Path

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection, Engine, Row

from .. import audit, commands, db, planwriter, recurrence, spec
from ..clock import utcnow
from ..errors import NotFound
from ..models import Category, LightChange, Measure, OrgUnit, Part, Plan, Problem, User
from ..vocabulary import STATE_LABELS
from .errors import Issue, LedgerImportError
from .ledger_book import load_sheets
from .ledger_people import People
from .ledger_read import LedgerIn, MeasureIn, ProblemIn, read_sheets
from .ledger_vocab import text_key

M = Measure.__table__
IMPORTED_BODY = "（导入台账，未注明）"  # the inspection of a plan created from a ledger file
IMPORTED_TARGET = "（未注明）"
STATE_RANK = {s: i for i, s in enumerate(spec.STATES)}
PREVIEW_ROWS = 10


def match_numbered(items: dict, db_rows: dict[int, tuple[int, str]]):
    """Match a file's parts (or one part's categories) to the stored ones; each stored row is taken once.

    ``items`` maps a title key to an object with ``no`` and ``title``; ``db_rows`` maps a stored
    number to (id, title). A numbered item takes the stored row of its number (renaming it if the
    title differs); then an unnumbered item takes a stored row of the same title that no item has
    taken; the rest are new, unnumbered ones on the first free number. Returns (ids, nos, updates,
    created): ids[key] is None for a new row, updates lists (id, new title).
    """
    ids: dict[str, int | None] = {}
    nos: dict[str, int] = {}
    updates: list[tuple[int, str]] = []
    claimed: set[int] = set()
    for key, it in items.items():
        if it.no is not None and it.no in db_rows:
            row_id, t = db_rows[it.no]
            ids[key], nos[key] = row_id, it.no
            claimed.add(it.no)
            if t != it.title:
                updates.append((row_id, it.title))
    by_title: dict[str, list[int]] = defaultdict(list)
    for no in sorted(db_rows):
        if no not in claimed:
            by_title[text_key(db_rows[no][1])].append(no)
    taken = set(db_rows) | {it.no for it in items.values() if it.no is not None}
    created = 0
    for key, it in items.items():
        if key in ids:
            continue
        same = by_title.get(key) if it.no is None else None
        if same:
            no = same.pop(0)
            ids[key], nos[key] = db_rows[no][0], no
            continue
        no = it.no
        if no is None:
            no = 1
            while no in taken:
                no += 1
        taken.add(no)
        ids[key], nos[key] = None, no
        created += 1
    return ids, nos, updates, created


def _titles(items: dict, db_rows: dict[int, tuple[int, str]]) -> dict[str, tuple[int, str]]:
    """(number, title to store) of each item: a row matched by its title keeps the stored title."""
    ids, nos, updates, _created = match_numbered(items, db_rows)
    renamed = {row_id for row_id, _t in updates}
    out = {}
    for key, it in items.items():
        no = nos[key]
        keep = ids[key] is not None and ids[key] not in renamed and it.no is None
        out[key] = (no, db_rows[no][1] if keep else it.title)
    return out


def number_problems(conn: Connection, led: LedgerIn, plan_id: int | None) -> list[tuple[ProblemIn, int, Row | None]]:
    """(problem, number, stored row or None) for each problem of the file.

    A numbered problem is the stored problem of that number; an unnumbered one takes the first
    stored problem of the same text not yet matched, else the first free number.
    """
    db_probs: dict[int, Row] = {}
    if plan_id:
        for r in conn.execute(select(Problem.__table__).where(Problem.plan_id == plan_id)):
            db_probs[r.no] = r
    db_by_text: dict[str, list] = defaultdict(list)
    for r in sorted(db_probs.values(), key=lambda r: r.no):
        db_by_text[text_key(r.text)].append(r)
    explicit = {p.no for p in led.problems if p.no is not None}
    reserved = set(db_probs) | explicit
    claimed: dict[int, ProblemIn] = {}
    out: list[tuple[ProblemIn, int, Row | None]] = []
    for p in led.problems:
        if p.no is not None:
            row, no = db_probs.get(p.no), p.no
        else:
            # the first problem of that text not yet matched (a file may repeat a text)
            row = next((r for r in db_by_text.get(text_key(p.text), ()) if r.no not in claimed
                        and r.no not in explicit), None)
            if row is not None:
                no = row.no
            else:
                no = 1
                while no in reserved:
                    no += 1
                reserved.add(no)
        if no in claimed:
            raise LedgerImportError([Issue(p.sheet, p.row, None, f"序号重复 (duplicate problem {no}: also at "
                                                                  f"{claimed[no].sheet}!{claimed[no].row})")])
        claimed[no] = p
        out.append((p, no, row))
    return out


class LedgerWriter:
    """One import of a read ledger into a plan, inside the caller's write transaction."""

    def __init__(self, conn: Connection, led: LedgerIn, *, now: dt.datetime, actor: str, source: str):
        self.conn, self.led, self.actor, self.source = conn, led, actor, source
        self.now = now.replace(tzinfo=None)
        self.writer = planwriter.PlanWriter(conn, now=self.now, actor=actor)
        self.people = People(conn)
        self.counts: Counter = Counter()
        self.warnings: list[str] = []
        self.preview: list[dict] = []
        self.plan_id: int | None = None
        self.plan_title = ""
        self.plan_created = False
        self.part_ids: dict[str, int] = {}
        self.cat_ids: dict[tuple[str, str], int] = {}
        self.unit_names: dict[int, str] = {}

    @property
    def pid(self) -> int:
        """The plan being written: :meth:`plan` chooses it before anything of its tree is written."""
        if self.plan_id is None:
            raise RuntimeError("LedgerWriter.plan() must choose the plan before its tree is written")
        return self.plan_id

    # the plan and its tree -------------------------------------------------------------
    def plan(self, plan_id: int | None, title: str | None, target: str | None = None) -> None:
        """The plan ``plan_id``, else the newest titled ``title`` (or the file's title, or its name), else new:
        a new round of ``target`` (the inspected organisation) when one is named."""
        conn = self.conn
        if plan_id is not None:
            row = conn.execute(select(Plan.id, Plan.title).where(Plan.id == plan_id)).first()
            if row is None:
                raise NotFound(f"no such plan: {plan_id}")
            self.plan_id, self.plan_title = row.id, row.title
            return
        self.plan_title = (title or self.led.title or Path(self.led.name).stem).strip()[:300]
        self.plan_id = conn.execute(select(Plan.id).where(Plan.title == self.plan_title)
                                    .order_by(Plan.id.desc())).scalar()
        if self.plan_id is None:
            insp = planwriter.inspection(conn, IMPORTED_BODY, target or IMPORTED_TARGET, "routine",
                                         title=self.plan_title)
            self.plan_id = planwriter.plan(conn, insp, self.plan_title)
            self.plan_created = True

    def parts(self) -> None:
        """Parts and categories, matched by number (or an unnumbered one by title) and written."""
        conn, w, pid = self.conn, self.writer, self.pid
        stored = {r.no: (r.id, r.title) for r in conn.execute(select(Part.id, Part.no, Part.title)
                                                               .where(Part.plan_id == pid))}
        for key, (no, title) in _titles(self.led.parts, stored).items():
            self.part_ids[key] = w.part(pid, no, title)
        for pkey, part in self.led.parts.items():
            part_id = self.part_ids[pkey]
            stored = {r.no: (r.id, r.title) for r in conn.execute(
                select(Category.id, Category.no, Category.title).where(Category.part_id == part_id))}
            for ckey, (no, title) in _titles(part.categories, stored).items():
                self.cat_ids[(pkey, ckey)] = w.category(part_id, no, title)

    def problems(self) -> list[tuple[ProblemIn, int, int]]:
        """Every problem written; returns (problem, number, id)."""
        out = []
        for p, no, row in number_problems(self.conn, self.led, self.plan_id):
            part_id = self.part_ids[p.part]
            values: dict = {"part_id": part_id, "text": p.text, "account": p.account,
                            "amount_involved": p.amount_involved, "amount_recovered": p.amount_recovered}
            if p.category is not None or row is None or row.part_id != part_id:
                # a file without a category keeps a stored problem's category while its part stays
                values["category_id"] = self.cat_ids.get((p.part, p.category)) if p.category else None
            out.append((p, no, self.writer.problem(self.pid, no, **values)))
        return out

    # measures --------------------------------------------------------------------------
    def _unit(self, name: str | None) -> int | None:
        if not name:
            return None
        uid = self.writer.unit(name)
        if uid not in self.unit_names:
            self.unit_names[uid] = self.conn.execute(select(OrgUnit.name).where(OrgUnit.id == uid)).scalar_one()
        return uid

    def measures(self, problems: list[tuple[ProblemIn, int, int]]) -> None:
        """Create new measures, update stored ones that the file changes, count the rest."""
        stored: dict[int, dict[int, Row]] = defaultdict(dict)
        q = select(M).join(Problem, Problem.id == M.c.problem_id).where(Problem.plan_id == self.plan_id)
        for r in self.conn.execute(q):
            stored[r.problem_id][r.seq] = r
        names = {r.id: r.name for r in self.conn.execute(select(User.id, User.name))}
        for p, no, prob_id in problems:
            for m in p.measures:
                unit_id = self._unit(m.unit)
                lead = self.people.get(m.leader, "leader", None) if m.leader else None
                unit_name = self.unit_names.get(unit_id) if unit_id is not None else None
                own = self.people.get(m.owner, "owner", unit_id, unit_name) if m.owner else None
                row = stored[prob_id].get(m.number)
                if row is None:
                    self._create(m, prob_id, unit_id, lead, own)
                    self._preview(m, no, None, [], None)
                    continue
                changes = self._changes(m, row, unit_id, lead, own, names)
                to_state = self._to_state(m, row)
                if changes or to_state:
                    self._update(m, row, changes, to_state, unit_id, lead, own)
                    self._preview(m, no, row, sorted(changes) + (["state"] if to_state else []), to_state)
                    self.counts["measures_updated"] += 1
                else:
                    self.counts["measures_unchanged"] += 1

    def _where(self, m: MeasureIn) -> dict:
        where = {"source": self.source, "sheet": m.sheet, "row": m.row}
        if m.several:
            where["several"] = m.several
        if m.milestones:
            where["milestones"] = [[day.isoformat(), what] for day, what in m.milestones]
        return where

    def _create(self, m: MeasureIn, prob_id: int, unit_id, lead, own) -> None:
        extra = self._where(m)
        if m.account:
            extra["account"] = m.account
        if m.extra:
            extra["columns"] = m.extra
        if m.state != "assigned":
            extra["lifecycle_bypassed"] = True
        mid = self.writer.measure(prob_id, m.number, m.text, kind=m.kind, leader_id=lead.id if lead else None,
                                  unit_id=unit_id, owner_id=own.id if own else None, deadline=m.deadline,
                                  event_kind="import", state=m.state, extra=extra)
        if m.account or m.extra:
            self.conn.execute(update(M).where(M.c.id == mid).values(account=m.account, extra=m.extra or None))
        if m.state == "closed":
            self.conn.execute(insert(LightChange.__table__), {"measure_id": mid, "light": "done", "level": -1,
                                                              "at": self.now})
            self.counts["closed_by_import"] += 1

    def _changes(self, m: MeasureIn, row, unit_id, lead, own, names: dict) -> dict:
        changes = {}
        if row.text != m.text:
            changes["text"] = [row.text, m.text]
        if row.kind != m.kind:
            changes["kind"] = [row.kind, m.kind]
        if m.deadline is not None and row.deadline != m.deadline:
            changes["deadline"] = [row.deadline.isoformat() if row.deadline else None, m.deadline.isoformat()]
        if m.account is not None and (row.account or None) != m.account:
            changes["account"] = [row.account, m.account]
        if unit_id is not None and row.unit_id != unit_id:
            changes["unit"] = [self.unit_names.get(row.unit_id) or self._stored_unit(row.unit_id),
                               self.unit_names[unit_id]]
        if lead is not None and lead.id != row.leader_id:
            changes["leader"] = [names.get(row.leader_id), lead.name]
        if own is not None and own.id != row.owner_id:
            changes["owner"] = [names.get(row.owner_id), own.name]
        if m.extra and m.extra != (row.extra or {}):
            changes["extra"] = [row.extra, m.extra]
        return changes

    def _stored_unit(self, unit_id: int | None) -> str | None:
        if unit_id is None:
            return None
        return self.conn.execute(select(OrgUnit.name).where(OrgUnit.id == unit_id)).scalar()

    def _to_state(self, m: MeasureIn, row) -> str | None:
        if m.state == row.state:
            return None
        if STATE_RANK[m.state] > STATE_RANK[row.state]:
            if m.state == "closed":
                self.counts["closed_by_import"] += 1
            return m.state
        self.warnings.append(f"{m.sheet}!{m.row}: 台账中为“{STATE_LABELS[row.state]}”，文件为“{STATE_LABELS[m.state]}”，"
                             f"保留台账状态 (the ledger is further along; state kept)")
        return None

    def _update(self, m: MeasureIn, row, changes: dict, to_state: str | None, unit_id, lead, own) -> None:
        values: dict = {}
        simple = {"text": m.text, "kind": m.kind, "account": m.account, "extra": m.extra, "unit": unit_id,
                  "leader": lead.id if lead else None, "owner": own.id if own else None}
        column = {"unit": "unit_id", "leader": "leader_id", "owner": "owner_id"}
        for f in changes:
            if f in simple:
                values[column.get(f, f)] = simple[f]
        if "deadline" in changes:
            values["deadline"] = m.deadline
            if row.deadline_original is None:
                values["deadline_original"] = m.deadline
        body = {"changes": changes, **self._where(m)}
        if to_state:
            body["lifecycle_bypassed"] = True
            values["state"] = to_state
            if to_state == "closed":
                values.update(closed_at=self.now, light="done", level=-1)
                self.conn.execute(insert(LightChange.__table__), {"measure_id": row.id, "light": "done",
                                                                  "level": -1, "at": self.now})
        seq, h = audit.append(self.conn, row.id, row.head_seq, row.head_hash, "import", self.actor,
                              row.state if to_state else None, to_state, body, self.now)
        values.update(version=row.version + 1, head_seq=seq, head_hash=h)
        commands.write_checked(self.conn, row.id, row.version, values)

    def _preview(self, m: MeasureIn, no: int, row, changes: list[str], to_state: str | None) -> None:
        if len(self.preview) >= PREVIEW_ROWS:
            return
        self.preview.append({
            "action": "create" if row is None else "update", "sheet": m.sheet, "row": m.row,
            "problem_no": no, "seq": m.seq, "measure": m.text[:60], "unit": m.unit, "owner": m.owner,
            "leader": m.leader, "deadline": m.deadline.isoformat() if m.deadline else None, "kind": m.kind,
            "state": to_state or (m.state if row is None else row.state), "changes": changes,
        })

    # the report ------------------------------------------------------------------------
    def summary(self, dry_run: bool) -> dict:
        """What the import did (or, in a dry run, would do)."""
        led, w, c, people = self.led, self.writer, self.counts, self.people
        return {
            "kind": "ledger", "parts": len(led.parts), "problems": len(led.problems), "measures": led.measure_count,
            "units_created": list(w.units_created), "unmapped_columns": list(led.unmapped_columns),
            "column_map": dict(led.mapping), "columns": led.columns,
            "file": led.name, "dry_run": dry_run,
            "plan_id": None if (dry_run and self.plan_created) else self.plan_id,
            "plan_title": self.plan_title, "plan_created": self.plan_created,
            "sheets": led.sheets, "skipped_sheets": led.skipped_sheets, "ignored_columns": led.ignored_columns,
            "create": {"parts": w.created["parts"], "categories": w.created["categories"],
                       "problems": w.created["problems"], "measures": w.created["measures"],
                       "units": len(w.units_created), "users": len(people.new_users)},
            "update": {"parts": w.updated["parts"], "categories": w.updated["categories"],
                       "problems": w.updated["problems"], "measures": c["measures_updated"]},
            "unchanged": {"problems": w.unchanged["problems"], "measures": c["measures_unchanged"]},
            "closed_by_import": c["closed_by_import"],
            "roles_granted": [{"username": u, "role": r, "unit": un} for u, r, un in people.grants
                              if u not in people.new_users],
            "new_users": [{"username": u, "name": p.name} for u, p in people.new_users.items()],
            "totals": {"problems": len(led.problems), "measures": led.measure_count},
            "warnings": led.warnings + self.warnings,
            "preview": self.preview,
        }


class _DryRun(Exception):
    """Raised at the end of a dry run to roll its transaction back."""


def write_ledger(conn: Connection, led: LedgerIn, *, plan_id: int | None, title: str | None, now: dt.datetime,
                 actor: str, source: str, dry_run: bool, target: str | None = None) -> dict:
    """Write ``led`` into a plan on the open write connection ``conn``; return the summary.

    The file's header map (``led.mapping``) is remembered on the plan for later imports.
    """
    lw = LedgerWriter(conn, led, now=now, actor=actor, source=source)
    lw.plan(plan_id, title, target)
    lw.parts()
    lw.measures(lw.problems())
    if led.mapping:
        stored = conn.execute(select(Plan.column_map).where(Plan.id == lw.plan_id)).scalar() or {}
        merged = {**stored, **led.mapping}
        if merged != stored:
            conn.execute(update(Plan.__table__).where(Plan.id == lw.plan_id).values(column_map=merged))
    summary = lw.summary(dry_run)
    summary["recurrence_candidates"] = recurrence.scan(conn, lw.pid, now)
    return summary


def stored_mapping(conn: Connection, *, plan_id: int | None = None, title: str | None = None) -> dict[str, str]:
    """The header map remembered on the plan ``plan_id`` (or the newest plan titled ``title``), or {}."""
    q = select(Plan.column_map)
    if plan_id is not None:
        q = q.where(Plan.id == plan_id)
    elif title:
        q = q.where(Plan.title == title.strip()[:300]).order_by(Plan.id.desc())
    else:
        return {}
    return dict(conn.execute(q.limit(1)).scalar() or {})


def read_for_plan(path: Path, *, plan_id: int | None, title: str | None, mapping: dict[str, str] | None,
                  engine: Engine | None = None) -> LedgerIn:
    """Read the file with the plan's remembered header map, overridden by ``mapping``.

    Without ``plan_id`` or ``title`` the plan is the one the file's title names, so the file is
    read first with ``mapping`` alone, then again if that plan remembers more.
    """
    given = dict(mapping or {})
    sheets = load_sheets(path)
    with db.read_tx(engine) as conn:
        stored = stored_mapping(conn, plan_id=plan_id, title=title)
        if plan_id is None and not title:
            led = read_sheets(sheets, path.name, given)
            stored = stored_mapping(conn, title=led.title or path.stem)
            if not stored or {**stored, **given} == given:
                return led
    return read_sheets(sheets, path.name, {**stored, **given})


def import_ledger(path: str | Path, *, plan_id: int | None = None, title: str | None = None,
                  dry_run: bool = False, actor: str = "system", now: dt.datetime | None = None,
                  engine: Engine | None = None, mapping: dict[str, str] | None = None,
                  target: str | None = None) -> dict:
    """Import an .xlsx ledger into a plan, all or nothing; return what was (or would be) done.

    The plan is ``plan_id``, else the plan titled ``title`` (or the file's title row, or its
    name), created if there is none. ``mapping`` ({header: field}, see
    :func:`.ledger_vocab.mapping_field`) overrides the vocabulary and is remembered on the plan.
    ``dry_run`` does the same work and rolls it back.
    Raises :class:`.errors.LedgerImportError` (nothing written) or :class:`workflow.errors.NotFound`.
    """
    path = Path(path)
    led = read_for_plan(path, plan_id=plan_id, title=title, mapping=mapping, engine=engine)
    now = (now or utcnow()).replace(tzinfo=None)
    summary: dict = {}
    try:
        with db.write_tx(engine) as conn:
            summary = write_ledger(conn, led, plan_id=plan_id, title=title, now=now, actor=actor,
                                   source=path.name, dry_run=dry_run, target=target)
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return summary


def preview(path: str | Path, **kw) -> dict:
    """What :func:`import_ledger` would do, without writing."""
    return import_ledger(path, dry_run=True, **kw)
