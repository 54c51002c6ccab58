"""Shared pieces of the benchmarks that build big databases directly with ``sqlite3``."""
from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence

MEASURE_COLUMNS = ("id", "problem_id", "seq", "text", "kind", "leader_id", "unit_id", "owner_id",
                   "deadline_original", "deadline", "state", "version", "reopen_count", "evidence_count",
                   "pending_extension", "light", "level", "head_seq", "head_hash", "created_at", "closed_at",
                   "submitted_at")
EVENT_COLUMNS = ("measure_id", "seq", "kind", "actor", "from_state", "to_state", "body", "at", "prev_hash", "hash")


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
