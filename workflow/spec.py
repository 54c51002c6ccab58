"""The lifecycle of a measure, as plain data and plain functions.

Everything here is pure: no database, no clock. The persistence layer builds a
:class:`Ctx` from stored rows, asks :func:`check` whether a trigger may fire, and
asks :func:`destination` (one module-level ``transitions`` machine) where it goes.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from transitions import Machine, MachineError

from . import vocabulary
from .vocabulary import N_

# --- states --------------------------------------------------------------

ASSIGNED = "assigned"
IN_PROGRESS = "in_progress"
SUBMITTED = "submitted"
VERIFIED = "verified"
CLOSED = "closed"
STATES = (ASSIGNED, IN_PROGRESS, SUBMITTED, VERIFIED, CLOSED)
OPEN_STATES = (ASSIGNED, IN_PROGRESS, SUBMITTED, VERIFIED)
STATE_LABELS = vocabulary.STATE_LABELS

ROLES = ("admin", "office", "leader", "owner", "supervisor", "inspector")
KINDS = ("immediate", "time_bound", "long_term")
KIND_LABELS = vocabulary.KIND_LABELS
REOPEN_CATEGORIES = ("public_dissatisfaction", "inspector_dissatisfaction", "failed_recheck", "rebound")
REOPEN_LABELS = vocabulary.REOPEN_LABELS


# --- the context a guard sees ---------------------------------------------

@dataclass(frozen=True)
class Actor:
    """Who fires a trigger: identity, roles, units and whose delegate they are."""

    id: int
    username: str
    roles: frozenset[str] = frozenset()
    unit_ids: frozenset[int] = frozenset()
    delegate_for: frozenset[int] = frozenset()


@dataclass(frozen=True)
class MeasureView:
    """What a guard needs to know about a measure."""

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


@dataclass(frozen=True)
class Ctx:
    actor: Actor
    measure: MeasureView
    comment: str = ""
    reason: str = ""
    new_evidence: int = 0
    params: dict = field(default_factory=dict)


class Refused(Exception):
    """A trigger was refused; ``rule`` names the rule that refused it."""

    def __init__(self, rule: str, message: str):
        super().__init__(message)
        self.rule = rule
        self.message = message

    def __str__(self) -> str:
        return f"{self.rule}: {self.message}"


# --- permission predicates (who) ----------------------------------------

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


def is_office(ctx: Ctx) -> bool:
    return "office" in ctx.actor.roles


def is_office_or_inspector(ctx: Ctx) -> bool:
    return bool({"office", "inspector"} & ctx.actor.roles)


def is_supervisor_office_or_leader(ctx: Ctx) -> bool:
    return bool({"office", "supervisor"} & ctx.actor.roles) or is_leader(ctx)


def can_see(ctx: Ctx) -> bool:
    """Anyone with a stake in the measure may see it (and comment on it)."""
    a = ctx.actor
    if {"admin", "office", "supervisor", "inspector"} & a.roles:
        return True
    return is_owner_or_unit_member(ctx) or is_leader(ctx)


def is_system(ctx: Ctx) -> bool:
    return ctx.actor.username == "system"


# --- guards (what) ------------------------------------------------------

Guard = Callable[[Ctx], "tuple[str, str] | None"]


def need_reason(ctx: Ctx):
    if not ctx.reason.strip():
        return ("reason_required", "a reason is required")


def need_account(ctx: Ctx):
    if not ctx.comment.strip():
        return ("account_required", "the account (落实情况) must not be empty")


def need_evidence(ctx: Ctx):
    if ctx.measure.evidence_waived:
        return None
    if ctx.measure.evidence_count + ctx.new_evidence < 1:
        return ("evidence_required", "at least one evidence file is required")


def four_eyes(ctx: Ctx):
    if ctx.measure.submitter_id is not None and ctx.actor.id == ctx.measure.submitter_id:
        return ("four_eyes", "the submitter cannot approve or sign off their own submission")


def long_term_only(ctx: Ctx):
    if ctx.measure.kind != "long_term":
        return ("long_term_only", "only long-term measures are re-checked")


def reopen_category(ctx: Ctx):
    if ctx.params.get("category") not in REOPEN_CATEGORIES:
        return ("category_required", "a reopen category is required: " + ", ".join(REOPEN_CATEGORIES))


def reassign_target(ctx: Ctx):
    p = ctx.params
    if not (p.get("owner") or p.get("unit") or p.get("leader")):
        return ("reassign_target", "name the new owner, unit or leader")


def need_comment(ctx: Ctx):
    if not ctx.comment.strip():
        return ("comment_required", "the text must not be empty")


def need_new_deadline(ctx: Ctx):
    if not ctx.params.get("new_deadline"):
        return ("deadline_required", "a new deadline is required")


def pending_extension(ctx: Ctx):
    if not ctx.measure.pending_extension:
        return ("no_pending_extension", "there is no pending extension request")


def no_pending_extension(ctx: Ctx):
    if ctx.measure.pending_extension:
        return ("extension_pending", "an extension request is already pending")


# --- the table ----------------------------------------------------------

@dataclass(frozen=True)
class TriggerSpec:
    name: str
    label: str
    sources: tuple[str, ...]
    dest: str | None  # None: a recorded event, no state change; "=": same state
    who: Callable[[Ctx], bool]
    who_text: str
    guards: tuple[Guard, ...] = ()

    @property
    def changes_state(self) -> bool:
        return self.dest is not None


TRIGGERS: dict[str, TriggerSpec] = {
    t.name: t
    for t in (
        TriggerSpec("start", N_("开始整改"), (ASSIGNED,), IN_PROGRESS, is_owner_or_unit_member,
                    "the owner or a member of the owning unit"),
        TriggerSpec("submit", N_("提交"), (IN_PROGRESS,), SUBMITTED, is_owner, "the owner",
                    (need_account, need_evidence)),
        TriggerSpec("approve", N_("审核通过"), (SUBMITTED,), VERIFIED, is_leader,
                    "the responsible leader or their delegate", (four_eyes,)),
        TriggerSpec("return", N_("退回"), (SUBMITTED,), IN_PROGRESS, is_leader,
                    "the responsible leader or their delegate", (need_reason,)),
        TriggerSpec("sign_off", N_("销号"), (VERIFIED,), CLOSED, is_office, "the rectification office",
                    (four_eyes,)),
        TriggerSpec("reject", N_("不予销号"), (VERIFIED,), IN_PROGRESS, is_office,
                    "the rectification office", (need_reason,)),
        TriggerSpec("reopen", N_("重新整改"), (CLOSED,), IN_PROGRESS, is_office_or_inspector,
                    "the rectification office or an inspector", (need_reason, reopen_category)),
        TriggerSpec("recheck", N_("巩固复查"), (CLOSED,), "=", is_office, "the rectification office",
                    (long_term_only,)),
        TriggerSpec("reassign", N_("改派"), (ASSIGNED, IN_PROGRESS), "=", is_office,
                    "the rectification office", (reassign_target,)),
        # recorded events: same audit guarantees, no state change
        TriggerSpec("comment", N_("评论"), STATES, None, can_see, "anyone who may see the measure",
                    (need_comment,)),
        TriggerSpec("progress_update", N_("进展报告"), (ASSIGNED, IN_PROGRESS), None, is_owner_or_unit_member,
                    "the owner or a member of the owning unit", (need_comment,)),
        TriggerSpec("urge", N_("催办"), OPEN_STATES, None, is_supervisor_office_or_leader,
                    "a supervisor, the office or the responsible leader"),
        TriggerSpec("request_extension", N_("申请延期"), (ASSIGNED, IN_PROGRESS), None, is_owner,
                    "the owner", (need_reason, need_new_deadline, no_pending_extension)),
        TriggerSpec("grant_extension", N_("同意延期"), (ASSIGNED, IN_PROGRESS), None, is_leader,
                    "the responsible leader or their delegate", (pending_extension,)),
        TriggerSpec("deny_extension", N_("不同意延期"), (ASSIGNED, IN_PROGRESS), None, is_leader,
                    "the responsible leader or their delegate", (pending_extension, need_reason)),
        TriggerSpec("escalate", N_("督办"), OPEN_STATES, None, is_system, "the scheduler"),
    )
}

STATE_TRIGGERS = tuple(n for n, t in TRIGGERS.items() if t.changes_state)
EVENT_TRIGGERS = tuple(n for n, t in TRIGGERS.items() if not t.changes_state)
# what a person may fire from the CLI or API (escalate belongs to the scheduler)
PUBLIC_TRIGGERS = tuple(n for n in TRIGGERS if n != "escalate")


# --- one machine, module level ------------------------------------------

class _Cursor:
    """A throwaway model: the machine is never given per-row models."""

    __slots__ = ("state",)

    def __init__(self, state: str):
        self.state = state


MACHINE = Machine(
    model=None,
    states=list(STATES),
    transitions=[
        {"trigger": t.name, "source": list(t.sources), "dest": t.dest}
        for t in TRIGGERS.values()
        if t.changes_state
    ],
    initial=None,
    auto_transitions=False,
    send_event=True,
)


def destination(trigger: str, state: str) -> str:
    """Where ``trigger`` takes a measure in ``state``, per the machine; raises Refused."""
    event = MACHINE.events.get(trigger)
    if event is None:
        raise Refused("unknown_trigger", f"unknown trigger {trigger!r}")
    cursor = _Cursor(state)
    try:
        event.trigger(cursor)
    except MachineError:
        raise Refused("wrong_state", f"{trigger} is not allowed from state {state}") from None
    return cursor.state


def check(trigger: str, ctx: Ctx) -> str:
    """Check every rule for ``trigger`` in ``ctx``; return the destination state.

    Raises :class:`Refused` naming the first rule that refuses: the state, then who
    may fire it, then each guard in order.
    """
    spec = TRIGGERS.get(trigger)
    if spec is None:
        raise Refused("unknown_trigger", f"unknown trigger {trigger!r}")
    state = ctx.measure.state
    if state not in spec.sources:
        raise Refused("wrong_state", f"{trigger} is not allowed from state {state}")
    if not spec.who(ctx):
        raise Refused("not_permitted", f"{trigger} may be fired only by {spec.who_text}")
    for guard in spec.guards:
        refusal = guard(ctx)
        if refusal:
            raise Refused(*refusal)
    if spec.changes_state:
        return destination(trigger, state)
    return state


def allowed_triggers(ctx_for: Callable[[str], Ctx], names: Iterable[str] = PUBLIC_TRIGGERS) -> list[str]:
    """The triggers whose state and role rules pass (guards on input are not checked)."""
    out = []
    for name in names:
        spec = TRIGGERS[name]
        ctx = ctx_for(name)
        if ctx.measure.state in spec.sources and spec.who(ctx):
            out.append(name)
    return out


def edges() -> list[tuple[str, str, str]]:
    """(source, trigger, dest) for every state change: for diagrams and tests."""
    out = []
    for t in TRIGGERS.values():
        if t.changes_state:
            for s in t.sources:
                out.append((s, t.name, s if t.dest == "=" else t.dest))
    return out


# --- derived values ----------------------------------------------------------

def problem_progress(states_and_kinds: list[tuple[str, str]], rect_end: dt.date | None, today: dt.date) -> str:
    """A problem's public progress, derived from its measures, never typed in."""
    if states_and_kinds and all(s == CLOSED for s, _ in states_and_kinds):
        if any(k == "long_term" for _, k in states_and_kinds):
            return "done_long_term"
        return "done"
    if rect_end is not None and today > rect_end:
        return "not_done"
    return "in_progress"
