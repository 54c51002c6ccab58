"""The Rectify web app: ``create_app()`` builds it; nothing is created at import time.

Run it with ``rectify serve`` (development server) or, in production, with gunicorn::

    gunicorn -w 4 -b 127.0.0.1:8000 'web:create_app()'

Configuration comes from the environment, then from the ``config`` dict given to
:func:`create_app` (which wins):

==============================  ==========================================================
``RECTIFY_DATABASE_URL``        the database (default: SQLite under the instance folder)
``RECTIFY_SECRET_KEY``          signs session cookies; without it a random key is generated
                                once and kept in ``<instance>/secret_key`` (mode 0600), so
                                every worker and every restart share it
``RECTIFY_HTTPS=1``             cookies are ``Secure``; HSTS is sent on https requests
``RECTIFY_PROXY_FIX=N``         trust N reverse proxies for the client address and scheme
                                (needed behind nginx: the login rate limit is per address)
``RECTIFY_MAX_UPLOAD_MB``       the evidence size limit (see ``workflow.evidence``)
``RECTIFY_IDLE_MINUTES``        sign-out after this long idle (30)
``RECTIFY_ABSOLUTE_HOURS``      sign-out this long after sign-in whatever happens (12)
==============================  ==========================================================

Only through ``config``: ``RECTIFY_CLOCK`` (a callable giving the time as naive UTC; tests
move it to cross timeouts), ``RECTIFY_CSP`` (directives to override in the
Content-Security-Policy), ``RECTIFY_LOGIN_MAX_FAILURES`` (per username and address) /
``RECTIFY_LOGIN_MAX_FAILURES_IP`` (per address) / ``RECTIFY_LOGIN_WINDOW``.

What the core provides, and how the HTML pages plug in
-------------------------------------------------------

Pages live in the package ``web.pages``. If it exists, :func:`create_app` imports it and calls
``web.pages.register(app)`` after the core is in place (auth, CSRF, i18n, errors, the API).
``register`` adds blueprints, static files and templates of its own. If no page claims ``/``,
a small fallback home page is added.

- **Who is signed in**: ``from web.auth import current_user, login_required, roles_required``.
  ``current_user`` is the :class:`web.auth.CurrentUser` of the request (``is_authenticated``,
  ``id``, ``username``, ``name``, ``roles``, ``unit``, ``has_role(*roles)``, and ``actor``: the
  :class:`workflow.spec.Actor` that every ``workflow.readmodels`` function takes). In templates it is
  the global ``current_user``. ``@login_required`` sends anonymous visitors to the sign-in page
  (with ``next``); ``@roles_required("office", "admin")`` answers 403 to the others.
- **Data**: call ``workflow.readmodels`` with ``current_user.actor``, ``now=web.now()`` and
  ``engine=web.db()`` (``list_measures``, ``measure_detail``, ``measure_events``,
  ``evidence_file``, ``list_problems``, ``stats``, ``notifications``, ``preflight``); they
  apply the same visibility rule as the API; lists answer a ``workflow.paging.Page``. Writes go
  through ``workflow.commands`` (``fire(..., now=web.now(), engine=web.db())``, and the modules
  ``people``, ``feedback``, ``sessions``, ``tokens``, ``inbox``). A domain error left uncaught
  renders ``errors/error.html`` with the right status (422 refused, 404, 409, 413/415);
  catch ``workflow.spec.Refused`` yourself to flash it instead: ``web.errors.describe(exc)``
  gives ``(status, code, localised message)``; ``web.i18n.message(rule)`` the text alone.
  ``raise web.errors.ApiError(status, code)`` answers any status with a code of our own.
- **Forms**: every POST is CSRF-checked. Put ``<input type="hidden" name="csrf_token"
  value="{{ csrf_token() }}">`` in each form (or use a Flask-WTF ``FlaskForm`` and
  ``form.hidden_tag()``). A JavaScript ``fetch`` signed in by cookie sends the header
  ``X-CSRFToken``; the API accepts a signed-in browser as well as a bearer token.
- **Templates**: extend ``base.html``; blocks ``title``, ``head`` (extra ``<link>``), ``nav``
  (extra menu items), ``content``, ``footer``, ``scripts`` (extra ``<script src>``); the page
  carries ``<meta name="csrf-token">`` for scripts. ``lang`` (``zh``/``en``) and
  ``lang_url(code)`` are in every template. Error pages use ``errors/error.html``. Flashed messages
  (``flash(msg, "success"|"error"|"info")``) are shown by ``base.html``. Inline ``<script>``
  and ``style=""`` attributes are blocked by the Content-Security-Policy: put scripts and
  styles in ``web/static``. Filters: ``state_label``, ``trigger_label``, ``light_label``,
  ``kind_label``, ``role_label``, ``reopen_label``, ``progress_label``, ``localtime``.
- **Text**: Chinese first. Write ``_('中文')`` in templates and ``gettext('中文')`` in code; add
  the English to ``web/translations/en/LC_MESSAGES/messages.po`` and compile (see
  :mod:`web.i18n`). ``?lang=en`` / ``?lang=zh`` switch and remember the language.
"""
from __future__ import annotations

