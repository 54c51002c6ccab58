"""Shared fixtures: a fresh SQLite file per test, and PostgreSQL where asked for.

PostgreSQL comes from ``RECTIFY_TEST_PG_URL`` when set (a superuser URL on a throwaway server);
otherwise a private cluster is started for the session (see ``tests/pg.py``). Each test that
asks for it gets its own database, copied from a migrated template and brought to the newest
migration with ``init_db``. Without any PostgreSQL the postgres tests fail under CI (``CI=true``)
and are skipped, with the reason, elsewhere.

``engine`` is parametrized over ``sqlite`` and ``postgres``: an integration test that takes it
runs on both. Either way ``RECTIFY_DATABASE_URL`` and ``RECTIFY_INSTANCE`` point at the test's
database and folder, so ``db.get_engine()`` and ``rectify`` subprocesses see the same data.
"""
from __future__ import annotations

import os
import shutil
import struct
import zlib

import pytest

from tests import pg
from workflow import db, passwords


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashing():
    """Real argon2id, but with test-sized cost: the default costs ~0.3 s per hash, and the
    factory hashes ten passwords per test. Verification reads the cost from each hash, so
    hashes made with the default parameters still verify."""
    from argon2 import PasswordHasher



    real = passwords._HASHER
    passwords._HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    passwords._HASHER = real


@pytest.fixture
def instance(tmp_path, monkeypatch):
    """A private instance folder: its own database file and evidence store."""
    monkeypatch.setenv("RECTIFY_INSTANCE", str(tmp_path))
    monkeypatch.delenv("RECTIFY_EVIDENCE_DIR", raising=False)
    url = f"sqlite:///{tmp_path / 'rectify.db'}"
    monkeypatch.setenv("RECTIFY_DATABASE_URL", url)
    yield tmp_path
    db.reset_engines()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory):
    """A SQLite file migrated once per session; each test starts from a copy of it."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    url = f"sqlite:///{path}"
    db.init_db(url)
    db.get_engine(url).dispose()  # the last connection closes: the WAL is folded in and removed
    return path


@pytest.fixture
def sqlite_engine(instance, _sqlite_template):
    """A migrated SQLite database in the test's instance folder (``RECTIFY_DATABASE_URL``)."""
    shutil.copyfile(_sqlite_template, instance / "rectify.db")
    db.init_db()  # already at the newest migration: a cheap, idempotent check
    return db.get_engine()


# --- PostgreSQL --------------------------------------------------------------------

@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """A test that uses a PostgreSQL fixture is a ``postgres`` test, marked or not."""
    for item in items:
        if "pg_server" in getattr(item, "fixturenames", ()) and item.get_closest_marker("postgres") is None:
            item.add_marker(pytest.mark.postgres)


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _unavailable(reason: str):
    if _in_ci():
        pytest.fail(f"PostgreSQL is required in CI: {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL not available: {reason}")


@pytest.fixture(scope="session")
def pg_server():
    """A superuser URL of a PostgreSQL server for this session (external or private)."""
    url = os.environ.get(pg.ENV_URL)
    if url:
        url = pg.psycopg_url(url)
        try:
            pg.wait_ready(url, timeout=30)
        except pg.PgUnavailable as e:
            _unavailable(str(e))
        yield url
        return
    if pg.bin_dir() is None:
        _unavailable(f"{pg.ENV_URL} is not set and no PostgreSQL binaries were found "
                     "(/usr/lib/postgresql/*/bin); install the 'postgresql' package")
    try:
        cluster = pg.Cluster()
        url = cluster.start()
        pg.wait_ready(url)
    except pg.PgUnavailable as e:
        _unavailable(str(e))
    try:
        yield url
    finally:
        cluster.stop(remove=True)


@pytest.fixture(scope="session")
def pg_template(pg_server):
    """A database migrated to the newest schema, copied for each test (fast CREATE DATABASE)."""
    url = pg.create_database(pg_server, prefix="rectify_tpl")
    try:
        db.init_db(url)
    finally:
        db.reset_engines()  # a template must have no open connections
    name = url.rsplit("/", 1)[1]
    yield name
    pg.drop_database(pg_server, url)


@pytest.fixture
def pg_url(instance, pg_server, pg_template, monkeypatch):
    """A fresh, migrated PostgreSQL database for one test; RECTIFY_DATABASE_URL points at it."""
    url = pg.create_database(pg_server, template=pg_template)
    monkeypatch.setenv("RECTIFY_DATABASE_URL", url)
    try:
        db.init_db(url)
        yield url
    finally:
        db.reset_engines()
        pg.drop_database(pg_server, url)


@pytest.fixture
def pg_engine(pg_url):
    return db.get_engine(pg_url)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request):
    """The test's database engine, on SQLite and on PostgreSQL; the schema is in place."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_engine")
    return request.getfixturevalue("pg_engine")


# --- small real files --------------------------------------------------------------

def png_bytes(seed: int = 0) -> bytes:
    """A valid 1×1 PNG whose pixel (and so whose sha256) depends on ``seed``."""
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    r, g, b = seed & 0xFF, (seed >> 8) & 0xFF, (seed >> 16) & 0xFF
    raw = b"\x00" + bytes([r, g, b])
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


@pytest.fixture
def make_png():
    """Call with a seed to get the bytes of a distinct small PNG."""
    return png_bytes
