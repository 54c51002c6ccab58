"""Words shown on the pages: the domain's labels from :mod:`web.i18n`, plus a few of the pages' own.

The message ids are the Chinese texts; ``web/translations/en`` carries the English. Labels are
lazy so they are translated in the language of the request that shows them.
"""
from __future__ import annotations

import json

from flask_babel import gettext, lazy_gettext as _l

from web.i18n import (
    KIND_LABELS as KINDS, LEVEL_LABELS as LEVELS, LIGHT_LABELS as LIGHTS, PROGRESS_LABELS as PROGRESS,
    REOPEN_LABELS as REOPEN, ROLE_LABELS as ROLES, STATE_LABELS as STATES, TRIGGER_LABELS as TRIGGERS,
)
from workflow import vocabulary

EXTENSION_STATUS = {k: _l(v) for k, v in vocabulary.EXTENSION_STATUS_LABELS.items()}
FEEDBACK_STATUS = {k: _l(v) for k, v in vocabulary.FEEDBACK_STATUS_LABELS.items()}
UNIT_KINDS = {k: _l(v) for k, v in vocabulary.UNIT_KIND_LABELS.items()}

__all__ = ["EXTENSION_STATUS", "FEEDBACK_STATUS", "KINDS", "LEVELS", "LIGHTS", "PROGRESS", "REOPEN", "ROLES",
           "STATES", "TRIGGERS", "UNIT_KINDS", "label", "security_detail"]


def label(table: dict, key, default=None) -> str:
    """The label for ``key`` in ``table``, or the key itself."""
    value = table.get(key)
    if value is None:
        return default if default is not None else ("" if key is None else str(key))
    return str(value)


def security_detail(kind: str, detail: str | None) -> dict:
    """A security event's detail for the admin's log: ``words`` in the request's language and ``raw``,
    what was recorded as it was (a request's method and path, or a record nobody has worded)."""
    try:
        d = json.loads(detail) if detail else None
    except ValueError:
        d = None
    if not isinstance(d, dict):
        return {"words": "", "raw": detail or ""}

    def roles(names) -> str:
        return "、".join(label(ROLES, r) for r in names) or gettext("无")

    if kind == "token_create":
        days = d.get("days") or gettext("默认")
        return {"words": gettext("令牌 #%(id)s，有效期 %(days)s 天", id=d.get("token"), days=days), "raw": ""}
    if kind == "token_revoke":
        return {"words": gettext("令牌 #%(id)s", id=d.get("token")), "raw": ""}
    if kind == "role_change":
        if d.get("created"):
            return {"words": gettext("新建用户，角色：%(to)s", to=roles(d.get("to", []))), "raw": ""}
        return {"words": gettext("角色：%(old)s → %(new)s", old=roles(d.get("from", [])), new=roles(d.get("to", []))),
                "raw": ""}
    if kind == "password_change":
        who = gettext("管理员重设") if d.get("by") == "admin" else gettext("本人修改")
        if "sessions" not in d:
            return {"words": who, "raw": ""}
        return {"words": gettext("%(who)s；结束登录 %(s)s 个、令牌 %(t)s 个", who=who, s=d["sessions"], t=d["tokens"]),
                "raw": ""}
    if kind == "lockout":
        return {"words": gettext("%(n)s 秒后才能再试", n=d.get("retry_after", "?")), "raw": ""}
    return {"words": "", "raw": detail or ""}
