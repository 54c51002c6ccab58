"""Leadership among scheduler processes: at most one runs the jobs, a standby takes over.

On PostgreSQL the leader holds a session advisory lock (``pg_try_advisory_lock``) on a dedicated
connection, kept outside the pool; if the process dies or the connection drops, the server frees
the lock. On SQLite the leader holds an exclusive ``flock`` on a file next to the database
(``rectify.db.scheduler.lock``); the kernel frees it when the process dies, however it dies.

A standby polls (:meth:`LeaderLock.acquire` with ``poll`` seconds, default 15) and so takes over
within one poll interval. Leadership is an efficiency measure, not the correctness guarantee: the
unique keys on escalations, digest periods and outbox rows make a second runner harmless.
"""
from __future__ import annotations

import hashlib
import logging
import os
import threading
from pathlib import Path

from sqlalchemy.engine import Connection, Engine

from . import db

log = logging.getLogger(__name__)


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for ``name``."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class LeaderLock:
    """``try_acquire()``, ``still_held()``, ``release()``; also a context manager that waits."""

    def __init__(self, engine: Engine | None = None, name: str = "rectify-scheduler"):
        self.engine = engine or db.get_engine()
        self.name = name
        self._fd: int | None = None
        self._conn: Connection | None = None
        self._mutex = threading.Lock()  # scheduler worker threads share one lock connection
        self.held = False

    # -- where the lock lives
    def lock_path(self) -> Path:
        database = self.engine.url.database
        if database and database != ":memory:":
            return Path(f"{database}.{self.name.removeprefix('rectify-')}.lock")
        return db.instance_dir() / f"{self.name}.lock"

    @property
    def backend(self) -> str:
        return "sqlite-flock" if db.is_sqlite(self.engine) else "pg-advisory"

    # -- the operations
    def try_acquire(self) -> bool:
        """Take leadership if nobody has it; never blocks."""
        if self.held:
            return True
        if db.is_sqlite(self.engine):
            self.held = self._flock()
        else:
            self.held = self._advisory()
        return self.held

    def _flock(self) -> bool:
        import fcntl

        path = self.lock_path()
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def _advisory(self) -> bool:
        from sqlalchemy import text

        conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": lock_key(self.name)}).scalar()
        except Exception:
            conn.close()
            raise
        if not got:
            conn.close()
            return False
        self._conn = conn
        return True

    def still_held(self) -> bool:
        """False once leadership is lost (on PostgreSQL: the lock's connection broke)."""
        with self._mutex:
            return self._still_held()

    def _still_held(self) -> bool:
        if not self.held:
            return False
        if self._conn is not None:
            from sqlalchemy import text

            try:  # a session advisory lock lives exactly as long as its connection
                self._conn.execute(text("SELECT 1"))
            except Exception as e:
                log.warning("leader lock connection lost: %s", e)
                self._drop()
                return False
        return True

    def release(self) -> None:
        with self._mutex:
            self._release()

    def _release(self) -> None:
        if self._fd is not None:
            import fcntl

            try:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            finally:
                os.close(self._fd)
                self._fd = None
        if self._conn is not None:
            from sqlalchemy import text

            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": lock_key(self.name)})
            except Exception:
                pass
            self._drop()
        self.held = False

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.invalidate()
                self._conn.close()
            except Exception:
                pass
            self._conn = None
        self.held = False

    def acquire(self, poll: float = 15.0, stop: threading.Event | None = None, on_wait=None) -> bool:
        """Wait until leadership is ours (True) or ``stop`` is set (False), trying every ``poll`` seconds."""
        stop = stop or threading.Event()
        first = True
        while not stop.is_set():
            if self.try_acquire():
                return True
            if first and on_wait is not None:
                on_wait()
            first = False
            stop.wait(poll)
        return False

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()
