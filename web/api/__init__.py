"""The REST API under ``/api/v1`` (flask-smorest + marshmallow), its OpenAPI document at
``/api/v1/openapi.json`` and a browsable Swagger UI at ``/api/v1/docs``.

Swagger UI is served from the copy vendored in ``web/static/vendor/swagger-ui`` (npm
``swagger-ui-dist``; version in ``VERSION``): flask-smorest's own page loads it from a CDN
and starts it with an inline script, which the Content-Security-Policy forbids, so the page
here is a template of ours whose starter is ``web/static/js/api-docs.js``.

Authentication: ``Authorization: Bearer <token>`` (``rectify token create USER``), or the
cookie of a signed-in browser, which must then send ``X-CSRFToken`` on writes. Every route
is thin: parse, call one ``workflow`` service (``workflow.readmodels`` to read,
``workflow.commands.fire`` to act), render. Errors are ``{code, message}`` (see
:mod:`web.errors`).
"""
from __future__ import annotations

from flask import Blueprint, Flask, current_app, render_template, request
from flask_smorest import Api

from ..auth import current_user
from ..errors import ApiError
from . import schemas

PREFIX = "/api/v1"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class RectifyApi(Api):
    """flask-smorest's Api with our error shape; errors are handled by :mod:`web.errors`."""

    ERROR_SCHEMA = schemas.Error

    def _register_error_handlers(self):
        pass  # web.errors handles every error, for the API and the pages alike


def require_user():
    """Before every API view: a caller must be known; a cookie caller must prove CSRF on writes."""
    if not current_user.is_authenticated:
        raise ApiError(401, "unauthorized", headers={"WWW-Authenticate": 'Bearer realm="rectify"'})
    if current_user.via == "session" and request.method not in SAFE_METHODS:
        current_app.extensions["csrf"].protect()


def init_app(app: Flask) -> None:
    from . import account, evidence, measures, overview

    app.config.update(
        API_TITLE="Rectify API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=PREFIX,
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "info": {"description": "整改台账与流程引擎的接口 — the rectification ledger and workflow. "
                                    "Authenticate with `Authorization: Bearer <token>` "
                                    "(`rectify token create USER`). Errors are `{code, message}`; "
                                    "send `Accept-Language: en` for English messages."},
            "servers": [{"url": "/"}],
            "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearerAuth": []}],
        },
    )
    api = RectifyApi(app)
    csrf = app.extensions["csrf"]
    for blp in (measures.blp, evidence.blp, account.blp, overview.blp):
        csrf.exempt(blp)  # bearer callers; cookie callers are checked in require_user
        api.register_blueprint(blp, url_prefix=PREFIX)
    api.spec.components.schema("TriggerBody", schema=schemas.TriggerBody)
    app.extensions["rectify"]["api"] = api

    docs = Blueprint("api_docs", __name__)

    @docs.route(f"{PREFIX}/docs")
    def swagger_ui():
        return render_template("api_docs.html")

    app.register_blueprint(docs)
