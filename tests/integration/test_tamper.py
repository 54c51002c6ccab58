"""Tampering with the stored history is detected by ``rectify audit verify``, which names the measure
and the event. Each case edits the database (or an evidence file) directly, as an intruder with
database access would, on SQLite and PostgreSQL.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update

from tests import factory
from tests.conftest import png_bytes
from workflow import audit, cli, commands, db, evidence, workdays
from workflow.models import Event, Measure

E = Event.__table__
M = Measure.__table__


@pytest.fixture
def ledger_with_history(engine):
    """Three measures; the middle one closed with evidence: events #1 create … #5 sign_off."""
    ids = factory.build(engine, measures=3)
    mid = ids["measures"][1]
    now = factory.NOW
    commands.fire(mid, "start", "owner1", now=now, engine=engine)
    photo = evidence.store(png_bytes(42), "整改前后对比.png")
    commands.fire(mid, "submit", "owner1", comment="已完成整改", evidence=[photo], now=now, engine=engine)
    commands.fire(mid, "approve", "leader1", now=now, engine=engine)
    commands.fire(mid, "sign_off", "office1", now=now, engine=engine)
    commands.fire(ids["measures"][2], "start", "owner1", now=now, engine=engine)  # a later, intact chain
    assert audit.verify(engine) is None
    return {"engine": engine, "mid": mid, "sha": photo.sha256, "ids": ids}


def verify_cli(capsys) -> tuple[int, str]:
    """``rectify audit verify`` through the CLI's own entry point, in this process."""
    capsys.readouterr()
    code = cli.main(["audit", "verify"])
    err = capsys.readouterr().err.strip()
    return code, err


def event(engine, mid, seq):
    with db.read_tx(engine) as conn:
        return conn.execute(select(E).where(E.c.measure_id == mid, E.c.seq == seq)).first()


def set_event(engine, mid, seq, **values):
    with db.write_tx(engine) as conn:
        res = conn.execute(update(E).where(E.c.measure_id == mid, E.c.seq == seq).values(**values))
        assert res.rowcount == 1


def _body_with(row, **changes) -> str:
    body = json.loads(row.body)
    body.update(changes)
    return audit.canonical_json(body)


FIELD_TAMPERS = {
    "body": lambda row: {"body": _body_with(row, comment="其实没有整改")},
    "actor": lambda row: {"actor": "owner2"},
    "at": lambda row: {"at": row.at + dt.timedelta(seconds=1)},
    "to_state": lambda row: {"to_state": "verified"},
    "from_state": lambda row: {"from_state": "assigned"},
    "kind": lambda row: {"kind": "approve"},
    "hash": lambda row: {"hash": "f" * 64},
    "prev_hash": lambda row: {"prev_hash": "0" * 64},
}


def test_an_untouched_ledger_verifies(ledger_with_history, capsys):
    code, err = verify_cli(capsys)
    assert (code, err) == (0, "audit chain verified")


@pytest.mark.parametrize("field", sorted(FIELD_TAMPERS))
def test_changing_any_stored_event_field_is_detected_naming_measure_and_event(ledger_with_history, capsys, field):
    engine, mid = ledger_with_history["engine"], ledger_with_history["mid"]
    row = event(engine, mid, 3)
    set_event(engine, mid, 3, **FIELD_TAMPERS[field](row))
    broken = audit.verify(engine)
    assert (broken.measure_id, broken.seq, broken.event_id) == (mid, 3, row.id)
    code, err = verify_cli(capsys)
    assert code != 0
    assert f"measure {mid} event #3" in err and len(err.splitlines()) == 1


def test_changing_the_last_events_hash_is_detected(ledger_with_history, capsys):
    engine, mid = ledger_with_history["engine"], ledger_with_history["mid"]
    set_event(engine, mid, 5, hash="a" * 64)
    code, err = verify_cli(capsys)
    assert code != 0 and f"measure {mid} event #5" in err


@pytest.mark.parametrize("seq, said", [
    (3, ("event #4", "expected #3")),  # one from the middle: the next one no longer follows
    (5, ("#5",)),  # the newest: the chain ends before the count the measure keeps
    (None, ("#5",)),  # every event of the measure
], ids=["a middle event", "the newest event", "every event"])
def test_deleting_events_of_a_measure_is_detected(ledger_with_history, capsys, seq, said):
    engine, mid = ledger_with_history["engine"], ledger_with_history["mid"]
    with db.write_tx(engine) as conn:
        where = [E.c.measure_id == mid] + ([E.c.seq == seq] if seq else [])
        conn.execute(delete(E).where(*where))
    code, err = verify_cli(capsys)
    assert code != 0 and f"measure {mid}" in err and all(x in err for x in said)


