"""Marshmallow schemas: what the API accepts and what it answers (and so its OpenAPI document)."""
from __future__ import annotations

import datetime as dt

import marshmallow as ma
from marshmallow import fields, validate

from workflow import paging, readmodels, spec, vocabulary


class Text(fields.String):
    """A string the databases can store: no NUL character, no lone surrogate."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text:
            raise ma.ValidationError("must not contain NUL characters")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ma.ValidationError("must be valid Unicode text") from None
        return text


class UtcDateTime(fields.DateTime):
    """Naive UTC times from the database, written with their offset (RFC 3339)."""

    def _serialize(self, value, attr, obj, **kwargs):
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return super()._serialize(value, attr, obj, **kwargs)


class Error(ma.Schema):
    code = fields.String(required=True, metadata={"description": "the rule or error code, e.g. reason_required"})
    message = fields.String(required=True, metadata={"description": "in the request's language (zh or en)"})
    detail = fields.String(metadata={"description": "the engine's own explanation, when there is one"})
    errors = fields.Dict(metadata={"description": "per-field validation messages"})


# --- pages -----------------------------------------------------------------------------

class PageArgs(ma.Schema):
    lang = fields.String(validate=validate.OneOf(("zh", "en")),
                         metadata={"description": "the language of the answer's messages (zh or en)"})
    page = fields.Integer(load_default=1, validate=validate.Range(1, paging.MAX_PAGE))
    per_page = fields.Integer(load_default=50, validate=validate.Range(1, paging.MAX_PER_PAGE))

    @ma.post_load
    def _without_lang(self, data: dict, **_kw) -> dict:
        data.pop("lang", None)  # read by the language selector, not by the view
        return data


def page_schema(name: str, item: type[ma.Schema], **extra: fields.Field) -> type[ma.Schema]:
    """The schema of a :class:`workflow.paging.Page` of ``item``, named ``name`` in the OpenAPI
    document, with ``extra`` fields (such as an inbox's ``unread``)."""
    return ma.Schema.from_dict({
        "items": fields.List(fields.Nested(item), required=True),
        "page": fields.Integer(required=True),
        "per_page": fields.Integer(required=True),
        "total": fields.Integer(required=True),
        "pages": fields.Integer(required=True),
        **extra,
    }, name=name)


class MeasureArgs(PageArgs):
    state = fields.String(validate=validate.OneOf(spec.STATES))
    unit = Text(validate=validate.Length(1, 200), metadata={"description": "unit name"})
    light = fields.String(validate=validate.OneOf(readmodels.LIGHTS))
    part = fields.Integer(validate=validate.Range(1, 1000), metadata={"description": "part number (一、二、三 → 1, 2, 3)"})
    problem = fields.Integer(validate=validate.Range(1, 100000), metadata={"description": "problem number"})


class NotificationArgs(PageArgs):
    unread = fields.Boolean(load_default=False)


# --- measures ------------------------------------------------------------------------

class MeasureSummary(ma.Schema):
    id = fields.Integer(required=True)
    problem_id = fields.Integer(required=True)
    problem_no = fields.Integer(required=True)
    part = fields.Integer(required=True)
    seq = fields.Integer(required=True)
    text = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(spec.KINDS))
    state = fields.String(required=True, validate=validate.OneOf(spec.STATES))
    light = fields.String(required=True, validate=validate.OneOf(readmodels.LIGHTS))
    level = fields.Integer(required=True, metadata={"description": "-1 none, 0 yellow, 1-3 red"})
    owner = fields.String(allow_none=True, metadata={"description": "username"})
    owner_name = fields.String(allow_none=True)
    leader = fields.String(allow_none=True, metadata={"description": "username"})
    leader_name = fields.String(allow_none=True)
    unit = fields.String(allow_none=True)
    deadline = fields.Date(allow_none=True, metadata={"description": "the deadline in force"})
    deadline_original = fields.Date(allow_none=True)
    version = fields.Integer(required=True, metadata={"description": "also the ETag of the measure"})
    reopen_count = fields.Integer(required=True)
    evidence_count = fields.Integer(required=True)
    pending_extension = fields.Boolean(required=True)


MeasurePage = page_schema("MeasurePage", MeasureSummary)


class EvidenceRef(ma.Schema):
    sha256 = fields.String(required=True)
    name = fields.String(required=True)
    size = fields.Integer(required=True)
    mime = fields.String(required=True)
    event_seq = fields.Integer(required=True)


class ExtensionOut(ma.Schema):
    id = fields.Integer(required=True)
    old_deadline = fields.Date(allow_none=True)
    new_deadline = fields.Date(required=True)
    reason = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(("pending", "granted", "denied")))
    requested_by = fields.String(required=True)
    decided_by = fields.String(allow_none=True)
    created_at = UtcDateTime(required=True)
    decided_at = UtcDateTime(allow_none=True)


