"""Backup and restore round-trip, with evidence, checked by the audit chain."""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import struct
import subprocess
import sys
import tarfile
import zlib
from pathlib import Path

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


def test_restore_brings_back_the_snapshot_and_its_evidence_over_later_changes(engine, tmp_path):
    ids, proof = _with_evidence(engine, n=2)
    m = ids["measures"][0]
    before = states(engine)
    archive = tmp_path / "snap.tgz"
    manifest = backup.backup(archive, engine)
    assert manifest["dialect"] == engine.dialect.name and manifest["evidence"] == [proof.sha256]

    commands.fire(m, "approve", "leader1", engine=engine)
    commands.fire(ids["measures"][1], "start", "owner1", engine=engine)
    evidence.path_of(proof.sha256).unlink()
    assert audit.verify(engine) is not None

    backup.restore(archive, engine)
    assert states(engine) == before
    assert audit.verify(engine) is None


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


def test_a_sqlite_snapshot_is_refused_by_a_postgresql_target(sqlite_engine, pg_engine, tmp_path):
    archive = tmp_path / "lite.tgz"
    backup.backup(archive, sqlite_engine)
    with pytest.raises(backup.BackupError, match="sqlite"):
        backup.restore(archive, pg_engine)


# --- a backup that cannot destroy, a restore that checks before it replaces (issue 12: 1-3) ------------

def _cli(*args):
    return subprocess.run([sys.executable, "-m", "workflow.cli", *args], capture_output=True, text=True)


def _one_line(proc, code=3):
    assert proc.returncode == code, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr, proc.stderr


def test_a_backup_onto_the_live_database_or_its_journal_is_refused_and_the_database_survives(sqlite_engine):
    factory.build(sqlite_engine, 2)
    live = Path(sqlite_engine.url.database)
    before = states(sqlite_engine)
    for target in (live, Path(f"{live}-wal")):
        with pytest.raises(backup.BackupError, match="live database"):
            backup.backup(target, sqlite_engine)
    proc = _cli("backup", str(live))
    _one_line(proc)
    assert "live database" in proc.stderr
    assert live.read_bytes()[:16] == b"SQLite format 3\x00"
    assert states(sqlite_engine) == before and audit.verify(sqlite_engine) is None


def test_a_backup_onto_a_device_or_a_folder_is_refused_and_the_device_node_stays(sqlite_engine, tmp_path):
    factory.build(sqlite_engine, 1)
    for target, words in ((Path("/dev/full"), "not a regular file"), (Path("/dev/null"), "not a regular file"),
                          (tmp_path, "is a directory"), (tmp_path / "no" / "such" / "x.tgz", "does not exist")):
        proc = _cli("backup", str(target))
        _one_line(proc)
        assert words in proc.stderr, (target, proc.stderr)
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode) and stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert not Path("/dev/full.partial").exists() and not Path("/dev/.full.part").exists()


def _with_evidence(engine, seed=1, n=1):
    """``n`` measures; the first one submitted with a photo."""
    ids = factory.build(engine, n)
    m = ids["measures"][0]
    commands.fire(m, "start", "owner1", engine=engine)
    proof = evidence.store(tiny_png(seed), "照片.png")
    commands.fire(m, "submit", "owner1", comment="已完成", evidence=[proof], engine=engine)
    return ids, proof


@pytest.mark.parametrize("damage", ["missing", "changed"])
def test_a_backup_refuses_when_an_evidence_file_is_missing_or_changed_and_writes_nothing(
        sqlite_engine, tmp_path, damage):
    _ids, proof = _with_evidence(sqlite_engine)
    path = evidence.path_of(proof.sha256)
    if damage == "missing":
        path.unlink()
    else:
        path.write_bytes(tiny_png(2))
    archive = tmp_path / "snap.tgz"
    proc = _cli("backup", str(archive))
    _one_line(proc)
    assert proof.sha256[:12] in proc.stderr and ("missing" if damage == "missing" else "no longer matches") in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("snap", ".snap"))) == []


def _rewrite(archive: Path, out: Path, change_db=None, change_manifest=None, drop_evidence=False) -> Path:
    """A copy of ``archive`` with its database or manifest changed and the member hashes made to agree."""
    work = out.parent / (out.name + ".d")
    work.mkdir()
    with tarfile.open(archive) as tar:
        tar.extractall(work, filter="data")
    manifest = json.loads((work / "manifest.json").read_text())
    if change_db:
        con = sqlite3.connect(work / manifest["database"])
        change_db(con)
        con.commit()
        con.close()
    manifest["members"] = {manifest["database"]: backup.sha_of(work / manifest["database"])}
    if drop_evidence:
        manifest["evidence"] = []
        shutil.rmtree(work / "evidence", ignore_errors=True)
    if change_manifest:
        change_manifest(manifest)
    (work / "manifest.json").write_text(json.dumps(manifest))
    with tarfile.open(out, "w:gz") as tar:
        for path in sorted(work.rglob("*")):
            if path.is_file():
                tar.add(path, arcname=str(path.relative_to(work)))
    return out


def _no_schema(con):
    for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall():
        con.execute(f'DROP TABLE IF EXISTS "{name}"')  # (the search table takes its shadow tables along)


def _tamper_event(con):
    con.execute("UPDATE events SET actor = 'owner2' WHERE seq = 2")


