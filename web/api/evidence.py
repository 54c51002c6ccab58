"""Evidence files, served as attachments to people who may see a measure that holds them."""
from __future__ import annotations

from flask import send_file
from .blueprint import Blueprint

from workflow import evidence as ev, readmodels

from .. import db
from ..auth import current_user
from ..errors import ApiError
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
    at all is not revealed.
    """
    meta = readmodels.evidence_file(current_user.actor, sha256, engine=db())
    path = ev.path_of(meta["sha256"])
    if not path.is_file():
        raise ApiError(404, "evidence_unknown", "the file is missing from the evidence store")
    response = send_file(path, mimetype=meta["mime"], as_attachment=True, download_name=meta["name"],
                         conditional=False, etag=False, max_age=0)
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response