class MeasureDetail(MeasureSummary):
    problem_text = fields.String(required=True)
    part_title = fields.String(required=True)
    category = fields.String(allow_none=True)
    account = fields.String(allow_none=True, metadata={"description": "落实情况, as submitted"})
    extra = fields.Dict(keys=fields.String(), values=fields.String(),
                        metadata={"description": "其他信息: cells of an imported ledger with no field of their own, "
                                                 "{header: text} in the file's column order"})
    submitter = fields.String(allow_none=True)
    submitted_at = UtcDateTime(allow_none=True)
    closed_at = UtcDateTime(allow_none=True)
    created_at = UtcDateTime(allow_none=True)
    evidence_waived = fields.Boolean(required=True)
    evidence = fields.List(fields.Nested(EvidenceRef), required=True)
    extensions = fields.List(fields.Nested(ExtensionOut), required=True)
    allowed_triggers = fields.List(fields.String(validate=validate.OneOf(spec.PUBLIC_TRIGGERS)), required=True,
                                   metadata={"description": "what the caller may fire now"})


class EventOut(ma.Schema):
    seq = fields.Integer(required=True)
    kind = fields.String(required=True)
    actor = fields.String(required=True)
    from_state = fields.String(allow_none=True)
    to_state = fields.String(allow_none=True)
    at = UtcDateTime(required=True)
    body = fields.Dict(required=True)
    prev_hash = fields.String(required=True)
    hash = fields.String(required=True)


def _param_field(p: spec.Param) -> fields.Field:
    """The marshmallow field of one trigger parameter (:class:`workflow.spec.Param`)."""
    takers = ", ".join(t.name for t in spec.TRIGGERS.values() if t.public and t.param(p.name) is not None)
    meta = {"description": f"{p.label} — taken by: {takers}"}
    if p.kind == "date":
        return fields.Date(metadata=meta)
    if p.kind == "choice":
        return fields.String(validate=validate.OneOf(p.choices), metadata=meta)
    if p.kind in ("user", "unit"):
        return Text(validate=validate.Length(1, p.max_length or 200), metadata=meta)
    return Text(validate=validate.Length(max=p.max_length or 20000), metadata=meta)


# What a trigger takes: every parameter any trigger declares; which ones a trigger accepts is checked
# against its declaration (a value for a parameter it does not take is refused as invalid_input).
TriggerBody = ma.Schema.from_dict({name: _param_field(p) for name, p in spec.PARAMS.items()}, name="TriggerBody")


class TriggerResult(ma.Schema):
    measure_id = fields.Integer(required=True)
    trigger = fields.String(required=True)
    from_state = fields.String(required=True)
    state = fields.String(required=True)
    version = fields.Integer(required=True)
    seq = fields.Integer(required=True, metadata={"description": "the audit event's number"})
    hash = fields.String(required=True, metadata={"description": "the audit event's chain hash"})
    notified = fields.Integer(required=True)
    evidence = fields.List(fields.String(), required=True, metadata={"description": "sha256 of the files stored"})


# --- people, inbox, overview ---------------------------------------------------------------

class UnitRef(ma.Schema):
    name = fields.String(required=True)
    head = fields.Boolean(required=True)


class Me(ma.Schema):
    id = fields.Integer(required=True)
    username = fields.String(required=True)
    name = fields.String(required=True)
    email = fields.String(allow_none=True)
    locale = fields.String(allow_none=True)
    language = fields.String(required=True, metadata={"description": "the language of this response"})
    roles = fields.List(fields.String(validate=validate.OneOf(spec.ROLES)), required=True)
    unit = fields.String(allow_none=True)
    units = fields.List(fields.Nested(UnitRef), required=True)
    delegate_for = fields.List(fields.String(), required=True)


class NotificationOut(ma.Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True)
    subject = fields.String(required=True)
    body = fields.String(required=True)
    measure_id = fields.Integer(allow_none=True)
    level = fields.Integer(allow_none=True)
    created_at = UtcDateTime(required=True)
    read_at = UtcDateTime(allow_none=True)


NotificationPage = page_schema("NotificationPage", NotificationOut, unread=fields.Integer(required=True))


class Marked(ma.Schema):
    marked = fields.Integer(required=True)


class ProblemOut(ma.Schema):
    id = fields.Integer(required=True)
    plan_id = fields.Integer(required=True)
    no = fields.Integer(required=True)
    text = fields.String(required=True)
    part = fields.Integer(required=True)
    part_title = fields.String(required=True)
    category = fields.String(allow_none=True)
    progress = fields.String(required=True, validate=validate.OneOf(tuple(vocabulary.PROGRESS_LABELS)))
    amount_involved = fields.Decimal(allow_none=True, as_string=True)
    amount_recovered = fields.Decimal(allow_none=True, as_string=True)
    measures = fields.Integer(required=True)
    closed = fields.Integer(required=True)
    measure_ids = fields.List(fields.Integer(), required=True, metadata={"description": "those the caller may see"})


ProblemPage = page_schema("ProblemPage", ProblemOut)


def counts(name: str, keys, **extra: fields.Field) -> type[ma.Schema]:
    """A schema of whole-number counts, one per key (as :func:`page_schema`, named in the document)."""
    return ma.Schema.from_dict({**extra, **{k: fields.Integer(required=True) for k in keys}}, name=name)


ByState = counts("ByState", spec.STATES)
ByLight = counts("ByLight", vocabulary.LIGHT_LABELS)
UnitStats = counts("UnitStats", ("total", "closed", "closed_on_time", "red", "yellow"),
                   unit=fields.String(required=True))


class Stats(ma.Schema):
    total = fields.Integer(required=True)
    by_state = fields.Nested(ByState, required=True)
    by_light = fields.Nested(ByLight, required=True)
    by_unit = fields.List(fields.Nested(UnitStats), required=True)
    closed_late = fields.Integer(required=True)
