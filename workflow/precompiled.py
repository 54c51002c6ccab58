"""SQLAlchemy Core statements compiled once per dialect and run on the driver's own cursor.

The hot path (:func:`workflow.commands.fire`) runs a handful of statements per command. Each is
built with SQLAlchemy Core, compiled once for the connection's dialect, and then executed on the
DB-API cursor of the connection that holds the caller's SQLAlchemy transaction: the same
transaction, without SQLAlchemy's per-statement work (cache key, execution context, result
wrapping). Parameters still go through the dialect's bind processors (SQLite's dates and
booleans) and results through its result processors, so values read and written are exactly what
SQLAlchemy itself would read and write. Everything else in the project stays on SQLAlchemy.
"""
from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Iterable, Sequence
from typing import Any, cast

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql import ClauseElement, sqltypes
from sqlalchemy.sql.compiler import SQLCompiler

Processor = Callable[[Any], Any] | None


def _last_one(proc: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``proc`` remembering its last answer: a command binds the same instant to several columns and rows.

    The memory is one tuple, replaced whole, so threads sharing a statement never mix two answers."""
    memo: list[tuple] = [(None, None, None)]

    def process(value):
        cls, seen, out = memo[0]
        if value.__class__ is cls and value == seen:
            return out
        out = proc(value)
        memo[0] = (value.__class__, value, out)
        return out
    return process


_PROCESSORS: dict[tuple, Processor] = {}


def _processor(type_, dialect: Dialect) -> Processor:
    """The dialect's bind processor of ``type_``. Dates and times share one remembering instance per
    dialect and class (statements share it: the instant a command writes is converted once)."""
    impl = type_.dialect_impl(dialect)
    if not isinstance(impl, (sqltypes.Date, sqltypes.DateTime)):
        return impl.bind_processor(dialect)
    key = (dialect.name, impl.__class__)
    if key not in _PROCESSORS:
        proc = impl.bind_processor(dialect)
        _PROCESSORS[key] = _last_one(proc) if proc is not None else None
    return _PROCESSORS[key]


def _binder(binds: list[tuple[str, Processor, Any]], positional: bool) -> Callable[[dict], tuple | dict]:
    """A function from ``{bind name: value}`` to the driver's parameters, written out once per statement
    (one expression per bind: the value, its default, its processor), so binding costs no loop."""
    env: dict[str, Any] = {}
    exprs = []
    for i, (name, proc, default) in enumerate(binds):
        env[f"d{i}"] = default
        if proc is None:
            exprs.append(f"g({name!r}, d{i})")
        else:
            env[f"p{i}"] = proc
            exprs.append(f"(None if (x{i} := g({name!r}, d{i})) is None else p{i}(x{i}))")
    if positional:
        body = "(" + "".join(f"{e}, " for e in exprs) + ")"
    else:
        body = "{" + ", ".join(f"{name!r}: {e}" for (name, _p, _d), e in zip(binds, exprs)) + "}"
    namespace: dict[str, Any] = {}
    exec(f"def params(values):\n    g = values.get\n    return {body}\n", env, namespace)
    return namespace["params"]


class Compiled:
    """One statement compiled for one dialect: its SQL text, how to bind, how to read rows."""

    __slots__ = ("sql", "binds", "positional", "row", "readers", "params")

    def __init__(self, stmt: ClauseElement, dialect: Dialect, column_keys: Sequence[str] | None = None):
        c = cast(SQLCompiler, stmt.compile(dialect=dialect,
                                          column_keys=list(column_keys) if column_keys is not None else None))
        self.sql: str = c.string
        self.positional: bool = bool(c.positional)
        names = list(c.positiontup or ()) if self.positional else list(c.binds)
        # (name, processor, default): a bind without a value given takes the one the statement holds
        self.binds: list[tuple[str, Processor, Any]] = []
        for name in names:
            bp = c.binds[name]
            self.binds.append((name, _processor(bp.type, dialect), bp.value))
        # params(values): the driver's parameters for ``values`` (by bind name), through the bind processors
        self.params: Callable[[dict], tuple | dict] = _binder(self.binds, self.positional)
        self.row: Any = None
        self.readers: list[Processor] = []
        selected = getattr(stmt, "selected_columns", None)
        if selected is not None:
            keys = list(selected.keys())
            self.row = namedtuple("Row", keys, rename=True)  # type: ignore[misc]
            self.readers = [col.type.dialect_impl(dialect).result_processor(dialect, None) for col in selected]

    def read(self, raw: Sequence) -> Any:
        """One driver row as a named tuple, through the result processors."""
        return self.row._make([r(v) if r is not None and v is not None else v for r, v in zip(self.readers, raw)])


class Statements:
    """Statements built lazily by a factory and compiled once per (dialect, name, column keys)."""

    def __init__(self):
        self._factories: dict[str, tuple[Callable[[str], ClauseElement], tuple[str, ...] | None]] = {}
        self._compiled: dict[tuple, Compiled] = {}

    def define(self, name: str, factory: Callable[[str], ClauseElement],
               column_keys: Sequence[str] | None = None) -> None:
        """``factory(dialect_name)`` builds the statement (some differ by dialect, FOR UPDATE say);
        ``column_keys``: the columns an INSERT or UPDATE sets, unless a call names its own."""
        self._factories[name] = (factory, tuple(column_keys) if column_keys is not None else None)

    def get(self, dialect: Dialect, name: str, column_keys: tuple[str, ...] | None = None) -> Compiled:
        key = (dialect.name, name, column_keys)
        c = self._compiled.get(key)
        if c is None:
            factory, default_keys = self._factories[name]
            keys = column_keys if column_keys is not None else default_keys
            c = self._compiled[key] = Compiled(factory(dialect.name), dialect, keys)
        return c


class Cursor:
    """A driver cursor inside a transaction, running :class:`Compiled` statements.

    Made from the DB-API connection of a transaction opened by :func:`workflow.db.raw_write_tx`, or
    with :meth:`of` from a SQLAlchemy connection whose transaction the caller holds.
    """

    __slots__ = ("dialect", "cur", "stmts")

    def __init__(self, driver, dialect: Dialect, stmts: Statements):
        self.dialect, self.stmts = dialect, stmts
        self.cur = driver.cursor()

    @classmethod
    def of(cls, conn: Connection, stmts: Statements) -> Cursor:
        """The cursor of ``conn``'s driver connection, in the transaction ``conn`` holds."""
        if not conn.in_transaction():
            raise RuntimeError("precompiled statements run inside the caller's transaction")
        driver = conn.connection.driver_connection
        assert driver is not None  # a checked-out connection always has its driver's
        return cls(driver, conn.dialect, stmts)

    def scalar(self, name: str, values: dict) -> Any:
        """The first column of the first row (or None) of a select."""
        row = self.one(name, values)
        return None if row is None else row[0]

    def execute(self, name: str, values: dict, column_keys: tuple[str, ...] | None = None) -> Compiled:
        c = self.stmts.get(self.dialect, name, column_keys)
        self.cur.execute(c.sql, c.params(values))
        return c

    def one(self, name: str, values: dict) -> Any:
        """The first row (or None) of a select."""
        c = self.execute(name, values)
        raw = self.cur.fetchone()
        return None if raw is None else c.read(raw)

    def all(self, name: str, values: dict) -> list:
        c = self.execute(name, values)
        return [c.read(raw) for raw in self.cur.fetchall()]

    def rowcount(self, name: str, values: dict, column_keys: tuple[str, ...] | None = None) -> int:
        self.execute(name, values, column_keys)
        return self.cur.rowcount

    def many(self, name: str, rows: Iterable[dict]) -> None:
        """One statement over many parameter sets (an INSERT of several rows)."""
        c = self.stmts.get(self.dialect, name)
        self.cur.executemany(c.sql, [c.params(r) for r in rows])

    def close(self) -> None:
        self.cur.close()
