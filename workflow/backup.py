"""Consistent snapshots: the database and the evidence files in one archive, and back.

An archive is a gzipped tar with ``manifest.json`` (format, dialect, sha256 of every member, the
chain-heads digest at snapshot time), the database (``db.sqlite`` from SQLite's online backup API,
or ``db.pgdump`` from ``pg_dump --format=custom``) and ``evidence/<ab>/<sha256>``. The database is
snapshotted first and evidence copied after: files are only ever added, so every file the
snapshot refers to is in the archive.
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

from sqlalchemy.engine import Engine, make_url

from . import audit, db

FORMAT = "rectify-backup-1"


class BackupError(Exception):
    rule = "backup"


def _sha(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _libpq_url(url: str) -> str:
    u = make_url(url)
    return u.set(drivername="postgresql").render_as_string(hide_password=False)


def _pg_env(url: str) -> dict:
    u = make_url(url)
    env = dict(os.environ)
    if u.password:
        env["PGPASSWORD"] = u.password
    return env


def _pg_bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for base in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (base / name).exists():
            return str(base / name)
    raise BackupError(f"{name} not found: install the PostgreSQL client")


def _sqlite_file(engine: Engine) -> str:
    path = engine.url.database
    if not path or path == ":memory:":
        raise BackupError("an in-memory SQLite database has no file to back up or restore")
    return path


def backup(target: str | Path, engine: Engine | None = None, evidence_root: Path | None = None) -> dict:
    """Write a consistent snapshot to ``target``; return the manifest."""
    engine = engine or db.get_engine()
    root = evidence_root or db.evidence_dir()
    target = Path(target)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        url = engine.url.render_as_string(hide_password=False)
        if engine.dialect.name == "sqlite":
            db_member = "db.sqlite"
            src = sqlite3.connect(_sqlite_file(engine))
            dst = sqlite3.connect(tmp / db_member)
            with dst:
                src.backup(dst)
            src.close()
            dst.close()
        elif engine.dialect.name == "postgresql":
            db_member = "db.pgdump"
            proc = subprocess.run(
                [_pg_bin("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
                 "--file", str(tmp / db_member), "--dbname", _libpq_url(url)],
                env=_pg_env(url), capture_output=True, text=True)
            if proc.returncode != 0:
                raise BackupError(f"pg_dump failed: {proc.stderr.strip().splitlines()[-1:]}")
        else:
            raise BackupError(f"unsupported database: {engine.dialect.name}")
        with db.read_tx(engine) as conn:
            digest, chains, events, _ = audit.heads_digest(conn)
        members = {db_member: _sha(tmp / db_member)}
        evidence = []
        if root.exists():
            for path in sorted(root.glob("*/*")):
                if path.is_file() and len(path.name) == 64:
                    evidence.append(path)
        manifest = {
            "format": FORMAT, "dialect": engine.dialect.name, "database": db_member,
            "created_at": dt.datetime.now(dt.UTC).isoformat(), "heads_digest": digest,
            "chains": chains, "events": events, "members": members,
            "evidence": [p.name for p in evidence],
        }
        partial = target.with_name(target.name + ".partial")
        with tarfile.open(partial, "w:gz") as tar:
            data = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
            info = tarfile.TarInfo("manifest.json")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
            tar.add(tmp / db_member, arcname=db_member)
            for path in evidence:
                tar.add(path, arcname=f"evidence/{path.name[:2]}/{path.name}")
        os.replace(partial, target)
    return manifest


def _safe_members(tar: tarfile.TarFile):
    for m in tar.getmembers():
        name = m.name
        if name.startswith("/") or ".." in Path(name).parts or not (m.isfile() or m.isdir()):
            raise BackupError(f"unsafe member in archive: {name}")
        yield m


def restore(source: str | Path, engine: Engine | None = None, evidence_root: Path | None = None) -> dict:
    """Restore a snapshot over the configured database and evidence store; return the manifest.

    The archive is checked (format, dialect, member hashes) before anything is overwritten.
    """
    engine = engine or db.get_engine()
    root = evidence_root or db.evidence_dir()
    source = Path(source)
    if not source.is_file():
        raise BackupError(f"no such file: {source}")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        try:
            with tarfile.open(source, "r:gz") as tar:
                members = list(_safe_members(tar))
                tar.extractall(tmp, members=members, filter="data")
        except (tarfile.TarError, OSError, EOFError) as e:
            raise BackupError(f"not a Rectify backup: {e}") from None
        try:
            manifest = json.loads((tmp / "manifest.json").read_text())
        except (OSError, ValueError):
            raise BackupError("not a Rectify backup: manifest.json missing or unreadable") from None
        if manifest.get("format") != FORMAT:
            raise BackupError(f"unknown backup format: {manifest.get('format')}")
        if manifest["dialect"] != engine.dialect.name:
            raise BackupError(f"backup is of {manifest['dialect']}, the target is {engine.dialect.name}")
        for name, sha in manifest["members"].items():
            if _sha(tmp / name) != sha:
                raise BackupError(f"archive member {name} is damaged (sha256 mismatch)")
        for name in manifest["evidence"]:
            path = tmp / "evidence" / name[:2] / name
            if not path.is_file() or _sha(path) != name:
                raise BackupError(f"evidence {name[:12]}… is missing or damaged in the archive")
        url = engine.url.render_as_string(hide_password=False)
        engine.dispose()
        if engine.dialect.name == "sqlite":
            src = sqlite3.connect(tmp / manifest["database"])
            dst = sqlite3.connect(_sqlite_file(engine), timeout=30)
            with dst:
                src.backup(dst)
            src.close()
            dst.close()
        else:
            proc = subprocess.run(
                [_pg_bin("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges",
                 "--single-transaction", "--dbname", _libpq_url(url), str(tmp / manifest["database"])],
                env=_pg_env(url), capture_output=True, text=True)
            if proc.returncode != 0:
                raise BackupError(f"pg_restore failed: {proc.stderr.strip().splitlines()[-1:]}")
        for name in manifest["evidence"]:
            dest = root / name[:2] / name
            if not dest.exists():
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(tmp / "evidence" / name[:2] / name, dest)
    return manifest
