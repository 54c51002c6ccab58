"""Shared pieces of the benchmarks that build big databases directly with ``sqlite3``."""
from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence

MEASURE_COLUMNS = ("id", "problem_id", "seq", "text", "kind", "leader_id", "unit_id", "owner_id",
                   "deadline_original", "deadline", "state", "version", "reopen_count", "evidence_count",
                   "pending_extension", "light", "level", "head_seq", "head_hash", "created_at", "closed_at",
                   "submitted_at")
EVENT_COLUMNS = ("measure_id", "seq", "kind", "actor", "from_state", "to_state", "body", "at", "prev_hash", "hash")
PER_PROBLEM = 50  # measures per problem in the benchmarks' plans


def problem_of(measure_id: int) -> tuple[int, int]:
    """(problem id, seq) of measure ``measure_id`` when every problem has :data:`PER_PROBLEM`."""
    return (measure_id - 1) // PER_PROBLEM + 1, (measure_id - 1) % PER_PROBLEM + 1


def insert_org_and_plan(con: sqlite3.Connection, unit_names: Sequence[str], users: Sequence[tuple],
                        roles: Sequence[tuple], members: Sequence[tuple], total: int) -> None:
    """Units ``1..n``; users ``(id, username, name, unit_id, password_hash)`` with their roles
    ``(user_id, role)`` and memberships ``(user_id, unit_id, is_head)``; then one inspection, plan
    and part with the problems ``total`` measures need."""
    con.executemany("INSERT INTO org_units (id, name, kind, webhook_format) VALUES (?, ?, 'department', 'json')",
                    list(enumerate(unit_names, 1)))
    con.executemany("INSERT INTO users (id, username, name, unit_id, password_hash, active, locale) "
                    "VALUES (?, ?, ?, ?, ?, 1, 'zh')", users)
    con.executemany("INSERT INTO user_roles (user_id, role) VALUES (?, ?)", roles)
    con.executemany("INSERT INTO memberships (user_id, unit_id, is_head) VALUES (?, ?, ?)", members)
    con.execute("INSERT INTO inspections (id, body, target, kind) VALUES (1, '市委巡察组', '某区', 'special')")
    con.execute("INSERT INTO plans (id, inspection_id, title, evidence_waived) VALUES (1, 1, '基准整改方案', 1)")
    con.execute("INSERT INTO parts (id, plan_id, no, title) VALUES (1, 1, 1, '基准')")
    problems = (total + PER_PROBLEM - 1) // PER_PROBLEM
    con.executemany("INSERT INTO problems (id, plan_id, part_id, no, text) VALUES (?, 1, 1, ?, ?)",
                    [(p, p, f"问题{p}") for p in range(1, problems + 1)])


def bulk_connection(path) -> sqlite3.Connection:
    """A connection tuned for one big load (no journal, no syncing), with a transaction open."""
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-200000")
    con.execute("BEGIN")
    return con


def bulk_insert(con: sqlite3.Connection, total: int, rows: Callable[[int, int], tuple[list, list]],
                measure_columns: Sequence[str], chunk: int = 50_000) -> None:
    """Insert measures ``1..total`` and their first events in chunks, then commit and analyse.

    ``rows(start, stop)`` returns (measure tuples in ``measure_columns`` order, event tuples in
    ``EVENT_COLUMNS`` order) for ids ``start..stop-1``. Only one chunk is in memory at a time.
    """
    m_sql = (f"INSERT INTO measures ({', '.join(measure_columns)}) "
             f"VALUES ({', '.join('?' * len(measure_columns))})")
    e_sql = f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) VALUES ({', '.join('?' * len(EVENT_COLUMNS))})"
    for start in range(1, total + 1, chunk):
        measures, events = rows(start, min(start + chunk, total + 1))
        con.executemany(m_sql, measures)
        con.executemany(e_sql, events)
    con.execute("COMMIT")
    con.execute("ANALYZE")
    con.execute("PRAGMA journal_mode=WAL")
