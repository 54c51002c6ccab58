"""What every page route shares: the blueprint, the asking actor, refusals in plain words, and
post-redirect-get (a refused form is kept in a stash and the person is sent back where they were)."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, request, session
from flask_babel import gettext

from web import db as app_db, i18n, now as app_now
from web.auth import current_user
from web.security import safe_next, serve_evidence  # noqa: F401  (serve_evidence: for the page routes)
from workflow.commands import stash

from . import labels
from .refusals import detail_text

bp = Blueprint("pages", __name__)
public_bp = Blueprint("public", __name__, url_prefix="/public")
STASH_KEY = "form_stash"


def actor():
    """The :class:`workflow.spec.Actor` of the signed-in person."""
    return current_user.actor


def now():
    return app_now()


def engine():
    return app_db()


MAX_INT = 2**31 - 1  # what an INTEGER column holds: larger numbers are clamped, never sent to the database


def arg_int(name: str, default=None, source=None):
    """An integer query/form argument, clamped to what the databases hold; anything else gives ``default``."""
    value = (source if source is not None else request.args).get(name, "")
    try:
        number = int(value)
    except (TypeError, ValueError):
        return default
    return max(-MAX_INT, min(MAX_INT, number))


def arg_choice(name: str, choices, default=None, source=None):
    value = (source if source is not None else request.args).get(name) or None
    return value if value in choices else default


def refusal_text(rule: str, trigger: str | None = None, detail: str | None = None) -> str:
    """A refusal as one plain sentence in the request's language (the rule's code stays in the API)."""
    text = detail_text(detail) or i18n.message(rule)
    if trigger:
        return gettext("未能%(action)s：%(reason)s。", action=labels.label(labels.TRIGGERS, trigger), reason=text)
    return gettext("%(reason)s。", reason=text)


def evidence_text(rule: str, name: str) -> str:
    """An upload refused, naming the file."""
    return gettext("「%(name)s」未能上传：%(reason)s。", name=name, reason=i18n.message(rule))


def conflict_text(expected, actual) -> str:
    return gettext("冲突：您提交的表单基于第 %(expected)s 版，此后该整改措施已被他人修改（现为第 %(actual)s 版）。"
                   "您的操作没有保存，也没有覆盖他人的修改。请查看最新情况后重新操作。",
                   expected=expected, actual=actual)


def next_url(default: str) -> str:
    return safe_next(request.form.get("next") or request.args.get("next"), default)


# --- post-redirect-get -------------------------------------------------------------------

def send_back(target: str, form: str, message: str, *, values: dict | None = None, category: str = "error",
              announce: bool = True):
    """Answer a refused form with a redirect to ``target``: the message is flashed (unless the page
    shows it by the form alone: ``announce`` False), and the form ``form`` (its values and the
    message) is kept for that page, which shows it open and filled in."""
    user_id = current_user.id if current_user.is_authenticated else None
    session[STASH_KEY] = stash.put(user_id, {"form": form, "values": values or {}, "message": message,
                                             "category": category}, now=now(), engine=engine())
    if announce:
        flash(message, category)
    return redirect(target, 303)


def load_stash() -> None:
    """Before a page is drawn: take the stash the last refused form left (once)."""
    g.form_stash = None
    token = session.pop(STASH_KEY, None) if request.method == "GET" else None
    if token:
        user_id = current_user.id if current_user.is_authenticated else None
        g.form_stash = stash.take(token, user_id, now=now(), engine=engine())


def stashed(form: str) -> dict | None:
    """What the refused form ``form`` held (``values``, ``message``), if this page is its answer."""
    kept = g.get("form_stash")
    return kept if kept and kept.get("form") == form else None


bp.before_request(load_stash)
public_bp.before_request(load_stash)
