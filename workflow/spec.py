"""The lifecycle of a measure, as plain data and small functions: each trigger declared once.

A :class:`Trigger` says everything about one trigger: the states it fires from and where it goes,
who may fire it, its *state* guards (rules about the measure and the actor: what
:func:`allowed_triggers` shows) apart from its *input* guards (a reason, an account, evidence, a
category, a date), the parameters it takes (the API schema, the CLI options and the page form are
derived from them), whether it accepts evidence, its effect on the measure, and whom it notifies
with what text. :mod:`workflow.commands.measures` dispatches on it; ``transitions`` (one
module-level machine) decides every edge.

Everything here is pure: no database, no clock. The command builds a :class:`Ctx` from stored rows,
asks :func:`check` whether the trigger may fire, runs the trigger's effect against a :class:`Store`
(the few lookups an effect needs, answered by the command inside its transaction) and writes the
:class:`Change` it describes.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from transitions import Machine, MachineError

from . import effects, text, vocabulary
from .effects import Refused, parse_date
from .vocabulary import N_

from .rules import (  # the states, the context and the guards, re-exported: spec is the one entry point
    ASSIGNED, IN_PROGRESS, SUBMITTED, VERIFIED, CLOSED, STATES, OPEN_STATES, WORK_STATES, AWAITING_STATES,
    EVIDENCE_STATES, STATE_LABELS, ROLES, KINDS, FINDINGS, KIND_LABELS, REOPEN_CATEGORIES, REOPEN_LABELS,
    MAX_EXTENSION_YEARS, Actor, MeasureView, Ctx, is_owner, is_owner_or_unit_member, is_leader,
    is_responsible, is_office, is_office_or_inspector, is_supervisor_office_or_leader, can_see, takes_part,
    is_system, Guard, four_eyes, long_term_only, under_order, self_check_only, finding_first,
    pending_extension, no_pending_extension, need_reason, need_account, need_comment, need_evidence,
    reopen_category, need_finding, reassign_target, new_deadline_guard,
)



# --- what a trigger takes, does and tells ------------------------------------

@dataclass(frozen=True)
class Param:
    """One input a trigger takes. ``kind``: text, choice, date, user (a username holding ``role``), unit.

    ``vocab`` names the :mod:`workflow.vocabulary` table that labels a choice; ``prefill`` names the
    measure's field a form starts from (the account already written, say)."""

    name: str
    kind: str
    label: str
    required: bool = False
    max_length: int | None = None
    choices: tuple[str, ...] = ()
    role: str | None = None
    vocab: str | None = None
    prefill: str | None = None


@dataclass(frozen=True)
class Notice:
    """Whom a trigger tells, and what. ``audience``: owner, leader, office, unit_heads (of the measure,
    as it is after the trigger), supervisors. ``subject``/``text`` are templates over id, actor, reason,
    comment, deadline, new_deadline, order_no."""

    kind: str
    subject: str
    text: str
    audience: tuple[str, ...]


# --- the table ----------------------------------------------------------

@dataclass(frozen=True)
class Trigger:
    """One trigger of the lifecycle (``dest`` None: a recorded event; "=": the same state)."""

    name: str
    label: str
    sources: tuple[str, ...]
    dest: str | None
    who: Callable[[Ctx], bool]
    who_text: str
    state_guards: tuple[Guard, ...] = ()
    input_guards: tuple[Guard, ...] = ()
    params: tuple[Param, ...] = ()
    evidence: bool = False
    effect: effects.Effect | None = None
    notice: Notice | None = None
    tone: str = "primary"  # how a page shows its button: primary, good, danger
    public: bool = True  # fired by people (the CLI and the API), not only by the scheduler
    on_connection: bool = False  # its effect writes through SQLAlchemy (a new measure): off the precompiled path

    @property
    def changes_state(self) -> bool:
        return self.dest is not None

    @property
    def guards(self) -> tuple[Guard, ...]:
        return self.state_guards + self.input_guards

    @property
    def needs_evidence(self) -> bool:
        """At least one evidence file is required (unless the plan waives it)."""
        return need_evidence in self.input_guards

    @property
    def leads_on(self) -> bool:
        """A step forward along the lifecycle (pages open its form first)."""
        return self.dest not in (None, "=") and self.tone != "danger"

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)