import datetime as dt
import importlib
import logging
from pathlib import Path

from flask import Flask, current_app

from workflow.clock import utcnow

log = logging.getLogger(__name__)


def db():
    """The SQLAlchemy engine of the current app."""
    return current_app.extensions["rectify"]["engine"]


def now() -> dt.datetime:
    """The current instant as naive UTC, from the app's clock (tests inject one)."""
    return current_app.config["RECTIFY_CLOCK"]()


def create_app(config: dict | None = None) -> Flask:
    """Build the web app: core (security, auth, i18n, errors, API) then the pages, if any.

    The settings (:mod:`workflow.settings`) give the defaults; ``config`` overrides them.
    """
    from workflow import db as wdb, evidence as ev, settings

    from . import api, auth, errors, i18n, seclog, security

    s = settings.get()
    instance = wdb.instance_dir()
    app = Flask(__name__, instance_path=str(instance), instance_relative_config=False)
    app.config.update(
        RECTIFY_DATABASE_URL=s.database_url,
        SECRET_KEY=s.secret_key,
        RECTIFY_CLOCK=utcnow,
        RECTIFY_HTTPS=s.https,
        RECTIFY_PROXY_FIX=s.proxy_fix,
        RECTIFY_IDLE_TIMEOUT=dt.timedelta(minutes=s.idle_minutes),
        RECTIFY_ABSOLUTE_TIMEOUT=dt.timedelta(hours=s.absolute_hours),
        RECTIFY_LOGIN_MAX_FAILURES=5,  # per (username, address)
        RECTIFY_LOGIN_MAX_FAILURES_IP=20,  # per address, whatever the names
        RECTIFY_LOGIN_WINDOW=dt.timedelta(minutes=5),
        # one evidence file at the limit plus the form fields around it
        MAX_CONTENT_LENGTH=ev.max_bytes() + 1024 * 1024,
        SESSION_COOKIE_NAME="rectify_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the (server-side) session
        JSON_AS_ASCII=False,
    )
    app.config.update(config or {})
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = security.instance_secret_key(Path(app.instance_path))
    if app.config["RECTIFY_HTTPS"]:
        app.config.update(SESSION_COOKIE_SECURE=True, PREFERRED_URL_SCHEME="https")
    app.json.ensure_ascii = False

    url = app.config["RECTIFY_DATABASE_URL"] or wdb.database_url()
    app.config["RECTIFY_DATABASE_URL"] = url
    app.extensions["rectify"] = {"engine": wdb.get_engine(url)}

    security.init_app(app)
    i18n.init_app(app)
    errors.init_app(app)
    seclog.init_app(app)
    auth.init_app(app)
    api.init_app(app)
    app.add_url_rule("/healthz", "healthz", _healthz)
    app.before_request(_calendar)

    _register_pages(app)
    if not any(rule.rule == "/" for rule in app.url_map.iter_rules()):
        app.add_url_rule("/", "index", _fallback_index)
    return app


def _register_pages(app: Flask) -> None:
    try:
        pages = importlib.import_module(f"{__name__}.pages")
    except ModuleNotFoundError as e:
        if e.name != f"{__name__}.pages":
            raise
        return
    register = getattr(pages, "register", None)
    if register is not None:
        register(app)


def _calendar() -> None:
    """Count with the office's newest holiday schedules (checked at most every few seconds)."""
    from workflow import holidays

    holidays.refresh(db(), max_age=holidays.WEB_RECHECK_SECONDS)


def _healthz():
    from workflow import db as wdb

    try:
        wdb.ping(db())
    except Exception as e:  # the probe reports, it never raises
        log.warning("health check failed: %s", e)
        return {"status": "error", "database": "unreachable"}, 503
    return {"status": "ok"}


def _fallback_index():
    from flask import render_template

    from .auth import login_required

    return login_required(lambda: render_template("fallback_home.html"))()
