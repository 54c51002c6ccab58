"""Bugs found by attacking the hot path, the tallies, the export and the migrations (each with its fix)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from tests import factory
from workflow import commands, db, planwriter
from workflow.errors import NotFound


def _tie_office_to_another_target(engine) -> None:
    with db.write_tx(engine) as conn:
        planwriter.inspection(conn, "另一巡察组", "西城区", "special", feedback_date=dt.date(2026, 10, 11),
                              rect_start=dt.date(2026, 10, 11), rect_end=dt.date(2027, 1, 11))
        tid = conn.execute(text("SELECT id FROM targets WHERE name = '西城区'")).scalar_one()
        conn.execute(text("UPDATE users SET target_id = :t WHERE username = 'office1'"), {"t": tid})


@pytest.mark.parametrize("joined", [False, True])
def test_an_office_tied_to_another_target_cannot_fire_on_a_measure_it_may_not_see(engine, joined):
    ids = factory.build(engine, measures=1)
    mid = ids["measures"][0]
    commands.fire(mid, "start", "owner1", now=factory.NOW, engine=engine)
    _tie_office_to_another_target(engine)
    with pytest.raises(NotFound):
        if joined:
            with db.write_tx(engine) as conn:
                commands.fire(mid, "urge", "office1", now=factory.NOW, conn=conn)
        else:
            commands.fire(mid, "urge", "office1", now=factory.NOW, engine=engine)
    with db.read_tx(engine) as conn:
        assert conn.execute(text("SELECT count(*) FROM events WHERE kind = 'urge'")).scalar_one() == 0
