"""What every page route shares: the blueprint, the asking actor, and error messages by rule."""
from __future__ import annotations

from flask import Blueprint, request
from flask_babel import gettext

from web import db as app_db, i18n, now as app_now
from web.auth import current_user
from web.security import safe_next, serve_evidence  # noqa: F401  (serve_evidence: for the page routes)

from . import labels

bp = Blueprint("pages", __name__)
public_bp = Blueprint("public", __name__, url_prefix="/public")


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


def refusal_text(rule: str, trigger: str | None = None) -> str:
    """A refusal in the request's language, naming the rule: what the person reads."""
    text = i18n.message(rule)
    if trigger:
        return gettext("未能执行「%(action)s」：%(reason)s（规则：%(rule)s）",
                       action=labels.label(labels.TRIGGERS, trigger), reason=text, rule=rule)
    return gettext("%(reason)s（规则：%(rule)s）", reason=text, rule=rule)


def conflict_text(expected, actual) -> str:
    return gettext("冲突：您提交的表单基于第 %(expected)s 版，此后该整改措施已被他人修改（现为第 %(actual)s 版）。"
                   "您的操作没有保存，也没有覆盖他人的修改。请查看最新情况后重新操作。",
                   expected=expected, actual=actual)


def next_url(default: str) -> str:
    return safe_next(request.form.get("next") or request.args.get("next"), default)

