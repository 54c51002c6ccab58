"""Evidence files, served as attachments to people who may see a measure that holds them."""
from __future__ import annotations

from .blueprint import Blueprint

from workflow import evidence as ev, readmodels

from .. import db
from ..auth import current_user
from ..errors import ApiError
from ..security import serve_evidence
from . import require_user

blp = Blueprint("evidence", __name__, description="佐证材料 · evidence files (content-addressed by sha256)")
blp.before_request(require_user)

_BINARY = {"schema": {"type": "string", "format": "binary"}}


@blp.route("/evidence/<string(length=64):sha256>")
@blp.doc(responses={"200": {"description": "the file, as an attachment",
                            "content": {mime: _BINARY for mime in sorted(ev.ALLOWED)}}})
def download(sha256: str):
    """Download an evidence file by its sha256.

    404 unless the caller may see a measure the file is attached to: whether the file exists
    at all is not revealed. A file whose bytes no longer match its sha256 is not served (500
    ``evidence_damaged``). The name ends in the extension of the file's type; nothing is cached.
    """
    meta = readmodels.evidence_file(current_user.actor, sha256, engine=db())
    try:
        data = ev.read_verified(meta["sha256"])  # bytes that no longer match their hash are not served
    except ev.EvidenceUnavailable as e:
        if e.rule == "evidence_missing":
            raise ApiError(404, "evidence_unknown", "the file is missing from the evidence store") from None
        raise
    return serve_evidence(data, meta)