def _opinion(label: str = N_("意见（可选）")) -> Param:
    return Param("comment", "text", label, max_length=20000)


REASON = Param("reason", "text", N_("原因"), required=True, max_length=5000)
_REASON_OPT = Param("reason", "text", N_("原因（可选）"), max_length=5000)

TRIGGERS: dict[str, Trigger] = {t.name: t for t in (
    Trigger("start", N_("开始整改"), (ASSIGNED,), IN_PROGRESS, is_owner_or_unit_member,
            "the owner or a member of the owning unit", params=(_opinion(),)),
    Trigger("submit", N_("提交"), (IN_PROGRESS,), SUBMITTED, is_owner, "the owner",
            state_guards=(finding_first,), input_guards=(need_account, need_evidence),
            params=(Param("comment", "text", N_("落实情况"), required=True, max_length=20000, prefill="account"),),
            evidence=True, effect=effects.submit, tone="good",
            notice=Notice("awaiting_approval", N_("待审核：整改措施 {id} 已提交"),
                          N_("{actor} 提交了整改措施 {id} 的落实情况，请审核。"), ("leader",))),
    Trigger("approve", N_("审核通过"), (SUBMITTED,), VERIFIED, is_leader,
            "the responsible leader or their delegate", state_guards=(four_eyes,), params=(_opinion(),),
            effect=effects.approve, tone="good",
            notice=Notice("awaiting_sign_off", N_("待销号：整改措施 {id} 已审核"),
                          N_("整改措施 {id} 已由 {actor} 审核通过，请对账销号。"), ("office",))),
    Trigger("return", N_("退回"), (SUBMITTED,), IN_PROGRESS, is_leader,
            "the responsible leader or their delegate", input_guards=(need_reason,), params=(REASON,),
            effect=effects.back_to_work, tone="danger",
            notice=Notice("returned", N_("已退回：整改措施 {id}"),
                          N_("整改措施 {id} 被 {actor} 退回，原因：{reason}"), ("owner",))),
    Trigger("sign_off", N_("销号"), (VERIFIED,), CLOSED, is_office, "the rectification office",
            state_guards=(four_eyes,), params=(_opinion(),), effect=effects.sign_off, tone="good",
            notice=Notice("signed_off", N_("已销号：整改措施 {id}"),
                          N_("整改措施 {id} 已由 {actor} 销号。"), ("owner",))),
    Trigger("reject", N_("不予销号"), (VERIFIED,), IN_PROGRESS, is_office, "the rectification office",
            input_guards=(need_reason,), params=(REASON,), effect=effects.back_to_work, tone="danger",
            notice=Notice("sign_off_rejected", N_("不予销号：整改措施 {id}"),
                          N_("整改措施 {id} 不予销号，原因：{reason}"), ("owner", "leader"))),
    Trigger("reopen", N_("重新整改"), (CLOSED,), IN_PROGRESS, is_office_or_inspector,
            "the rectification office or an inspector", input_guards=(need_reason, reopen_category),
            params=(Param("category", "choice", N_("类别"), required=True, choices=REOPEN_CATEGORIES, vocab="reopen"), REASON),
            effect=effects.reopen, tone="danger",
            notice=Notice("reopened", N_("重新整改：整改措施 {id}"),
                          N_("整改措施 {id} 需重新整改，原因：{reason}"), ("owner", "leader"))),
    Trigger("recheck", N_("巩固复查"), (CLOSED,), "=", is_office, "the rectification office",
            state_guards=(long_term_only,), params=(_opinion(N_("复查情况")),)),
    Trigger("reassign", N_("改派"), WORK_STATES, "=", is_office, "the rectification office",
            input_guards=(reassign_target,),
            params=(Param("owner", "user", N_("新责任人"), max_length=80, role="owner"),
                    Param("unit", "unit", N_("新责任单位"), max_length=200),
                    Param("leader", "user", N_("新责任领导"), max_length=80, role="leader"), _opinion()),
            effect=effects.reassign,
            notice=Notice("assigned", N_("改派：整改措施 {id}"), N_("整改措施 {id} 已改派，请及时开始整改。"),
                          ("owner", "leader"))),
    # recorded events: the same audit guarantees, no state change
    Trigger("comment", N_("评论"), STATES, None, takes_part, "anyone with a part in the measure",
            input_guards=(need_comment,),
            params=(Param("comment", "text", N_("内容"), required=True, max_length=20000),), evidence=True),
    Trigger("progress_update", N_("进展报告"), WORK_STATES, None, is_owner_or_unit_member,
            "the owner or a member of the owning unit", input_guards=(need_comment,),
            params=(Param("comment", "text", N_("本周进展"), required=True, max_length=20000),), evidence=True),
    Trigger("urge", N_("催办"), OPEN_STATES, None, is_supervisor_office_or_leader,
            "a supervisor, the office or the responsible leader", params=(_opinion(),), effect=effects.urge,
            notice=Notice("urged", N_("催办：整改措施 {id}"),
                          N_("{actor} 催办整改措施 {id}（完成时限 {deadline}）。{comment}"), ("owner", "unit_heads"))),
    Trigger("request_extension", N_("申请延期"), WORK_STATES, None, is_owner, "the owner",
            state_guards=(no_pending_extension,), input_guards=(need_reason, new_deadline_guard),
            params=(Param("new_deadline", "date", N_("申请延至"), required=True), REASON),
            effect=effects.request_extension,
            notice=Notice("extension_requested", N_("延期申请：整改措施 {id}"),
                          N_("{actor} 申请将整改措施 {id} 的完成时限延至 {new_deadline}，理由：{reason}"), ("leader",))),
    Trigger("grant_extension", N_("同意延期"), WORK_STATES, None, is_leader,
            "the responsible leader or their delegate", state_guards=(pending_extension,),
            params=(_opinion(),), effect=effects.decide_extension(True), tone="good",
            notice=Notice("extension_granted", N_("同意延期：整改措施 {id}"),
                          N_("整改措施 {id} 的完成时限已延至 {new_deadline}。"), ("owner",))),
    Trigger("deny_extension", N_("不同意延期"), WORK_STATES, None, is_leader,
            "the responsible leader or their delegate", state_guards=(pending_extension,),
            input_guards=(need_reason,), params=(REASON,), effect=effects.decide_extension(False), tone="danger",
            notice=Notice("extension_denied", N_("不同意延期：整改措施 {id}"),
                          N_("整改措施 {id} 的延期申请未获同意，原因：{reason}"), ("owner",))),
    Trigger("reply_order", N_("回复督办"), OPEN_STATES, None, is_responsible,
            "the owner, the owning unit or the responsible leader", state_guards=(under_order,),
            input_guards=(need_comment,),
            params=(Param("comment", "text", N_("回复内容"), required=True, max_length=20000),), evidence=True,
            effect=effects.reply_order,
            notice=Notice("order_replied", N_("督办回复：整改措施 {id}"),
                          N_("{actor} 回复了督办单 {order_no}：{comment}"), ("office", "supervisors"))),
    Trigger("report_finding", N_("报告自查结论"), WORK_STATES, None, is_owner_or_unit_member,
            "the owner or a member of the owning unit", state_guards=(self_check_only,),
            input_guards=(need_finding, need_comment),
            params=(Param("finding", "choice", N_("自查结论"), required=True, choices=FINDINGS, vocab="finding"),
                    Param("comment", "text", N_("自查情况"), required=True, max_length=20000)), evidence=True,
            effect=effects.report_finding, on_connection=True,
            notice=Notice("finding_reported", N_("自查结论：整改措施 {id}"),
                          N_("{actor} 报告了自查结论：{finding}。{comment}"), ("office",))),
    Trigger("escalate", N_("督办"), OPEN_STATES, None, is_system, "the scheduler", public=False),
)}

