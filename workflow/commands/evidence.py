"""Taking a wrong evidence file off a measure before it is submitted.

A file may be removed by whoever may add it (the owner or a member of the owning unit) while the
measure is with them (已交办 or 整改中) and the file has not been part of a submission yet: what an
approver has seen stays. The removal is an audit event (``remove_evidence``) on the measure's
chain; the link keeps its row (marked with the removing event's number) and the file stays in the
store, so the chain still proves what was once attached, but pages, the approval and the
"at least one file" rule no longer count it.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine

from .. import audit, db, spec
from ..clock import utcnow
from ..errors import Conflict
from ..loading import LOCK_MEASURE, load_actor, load_measure, view_of
from ..models import Event, MeasureEvidence
from .measures import write_checked

ME = MeasureEvidence.__table__
EV = Event.__table__
KIND = "remove_evidence"


def last_submission(conn, measure_id: int) -> int:
    """The number of the measure's newest ``submit`` event (0 if it was never submitted)."""
    return conn.execute(select(func.coalesce(func.max(EV.c.seq), 0)).where(
        EV.c.measure_id == measure_id, EV.c.kind == "submit")).scalar_one()


def remove_evidence(measure_id: int, sha256: str, actor: str, *, expected_version: int | None = None,
                    now: dt.datetime | None = None, engine: Engine | None = None) -> dict:
    """Remove the file ``sha256`` from the measure as ``actor``; return ``{version, name, seq}``.

    Refused: ``wrong_state`` (not with the owner), ``not_permitted`` (not the owner or the owning
    unit), ``evidence_unknown`` (no such file on the measure), ``evidence_submitted`` (already part of
    a submission). A stale ``expected_version`` is a :class:`workflow.errors.Conflict`.
    """
    now = (now or utcnow()).replace(tzinfo=None)
    with db.write_tx(engine) as conn:
        who = load_actor(conn, actor)
        if conn.dialect.name != "sqlite":
            conn.execute(LOCK_MEASURE, {"measure_id": measure_id})
        row = load_measure(conn, measure_id)
        if expected_version is not None and row.version != expected_version:
            raise Conflict(measure_id, expected_version, row.version)
        ctx = spec.Ctx(who, view_of(row))
        if row.state not in spec.WORK_STATES:
            raise spec.Refused("wrong_state", f"evidence can be removed only before submission, not in {row.state}")
        if not spec.is_owner_or_unit_member(ctx):
            raise spec.Refused("not_permitted", "only the owner or a member of the owning unit removes evidence")
        link = conn.execute(select(ME.c.id, ME.c.name, ME.c.event_seq).where(
            ME.c.measure_id == measure_id, ME.c.sha256 == sha256, ME.c.removed_seq.is_(None))).first()
        if link is None:
            raise spec.Refused("evidence_unknown", "no such evidence on this measure")
        if link.event_seq <= last_submission(conn, measure_id):
            raise spec.Refused("evidence_submitted", "the file was part of a submission and stays on record")
        body = {"removed": [{"sha256": sha256, "name": link.name}]}
        seq, h = audit.append(conn, row.id, row.head_seq, row.head_hash, KIND, who.username, None, None, body, now)
        write_checked(conn, row.id, row.version, {"version": row.version + 1, "head_seq": seq, "head_hash": h,
                                                  "evidence_count": max(0, row.evidence_count - 1)})
        conn.execute(update(ME).where(ME.c.id == link.id).values(removed_seq=seq))
        return {"version": row.version + 1, "name": link.name, "seq": seq}
