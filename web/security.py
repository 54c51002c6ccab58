"""Secret key, CSRF, proxy handling and the security headers on every response.

- The secret key comes from ``RECTIFY_SECRET_KEY``; without it one is generated once with
  :mod:`secrets` and kept in ``<instance>/secret_key`` (mode 0600). Several gunicorn workers
  starting at once agree on one key: the file is written aside and hard-linked into place, so
  a reader never sees half a key and only the first writer wins.
- CSRF: Flask-WTF's ``CSRFProtect`` checks every POST/PUT/PATCH/DELETE. The REST API is
  exempt for bearer tokens (not sent by browsers on their own); a browser using the API
  with its session cookie must send ``X-CSRFToken`` (see :mod:`web.api`).
- Headers: a Content-Security-Policy without inline script, ``nosniff``, ``DENY`` framing,
  ``Referrer-Policy: same-origin``, HSTS on https, ``no-store`` on anything personal.
- Input the databases or the parser cannot take is bad input, never a 500: every ``<int:…>`` in
  a route stops at what an INTEGER column holds (a larger id is a 404), and JSON nested past
  Python's recursion limit is a 400.
"""
from __future__ import annotations

import io
import os
import secrets
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask, request, send_file
from flask.json.provider import DefaultJSONProvider
from flask_wtf.csrf import CSRFProtect
from werkzeug.routing import IntegerConverter

from workflow import evidence as ev

CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
# JSON and files: nothing in them may run or be framed
CSP_NONE = "default-src 'none'; frame-ancestors 'none'; sandbox"


def instance_secret_key(instance: Path) -> str:
    """The key in ``instance/secret_key``, created (0600) on first use; never a constant."""
    path = instance / "secret_key"
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    instance.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=instance, prefix=".secret_key.")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)  # atomic; fails if another process got there first
        except FileExistsError:
            pass
    finally:
        os.unlink(tmp)
    return _read_key(path)


def _read_key(path: Path) -> str:
    key = path.read_text().strip()
    if len(key) < 32:
        raise RuntimeError(f"{path} holds no usable key; delete it or set RECTIFY_SECRET_KEY")
    return key


MAX_INT = 2**31 - 1  # the largest id the databases store (INTEGER on PostgreSQL)


class BoundedInt(IntegerConverter):
    """``<int:…>`` in every route: a whole number the databases can hold, else no match (404)."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_INT, signed=False):  # werkzeug's argument names
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=min_of(max, MAX_INT), signed=signed)


def min_of(value, limit):
    return limit if value is None else min(value, limit)


class SafeJSON(DefaultJSONProvider):
    """Flask's JSON, but a document nested too deeply to parse is a ValueError (a 400), not a crash."""

    def loads(self, s, **kwargs):
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("the JSON document is nested too deeply") from None


def csp_header(overrides: dict | None = None) -> str:
    policy = {**CSP, **(overrides or {})}
    return "; ".join(f"{k} {v}" for k, v in policy.items() if v)


def safe_next(target: str | None, default: str = "/") -> str:
    """A local path to go to after sign-in; anything pointing elsewhere gives ``default``."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(ch) < 32 for ch in target):
        return default
    return target


def serve_evidence(data: bytes, info: dict, *, inline: bool = False):
    """An evidence file's checked bytes under a name whose extension is its type (a GIF named
    ``evil.html`` downloads as ``evil.gif``), sandboxed, and never kept in any cache."""
    response = send_file(io.BytesIO(data), mimetype=info["mime"], as_attachment=not inline,
                         download_name=ev.kept_name(info["name"], info["mime"]), conditional=False, etag=False,
                         max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = CSP_NONE
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def init_app(app: Flask) -> None:
    app.url_map.converters["int"] = BoundedInt  # before any route is added
    app.json = SafeJSON(app)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    CSRFProtect(app)
    hops = int(app.config.get("RECTIFY_PROXY_FIX") or 0)
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    csp = csp_header(app.config.get("RECTIFY_CSP"))

    @app.after_request
    def _headers(response):
        h = response.headers
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Referrer-Policy", "same-origin")
        h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        h.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if response.mimetype == "text/html":
            h.setdefault("Content-Security-Policy", csp)
        else:
            h.setdefault("Content-Security-Policy", CSP_NONE)
        if request.is_secure:
            h.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if request.endpoint != "static" and "Cache-Control" not in h:
            h["Cache-Control"] = "no-store"
        response.vary.add("Cookie")
        return response
