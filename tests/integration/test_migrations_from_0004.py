"""A database at revision 0004 with rows in it, brought to head by the application and back down to 0004."""
from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import create_engine, text

from workflow import db

ROWS = [
    "INSERT INTO org_units (id, name, kind, webhook_format) VALUES (1, '水利局', 'dept', 'json')",
    "INSERT INTO users (id, username, name, active, locale, unit_id) VALUES (1, 'owner1', 'O', true, 'zh', 1)",
    "INSERT INTO users (id, username, name, active, locale) VALUES (2, 'leader1', 'L', true, 'zh')",
    "INSERT INTO users (id, username, name, active, locale) VALUES (3, 'system', 'S', true, 'zh')",
    "INSERT INTO user_roles (user_id, role) VALUES (1, 'owner')",
    "INSERT INTO user_roles (user_id, role) VALUES (2, 'leader')",
    "INSERT INTO api_tokens (id, user_id, token_hash, created_at, revoked) VALUES (1, 1, 'abc', '2026-01-01 00:00:00', false)",
    "INSERT INTO inspections (id, body, target, kind) VALUES (1, '巡察组', '东城区', 'special')",
    "INSERT INTO inspections (id, body, target, kind) VALUES (2, '巡察组2', '东城区', 'special')",
    "INSERT INTO inspections (id, body, target, kind) VALUES (3, '巡察组3', '（未注明）', 'special')",
    "INSERT INTO plans (id, inspection_id, title, evidence_waived) VALUES (1, 1, 'P', false)",
    "INSERT INTO plans (id, inspection_id, title, evidence_waived) VALUES (2, 2, 'P2', false)",
    "INSERT INTO parts (id, plan_id, no, title) VALUES (1, 1, 1, 'part')",
    "INSERT INTO problems (id, plan_id, part_id, no, text) VALUES (1, 1, 1, 1, 'prob')",
]
STATES = ["assigned", "in_progress", "submitted", "verified", "closed"]


def _data(conn):
    for s in ROWS:
        conn.execute(text(s))
    for i, st in enumerate(STATES, start=1):
        conn.execute(text(
            "INSERT INTO measures (id, problem_id, seq, text, kind, state, version, reopen_count, evidence_count, "
            "pending_extension, light, level, head_seq, head_hash, owner_id, unit_id, leader_id, deadline, closed_at) "
            "VALUES (:i, 1, :i, 'm', 'time_bound', :s, 1, 0, 0, false, 'green', -1, 0, :h, 1, 1, 2, '2026-06-30', :c)"),
            {"i": i, "s": st, "h": "0" * 64, "c": "2026-07-05 00:00:00" if st == "closed" else None})
    conn.execute(text("INSERT INTO events (measure_id, seq, kind, actor, body, at, prev_hash, hash) VALUES "
                      "(4, 1, 'approve', 'leader1', '{}', '2026-05-01 00:00:00', :g, :h)"), {"g": "0" * 64, "h": "1" * 64})
    for n, mid in ((1, 2), (2, 3), (3, 4)):
        conn.execute(text("INSERT INTO escalations (measure_id, level, deadline, created_at, order_no) VALUES "
                          "(:m, 3, '2026-06-30', '2026-07-01 00:00:00', :o)"), {"m": mid, "o": f"DB-2026-{n:04d}"})


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_database_at_0004_with_rows_in_it_upgrades_to_head_and_downgrades_again(backend, request, tmp_path):
    if backend == "sqlite":
        request.getfixturevalue("instance")
        url = f"sqlite:///{tmp_path / 'old.db'}"
    else:
        url = request.getfixturevalue("pg_url")
        with create_engine(url).begin() as c:  # an empty database instead of the migrated copy
            c.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        create_engine(url).dispose()
        db.reset_engines()
    command.upgrade(db.alembic_config(url), "0004")
    engine = db.get_engine(url)
    with engine.begin() as conn:
        _data(conn)
    db.init_db(url)  # what `rectify init-db` and a restore of an old archive run
    with engine.connect() as conn:
        assert conn.execute(text("SELECT year, last FROM order_counters")).all() == [(2026, 3)]
        assert conn.execute(text("SELECT approver_id FROM measures WHERE id = 4")).scalar() == 2
        assert conn.execute(text("SELECT id, target_id, round_no FROM inspections ORDER BY id")).all() == [
            (1, 1, 1), (2, 1, 2), (3, None, None)]
        assert conn.execute(text("SELECT count(*) FROM api_tokens WHERE expires_at IS NOT NULL")).scalar() == 1
        assert conn.execute(text("SELECT sum(n) FROM unit_tallies")).scalar() == 5
    from workflow import escalation
    with db.write_tx(engine) as conn:
        assert escalation.next_order_no(conn, 2026) == "DB-2026-0004"
    db.reset_engines()
    command.downgrade(db.alembic_config(url), "0004")
    with create_engine(url).connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM measures")).scalar() == 5
        assert conn.execute(text("SELECT count(*) FROM escalations")).scalar() == 3
    db.init_db(url)
