"""Database engine, transactions and schema setup.

The setting ``RECTIFY_DATABASE_URL`` (:mod:`workflow.settings`) picks the database (default: ``instance/rectify.db``, SQLite in WAL
mode). Commands run in :func:`write_tx`: on SQLite that is ``BEGIN IMMEDIATE`` so two processes
never both read a row and then race to write it; on PostgreSQL the version check in each
``UPDATE`` does the same job.
"""
from __future__ import annotations

import weakref
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Connection, Engine

from . import settings

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=10000",
)


def instance_dir() -> Path:
    """The folder for the default database, evidence and generated files (created if missing)."""
    path = settings.get().instance_dir
    path.mkdir(parents=True, exist_ok=True)
    return path


def evidence_dir() -> Path:
    """Where evidence files are kept (created if missing)."""
    path = settings.get().evidence_dir or instance_dir() / "evidence"
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_url() -> str:
    """The configured database, or the SQLite file in the instance folder."""
    return settings.get().database_url or f"sqlite:///{instance_dir() / 'rectify.db'}"


_ENGINES: dict[str, Engine] = {}


def get_engine(url: str | None = None) -> Engine:
    """One engine per URL per process."""
    url = url or database_url()
    engine = _ENGINES.get(url)
    if engine is None:
        engine = _ENGINES[url] = make_engine(url)
    return engine


def reset_engines() -> None:
    for engine in _ENGINES.values():
        engine.dispose()
    _ENGINES.clear()
    _WRITERS.clear()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        from sqlalchemy.engine import make_url

        path = make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 10, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            for pragma in SQLITE_PRAGMAS:
                cur.execute(pragma)
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection):
            # straight to the driver: this runs on every command
            driver = conn.connection.driver_connection
            assert driver is not None  # a checked-out connection always has its driver's
            driver.execute("BEGIN IMMEDIATE" if conn.get_execution_options().get("rectify_write") else "BEGIN")

        return engine
    # a server closes idle connections; recycling them before that costs nothing per checkout,
    # where pre-ping costs a round trip on every command
    return create_engine(url, pool_recycle=POOL_RECYCLE_S)


POOL_RECYCLE_S = 1800


def ping(engine: Engine | None = None) -> None:
    """Raise unless the database answers ``SELECT 1`` (the health check)."""
    with (engine or get_engine()).connect() as conn:
        conn.execute(text("SELECT 1"))


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


_ONCE: dict[tuple, object] = {}


def _insert_once_stmt(dialect: str, table, keys: tuple[str, ...]):
    stmt = _ONCE.get((dialect, table.name, keys))
    if stmt is None:
        base: Any
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert
            base = pg_insert(table)
        elif dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert
            base = sqlite_insert(table)
        else:  # pragma: no cover - only SQLite and PostgreSQL are supported
            raise RuntimeError(f"unsupported database: {dialect}")
        pk = list(table.primary_key.columns)[0]
        stmt = _ONCE[(dialect, table.name, keys)] = base.on_conflict_do_nothing(index_elements=list(keys)).returning(pk)
    return stmt


def insert_once(conn: Connection, table, values: dict, keys: list[str]) -> bool:
    """INSERT … ON CONFLICT (keys) DO NOTHING; True if this call inserted the row."""
    stmt = _insert_once_stmt(conn.dialect.name, table, tuple(keys))
    return conn.execute(stmt, values).first() is not None


@contextmanager
def write_tx(engine: Engine | None = None, within: Connection | None = None):
    """One write transaction: commit on success, roll back on any error.

    ``within``: a connection whose write transaction the caller already holds (opened by this
    function); the work joins it, and the caller commits or rolls back everything at once.
    """
    if within is not None:
        if not within.in_transaction():
            raise RuntimeError("write_tx(within=...) needs a connection inside a transaction")
        yield within
        return
    writer = _WRITERS.get(engine or get_engine())
    if writer is None:  # the engine with the write option set once, not copied on every command
        engine = engine or get_engine()
        writer = _WRITERS[engine] = engine.execution_options(rectify_write=True)
    with writer.connect() as conn:
        with conn.begin():
            yield conn


_WRITERS: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()


@contextmanager
def raw_write_tx(engine: Engine | None = None):
    """One write transaction on the pool's DB-API connection itself, for the hot path's precompiled
    statements (:mod:`workflow.precompiled`): ``BEGIN IMMEDIATE`` on SQLite as :func:`write_tx` does,
    commit on success, roll back on any error. Yields ``(driver connection, dialect)``."""
    engine = engine or get_engine()
    raw = engine.raw_connection()
    try:
        driver = raw.driver_connection
        assert driver is not None  # a checked-out connection always has its driver's
        if engine.dialect.name == "sqlite":
            driver.execute("BEGIN IMMEDIATE")
        try:
            yield driver, engine.dialect
        except BaseException:
            raw.rollback()
            raise
        raw.commit()
    finally:
        raw.close()


@contextmanager
def read_tx(engine: Engine | None = None):
    engine = engine or get_engine()
    with engine.connect() as conn:
        with conn.begin():
            yield conn


def alembic_config(url: str):
    from alembic.config import Config

    root = Path(__file__).resolve().parent.parent / "migrations"
    cfg = Config()
    cfg.set_main_option("script_location", str(root))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def init_db(url: str | None = None) -> None:
    """Bring the schema to the newest migration (idempotent)."""
    from alembic import command

    url = url or database_url()
    engine = get_engine(url)
    cfg = alembic_config(url)
    with migration_tx(engine) as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


@contextmanager
def migration_tx(engine: Engine):
    """A transaction to run migrations in. On SQLite the connection's foreign keys are enforced again only
    after it (a batch migration copies a table and drops the old one while rows refer to it, which
    ``foreign_keys=ON`` refuses); the result is checked with ``PRAGMA foreign_key_check`` before it commits."""
    with engine.connect() as conn:
        if engine.dialect.name != "sqlite":
            with conn.begin():
                yield conn
            return
        driver = conn.connection.driver_connection
        assert driver is not None  # a checked-out connection always has its driver's
        driver.execute("PRAGMA foreign_keys=OFF")  # outside a transaction, where SQLite honours it
        try:
            with conn.begin():
                yield conn
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").first()
                if broken is not None:
                    raise RuntimeError(f"the migration left a row of {broken[0]} without its {broken[2]} row")
        finally:
            driver.execute("PRAGMA foreign_keys=ON")


def has_schema(engine: Engine) -> bool:
    return inspect(engine).has_table("measures")
