"""Writing a parsed notice as a plan, through :class:`workflow.planwriter.PlanWriter`."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping

from sqlalchemy import select, update

from .. import db, planwriter, recurrence, spec
from ..models import Accountability, Inspection, Measure, Membership, Plan, RuleMade, User
from .notice_text import NoticeError
from .notice_tree import Notice, Problem
from .notice_measures import assign_units
from .notice_units import UnitDirectory

_STATE_BY_STATUS = {"done": "closed", "done_long_term": "closed", "in_progress": "in_progress",
                    "not_done": "in_progress", "": "assigned"}
_CREATED = ("inspection", "plan", "parts", "categories", "problems", "measures", "units", "accountability",
            "rules_made")
_UPDATED = ("problems", "parts", "categories")


class _DryRun(Exception):
    """Raised inside the write transaction of a dry run, so that everything it wrote is rolled back."""

    def __init__(self, report: dict):
        super().__init__("dry run")
        self.report = report


def import_notice(source, now: dt.datetime, engine=None, owner_map: Mapping | None = None, *,
                  initial_state: str | None = None,
                  deadline_for: Callable[[int, int, str], dt.date | None] | None = None,
                  evidence_waived: bool = False, dry_run: bool = False, actor: str = "system",
                  units: UnitDirectory | None = None) -> dict:
    """Write a notice (a parsed :class:`Notice`, or the path of a .txt/.docx) as a plan, in one
    transaction; importing it again updates, never duplicates. A ``dry_run`` does the same writing
    and rolls it back, so it reports exactly what a real import would do.

    Units are found in the database (``org_units`` and ``unit_aliases``, then ``units``); a unit the
    notice names that is not there is created and listed in ``units_created``. The plan is matched
    by inspecting body, target and title; parts, categories and problems by number, measures by
    (problem, seq). Matched plans, parts, categories and problems take the new text, account and
    money; a matched measure is left alone (its state and history belong to the workflow now) and
    counted in ``unchanged_measures``; measures new to the notice are created. Accountability and
    rules-made records are added when not already there.

    ``owner_map`` maps a unit name to ``(owner_username, leader_username)`` (or a dict with keys
    ``owner`` and ``leader``); units missing from it get their unit head as owner and no leader.
    ``initial_state`` overrides the state taken from the progress (已完成 → closed, 正在整改 →
    in_progress, blank → assigned). ``deadline_for(problem_no, seq, kind)`` gives a measure's
    deadline; by default it is the end of the concentrated rectification period.

    Returns the import report: ``{"kind": "notice", "parts", "problems", "measures",
    "units_created", "unmapped_columns": [], "warnings"}`` (counts of what the notice holds) with
    ``plan_id``, ``inspection_id``, ``created``, ``updated``, ``unchanged_measures``, ``dry_run``,
    ``layout`` and ``repairs``.
    """
    if initial_state is not None and initial_state not in spec.STATES:
        raise NoticeError(f"unknown state {initial_state!r}")
    try:
        with db.write_tx(engine) as conn:
            report = _write(conn, source, now, owner_map, initial_state, deadline_for, evidence_waived, actor,
                            units)
            report["dry_run"] = dry_run
            if dry_run:
                raise _DryRun(report)
    except _DryRun as done:
        report = done.report
        if report["created"]["plan"]:
            report["plan_id"] = report["inspection_id"] = None
    return report


def _write(conn, source, now, owner_map, initial_state, deadline_for, evidence_waived, actor, units) -> dict:
    directory = UnitDirectory.from_db(conn).merged(units)
    if isinstance(source, Notice):
        notice = source
        directory = directory.merged(notice.units)
    else:
        from .notice import read

        notice = read(source, units=directory)
    missing = assign_units(notice, directory)
    warnings = list(notice.warnings)
    if missing:
        warnings.append(f"no responsible unit found for {len(missing)} measure(s) ({', '.join(missing[:10])}"
                        f"{' …' if len(missing) > 10 else ''}): they are left without a unit")
    extra = {"inspection": 0, "plan": 0, "accountability": 0, "rules_made": 0}
    writer = planwriter.PlanWriter(conn, now=now, actor=actor)
    plan_id, insp_id = _plan(conn, notice, evidence_waived, extra)
    _Tree(writer, notice, plan_id, owner_map, initial_state, deadline_for, extra, directory).write()
    candidates = recurrence.scan(conn, plan_id, now)
    return {"kind": "notice", "recurrence_candidates": candidates, "parts": len(notice.parts), "problems": len(notice.problems),
            "measures": notice.measure_count, "units_created": list(writer.units_created), "unmapped_columns": [],
            "warnings": warnings, "plan_id": plan_id, "inspection_id": insp_id,
            "created": {k: extra.get(k, writer.created[k]) for k in _CREATED},
            "updated": {k: writer.updated[k] for k in _UPDATED}, "unchanged_measures": writer.unchanged["measures"],
            "layout": dict(notice.layout), "repairs": list(notice.repairs)}


def _plan(conn, notice: Notice, evidence_waived: bool, counts: dict) -> tuple[int, int]:
    """The plan (and its inspection) the notice is, matched by body, target and title, else created."""
    info = notice.inspection
    body, target = info.body or "", info.target or ""
    dates = {"onsite_start": info.onsite_start, "onsite_end": info.onsite_end,
             "feedback_date": info.feedback_date, "rect_start": info.rect_start, "rect_end": info.rect_end}
    found = conn.execute(
        select(Plan.id, Plan.inspection_id).join(Inspection, Inspection.id == Plan.inspection_id)
        .where(Inspection.body == body, Inspection.target == target, Plan.title == notice.title)
        .order_by(Plan.id)).first()
    if found:
        plan_id, insp_id = found
        conn.execute(update(Inspection.__table__).where(Inspection.id == insp_id).values(kind=info.kind, **dates))
        conn.execute(update(Plan.__table__).where(Plan.id == plan_id).values(
            issuer=notice.issuer, preamble=notice.preamble()))
        return plan_id, insp_id
    insp_id = planwriter.inspection(conn, body, target, info.kind, title=notice.title, dates=dates)
    plan_id = planwriter.plan(conn, insp_id, notice.title, issuer=notice.issuer,
                              evidence_waived=evidence_waived, preamble=notice.preamble())
    counts["inspection"] = counts["plan"] = 1
    return plan_id, insp_id


class _Tree:
    """Writes the parts, categories, problems and measures of one notice into one plan."""

    def __init__(self, writer: planwriter.PlanWriter, notice: Notice, plan_id: int, owner_map, initial_state,
                 deadline_for, counts: dict, units: UnitDirectory):
        self.w, self.conn, self.notice, self.plan_id = writer, writer.conn, notice, plan_id
        self.owner_map = owner_map or {}
        self.initial_state, self.deadline_for, self.counts = initial_state, deadline_for, counts
        self.units = units

    def write(self) -> None:
        for part in self.notice.parts:
            part_id = self.w.part(self.plan_id, part.no, part.title)
            problems: list[tuple[int | None, Problem]] = [(None, p) for p in part.problems]
            for cat in part.categories:
                cat_id = self.w.category(part_id, cat.no, cat.title)
                problems.extend((cat_id, p) for p in cat.problems)
            for category_id, prob in problems:
                self.problem(part_id, category_id, prob)

    def problem(self, part_id: int, cat_id: int | None, prob: Problem) -> None:
        prob_id = self.w.problem(self.plan_id, prob.no, part_id=part_id, category_id=cat_id, text=prob.text,
                                 account=prob.account, amount_involved=prob.money.involved,
                                 amount_recovered=prob.money.recovered, recovered_on=prob.money.recovered_on)
        state = self.initial_state or _STATE_BY_STATUS[prob.status]
        rect_end = self.notice.inspection.rect_end
        for m in prob.measures:
            unit_id = self.w.unit(m.unit, self.units.kind(m.unit)) if m.unit else None
            owner_id, leader_id = self.owner_leader(m.unit, unit_id) if unit_id else (None, None)
            deadline = self.deadline_for(prob.no, m.seq, m.kind) if self.deadline_for else rect_end
            extra = {"source": "notice", "problem_no": prob.no, "unit": m.unit}
            if state == "closed":
                extra["account"] = m.text
            mid = self.w.measure(prob_id, m.seq, m.text, kind=m.kind, leader_id=leader_id, unit_id=unit_id,
                                 owner_id=owner_id, deadline=deadline, event_kind="import", state=state, extra=extra)
            if mid is not None and state == "closed":
                self.conn.execute(update(Measure.__table__).where(Measure.id == mid).values(account=m.text))
        for a in prob.accountability:
            if self.conn.execute(select(Accountability.id).where(
                    Accountability.problem_id == prob_id, Accountability.kind == a.kind,
                    Accountability.subject == a.subject)).first() is None:
                planwriter.accountability(self.conn, a.kind, a.subject, problem_id=prob_id, note=a.note)
                self.counts["accountability"] += 1
        for r in prob.rules:
            if self.conn.execute(select(RuleMade.id).where(
                    RuleMade.problem_id == prob_id, RuleMade.title == r.title)).first() is None:
                planwriter.rule_made(self.conn, r.title, problem_id=prob_id, doc_no=r.doc_no)
                self.counts["rules_made"] += 1

    def user_id(self, username: str | None) -> int | None:
        if not username:
            return None
        uid = self.conn.execute(select(User.id).where(User.username == username)).scalar()
        if uid is None:
            raise NoticeError(f"owner_map names an unknown user: {username}")
        return uid

    def owner_leader(self, unit_name: str, unit_id: int) -> tuple[int | None, int | None]:
        """(owner, leader) of a unit's measures: from ``owner_map``, else the unit's head and no leader."""
        entry = self.owner_map.get(unit_name)
        if isinstance(entry, Mapping):
            entry = (entry.get("owner"), entry.get("leader"))
        if entry:
            return self.user_id(entry[0]), self.user_id(entry[1])
        head = self.conn.execute(select(Membership.user_id).where(
            Membership.unit_id == unit_id, Membership.is_head.is_(True)).order_by(Membership.user_id)).scalar()
        return head, None
