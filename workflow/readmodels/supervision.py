"""督办: the escalations the scheduler wrote, joined to their measures, within what the actor sees."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, select

from .. import db, spec, workdays
from ..models import Escalation, Measure
from ..paging import Page, paginate
from .measures import row_dict, selectable
from .scope import scope

M = Measure.__table__
E = Escalation.__table__


@dataclass(frozen=True)
class EscalationPage(Page):
    """A page of escalations, with how many there are at each level (for the tabs)."""

    counts: dict = field(default_factory=dict)


def escalations(actor: spec.Actor, *, now: dt.datetime, level: int | None = None, open_only: bool = True,
                page: int = 1, per_page: int = 50, engine=None) -> EscalationPage:
    """Escalations written by the scheduler, joined to their measures (newest first)."""
    today = workdays.local_today(now)
    still_open = [M.c.state != spec.CLOSED] if open_only else []
    with db.read_tx(engine) as conn:
        q = (selectable(actor)
             .add_columns(E.c.id.label("esc_id"), E.c.level.label("esc_level"), E.c.deadline.label("esc_deadline"),
                          E.c.created_at.label("esc_at"), E.c.order_no)
             .join(E, E.c.measure_id == M.c.id).where(*still_open))
        narrow = select(E.c.id).join(M, M.c.id == E.c.measure_id).where(scope(actor), *still_open)
        if level is not None:
            q = q.where(E.c.level == level)
            narrow = narrow.where(E.c.level == level)
        rows = paginate(conn, q, [E.c.created_at.desc(), E.c.id.desc()], page, per_page, key=E.c.id, narrow=narrow)
        counts = dict(conn.execute(
            select(E.c.level, func.count()).join(M, M.c.id == E.c.measure_id)
            .where(scope(actor), *still_open).group_by(E.c.level)).all())
    return rows.map(lambda r: row_dict(r, today)).extend(EscalationPage, counts=counts)
