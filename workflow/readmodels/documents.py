"""Supervision orders (督办单) as a person may read them: only those of measures they may see.

The order is addressed to the measure's responsible unit, person and leader, so they read it as the
office and the supervisors do; anyone else is told there is no such order (as for a measure).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.engine import Engine

from .. import db, orders, spec
from ..errors import NotFound
from ..models import Measure
from .scope import scope

M = Measure.__table__


def supervision_orders(actor: spec.Actor, engine: Engine | None = None) -> list[dict]:
    """Every order of a measure ``actor`` may see, newest first (see :func:`workflow.orders.orders`)."""
    rows = orders.orders(engine)
    ids = {r["measure_id"] for r in rows}
    if not ids:
        return []
    with db.read_tx(engine) as conn:
        visible = set(conn.execute(select(M.c.id).where(M.c.id.in_(sorted(ids)), scope(actor))).scalars())
    return [r for r in rows if r["measure_id"] in visible]


def supervision_order(actor: spec.Actor, order_no: str, *, now: dt.datetime, engine: Engine | None = None) -> dict:
    """One order (see :func:`workflow.orders.order`) if ``actor`` may see its measure; else NotFound."""
    o = orders.order(order_no, now=now, engine=engine)
    with db.read_tx(engine) as conn:
        if conn.execute(select(M.c.id).where(M.c.id == o["measure_id"], scope(actor))).first() is None:
            raise NotFound(f"no such supervision order: {order_no}")
    return o
