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
    """Walk every chain; return the first break, or None if all hold.

    Measures, events and evidence links are read as three streams in measure order and walked side by
    side, so memory stays flat however many measures and events there are.
    """
    engine = engine or db.get_engine()
    root = evidence_root or db.evidence_dir()
    with db.read_tx(engine) as conn:
        stream = conn.execution_options(stream_results=True, yield_per=2000)
        heads = _Stream(stream.execute(select(MEASURES.c.id, MEASURES.c.head_seq, MEASURES.c.head_hash,
                                              MEASURES.c.state).order_by(MEASURES.c.id)))
        links = _Stream(stream.execute(select(MeasureEvidence.measure_id, MeasureEvidence.event_seq,
                                              MeasureEvidence.sha256)
                                       .order_by(MeasureEvidence.measure_id, MeasureEvidence.event_seq)))
        events = stream.execute(select(EVENTS).order_by(EVENTS.c.measure_id, EVENTS.c.seq))
        chain = _Chain(heads, links, root)
        for r in events:
            b = chain.event(r)
            if b:
                return b
        return chain.finish()


class _Stream:
    """A result walked forward, one row visible ahead."""

    def __init__(self, result):
        self.it = iter(result)
        self.row = next(self.it, None)

    def advance(self) -> None:
        self.row = next(self.it, None)


class _Chain:
    """The walk of :func:`verify`: one measure's chain at a time, its head and evidence links beside it."""

    def __init__(self, heads: _Stream, links: _Stream, root: Path):
        self.heads, self.links, self.root = heads, links, root
        self.current: int | None = None
        self.head = None
        self.prev, self.expect_seq, self.last_to, self.last_seq = GENESIS, 1, None, 0

    def _skip_heads_before(self, mid: int | None) -> Break | None:
        """Measures before ``mid`` (None: all that are left) have no events: they must have none recorded."""
        while self.heads.row is not None and (mid is None or self.heads.row.id < mid):
            hid, hseq = self.heads.row.id, self.heads.row.head_seq
            self.heads.advance()
            if hseq != 0:
                return Break(hid, None, None, f"all events missing (head #{hseq})")
        return None

    def _close(self) -> Break | None:
        if self.current is None:
            return None
        mid, h = self.current, self.head
        if h is None:
            return Break(mid, None, None, "events for a measure that does not exist")
        if h.head_seq != self.last_seq or h.head_hash != self.prev:
            return Break(mid, self.last_seq, None,
                         f"chain head mismatch: measure records #{h.head_seq}, chain ends at #{self.last_seq}")
        if self.last_to is not None and h.state != self.last_to:
            return Break(mid, self.last_seq, None,
                         f"state {h.state} differs from the last event's destination {self.last_to}")
        return None

    def _open(self, mid: int) -> Break | None:
        b = self._skip_heads_before(mid)
        if b:
            return b
        self.head = None
        if self.heads.row is not None and self.heads.row.id == mid:
            self.head = self.heads.row
            self.heads.advance()
        self.current, self.prev, self.expect_seq, self.last_to, self.last_seq = mid, GENESIS, 1, None, 0
        return None

    def _attached(self, mid: int, seq: int) -> list[str]:
        links = self.links
        while links.row is not None and (links.row.measure_id, links.row.event_seq) < (mid, seq):
            links.advance()
        out = []
        while links.row is not None and (links.row.measure_id, links.row.event_seq) == (mid, seq):
            out.append(links.row.sha256)
            links.advance()
        return sorted(out)

    def event(self, r) -> Break | None:
        if r.measure_id != self.current:
            b = self._close() or self._open(r.measure_id)
            if b:
                return b
        if r.seq != self.expect_seq:
            return Break(r.measure_id, r.seq, r.id, f"sequence gap: expected #{self.expect_seq}")
        if r.prev_hash != self.prev:
            return Break(r.measure_id, r.seq, r.id, "prev_hash does not match the previous event")
        h = event_hash(self.prev, r.measure_id, r.seq, r.kind, r.actor, r.from_state, r.to_state, r.at, r.body)
        if h != r.hash:
            return Break(r.measure_id, r.seq, r.id, "content does not match its hash")
        try:
            body = json.loads(r.body)
        except ValueError:
            return Break(r.measure_id, r.seq, r.id, "body is not JSON")
        listed = sorted(e["sha256"] for e in body.get("evidence", []))
        if listed != self._attached(r.measure_id, r.seq):
            return Break(r.measure_id, r.seq, r.id, "evidence links differ from the event")
        for e in body.get("evidence", []):
            problem = _check_file(self.root, e["sha256"])
            if problem:
                return Break(r.measure_id, r.seq, r.id, f"evidence {e['sha256'][:12]}…: {problem}")
        if r.to_state is not None:
            self.last_to = r.to_state
        self.prev, self.expect_seq, self.last_seq = r.hash, r.seq + 1, r.seq
        return None

    def finish(self) -> Break | None:
        return self._close() or self._skip_heads_before(None)


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
