"""The web app's security events (see :mod:`workflow.security_log`): who, from which address.

:func:`record` fills in the signed-in person and the client address (behind a proxy, set
``RECTIFY_PROXY_FIX`` so it is the real one). :func:`init_app` records every refusal: a response
of 403 (a page or route the person's roles do not open, a trigger they may not fire). Writing an
event never breaks the response it is about: a failure to write is logged instead.
"""
from __future__ import annotations

import logging

from flask import Flask, g, request

from workflow import security_log

log = logging.getLogger(__name__)


def record(kind: str, outcome: str, *, actor: str | None = None, subject: str | None = None,
           detail: str | dict | None = None) -> None:
    """Record a security event of this request (the actor defaults to the signed-in person)."""
    from . import db, now

    if actor is None:
        user = g.get("user")
        actor = getattr(user, "username", None)
    try:
        security_log.record(kind, outcome, actor=actor, subject=subject, ip=request.remote_addr, detail=detail,
                            now=now(), engine=db())
    except Exception:  # the event is lost, the answer is not
        log.exception("could not record the security event %s/%s", kind, outcome)


def init_app(app: Flask) -> None:
    @app.after_request
    def _refusals(response):
        if response.status_code == 403:
            record("not_permitted", "refused", detail=f"{request.method} {request.path}")
        return response
