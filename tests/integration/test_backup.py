"""Backup and restore round-trip, with evidence, checked by the audit chain."""
from __future__ import annotations

import json
import struct
import subprocess
import sys
import zlib

import pytest
from sqlalchemy import select

from tests import factory
from workflow import audit, backup, commands, db, evidence
from workflow.models import Measure


def tiny_png(seed: int = 0) -> bytes:
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"\x00" + bytes([seed % 256, 0, 0])
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def states(engine):
    with db.read_tx(engine) as conn:
        return dict(conn.execute(select(Measure.id, Measure.state)).all())


def test_restore_brings_back_the_snapshot_and_its_evidence(sqlite_engine, tmp_path):
    ids = factory.build(sqlite_engine, 2)
    m = ids["measures"][0]
    commands.fire(m, "start", "owner1", engine=sqlite_engine)
    proof = evidence.store(tiny_png(1), "现场照片.png")
    commands.fire(m, "submit", "owner1", comment="已完成", evidence=[proof], engine=sqlite_engine)
    before = states(sqlite_engine)
    archive = tmp_path / "snap.tgz"
    manifest = backup.backup(archive, sqlite_engine)
    assert manifest["evidence"] == [proof.sha256]

    commands.fire(m, "approve", "leader1", engine=sqlite_engine)
    evidence.path_of(proof.sha256).unlink()
    assert audit.verify(sqlite_engine) is not None

    backup.restore(archive, sqlite_engine)
    assert states(sqlite_engine) == before
    assert audit.verify(sqlite_engine) is None


def test_a_damaged_archive_is_refused_before_anything_is_overwritten(sqlite_engine, tmp_path):
    factory.build(sqlite_engine, 1)
    archive = tmp_path / "snap.tgz"
    backup.backup(archive, sqlite_engine)
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0xFF
    archive.write_bytes(bytes(data))
    before = states(sqlite_engine)
    with pytest.raises(backup.BackupError):
        backup.restore(archive, sqlite_engine)
    assert states(sqlite_engine) == before


def test_backup_and_restore_commands_round_trip_and_verify(sqlite_engine, tmp_path):
    factory.build(sqlite_engine, 2)
    archive = tmp_path / "cli.tgz"
    run = lambda *a: subprocess.run([sys.executable, "-m", "workflow.cli", *a], capture_output=True, text=True)
    r = run("backup", str(archive))
    assert r.returncode == 0, r.stderr
    assert run("fire", "1", "start", "--as", "owner1").returncode == 0
    r = run("restore", str(archive))
    assert r.returncode == 0, r.stderr
    assert "verified" in r.stderr
    items = json.loads(run("items", "--json").stdout)
    assert [i["state"] for i in items] == ["assigned", "assigned"]
    r = run("restore", str(tmp_path / "missing.tgz"))
    assert r.returncode != 0 and "no such file" in r.stderr and "Traceback" not in r.stderr


def test_published_checkpoints_detect_a_rewritten_history(sqlite_engine, tmp_path):
    ids = factory.build(sqlite_engine, 1)
    m = ids["measures"][0]
    commands.fire(m, "start", "owner1", engine=sqlite_engine)
    assert audit.record_checkpoint(factory.NOW.date(), factory.NOW, sqlite_engine)
    published = audit.list_checkpoints(sqlite_engine)
    assert audit.check_published(published, sqlite_engine) is None
    # rewrite the chain consistently from the start: every hash recomputed
    with db.write_tx(sqlite_engine) as conn:
        rows = conn.exec_driver_sql(
            "SELECT id, measure_id, seq, kind, actor, from_state, to_state, at, body FROM events "
            "WHERE measure_id = ? ORDER BY seq", (m,)).all()
        prev = audit.GENESIS
        for r in rows:
            body = r.body.replace("整改措施 1", "整改措施 1（改写）")
            at = r.at if not isinstance(r.at, str) else __import__("datetime").datetime.fromisoformat(r.at)
            h = audit.event_hash(prev, r.measure_id, r.seq, r.kind, r.actor, r.from_state, r.to_state, at, body)
            conn.exec_driver_sql("UPDATE events SET body=?, prev_hash=?, hash=? WHERE id=?", (body, prev, h, r.id))
            prev = h
        conn.exec_driver_sql("UPDATE measures SET head_hash=? WHERE id=?", (prev, m))
    assert audit.verify(sqlite_engine) is None  # the chain alone is self-consistent again
    assert audit.check_published(published, sqlite_engine) is not None


def test_a_postgresql_snapshot_restores_over_later_changes(pg_engine, tmp_path):
    ids = factory.build(pg_engine, 2)
    m = ids["measures"][0]
    commands.fire(m, "start", "owner1", engine=pg_engine)
    proof = evidence.store(tiny_png(7), "照片.png")
    commands.fire(m, "submit", "owner1", comment="已完成", evidence=[proof], engine=pg_engine)
    before = states(pg_engine)
    archive = tmp_path / "pg.tgz"
    manifest = backup.backup(archive, pg_engine)
    assert manifest["dialect"] == "postgresql" and manifest["evidence"] == [proof.sha256]
    commands.fire(m, "approve", "leader1", engine=pg_engine)
    commands.fire(ids["measures"][1], "start", "owner1", engine=pg_engine)
    backup.restore(archive, pg_engine)
    assert states(pg_engine) == before
    assert audit.verify(pg_engine) is None


def test_a_sqlite_snapshot_is_refused_by_a_postgresql_target(sqlite_engine, pg_engine, tmp_path):
    archive = tmp_path / "lite.tgz"
    backup.backup(archive, sqlite_engine)
    with pytest.raises(backup.BackupError, match="sqlite"):
        backup.restore(archive, pg_engine)
