"""Publishing the notice: the office freezes the computed text; the public sees only what was published.

:func:`publish` computes the notice of a plan now (:func:`workflow.report.notice_doc`), stores its
blocks as canonical JSON with their sha256, and chains each version of a plan to the one before
(``hash = sha256(prev_hash + sha256)``), so a published text cannot be changed or removed quietly:
:func:`verify` (run by ``rectify audit verify``) names the first version that no longer matches.
Drafts are never stored and never public; the public page lists published versions, newest first,
each with the date it was published.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Engine

from . import db, loading, report, spec, stats
from .audit import GENESIS, canonical_json
from .clock import utcnow
from .errors import NotFound
from .models import NoticeVersion, Plan, User
from .render import Doc, Heading, Items, Para, Signature, Table

NV = NoticeVersion.__table__
_BLOCKS = {"heading": Heading, "para": Para, "table": Table, "items": Items, "signature": Signature}
_NAMES = {cls: name for name, cls in _BLOCKS.items()}
PUBLISHERS = ("office",)


def as_dict(doc: Doc) -> dict:
    """A document as plain data: ``{title, issuer, blocks: [{type, …}]}`` (for storing, and for pages)."""
    blocks = [{"type": _NAMES[type(b)], **dataclasses.asdict(b)} for b in doc.blocks]
    return {"title": doc.title, "issuer": doc.issuer, "blocks": blocks}


def to_json(doc: Doc) -> str:
    """A document as canonical JSON (sorted keys, compact): what is hashed and stored."""
    return canonical_json(as_dict(doc))


def fingerprint(doc: Doc) -> str:
    """The sha256 a document would be published under: a reviewer's draft names what they read."""
    return hashlib.sha256(to_json(doc).encode("utf-8")).hexdigest()


def from_json(text: str) -> Doc:
    data = json.loads(text)
    blocks = [_BLOCKS[b.pop("type")](**b) for b in data["blocks"]]
    return Doc(data["title"], blocks, issuer=data.get("issuer"))


def _chain(prev_hash: str, sha256: str) -> str:
    return hashlib.sha256((prev_hash + sha256).encode("ascii")).hexdigest()


def publish(plan_id: int, actor: str, *, now: dt.datetime | None = None, engine: Engine | None = None,
            expected: str | None = None) -> dict:
    """Freeze the notice of ``plan_id`` as computed at ``now``; only the office publishes.

    ``expected``: the :func:`fingerprint` of the draft the publisher reviewed; if the notice computed
    now differs (the ledger changed since), nothing is published (``Refused("draft_changed")``).
    Returns ``{plan_id, version, sha256, hash, published_at, title}``.
    """
    now = (now or utcnow()).replace(tzinfo=None)
    with db.write_tx(engine) as conn:
        who = loading.load_actor(conn, actor)
        if not set(PUBLISHERS) & who.roles:
            raise spec.Refused("not_permitted", "only the rectification office publishes the notice")
        plan = stats.resolve_plan(conn, plan_id)
        doc = report.notice_doc(plan.id, now, engine=engine, conn=conn)
        body = to_json(doc)
        sha = hashlib.sha256(body.encode("utf-8")).hexdigest()
        if expected is not None and expected != sha:
            raise spec.Refused("draft_changed", "the notice changed since the draft was reviewed; review it again")
        last = conn.execute(select(NV.c.version, NV.c.hash).where(NV.c.plan_id == plan.id)
                            .order_by(NV.c.version.desc()).limit(1)).first()
        version, prev = (last.version + 1, last.hash) if last else (1, GENESIS)
        h = _chain(prev, sha)
        conn.execute(insert(NV), {"plan_id": plan.id, "version": version, "title": doc.title[:300], "document": body,
                                  "sha256": sha, "prev_hash": prev, "hash": h, "published_by": who.id,
                                  "published_at": now})
    return {"plan_id": plan.id, "version": version, "sha256": sha, "hash": h, "published_at": now.isoformat(),
            "title": doc.title}


def published(plan_id: int | None = None, engine: Engine | None = None) -> list[dict]:
    """Published versions (all plans, or one), newest first: what the public may read."""
    q = (select(NV.c.plan_id, NV.c.version, NV.c.title, NV.c.sha256, NV.c.published_at, User.name.label("by"),
                Plan.title.label("plan_title"))
         .join(User, User.id == NV.c.published_by).join(Plan, Plan.id == NV.c.plan_id)
         .order_by(NV.c.published_at.desc(), NV.c.id.desc()))
    if plan_id is not None:
        q = q.where(NV.c.plan_id == plan_id)
    with db.read_tx(engine) as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def published_doc(plan_id: int, version: int | None = None, engine: Engine | None = None) -> tuple[dict, Doc]:
    """One published version (the newest when ``version`` is None) and its document; NotFound if none."""
    q = select(NV).where(NV.c.plan_id == plan_id)
    q = q.where(NV.c.version == version) if version is not None else q.order_by(NV.c.version.desc()).limit(1)
    with db.read_tx(engine) as conn:
        row = conn.execute(q).first()
    if row is None:
        raise NotFound(f"no published notice for plan {plan_id}" + (f" version {version}" if version else ""))
    meta = {k: row._mapping[k] for k in ("plan_id", "version", "title", "sha256", "published_at")}
    return meta, from_json(row.document)


def verify(engine: Engine | None = None) -> str | None:
    """None if every published version still matches its hash chain; else what is broken, named."""
    with db.read_tx(engine) as conn:
        plans = [r[0] for r in conn.execute(select(NV.c.plan_id).distinct().order_by(NV.c.plan_id))]
        for plan_id in plans:
            prev, expected = GENESIS, 1
            rows = conn.execute(select(NV).where(NV.c.plan_id == plan_id).order_by(NV.c.version))
            for r in rows:
                where = f"published notice of plan {plan_id} version {r.version}"
                if r.version != expected:
                    return f"{where}: version {expected} is missing"
                if hashlib.sha256(r.document.encode("utf-8")).hexdigest() != r.sha256:
                    return f"{where}: its text no longer matches its sha256"
                if r.prev_hash != prev or _chain(prev, r.sha256) != r.hash:
                    return f"{where}: the chain of published versions is broken"
                prev, expected = r.hash, expected + 1
    return None


def count(engine: Engine | None = None) -> int:
    with db.read_tx(engine) as conn:
        return conn.execute(select(func.count()).select_from(NV)).scalar_one()
