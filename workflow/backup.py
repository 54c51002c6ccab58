"""Consistent snapshots: the database and the evidence files in one archive, and back.

An archive is a gzipped tar with ``manifest.json`` (format, dialect, schema revision, sha256 of
every member, the chain-heads digest at snapshot time), the database (``db.sqlite`` from SQLite's
online backup API, or ``db.pgdump`` from ``pg_dump --format=custom``) and
``evidence/<ab>/<sha256>``: every evidence file the snapshot refers to, each read once and hashed
as it is archived.

A backup writes nothing it cannot stand behind: the target must be a new or regular file that is
not the live database (nor its journal), and an evidence file that is missing or whose bytes no
longer match its sha256 stops the backup (:class:`BackupError`) with nothing written. The archive
is written under a ``.part`` name and moved into place only when complete.

:func:`restore` (in :mod:`workflow.restore`) checks an archive whole in a scratch database before
it replaces anything.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.engine import Engine, make_url

from . import audit, db, outfile
from .models import Evidence

FORMAT = "rectify-backup-1"


class BackupError(Exception):
    """A backup or restore refused or failed; ``exit_code`` 3 for a refusal (bad input), 1 otherwise."""

    rule = "backup"

    def __init__(self, message: str, exit_code: int = 3):
        super().__init__(message)
        self.exit_code = exit_code


def sha_of(path: Path) -> str:
    """The sha256 (hex) of the file at ``path``, read in chunks."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


_sha = sha_of  # the name older callers use


def libpq_url(url: str) -> str:
    """A SQLAlchemy URL as the PostgreSQL tools take it (no driver name)."""
    u = make_url(url)
    return u.set(drivername="postgresql").render_as_string(hide_password=False)


def pg_env(url: str) -> dict:
    """The environment for a PostgreSQL tool: the password, if any, out of the command line."""
    u = make_url(url)
    env = dict(os.environ)
    if u.password:
        env["PGPASSWORD"] = u.password
    return env


def pg_bin(name: str) -> str:
    """The path of a PostgreSQL client program (on PATH, or under Debian's versioned folders)."""
    found = shutil.which(name)
    if found:
        return found
    for base in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (base / name).exists():
            return str(base / name)
    raise BackupError(f"{name} not found: install the PostgreSQL client", 1)


def run_pg(args: list[str], url: str, what: str) -> None:
    """Run a PostgreSQL tool; its last line of error as a BackupError if it fails."""
    proc = subprocess.run(args, env=pg_env(url), capture_output=True, text=True)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise BackupError(f"{what} failed: {last}", 1)


def sqlite_file(engine: Engine) -> str:
    """The file of a SQLite engine; refused for an in-memory database."""
    path = engine.url.database
    if not path or path == ":memory:":
        raise BackupError("an in-memory SQLite database has no file to back up or restore")
    return path


def live_files(engine: Engine) -> list[tuple[Path, str]]:
    """The live database's files, each with the reason a backup may not overwrite it."""
    if engine.dialect.name != "sqlite":
        return []
    base = Path(sqlite_file(engine))
    why = "is the live database: a backup must be written elsewhere"
    return [(base, why), (Path(f"{base}-wal"), why), (Path(f"{base}-shm"), why)]


def schema_revision(conn) -> str | None:
    """The Alembic revision the database is at, or None without a version table."""
    try:
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception:
        return None


def copy_sqlite(source: str | Path, target: str | Path) -> None:
    """Copy a SQLite database page by page with SQLite's online backup (consistent while others
    write), replacing what ``target`` held in one transaction."""
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target, timeout=30)
    try:
        with dst:
            src.backup(dst)
    finally:
        src.close()
        dst.close()


