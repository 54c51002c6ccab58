"""Records: facts that belong to no one measure, in one hash chain (``hash = sha256(prev + canonical)``).

A confirmed or dismissed recurrence link and a 举一反三 spread are recorded here, in the transaction of
the command that makes them, so the audit trail covers them as it covers every measure's events;
:func:`verify` (run by ``rectify audit verify``) names the first record that no longer matches.
On PostgreSQL the chain's tail is locked (``FOR UPDATE``) while a record is appended, so two writers
never fork it; SQLite's writer lock does the same.
"""
from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection, Engine

from . import db
from .audit import GENESIS, canonical_json
from .models import Record

R = Record.__table__


def _hash(prev: str, kind: str, subject: str, body: str, actor: str, at: dt.datetime) -> str:
    doc = canonical_json({"kind": kind, "subject": subject, "body": body, "actor": actor,
                          "at": at.strftime("%Y-%m-%dT%H:%M:%S.%f")})
    return hashlib.sha256((prev + doc).encode("utf-8")).hexdigest()


def append(conn: Connection, kind: str, subject: str, body: dict, actor: str, at: dt.datetime) -> str:
    """Add a record at the end of the chain, inside the caller's transaction; return its hash."""
    at = at.replace(tzinfo=None)
    tail = select(R.c.hash).order_by(R.c.id.desc()).limit(1)
    if conn.dialect.name != "sqlite":
        tail = tail.with_for_update()
    prev = conn.execute(tail).scalar() or GENESIS
    text = canonical_json(body)
    h = _hash(prev, kind, subject, text, actor, at)
    conn.execute(insert(R), {"kind": kind, "subject": subject, "body": text, "actor": actor, "at": at,
                             "prev_hash": prev, "hash": h})
    return h


def verify(engine: Engine | None = None) -> str | None:
    """None if every record still matches the chain; else the first that does not, named."""
    prev = GENESIS
    with db.read_tx(engine) as conn:
        for r in conn.execute(select(R).order_by(R.c.id), execution_options={"yield_per": 2000}):
            if r.prev_hash != prev or _hash(prev, r.kind, r.subject, r.body, r.actor, r.at) != r.hash:
                return f"record {r.id} ({r.kind} {r.subject}) does not match the chain of records"
            prev = r.hash
    return None


def of(subject: str, engine: Engine | None = None) -> list[dict]:
    """The records about ``subject``, oldest first."""
    import json

    with db.read_tx(engine) as conn:
        return [{"kind": r.kind, "actor": r.actor, "at": r.at, "body": json.loads(r.body)}
                for r in conn.execute(select(R).where(R.c.subject == subject).order_by(R.c.id))]
