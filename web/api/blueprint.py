"""The API's blueprint: flask-smorest's, with query parameters checked strictly.

webargs ignores query parameters a schema does not declare; here an undeclared one is a 422 naming it,
so a caller's typo (``?per_pag=10``) is not silently a different request. ``lang`` (the response's
language, see :mod:`web.i18n`) is declared by every query schema.
"""
from __future__ import annotations

import flask_smorest
from marshmallow import RAISE
from webargs.flaskparser import FlaskParser


class StrictParser(FlaskParser):
    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "query": RAISE, "querystring": RAISE}


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = StrictParser()
