"""The states of a measure, the context a guard sees, who may fire a trigger and the guards.

Pure functions of a :class:`Ctx`: each guard returns ``None`` or ``(rule, message)``, the rule
being the name a refusal reports. :mod:`workflow.spec` puts them together into the trigger table.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from . import vocabulary
from .effects import Refused, parse_date

# --- states --------------------------------------------------------------

ASSIGNED = "assigned"
IN_PROGRESS = "in_progress"
SUBMITTED = "submitted"
VERIFIED = "verified"
CLOSED = "closed"
STATES = (ASSIGNED, IN_PROGRESS, SUBMITTED, VERIFIED, CLOSED)
OPEN_STATES = (ASSIGNED, IN_PROGRESS, SUBMITTED, VERIFIED)
WORK_STATES = (ASSIGNED, IN_PROGRESS)  # with the owner
AWAITING_STATES = (SUBMITTED, VERIFIED)  # with an approver
EVIDENCE_STATES = (ASSIGNED, IN_PROGRESS, SUBMITTED)  # before approval: evidence may still be added
STATE_LABELS = vocabulary.STATE_LABELS

ROLES = ("admin", "office", "leader", "owner", "supervisor", "inspector", "inspection_office")
KINDS = ("immediate", "time_bound", "long_term", "self_check")
FINDINGS = ("exists", "none")  # a self-check's answer: 存在 / 不存在
KIND_LABELS = vocabulary.KIND_LABELS
REOPEN_CATEGORIES = ("public_dissatisfaction", "inspector_dissatisfaction", "failed_recheck", "rebound")
REOPEN_LABELS = vocabulary.REOPEN_LABELS
MAX_EXTENSION_YEARS = 3  # an extension reaches at most this far past the deadline in force


# --- the context a guard sees ---------------------------------------------

@dataclass(frozen=True)
class Actor:
    """Who fires a trigger: identity, roles, units and whose delegate they are."""

    id: int
    username: str
    roles: frozenset[str] = frozenset()
    unit_ids: frozenset[int] = frozenset()
    delegate_for: frozenset[int] = frozenset()
    name: str = ""
    target_id: int | None = None  # tied to one inspected organisation; None: every target

    @property
    def display(self) -> str:
        """The name people read (the login name only when there is no name)."""
        return self.name or self.username


@dataclass(frozen=True)
class MeasureView:
    """What a guard or an effect needs to know about a measure."""

    id: int
    state: str
    owner_id: int | None
    unit_id: int | None
    leader_id: int | None
    kind: str = "time_bound"
    submitter_id: int | None = None
    evidence_count: int = 0
    evidence_waived: bool = False
    pending_extension: bool = False
    approver_id: int | None = None
    account: str | None = None
    reopen_count: int = 0
    deadline: dt.date | None = None
    deadline_original: dt.date | None = None
    level: int = -1  # the escalation level in force: -1 none, 0 yellow, 1-3 red (3: a supervision order)
    finding: str | None = None  # a self-check's answer once reported
    target_id: int | None = None  # the inspected organisation of its plan


@dataclass(frozen=True)
class Ctx:
    actor: Actor
    measure: MeasureView
    comment: str = ""
    reason: str = ""
    new_evidence: int = 0
    params: dict = field(default_factory=dict)
    today: dt.date | None = None  # China's date when fired (date guards); None: not checked


# --- who may fire ---------------------------------------------------------

def is_owner(ctx: Ctx) -> bool:
    return ctx.actor.id == ctx.measure.owner_id and "owner" in ctx.actor.roles


def is_owner_or_unit_member(ctx: Ctx) -> bool:
    a = ctx.actor
    return is_owner(ctx) or ("owner" in a.roles and ctx.measure.unit_id in a.unit_ids)


def is_leader(ctx: Ctx) -> bool:
    a, m = ctx.actor, ctx.measure
    if "leader" not in a.roles:
        return False
    return a.id == m.leader_id or m.leader_id in a.delegate_for


def is_responsible(ctx: Ctx) -> bool:
    """The owner, a member of the owning unit, or the responsible leader."""
    return is_owner_or_unit_member(ctx) or is_leader(ctx)


def is_office(ctx: Ctx) -> bool:
    return "office" in ctx.actor.roles


def is_office_or_inspector(ctx: Ctx) -> bool:
    return bool({"office", "inspector"} & ctx.actor.roles)


def is_supervisor_office_or_leader(ctx: Ctx) -> bool:
    return bool({"office", "supervisor"} & ctx.actor.roles) or is_leader(ctx)


def can_see(ctx: Ctx) -> bool:
    """Anyone with a stake in the measure may see it (and comment on it); the offices that read every
    measure read those of their own target when they are tied to one."""
    a = ctx.actor
    if {"admin", "office", "supervisor", "inspector", "inspection_office"} & a.roles:
        if a.target_id is None or a.target_id == ctx.measure.target_id:
            return True
    return is_owner_or_unit_member(ctx) or is_leader(ctx)


def takes_part(ctx: Ctx) -> bool:
    """Who may see the measure and has a part in it (the supervising inspection office only reads)."""
    return can_see(ctx) and bool(ctx.actor.roles - {"inspection_office"})


def is_system(ctx: Ctx) -> bool:
    return ctx.actor.username == "system"


# --- guards: each returns None or (rule, message) ----------------------------

Guard = Callable[[Ctx], "tuple[str, str] | None"]


# state guards: about the measure and the actor, whatever is typed in
def four_eyes(ctx: Ctx):
    """Submitter, approver and signer are three people (an approver may not sign off either)."""
    a, m = ctx.actor.id, ctx.measure
    if m.submitter_id is not None and a == m.submitter_id:
        return ("four_eyes", "the submitter cannot approve or sign off their own submission")
    if m.state == VERIFIED and m.approver_id is not None and a == m.approver_id:
        return ("four_eyes", "the approver cannot also sign off the measure")
    return None


def long_term_only(ctx: Ctx):
    if ctx.measure.kind != "long_term":
        return ("long_term_only", "only long-term measures are re-checked")
    return None


def under_order(ctx: Ctx):
    if ctx.measure.level < 3:
        return ("no_order", "the measure has no supervision order (督办单) to answer")
    return None


def self_check_only(ctx: Ctx):
    if ctx.measure.kind != "self_check":
        return ("self_check_only", "only a self-check (自查) reports a finding")
    if ctx.measure.finding is not None:
        return ("finding_reported", "the finding of this self-check is already reported")
    return None


def finding_first(ctx: Ctx):
    """A self-check is submitted only once it has said what it found."""
    if ctx.measure.kind == "self_check" and ctx.measure.finding is None:
        return ("finding_required", "report what the self-check found (存在/不存在) before submitting")
    return None


def pending_extension(ctx: Ctx):
    if not ctx.measure.pending_extension:
        return ("no_pending_extension", "there is no pending extension request")
    return None


def no_pending_extension(ctx: Ctx):
    if ctx.measure.pending_extension:
        return ("extension_pending", "an extension request is already pending")
    return None


# input guards: about what the person typed or attached
def _text_required(field_name: str, rule: str, message: str) -> Guard:
    def guard(ctx: Ctx):
        return None if getattr(ctx, field_name).strip() else (rule, message)
    guard.__name__ = rule
    return guard


need_reason = _text_required("reason", "reason_required", "a reason is required")
need_account = _text_required("comment", "account_required", "the account (落实情况) must not be empty")
need_comment = _text_required("comment", "comment_required", "the text must not be empty")


def need_evidence(ctx: Ctx):
    if ctx.measure.evidence_waived:
        return None
    if ctx.measure.evidence_count + ctx.new_evidence < 1:
        return ("evidence_required", "at least one evidence file is required")
    return None


def reopen_category(ctx: Ctx):
    if ctx.params.get("category") not in REOPEN_CATEGORIES:
        return ("category_required", "a reopen category is required: " + ", ".join(REOPEN_CATEGORIES))
    return None


def need_finding(ctx: Ctx):
    if ctx.params.get("finding") not in FINDINGS:
        return ("finding_required", "say what the self-check found: exists or none (存在/不存在)")
    return None


def reassign_target(ctx: Ctx):
    p = ctx.params
    if not (p.get("owner") or p.get("unit") or p.get("leader")):
        return ("reassign_target", "name the new owner, unit or leader")
    return None


def new_deadline_guard(ctx: Ctx):
    """A new deadline: given, a date, later than the one in force, not past, not absurdly far."""
    raw = ctx.params.get("new_deadline")
    if not raw:
        return ("deadline_required", "a new deadline is required")
    try:
        new = parse_date(raw)
    except Refused as e:
        return (e.rule, e.message)
    current = ctx.measure.deadline
    if current is not None and new <= current:
        return ("invalid_input", "the new deadline must be later than the one in force")
    if ctx.today is not None and new < ctx.today:
        return ("invalid_input", "the new deadline must not be in the past")
    known = [d for d in (current, ctx.today) if d is not None]
    if known and new > _years_later(max(known), MAX_EXTENSION_YEARS):
        return ("invalid_input", f"an extension reaches at most {MAX_EXTENSION_YEARS} years ahead")
    return None


def _years_later(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)
