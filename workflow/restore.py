"""Restore: check an archive whole in a scratch database, and only then replace the live one.

The order is what makes a restore safe to try:

1. the archive is unpacked into a temporary folder (only ``manifest.json``, the database member and
   ``evidence/<ab>/<sha256>`` are accepted, no links, no paths out of the folder);
2. the manifest is read (every key it needs, of the right kind) and every member's sha256 and every
   evidence file's bytes are checked;
3. the database is restored into a **scratch database** (SQLite: the unpacked file; PostgreSQL: a new
   database beside the live one, dropped afterwards) and checked there: its integrity (SQLite's
   ``PRAGMA integrity_check``; PostgreSQL: every table read whole and, where the ``amcheck``
   extension is available, every B-tree index checked), its schema revision (one this code knows; an
   older one is migrated forward in the scratch database), ``audit verify`` against the archive's own
   evidence files, the daily checkpoints, the chain of published notices, the chain-heads digest the
   manifest recorded, and that every evidence file the database refers to is in the archive;
4. only then the evidence files are copied in (added, or replacing a damaged file) and the checked
   database is swapped in atomically: SQLite's online backup API writes it into the live file in
   one transaction, PostgreSQL's ``pg_restore --single-transaction --clean`` does the same.

Anything wrong before step 4 raises :class:`workflow.backup.BackupError` naming it, and the live
database and evidence store are as they were.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import sqlite3
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import Engine, make_url

from . import audit, db, publication
from .backup import (
    FORMAT, BackupError, copy_sqlite, libpq_url, pg_bin, run_pg, schema_revision, sha_of, sqlite_file,
)
from .models import Evidence

MANIFEST_KEYS = {"format": str, "dialect": str, "database": str, "heads_digest": str, "chains": int,
                 "events": int, "members": dict, "evidence": list}
DATABASE_MEMBERS = {"sqlite": "db.sqlite", "postgresql": "db.pgdump"}


def _is_sha(name: object) -> bool:
    return isinstance(name, str) and len(name) == 64 and all(c in "0123456789abcdef" for c in name)


def _allowed(name: str) -> bool:
    parts = Path(name).parts
    if name in ("manifest.json", *DATABASE_MEMBERS.values()) or parts == ("evidence",):
        return True
    return (len(parts) >= 2 and parts[0] == "evidence" and len(parts[1]) == 2
            and (len(parts) == 2 or (len(parts) == 3 and _is_sha(parts[2]) and parts[2][:2] == parts[1])))


def _unpack(source: Path, folder: Path) -> None:
    try:
        with tarfile.open(source, "r:gz") as tar:
            members = tar.getmembers()
            for m in members:
                if not (m.isfile() or m.isdir()) or not _allowed(m.name):
                    raise BackupError(f"not a Rectify backup: unexpected member {m.name!r}")
            tar.extractall(folder, members=members, filter="data")
    except (tarfile.TarError, OSError, EOFError) as e:
        raise BackupError(f"not a Rectify backup: {e}") from None


def _manifest(folder: Path, engine: Engine) -> dict:
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise BackupError("not a Rectify backup: manifest.json missing or unreadable") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        got = manifest.get("format") if isinstance(manifest, dict) else None
        raise BackupError(f"unknown backup format: {got!r} (expected {FORMAT})")
    for key, kind in MANIFEST_KEYS.items():
        if not isinstance(manifest.get(key), kind):
            raise BackupError(f"the archive's manifest lacks {key!r} (or it is not a {kind.__name__})")
    if manifest["dialect"] != engine.dialect.name:
        raise BackupError(f"backup is of {manifest['dialect']}, the target is {engine.dialect.name}")
    if manifest["database"] != DATABASE_MEMBERS.get(engine.dialect.name):
        raise BackupError(f"the archive's database member {manifest['database']!r} is not a {engine.dialect.name} one")
    if not all(_is_sha(s) for s in manifest["evidence"]):
        raise BackupError("the archive's manifest lists an evidence file that is not a sha256")
    return manifest


def _check_members(folder: Path, manifest: dict) -> None:
    if manifest["database"] not in manifest["members"]:
        raise BackupError("the archive's manifest has no hash for its database")
    for name, sha in manifest["members"].items():
        path = folder / name
        if name not in DATABASE_MEMBERS.values() or not path.is_file() or sha_of(path) != sha:
            raise BackupError(f"archive member {name} is missing or damaged (sha256 mismatch)")
    for sha in manifest["evidence"]:
        path = folder / "evidence" / sha[:2] / sha
        if not path.is_file() or sha_of(path) != sha:
            raise BackupError(f"evidence {sha[:12]}… is missing or damaged in the archive")


# --- the scratch database -----------------------------------------------------------------

@contextmanager
def _scratch(engine: Engine, folder: Path, manifest: dict) -> Iterator[str]:
    """The archive's database restored where nothing uses it; yields its URL."""
    member = folder / manifest["database"]
    if engine.dialect.name == "sqlite":
        con = sqlite3.connect(member)
        try:
            rows = [r[0] for r in con.execute("PRAGMA integrity_check")]
        except sqlite3.DatabaseError as e:
            raise BackupError(f"the archive's database is not a SQLite database: {e}") from None
        finally:
            con.close()
        if rows != ["ok"]:
            raise BackupError(f"the archive's database fails PRAGMA integrity_check: {rows[0]}")
        yield f"sqlite:///{member}"
        return
    live = engine.url
    name = f"{live.database}_restore_{secrets.token_hex(4)}"[:63]
    url = live.set(database=name).render_as_string(hide_password=False)
    admin = create_engine(live, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as e:
        admin.dispose()
        raise BackupError(f"cannot create a scratch database to check the archive in: "
                          f"{str(getattr(e, 'orig', e)).strip().splitlines()[0]}", 1) from None
    try:
        run_pg([pg_bin("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
                "--dbname", libpq_url(url), str(member)], url, "pg_restore into the scratch database")
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _pg_integrity(check: Engine) -> str | None:
    """Every table read whole; every B-tree index checked where ``amcheck`` can be had."""
    with check.connect() as conn:
        for table in inspect(conn).get_table_names():
            conn.execute(text(f'SELECT count(*) FROM "{table}"')).scalar()
        try:
            with conn.begin():
                conn.execute(text("CREATE EXTENSION IF NOT EXISTS amcheck"))
        except Exception:
            return None  # not installed or not allowed: the full reads above are the check
        with conn.begin():
            indexes = conn.execute(text(
                "SELECT c.oid, c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "JOIN pg_am a ON a.oid = c.relam JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE a.amname = 'btree' AND n.nspname = 'public'")).all()
            for oid, relname in indexes:
                try:
                    conn.execute(text("SELECT bt_index_check(:oid)"), {"oid": oid})
                except Exception as e:
                    return f"index {relname}: {str(getattr(e, 'orig', e)).strip().splitlines()[0]}"
            conn.execute(text("DROP EXTENSION amcheck"))
    return None


def _migrate(url: str, check: Engine) -> str:
    """The scratch database's revision, known to this code; an older one is migrated to head."""
    from alembic import command
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    cfg = db.alembic_config(url)
    scripts = ScriptDirectory.from_config(cfg)
    with check.connect() as conn:
        revision = schema_revision(conn)
        has_measures = inspect(conn).has_table("measures")
    if revision is None or not has_measures:
        raise BackupError("the archive's database has no Rectify schema (no alembic_version or measures table)")
    try:
        scripts.get_revision(revision)
    except CommandError:
        revision = None
    if revision is None:
        raise BackupError("the archive's schema revision is unknown to this version of Rectify "
                          "(made by a newer one?): install that version to restore it")
    if revision != scripts.get_current_head():
        with db.migration_tx(check) as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    return revision


def _check_database(url: str, dialect: str, folder: Path, manifest: dict) -> str:
    """Every check of the scratch database; return the revision it was made at."""
    check = db.make_engine(url) if dialect == "sqlite" else create_engine(url)
    try:
        if dialect == "postgresql":
            broken = _pg_integrity(check)
            if broken:
                raise BackupError(f"the archive's database fails amcheck: {broken}")
        revision = _migrate(url, check)
        with db.read_tx(check) as conn:
            digest, chains, events, _ = audit.heads_digest(conn)
            referred = set(conn.execute(select(Evidence.sha256)).scalars())
        if (digest, chains, events) != (manifest["heads_digest"], manifest["chains"], manifest["events"]):
            raise BackupError("the archive's database does not match its manifest's chain-heads digest")
        missing = sorted(referred - set(manifest["evidence"]))
        if missing:
            raise BackupError(f"the archive lacks evidence {missing[0][:12]}… that its database refers to")
        broken_chain = (audit.verify(check, evidence_root=folder / "evidence") or audit.check_checkpoints(check)
                        or publication.verify(check))
        if broken_chain:
            raise BackupError(f"the archive's audit chain is broken: {broken_chain}")
        return revision
    finally:
        check.dispose()


# --- swapping in -----------------------------------------------------------------------------

def _copy_evidence(folder: Path, manifest: dict, root: Path) -> None:
    """Add the archive's evidence files; a damaged file in the store is replaced (atomically)."""
    for sha in manifest["evidence"]:
        dest = root / sha[:2] / sha
        if dest.is_file() and sha_of(dest) == sha:
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent)
        os.close(fd)
        shutil.copyfile(folder / "evidence" / sha[:2] / sha, tmp)
        os.replace(tmp, dest)


def _swap(engine: Engine, scratch_url: str, folder: Path, manifest: dict, migrated: bool) -> None:
    """Put the checked database in place of the live one, in one transaction."""
    engine.dispose()
    if engine.dialect.name == "sqlite":
        copy_sqlite(make_url(scratch_url).database or "", sqlite_file(engine))
        return
    url = engine.url.render_as_string(hide_password=False)
    dump = folder / manifest["database"]
    if migrated:  # restore what was checked: the scratch database at the newest schema
        dump = folder / "checked.pgdump"
        run_pg([pg_bin("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", "--file", str(dump),
                "--dbname", libpq_url(scratch_url)], scratch_url, "pg_dump of the checked database")
    run_pg([pg_bin("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges",
            "--single-transaction", "--exit-on-error", "--dbname", libpq_url(url), str(dump)], url, "pg_restore")


def restore(source: str | Path, engine: Engine | None = None, evidence_root: Path | None = None) -> dict:
    """Restore a snapshot over the configured database and evidence store; return the manifest.

    Everything is checked in a scratch database first (see the module's docstring); a refusal
    (:class:`BackupError`) leaves the live database and the evidence store untouched.
    """
    engine = engine or db.get_engine()
    root = evidence_root or db.evidence_dir()
    source = Path(source)
    if not source.is_file():
        raise BackupError(f"no such file: {source}")
    if engine.dialect.name not in DATABASE_MEMBERS:
        raise BackupError(f"unsupported database: {engine.dialect.name}", 1)
    with tempfile.TemporaryDirectory() as tmp_name:
        folder = Path(tmp_name)
        _unpack(source, folder)
        manifest = _manifest(folder, engine)
        _check_members(folder, manifest)
        with _scratch(engine, folder, manifest) as scratch_url:
            revision = _check_database(scratch_url, engine.dialect.name, folder, manifest)
            _copy_evidence(folder, manifest, root)
            from alembic.script import ScriptDirectory

            head = ScriptDirectory.from_config(db.alembic_config(scratch_url)).get_current_head()
            _swap(engine, scratch_url, folder, manifest, migrated=revision != head)
    return manifest