def test_reordering_two_events_is_detected(ledger_with_history, capsys):
    engine, mid = ledger_with_history["engine"], ledger_with_history["mid"]
    with db.write_tx(engine) as conn:  # swap #2 and #3 (through a free number: seq is unique)
        conn.execute(update(E).where(E.c.measure_id == mid, E.c.seq == 2).values(seq=-2))
        conn.execute(update(E).where(E.c.measure_id == mid, E.c.seq == 3).values(seq=2))
        conn.execute(update(E).where(E.c.measure_id == mid, E.c.seq == -2).values(seq=3))
    broken = audit.verify(engine)
    assert (broken.measure_id, broken.seq) == (mid, 2)
    code, err = verify_cli(capsys)
    assert code != 0 and f"measure {mid} event #2" in err


def test_changing_the_state_of_a_measure_without_an_event_is_detected(ledger_with_history, capsys):
    engine, _mid = ledger_with_history["engine"], ledger_with_history["mid"]
    other = ledger_with_history["ids"]["measures"][0]
    with db.write_tx(engine) as conn:
        conn.execute(update(M).where(M.c.id == other).values(state="closed"))
    code, err = verify_cli(capsys)
    assert code != 0 and f"measure {other}" in err and "closed" in err


def test_changing_an_evidence_files_bytes_is_detected(ledger_with_history, capsys):
    _engine, mid, sha = ledger_with_history["engine"], ledger_with_history["mid"], ledger_with_history["sha"]
    path = evidence.path_of(sha)
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))
    code, err = verify_cli(capsys)
    assert code != 0 and f"measure {mid} event #3" in err and "does not match" in err


def test_deleting_an_evidence_file_is_detected(ledger_with_history, capsys):
    _engine, mid, sha = ledger_with_history["engine"], ledger_with_history["mid"], ledger_with_history["sha"]
    evidence.path_of(sha).unlink()
    code, err = verify_cli(capsys)
    assert code != 0 and f"measure {mid} event #3" in err and "missing" in err


def rewrite_consistently(engine, mid, from_seq: int, **changes) -> None:
    """Rewrite event ``from_seq`` and recompute the rest of the chain and the head, as a careful forger would."""
    with db.write_tx(engine) as conn:
        rows = conn.execute(select(E).where(E.c.measure_id == mid).order_by(E.c.seq)).all()
        prev = audit.GENESIS
        for r in rows:
            body = r.body
            if r.seq == from_seq:
                body = _body_with(r, **changes)
            if r.seq >= from_seq:
                h = audit.event_hash(prev, mid, r.seq, r.kind, r.actor, r.from_state, r.to_state, r.at, body)
                conn.execute(update(E).where(E.c.id == r.id).values(body=body, prev_hash=prev, hash=h))
                prev = h
            else:
                prev = r.hash
        conn.execute(update(M).where(M.c.id == mid).values(head_hash=prev))


def test_history_rewritten_consistently_after_a_checkpoint_is_still_detected(ledger_with_history, capsys):
    engine, mid = ledger_with_history["engine"], ledger_with_history["mid"]
    now = factory.NOW + dt.timedelta(hours=12)
    assert audit.record_checkpoint(workdays.local_today(now), now, engine=engine) is True
    assert audit.record_checkpoint(workdays.local_today(now), now, engine=engine) is False  # once a day
    assert audit.check_checkpoints(engine) is None

    rewrite_consistently(engine, mid, 3, comment="伪造的落实情况")
    assert audit.verify(engine) is None  # the rewritten chain is self-consistent …
    broken = audit.check_checkpoints(engine)  # … but no longer ends where the checkpoint saw it
    assert (broken.measure_id, broken.seq) == (mid, 5)
    code, err = verify_cli(capsys)
    assert code != 0 and f"measure {mid} event #5" in err and "checkpoint" in err


def test_a_chain_rewritten_without_a_checkpoint_verifies_which_is_why_checkpoints_exist(ledger_with_history):
    engine, mid = ledger_with_history["engine"], ledger_with_history["mid"]
    rewrite_consistently(engine, mid, 2, comment="改写")
    assert audit.verify(engine) is None and audit.check_checkpoints(engine) is None


# --- the same through the installed command, as a separate process --------------------

def rectify(*args: str) -> subprocess.CompletedProcess:
    script = Path(sys.executable).parent / "rectify"
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "workflow.cli"]
    env = {k: v for k, v in os.environ.items() if k != "RECTIFY_DEBUG"}
    return subprocess.run([*cmd, *args], capture_output=True, text=True, encoding="utf-8", env=env, timeout=120)


def test_rectify_audit_verify_exits_non_zero_on_a_tampered_event_and_a_rewritten_history(ledger_with_history):
    engine, mid = ledger_with_history["engine"], ledger_with_history["mid"]
    assert rectify("audit", "verify").returncode == 0
    assert rectify("audit", "checkpoint", "--now", "2026-11-30T20:00:00").returncode == 0

    rewrite_consistently(engine, mid, 4, note="伪造")
    proc = rectify("audit", "verify")
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert f"measure {mid} event #5" in proc.stderr and "checkpoint" in proc.stderr

    set_event(engine, mid, 2, actor="intruder")
    proc = rectify("audit", "verify")
    assert proc.returncode != 0
    assert f"measure {mid} event #2" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
