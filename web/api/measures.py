"""Measures: the ledger the caller may see, one measure, its timeline, and firing triggers."""
from __future__ import annotations

import marshmallow as ma
from flask import request
from .blueprint import Blueprint

from workflow import commands, readmodels, spec
from workflow.errors import Conflict

from .. import db, now
from ..auth import current_user
from ..errors import ApiError
from . import require_user, schemas

blp = Blueprint("measures", __name__, description="整改措施 · measures: the ledger, one measure, its audit "
                                                   "timeline, and the triggers of the lifecycle")
blp.before_request(require_user)

MEASURE = "/measures/<int(max=2147483647):measure_id>"
TRIGGER_PATH = MEASURE + "/triggers/<any(" + ", ".join(spec.PUBLIC_TRIGGERS) + "):trigger>"
ETAG_HEADER = {"ETag": {"description": 'the measure\'s version, quoted: `"7"`; send it back in If-Match',
                        "schema": {"type": "string"}}}


def etag(version: int) -> str:
    return f'"{version}"'


def if_match() -> set[int] | None:
    """The versions an ``If-Match`` header accepts: None without the header (or with ``*``);
    tags that are not ours match nothing, so they end in 412."""
    raw = request.headers.get("If-Match")
    if raw is None:
        return None
    versions = set()
    for tag in raw.split(","):
        tag = tag.strip()
        if tag == "*":
            return None
        if tag.startswith("W/"):
            tag = tag[2:]
        tag = tag.strip('"')
        if tag.isdigit() and len(tag) < 12:
            versions.add(int(tag))
    return versions


@blp.route("/measures")
@blp.arguments(schemas.MeasureArgs, location="query", as_kwargs=True)
@blp.response(200, schemas.MeasurePage)
def list_measures(**args):
    """The measures the caller may see, in id order, one page at a time.

    Owners see their unit's measures, leaders those they lead (or lead as a delegate); the
    office, supervisors, inspectors and admins see all. Filters combine with AND.
    """
    return readmodels.list_measures(current_user.actor, now=now(), engine=db(), **args)


@blp.route(MEASURE)
@blp.response(200, schemas.MeasureDetail, headers=ETAG_HEADER)
def get_measure(measure_id: int):
    """One measure with its evidence, extensions and the triggers the caller may fire now.

    404 for a measure the caller may not see, exactly as for one that does not exist.
    """
    out = readmodels.measure_detail(current_user.actor, measure_id, now=now(), engine=db())
    return out, 200, {"ETag": etag(out["version"])}


@blp.route(MEASURE + "/events")
@blp.response(200, schemas.EventOut(many=True))
def list_events(measure_id: int):
    """The audit timeline, oldest first; each event carries its link of the hash chain."""
    return readmodels.measure_events(current_user.actor, measure_id, engine=db())


_JSON_BODY = {"$ref": "#/components/schemas/TriggerBody"}
def _form_property(p: spec.Param) -> dict:
    out: dict = {"type": "string"}
    if p.kind == "date":
        out["format"] = "date"
    if p.choices:
        out["enum"] = list(p.choices)
    if p.max_length:
        out["maxLength"] = p.max_length
    if p.kind in ("user", "unit"):
        out["minLength"] = 1
    return out


_FORM_BODY = {
    "type": "object",
    "properties": {
        **{name: _form_property(p) for name, p in spec.PARAMS.items()},
        "evidence": {"type": "array", "items": {"type": "string", "format": "binary"},
                     "description": "evidence files: images, PDF, Word or Excel, each within the size limit"},
    },
}


@blp.route(TRIGGER_PATH, methods=["POST"])
@blp.doc(
    parameters=[{"in": "header", "name": "If-Match", "required": False, "schema": {"type": "string"},
                 "description": "the ETag the caller saw; if the measure has changed since: 412"}],
    requestBody={"required": False, "content": {
        "application/json": {"schema": _JSON_BODY},
        "multipart/form-data": {"schema": _FORM_BODY},
    }},
)
@blp.response(200, schemas.TriggerResult, headers=ETAG_HEADER)
def fire(measure_id: int, trigger: str):
    """Fire a trigger of the lifecycle, or record an event (comment, progress_update, urge, …).

    JSON body, or multipart with ``evidence`` files. Refused rules answer 422 with the rule as
    ``code`` (403 ``not_permitted``); a stale ``If-Match`` 412; a write that lost a race 409;
    an upload too large 413, of a kind not accepted 415.
    """
    body, files = _parse_trigger_body()
    given = spec.inputs(trigger, body.pop("comment", ""), body.pop("reason", ""), body)
    comment, reason, params = given["comment"], given["reason"], given["params"]
    versions = if_match()
    actor = current_user.actor
    try:
        version = readmodels.preflight(actor, measure_id, trigger, comment=comment, reason=reason,
                                       new_evidence=len(files), params=params, expected_version=versions,
                                       now=now(), engine=db())
    except Conflict as e:
        raise ApiError(412, "precondition_failed", str(e), headers={"ETag": etag(e.actual)}) from None
    # with If-Match, a change between the check above and the write is a conflict (409); a command
    # refused or lost at that point takes its uploaded files back with it
    result = commands.fire_with_files(measure_id, trigger, actor.username,
                                      [(f.read(), f.filename or "evidence") for f in files], comment=comment,
                                      reason=reason, params=params,
                                      expected_version=version if versions is not None else None, now=now(),
                                      engine=db())
    return result.__dict__, 200, {"ETag": etag(result.version)}


def _parse_trigger_body() -> tuple[dict, list]:
    """JSON, a form (multipart with files) or nothing; validated by :class:`schemas.TriggerBody`."""
    mimetype = request.mimetype
    files = []
    if mimetype == "application/json":
        data = request.get_json(silent=False)
        if not isinstance(data, dict):
            raise ApiError(422, "validation_error", "the JSON body must be an object")
    elif mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        data = {k: v for k, v in request.form.items() if k != "csrf_token"}
        files = [f for f in request.files.getlist("evidence") if f]
        unexpected = sorted(set(request.files) - {"evidence"})
        if unexpected:
            raise ApiError(422, "validation_error", f"unexpected file field(s): {', '.join(unexpected)}")
    elif not request.get_data(cache=True):
        data = {}
    else:
        raise ApiError(415, "unsupported_media_type", "send application/json or multipart/form-data")
    try:
        return schemas.TriggerBody().load(data), files
    except ma.ValidationError as e:
        raise ApiError(422, "validation_error", errors={"body": e.messages}) from None