def _snapshot(engine: Engine, folder: Path) -> str:
    """Write the database's snapshot into ``folder``; return its member name."""
    if engine.dialect.name == "sqlite":
        copy_sqlite(sqlite_file(engine), folder / "db.sqlite")
        return "db.sqlite"
    if engine.dialect.name == "postgresql":
        url = engine.url.render_as_string(hide_password=False)
        run_pg([pg_bin("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
                "--file", str(folder / "db.pgdump"), "--dbname", libpq_url(url)], url, "pg_dump")
        return "db.pgdump"
    raise BackupError(f"unsupported database: {engine.dialect.name}", 1)


def _snapshot_evidence(engine: Engine, folder: Path, member: str) -> list[str]:
    """The sha256 of every evidence file the snapshot refers to (SQLite: read from the snapshot
    itself; PostgreSQL: from the database after the dump, a superset, as files are only added)."""
    if member == "db.sqlite":
        con = sqlite3.connect(folder / member)
        try:
            return sorted(r[0] for r in con.execute("SELECT sha256 FROM evidence"))
        finally:
            con.close()
    with db.read_tx(engine) as conn:
        return sorted(conn.execute(select(Evidence.sha256)).scalars())


class _Hashing(io.RawIOBase):
    """A file read once: what the archive gets is what was hashed."""

    def __init__(self, fh):
        self.fh, self.h = fh, hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.fh.read(len(buffer))
        self.h.update(data)
        buffer[:len(data)] = data
        return len(data)


def _add_evidence(tar: tarfile.TarFile, root: Path, sha: str) -> None:
    """Archive one evidence file, refusing it if it is missing or its bytes are not its sha256."""
    path = root / sha[:2] / sha
    try:
        fh = path.open("rb")
    except FileNotFoundError:
        raise BackupError(f"evidence {sha[:12]}… is missing from the evidence store ({path}); "
                          "nothing was written") from None
    with fh:
        info = tar.gettarinfo(fileobj=fh, arcname=f"evidence/{sha[:2]}/{sha}")
        reader = _Hashing(fh)
        tar.addfile(info, io.BufferedReader(reader))
    if reader.h.hexdigest() != sha:
        raise BackupError(f"evidence {sha[:12]}… no longer matches its sha256 ({path}): the file was changed "
                          "or damaged; nothing was written")


def backup(target: str | Path, engine: Engine | None = None, evidence_root: Path | None = None) -> dict:
    """Write a consistent snapshot to ``target``; return the manifest.

    Refused (:class:`BackupError`, nothing written) if ``target`` is the live database, a folder or
    a device, or if an evidence file the snapshot refers to is missing or damaged.
    """
    engine = engine or db.get_engine()
    root = evidence_root or db.evidence_dir()
    try:
        target = outfile.check(target, refuse=live_files(engine))
    except outfile.OutputError as e:
        raise BackupError(str(e)) from None
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        member = _snapshot(engine, tmp)
        with db.read_tx(engine) as conn:
            digest, chains, events, _ = audit.heads_digest(conn)
            revision = schema_revision(conn)
        evidence = _snapshot_evidence(engine, tmp, member)
        manifest = {
            "format": FORMAT, "dialect": engine.dialect.name, "database": member, "schema": revision,
            "created_at": dt.datetime.now(dt.UTC).isoformat(), "heads_digest": digest,
            "chains": chains, "events": events, "members": {member: sha_of(tmp / member)},
            "evidence": evidence,
        }
        try:
            with outfile.atomic(target) as partial, tarfile.open(partial, "w:gz") as tar:
                data = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
                info = tarfile.TarInfo("manifest.json")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
                tar.add(tmp / member, arcname=member)
                for sha in evidence:
                    _add_evidence(tar, root, sha)
        except outfile.OutputError as e:
            raise BackupError(str(e)) from None
    return manifest


def restore(source: str | Path, engine: Engine | None = None, evidence_root: Path | None = None) -> dict:
    """Restore a snapshot over the configured database and evidence store (see :mod:`workflow.restore`)."""
    from .restore import restore as checked_restore

    return checked_restore(source, engine, evidence_root)