def _other_heads(con):
    con.execute("UPDATE measures SET head_seq = head_seq")  # nothing: the manifest is the one changed


@pytest.mark.parametrize("case,words", [
    ("broken_chain", "audit chain is broken"),
    ("no_schema", "no Rectify schema"),
    ("digest", "chain-heads digest"),
    ("unknown_revision", "unknown to this version"),
    ("no_dialect", "lacks 'dialect'"),
    ("evidence_gone", "lacks evidence"),
    ("not_sqlite", "not a SQLite database"),
])
def test_a_restore_checks_the_archive_in_a_scratch_database_and_refuses_before_replacing_anything(
        sqlite_engine, tmp_path, case, words):
    ids, proof = _with_evidence(sqlite_engine)
    archive = tmp_path / "snap.tgz"
    backup.backup(archive, sqlite_engine)
    bad = tmp_path / "bad.tgz"
    if case == "broken_chain":
        _rewrite(archive, bad, change_db=_tamper_event)
    elif case == "no_schema":
        _rewrite(archive, bad, change_db=_no_schema)
    elif case == "digest":
        _rewrite(archive, bad, change_manifest=lambda m: m.update(heads_digest="0" * 64))
    elif case == "unknown_revision":
        _rewrite(archive, bad, change_db=lambda con: con.execute("UPDATE alembic_version SET version_num='9999'"))
    elif case == "no_dialect":
        _rewrite(archive, bad, change_manifest=lambda m: m.pop("dialect"))
    elif case == "evidence_gone":
        _rewrite(archive, bad, drop_evidence=True)
    else:
        def not_sqlite(m):
            (bad.parent / "bad.tgz.d" / m["database"]).write_bytes(b"not a database at all" * 100)
            m["members"] = {m["database"]: backup.sha_of(bad.parent / "bad.tgz.d" / m["database"])}
        _rewrite(archive, bad, change_manifest=not_sqlite)
    commands.fire(ids["measures"][0], "approve", "leader1", engine=sqlite_engine)  # the live database moves on
    live = states(sqlite_engine)
    with pytest.raises(backup.BackupError, match=words):
        backup.restore(bad, sqlite_engine)
    assert states(sqlite_engine) == live and audit.verify(sqlite_engine) is None
    proc = _cli("restore", str(bad))
    _one_line(proc)
    assert words in proc.stderr
    assert states(sqlite_engine) == live and audit.verify(sqlite_engine) is None


def test_a_restore_replaces_a_damaged_evidence_file_from_the_archive(sqlite_engine, tmp_path):
    _ids, proof = _with_evidence(sqlite_engine)
    archive = tmp_path / "snap.tgz"
    backup.backup(archive, sqlite_engine)
    evidence.path_of(proof.sha256).write_bytes(b"overwritten")
    backup.restore(archive, sqlite_engine)
    assert evidence.path_of(proof.sha256).read_bytes() == tiny_png(1)
    assert audit.verify(sqlite_engine) is None


def test_an_archive_made_at_an_older_schema_is_migrated_in_the_scratch_database_and_restored(instance, tmp_path):
    from alembic import command

    old_url = f"sqlite:///{tmp_path / 'old.db'}"
    old = db.get_engine(old_url)
    cfg = db.alembic_config(old_url)
    with old.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0004")
    with db.write_tx(old) as conn:
        conn.exec_driver_sql("INSERT INTO users (username, name, active, locale) VALUES ('system', '系统', 1, 'zh')")
    archive = tmp_path / "old.tgz"
    assert backup.backup(archive, old)["schema"] == "0004"
    live = db.get_engine()
    db.init_db()
    factory.build(live, 1)
    backup.restore(archive, live)
    with db.read_tx(live) as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM measures").scalar() == 0
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == backup_head()


def backup_head() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(db.alembic_config("sqlite://")).get_current_head()


def test_a_postgresql_restore_of_a_broken_chain_is_refused_in_a_scratch_database(pg_engine, tmp_path):
    ids, _proof = _with_evidence(pg_engine)
    archive = tmp_path / "pg.tgz"
    backup.backup(archive, pg_engine)
    m = ids["measures"][0]
    with db.write_tx(pg_engine) as conn:  # the chain is broken when the snapshot is taken
        conn.exec_driver_sql("UPDATE events SET actor = 'owner2' WHERE measure_id = %s AND seq = 2", (m,))
    broken = tmp_path / "broken.tgz"
    backup.backup(broken, pg_engine)
    with db.write_tx(pg_engine) as conn:
        conn.exec_driver_sql("UPDATE events SET actor = 'owner1' WHERE measure_id = %s AND seq = 2", (m,))
    commands.fire(m, "approve", "leader1", engine=pg_engine)
    live = states(pg_engine)
    with pytest.raises(backup.BackupError, match="audit chain is broken"):
        backup.restore(broken, pg_engine)
    assert states(pg_engine) == live and audit.verify(pg_engine) is None
    with db.read_tx(pg_engine) as conn:  # the scratch database is gone
        names = conn.exec_driver_sql("SELECT datname FROM pg_database WHERE datname LIKE '%%_restore_%%'").all()
    assert names == []
    backup.restore(archive, pg_engine)
    assert states(pg_engine)[m] == "submitted"