STATE_TRIGGERS = tuple(n for n, t in TRIGGERS.items() if t.changes_state)
EVENT_TRIGGERS = tuple(n for n, t in TRIGGERS.items() if not t.changes_state)
# what a person may fire from the CLI or API (escalate belongs to the scheduler)
PUBLIC_TRIGGERS = tuple(n for n, t in TRIGGERS.items() if t.public)
# every parameter any trigger takes, by name (the API's body schema and the CLI options)
PARAMS: dict[str, Param] = {}
for _t in TRIGGERS.values():
    for _p in _t.params:
        PARAMS.setdefault(_p.name, _p)


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


def _machine_destination(trigger: str, state: str) -> str:
    event = MACHINE.events.get(trigger)
    if event is None:
        raise Refused("unknown_trigger", f"unknown trigger {trigger!r}")
    cursor = _Cursor(state)
    try:
        event.trigger(cursor)
    except MachineError:
        raise Refused("wrong_state", f"{trigger} is not allowed from state {state}") from None
    return cursor.state


# (trigger, state) → destination, asked of the machine once per pair at import: the hot path reads this
_DESTINATIONS = {(t, s): _machine_destination(t, s) for t in STATE_TRIGGERS for s in TRIGGERS[t].sources}


def destination(trigger: str, state: str) -> str:
    """Where ``trigger`` takes a measure in ``state``, as the machine decides; raises Refused."""
    dest = _DESTINATIONS.get((trigger, state))
    if dest is None:
        return _machine_destination(trigger, state)
    return dest


