"""The audit chain: one sha256 hash chain per measure, checkpoints over all heads, verification.

``hash = sha256(prev_hash + canonical(event))`` where the canonical form is sorted-key,
compact JSON of the event's measure, sequence number, kind, actor, states, time and body.
Evidence files are named by their sha256 and the hashes sit in the event bodies, so the chain
covers them too.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from . import db
from .models import Checkpoint, Event, Measure, MeasureEvidence

GENESIS = "0" * 64
EVENTS = Event.__table__
MEASURES = Measure.__table__


# exactly what json.dumps(data, sort_keys=True, ...) builds on each call, built once (it is stateless)
_CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def canonical_json(data) -> str:
    return _CANONICAL.encode(data)


def _ts(at: dt.datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%f")


def event_hash(prev_hash: str, measure_id: int, seq: int, kind: str, actor: str,
               from_state: str | None, to_state: str | None, at: dt.datetime, body: str) -> str:
    """The chain link for one event (``body`` is already canonical JSON)."""
    doc = canonical_json({
        "m": measure_id, "seq": seq, "kind": kind, "actor": actor,
        "from": from_state, "to": to_state, "at": _ts(at), "body": body,
    })
    return hashlib.sha256((prev_hash + doc).encode("utf-8")).hexdigest()


_INSERT_EVENT = insert(EVENTS)  # built once, so its compiled-cache key is computed once


def append(conn: Connection, measure_id: int, head_seq: int, head_hash: str, kind: str, actor: str,
           from_state: str | None, to_state: str | None, body: dict, at: dt.datetime) -> tuple[int, str]:
    """Insert the next event of a measure's chain; return its (seq, hash).

    The caller updates the measure's head in the same transaction, under its version check.
    """
    values = event_values(measure_id, head_seq, head_hash, kind, actor, from_state, to_state, body, at)
    conn.execute(_INSERT_EVENT, values)
    return values["seq"], values["hash"]


def event_values(measure_id: int, head_seq: int, head_hash: str, kind: str, actor: str, from_state: str | None,
                 to_state: str | None, body: dict, at: dt.datetime) -> dict:
    """The row of the next event of a measure's chain, its hash computed (for :func:`append` and the
    hot path, which inserts it itself)."""
    seq = head_seq + 1
    body_json = canonical_json(body)
    at = at.replace(tzinfo=None)
    h = event_hash(head_hash, measure_id, seq, kind, actor, from_state, to_state, at, body_json)
    return {"measure_id": measure_id, "seq": seq, "kind": kind, "actor": actor, "from_state": from_state,
            "to_state": to_state, "body": body_json, "at": at, "prev_hash": head_hash, "hash": h}


@dataclass
class Break:
    measure_id: int
    seq: int | None
    event_id: int | None
    reason: str

    def __str__(self) -> str:
        where = f"measure {self.measure_id}"
        if self.seq is not None:
            where += f" event #{self.seq}"
        if self.event_id is not None:
            where += f" (id {self.event_id})"
        return f"{where}: {self.reason}"


def verify(engine: Engine | None = None, evidence_root: Path | None = None) -> Break | None:
    """Walk every chain (streaming); return the first break, or None if all hold."""
    engine = engine or db.get_engine()
    root = evidence_root or db.evidence_dir()
    with db.read_tx(engine) as conn:
        heads = {}
        for mid, seq, h, state in conn.execute(
            select(MEASURES.c.id, MEASURES.c.head_seq, MEASURES.c.head_hash, MEASURES.c.state)
            .order_by(MEASURES.c.id)
        ):
            heads[mid] = (seq, h, state)
        evidence_seqs: dict[tuple[int, int], list[str]] = {}
        for mid, sha, seq in conn.execute(
            select(MeasureEvidence.measure_id, MeasureEvidence.sha256, MeasureEvidence.event_seq)
        ):
            evidence_seqs.setdefault((mid, seq), []).append(sha)
        rows = conn.execution_options(stream_results=True, yield_per=2000).execute(
            select(EVENTS).order_by(EVENTS.c.measure_id, EVENTS.c.seq)
        )
        current, prev, expect_seq, last_to = None, GENESIS, 1, None
        seen: set[int] = set()

        def close_chain(mid, last_seq, last_hash, last_state):
            if mid not in heads:
                return Break(mid, None, None, "events for a measure that does not exist")
            hseq, hhash, hstate = heads[mid]
            if hseq != last_seq or hhash != last_hash:
                return Break(mid, last_seq, None,
                             f"chain head mismatch: measure records #{hseq}, chain ends at #{last_seq}")
            if last_state is not None and hstate != last_state:
                return Break(mid, last_seq, None,
                             f"state {hstate} differs from the last event's destination {last_state}")
            return None

        last_seq = 0
        for r in rows:
            if r.measure_id != current:
                if current is not None:
                    b = close_chain(current, last_seq, prev, last_to)
                    if b:
                        return b
                current, prev, expect_seq, last_to, last_seq = r.measure_id, GENESIS, 1, None, 0
                seen.add(current)
            if r.seq != expect_seq:
                return Break(r.measure_id, r.seq, r.id, f"sequence gap: expected #{expect_seq}")
            if r.prev_hash != prev:
                return Break(r.measure_id, r.seq, r.id, "prev_hash does not match the previous event")
            h = event_hash(prev, r.measure_id, r.seq, r.kind, r.actor, r.from_state, r.to_state, r.at, r.body)
            if h != r.hash:
                return Break(r.measure_id, r.seq, r.id, "content does not match its hash")
            try:
                body = json.loads(r.body)
            except ValueError:
                return Break(r.measure_id, r.seq, r.id, "body is not JSON")
            listed = sorted(e["sha256"] for e in body.get("evidence", []))
            attached = sorted(evidence_seqs.get((r.measure_id, r.seq), []))
            if listed != attached:
                return Break(r.measure_id, r.seq, r.id, "evidence links differ from the event")
            for e in body.get("evidence", []):
                b = _check_file(root, e["sha256"])
                if b:
                    return Break(r.measure_id, r.seq, r.id, f"evidence {e['sha256'][:12]}…: {b}")
            if r.to_state is not None:
                last_to = r.to_state
            prev, expect_seq, last_seq = r.hash, r.seq + 1, r.seq
        if current is not None:
            b = close_chain(current, last_seq, prev, last_to)
            if b:
                return b
        for mid, (hseq, _h, _s) in heads.items():
            if mid not in seen and hseq != 0:
                return Break(mid, None, None, f"all events missing (head #{hseq})")
    return None


def _check_file(root: Path, sha: str) -> str | None:
    path = root / sha[:2] / sha
    if not path.exists():
        return "file missing"
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    if digest.hexdigest() != sha:
        return "file content does not match its hash"
    return None


def heads_digest(conn: Connection) -> tuple[str, int, int, dict]:
    """sha256 over every chain head, in measure order: (digest, chains, events, heads)."""
    digest = hashlib.sha256()
    heads, events = {}, 0
    for r in conn.execute(
        select(MEASURES.c.id, MEASURES.c.head_seq, MEASURES.c.head_hash).order_by(MEASURES.c.id)
    ):
        digest.update(f"{r.id}:{r.head_seq}:{r.head_hash}\n".encode())
        heads[str(r.id)] = [r.head_seq, r.head_hash]
        events += r.head_seq
    return digest.hexdigest(), len(heads), events, heads


def checkpoint_in(conn: Connection, day: dt.date, now: dt.datetime) -> bool:
    """Record the day's checkpoint in the caller's transaction; False if that day already has one.

    On PostgreSQL another process may record the day between the check and the insert: the
    insert then raises IntegrityError and the caller's transaction is lost.
    """
    if conn.execute(select(Checkpoint.id).where(Checkpoint.day == day)).first():
        return False
    digest, chains, events, heads = heads_digest(conn)
    conn.execute(insert(Checkpoint.__table__), {
        "day": day, "digest": digest, "chains": chains, "events": events,
        "heads": canonical_json(heads), "created_at": now.replace(tzinfo=None),
    })
    return True


def record_checkpoint(day: dt.date, now: dt.datetime, engine: Engine | None = None) -> bool:
    """Record the day's checkpoint once; False if that day already has one."""
    try:
        with db.write_tx(engine or db.get_engine()) as conn:
            return checkpoint_in(conn, day, now)
    except IntegrityError:  # PostgreSQL: another process recorded the day between our check and insert
        return False


