"""The effects of the lifecycle's triggers on a measure: what firing one writes.

Each effect is a small function ``effect(ctx, now, store, change)`` named in the trigger's
declaration (:data:`workflow.spec.TRIGGERS`). It reads the :class:`workflow.spec.Ctx`, asks the
:class:`Store` for the few things only the database knows, and fills in the :class:`Change` that
the command writes in its transaction. Pure apart from the store; no clock (``now`` is given).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .spec import Ctx


class Refused(Exception):
    """A trigger was refused; ``rule`` names the rule that refused it."""

    def __init__(self, rule: str, message: str):
        super().__init__(message)
        self.rule = rule
        self.message = message

    def __str__(self) -> str:
        return f"{self.rule}: {self.message}"


def parse_date(value) -> dt.date:
    """A date given as ``date`` or ISO text; :class:`Refused` ``invalid_input`` otherwise."""
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise Refused("invalid_input", f"not a date (YYYY-MM-DD): {value}") from None



class Store(Protocol):
    """The lookups an effect may need, answered by the command inside its transaction."""

    def evidence_seen(self) -> list[str]: ...

    def person(self, username: str, role: str | None) -> int: ...

    def unit(self, name: str) -> int: ...

    def open_extension(self, new_deadline: dt.date, reason: str) -> None: ...

    def decide_extension(self, granted: bool) -> dt.date: ...

    def latest_order(self) -> str | None: ...

    def record_finding(self, finding: str, account: str) -> int | None: ...


@dataclass
class Change:
    """What firing writes: columns of the measure (``values``) and the audit event's data (``body``)."""

    values: dict = field(default_factory=dict)
    body: dict = field(default_factory=dict)


Effect = Callable[["Ctx", dt.datetime, "Store", "Change"], None]


def submit(ctx: Ctx, now: dt.datetime, store: Store, ch: Change) -> None:
    ch.values.update(account=ctx.comment, submitter_id=ctx.actor.id, submitted_at=now, approver_id=None)


def approve(ctx: Ctx, now: dt.datetime, store: Store, ch: Change) -> None:
    ch.body["evidence_seen"] = store.evidence_seen()
    ch.body["account_seen"] = ctx.measure.account or ""
    ch.values["approver_id"] = ctx.actor.id


def sign_off(ctx: Ctx, now: dt.datetime, store: Store, ch: Change) -> None:
    ch.values.update(closed_at=now, light="done", level=-1)


def back_to_work(ctx: Ctx, now: dt.datetime, store: Store, ch: Change) -> None:
    ch.values.update(closed_at=None, approver_id=None)


def reopen(ctx: Ctx, now: dt.datetime, store: Store, ch: Change) -> None:
    ch.values.update(closed_at=None, approver_id=None, reopen_count=ctx.measure.reopen_count + 1, light="green",
                     level=-1)
    ch.body["category"] = ctx.params["category"]


def reassign(ctx: Ctx, now: dt.datetime, store: Store, ch: Change) -> None:
    p = ctx.params
    if p.get("owner"):
        ch.values["owner_id"] = store.person(p["owner"], "owner")
        ch.body["owner"] = p["owner"]
    if p.get("leader"):
        ch.values["leader_id"] = store.person(p["leader"], "leader")
        ch.body["leader"] = p["leader"]
    if p.get("unit"):
        ch.values["unit_id"] = store.unit(p["unit"])
        ch.body["unit"] = p["unit"]


def request_extension(ctx: Ctx, now: dt.datetime, store: Store, ch: Change) -> None:
    new = parse_date(ctx.params["new_deadline"])
    store.open_extension(new, ctx.reason)
    ch.values["pending_extension"] = True
    ch.body["new_deadline"] = new.isoformat()


def decide_extension(granted: bool) -> Effect:
    """grant_extension (True) or deny_extension (False)."""
    def effect(ctx: Ctx, now: dt.datetime, store: Store, ch: Change) -> None:
        new = store.decide_extension(granted)
        ch.values["pending_extension"] = False
        ch.body["new_deadline"] = new.isoformat()
        if granted:
            ch.values["deadline"] = new
            if ctx.measure.deadline_original is None:
                ch.values["deadline_original"] = ctx.measure.deadline
    return effect


def urge(ctx: Ctx, now: dt.datetime, store: Store, ch: Change) -> None:
    ch.body["deadline"] = ctx.measure.deadline.isoformat() if ctx.measure.deadline else None


def reply_order(ctx: Ctx, now: dt.datetime, store: Store, ch: Change) -> None:
    order_no = store.latest_order()
    if order_no is None:
        raise Refused("no_order", "the measure has no supervision order (督办单) to answer")
    ch.body["order_no"] = order_no


def report_finding(ctx: Ctx, now: dt.datetime, store: Store, ch: Change) -> None:
    """A self-check's answer; 存在 (exists) starts a measure of its own under the same problem."""
    finding = ctx.params["finding"]
    ch.values["finding"] = finding
    ch.body["finding"] = finding
    found = store.record_finding(finding, ctx.comment)
    if found is not None:
        ch.body["measure_started"] = found