def check(trigger: str, ctx: Ctx) -> str:
    """Check every rule for ``trigger`` in ``ctx``; return the destination state.

    Raises :class:`Refused` naming the first rule that refuses: the state, then who may fire it,
    then its state guards, then its input guards (evidence is accepted only by triggers that take
    it, before approval).
    """
    spec = TRIGGERS.get(trigger)
    if spec is None:
        raise Refused("unknown_trigger", f"unknown trigger {trigger!r}")
    state = ctx.measure.state
    if state not in spec.sources:
        raise Refused("wrong_state", f"{trigger} is not allowed from state {state}")
    if not spec.who(ctx):
        raise Refused("not_permitted", f"{trigger} may be fired only by {spec.who_text}")
    for guard in spec.state_guards:
        refusal = guard(ctx)
        if refusal:
            raise Refused(*refusal)
    if ctx.new_evidence and not (spec.evidence and state in EVIDENCE_STATES):
        raise Refused("evidence_not_accepted", f"{trigger} takes no evidence files in state {state}")
    for guard in spec.input_guards:
        refusal = guard(ctx)
        if refusal:
            raise Refused(*refusal)
    if spec.changes_state:
        return destination(trigger, state)
    return state


def may_offer(trigger: str, ctx: Ctx) -> bool:
    """True when ``trigger`` passes its state, role and state guards (input is not looked at)."""
    spec = TRIGGERS[trigger]
    if ctx.measure.state not in spec.sources or not spec.who(ctx):
        return False
    return not any(guard(ctx) for guard in spec.state_guards)


def allowed_triggers(ctx_for: Callable[[str], Ctx], names: Iterable[str] = PUBLIC_TRIGGERS) -> list[str]:
    """The triggers whose state, role and state guards pass (input guards are checked when firing)."""
    return [name for name in names if may_offer(name, ctx_for(name))]


def inputs(trigger: str, comment: str = "", reason: str = "", params: dict | None = None) -> dict:
    """What a caller gave for ``trigger``, checked against the parameters it takes.

    Returns ``{comment, reason, params}`` with empty values dropped; a value for a parameter the
    trigger does not take, or longer than its limit, or not one of its choices, is refused as
    ``invalid_input`` naming it (the API, the CLI and the pages all come through here); typed
    text is checked and cleaned by :func:`workflow.text.clean` (no control, direction-changing or
    only invisible characters).
    """
    spec = TRIGGERS.get(trigger)
    if spec is None:
        raise Refused("unknown_trigger", f"unknown trigger {trigger!r}")
    given = {"comment": comment or "", "reason": reason or "", **{k: v for k, v in (params or {}).items()}}
    out: dict = {"comment": "", "reason": "", "params": {}}
    for name, value in given.items():
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        p = spec.param(name)
        if p is None:
            raise Refused("invalid_input", f"{trigger} takes no {name}")
        if isinstance(value, str):  # the one check of typed text (see workflow.text)
            value = text.clean(value, name, p.max_length)
        if p.choices and value not in p.choices:
            raise Refused("invalid_input", f"{name}: one of {', '.join(p.choices)}")
        if name in ("comment", "reason"):
            out[name] = value
        else:
            out["params"][name] = value.isoformat() if isinstance(value, dt.date) else value
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
