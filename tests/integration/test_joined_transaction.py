"""A command run inside a caller's transaction (``fire(..., conn=)``) commits or rolls back with it."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests import factory
from workflow import commands, db, spec
from workflow.models import Event, Measure


class Undo(Exception):
    pass


def state_and_events(engine, mid):
    with db.read_tx(engine) as conn:
        state = conn.execute(select(Measure.state).where(Measure.id == mid)).scalar_one()
        return state, len(conn.execute(select(Event.seq).where(Event.measure_id == mid)).all())


def test_a_command_inside_a_callers_transaction_is_undone_or_kept_with_it(engine):
    mid = factory.build(engine, measures=1)["measures"][0]
    before = state_and_events(engine, mid)
    with pytest.raises(Undo):
        with db.write_tx(engine) as conn:
            result = commands.fire(mid, "start", "owner1", now=factory.NOW, conn=conn)
            assert result.state == spec.IN_PROGRESS
            raise Undo
    assert state_and_events(engine, mid) == before
    with db.write_tx(engine) as conn:
        commands.fire(mid, "start", "owner1", now=factory.NOW, conn=conn)
    assert state_and_events(engine, mid) == (spec.IN_PROGRESS, before[1] + 1)


def test_joining_needs_a_connection_inside_a_transaction(engine):
    mid = factory.build(engine, measures=1)["measures"][0]
    with engine.connect() as conn:
        with pytest.raises(RuntimeError):
            commands.fire(mid, "start", "owner1", now=factory.NOW, conn=conn)
