"""Errors: one JSON shape for the API, one page for people, one mapping from domain errors.

API errors (any path under ``/api/`` and ``/healthz``) are ``{"code", "message"}`` with
``message`` in the request's language; ``detail`` (the engine's own words) and ``errors``
(per-field validation messages) are added when there are any. Pages get
``templates/errors/error.html`` with the same code and message.

Domain errors map to statuses so: a refused rule → 422 with ``code`` = the rule
(``not_permitted`` → 403), not found → 404, a stale version → 409, an upload refused →
413 (too large), 415 (not an accepted kind of file) or 422 (empty).
"""
from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from workflow import evidence as ev, spec
from workflow.errors import Conflict, NotFound

from . import i18n

log = logging.getLogger(__name__)

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    500: "internal_error",
    503: "service_unavailable",
}
EVIDENCE_STATUS = {"evidence_too_large": 413, "evidence_type": 415, "evidence_unknown": 404, "evidence_missing": 404,
                   "evidence_damaged": 500, "evidence_store_unavailable": 503}


class ApiError(HTTPException):
    """An HTTP error with a rule ``code`` of our own (e.g. 412 precondition_failed)."""

    def __init__(self, status: int, code: str, detail: str | None = None, headers: dict | None = None,
                 errors: dict | None = None, **params):
        super().__init__(description=detail)
        self.code = status
        self.rule = code
        self.detail = detail
        self.errors = errors
        self.params = params
        self.extra_headers = headers or {}


def describe(exc: Exception) -> tuple[int, str, str]:
    """``(status, code, localised message)`` for a domain or HTTP error."""
    status, code, message, _detail, _errors, _headers = _describe(exc)
    return status, code, message


def _describe(exc: Exception):
    """(status, code, message, detail, errors, headers)."""
    if isinstance(exc, spec.Refused):
        status = 403 if exc.rule == "not_permitted" else 422
        return status, exc.rule, i18n.message(exc.rule), exc.message, None, {}
    if isinstance(exc, NotFound):
        return 404, "not_found", i18n.message("not_found"), None, None, {}
    if isinstance(exc, Conflict):
        return 409, "conflict", i18n.message("conflict"), str(exc), None, {}
    if isinstance(exc, ev.EvidenceRefused):
        status = EVIDENCE_STATUS.get(exc.rule, 422)
        return status, exc.rule, i18n.message(exc.rule), exc.message, None, {}
    if isinstance(exc, ApiError):
        return (exc.code, exc.rule, i18n.message(exc.rule, **exc.params), exc.detail, exc.errors,
                dict(exc.extra_headers))
    if isinstance(exc, CSRFError):
        return 400, "csrf_failed", i18n.message("csrf_failed"), exc.description, None, {}
    if isinstance(exc, HTTPException):
        status = exc.code or 500
        code = HTTP_CODES.get(status, "error")
        data = getattr(exc, "data", None) or {}
        errors = data.get("errors") or data.get("messages")
        headers = dict(data.get("headers") or {})
        if exc.response is not None:  # e.g. 405 carries its Allow header
            headers.update({k: v for k, v in exc.response.headers.items() if k.lower() == "allow"})
        elif status == 405 and getattr(exc, "valid_methods", None):
            headers["Allow"] = ", ".join(exc.valid_methods)
        # werkzeug's stock descriptions add nothing; a 404 must not differ from one to another
        detail = None if status >= 500 or status == 404 else (data.get("message") or exc.description)
        return status, code, i18n.message(code), detail, errors, headers
    return 500, "internal_error", i18n.message("internal_error"), None, None, {}


def wants_json() -> bool:
    path = request.path
    if path.startswith("/api/") or path == "/healthz":
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def render(exc: Exception):
    status, code, message, detail, errors, headers = _describe(exc)
    if code in ("csrf_failed", "evidence_damaged"):
        from . import seclog

        seclog.record(code, "refused", detail=f"{request.method} {request.path}")
    if status >= 500:
        log.error("%s %s failed", request.method, request.path, exc_info=exc)
    if wants_json():
        body = {"code": code, "message": message}
        if detail:
            body["detail"] = str(detail)
        if errors:
            body["errors"] = _plain(errors)
        response = jsonify(body)
    else:
        response = render_template("errors/error.html", status=status, code=code, message=message)
    return response, status, headers


def _plain(errors):
    """webargs nests messages by location: keep them JSON-able."""
    if isinstance(errors, dict):
        return {str(k): _plain(v) for k, v in errors.items()}
    if isinstance(errors, (list, tuple)):
        return [_plain(v) for v in errors]
    return str(errors)


def init_app(app: Flask) -> None:
    for exc_type in (HTTPException, spec.Refused, NotFound, Conflict, ev.EvidenceRefused):
        app.register_error_handler(exc_type, render)

    app.register_error_handler(Exception, render)  # logged, answered as 500
