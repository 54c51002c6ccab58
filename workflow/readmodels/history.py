"""What came back and what is new: read from a measure's audit events.

A measure *came back* when the newest change of its state was a return (退回), a refused sign-off
(不予销号) or a reopening (重新整改): the owner's to-do shows it first, with who sent it back, why and
since when. Evidence attached after the last time a measure came back is *new*: the approver sees
which files were added since, and which were there before.
"""
from __future__ import annotations

import json
from collections.abc import Iterable

from sqlalchemy import and_, func, or_, select
from sqlalchemy.engine import Connection

from .. import spec
from ..models import Event, MeasureEvidence, User

E = Event.__table__
ME = MeasureEvidence.__table__

# the triggers that send a measure back to its owner from an approver or from being closed
SENT_BACK = tuple(n for n, t in spec.TRIGGERS.items()
                  if t.dest == spec.IN_PROGRESS and not set(t.sources) & set(spec.WORK_STATES))


def _changes():
    """Events that changed a measure's state (not recorded events, not same-state edges)."""
    return and_(E.c.to_state.is_not(None), or_(E.c.from_state.is_(None), E.c.from_state != E.c.to_state))


def sent_back(conn: Connection, ids: Iterable[int], *, current: bool = True) -> dict[int, dict]:
    """For each measure, the newest event that sent it back (``kind``, ``seq``, ``at``, ``reason``,
    ``category``, ``by`` login name, ``by_name``). With ``current``, only where that is still the
    newest change of its state (the measure is back with its owner because of it)."""
    ids = sorted(set(ids))
    if not ids:
        return {}
    kinds = _changes() if current else E.c.kind.in_(SENT_BACK)
    last = (select(E.c.measure_id, func.max(E.c.seq).label("seq"))
            .where(E.c.measure_id.in_(ids), kinds).group_by(E.c.measure_id).subquery())
    q = (select(E.c.measure_id, E.c.seq, E.c.kind, E.c.at, E.c.actor, E.c.body, User.name)
         .join(last, and_(last.c.measure_id == E.c.measure_id, last.c.seq == E.c.seq))
         .outerjoin(User, User.username == E.c.actor))
    out = {}
    for r in conn.execute(q):
        if r.kind not in SENT_BACK:
            continue
        body = json.loads(r.body) if r.body else {}
        out[r.measure_id] = {"kind": r.kind, "seq": r.seq, "at": r.at, "reason": body.get("reason", ""),
                             "category": body.get("category"), "by": r.actor, "by_name": r.name or r.actor}
    return out


def new_evidence(conn: Connection, since: dict[int, int]) -> dict[int, int]:
    """How many live files each measure gained after event ``since[measure_id]``."""
    if not since:
        return {}
    conds = [and_(ME.c.measure_id == mid, ME.c.event_seq > seq) for mid, seq in since.items()]
    rows = conn.execute(select(ME.c.measure_id, func.count()).where(ME.c.removed_seq.is_(None), or_(*conds))
                        .group_by(ME.c.measure_id))
    counts = {mid: 0 for mid in since}
    counts.update({int(r[0]): int(r[1]) for r in rows})
    return counts