def check_checkpoints(engine: Engine | None = None) -> Break | None:
    """Every recorded head must still be on its chain (history was not rewritten)."""
    engine = engine or db.get_engine()
    with db.read_tx(engine) as conn:
        for cp in conn.execute(select(Checkpoint).order_by(Checkpoint.day)):
            for mid, (seq, h) in json.loads(cp.heads).items():
                if seq == 0:
                    continue
                row = conn.execute(
                    select(EVENTS.c.hash).where(EVENTS.c.measure_id == int(mid), EVENTS.c.seq == seq)
                ).first()
                if row is None or row.hash != h:
                    return Break(int(mid), seq, None, f"differs from the checkpoint of {cp.day}")
    return None


def event_count(conn: Connection) -> int:
    return conn.execute(select(func.count()).select_from(EVENTS)).scalar_one()


def set_head(conn: Connection, measure_id: int, seq: int, h: str) -> None:
    conn.execute(update(MEASURES).where(MEASURES.c.id == measure_id).values(head_seq=seq, head_hash=h))


def list_checkpoints(engine: Engine | None = None) -> list[dict]:
    """Every checkpoint, oldest first, in the form published: day, digest, chains, events."""
    engine = engine or db.get_engine()
    with db.read_tx(engine) as conn:
        return [{"day": cp.day.isoformat(), "digest": cp.digest, "chains": cp.chains, "events": cp.events}
                for cp in conn.execute(select(Checkpoint).order_by(Checkpoint.day))]


def check_published(published: list[dict], engine: Engine | None = None) -> str | None:
    """Compare a published export with the stored checkpoints and the chains they cover.

    Returns a description of the first mismatch, or None. The stored heads of each checkpoint
    must hash to the published digest and still be on their chains.
    """
    engine = engine or db.get_engine()
    with db.read_tx(engine) as conn:
        for item in published:
            day = dt.date.fromisoformat(item["day"])
            cp = conn.execute(select(Checkpoint).where(Checkpoint.day == day)).first()
            if cp is None:
                return f"checkpoint of {day} is missing"
            heads = json.loads(cp.heads)
            digest = hashlib.sha256()
            for mid in sorted(heads, key=int):
                seq, h = heads[mid]
                digest.update(f"{mid}:{seq}:{h}\n".encode())
            if digest.hexdigest() != item["digest"] or cp.digest != item["digest"]:
                return f"checkpoint of {day}: digest differs from the published one"
    broken = check_checkpoints(engine)
    return str(broken) if broken else None
