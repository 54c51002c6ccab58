"""Words shown on the pages: the domain's labels from :mod:`web.i18n`, plus a few of the pages' own.

The message ids are the Chinese texts; ``web/translations/en`` carries the English. Labels are
lazy so they are translated in the language of the request that shows them.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from web.i18n import (
    KIND_LABELS as KINDS, LIGHT_LABELS as LIGHTS, PROGRESS_LABELS as PROGRESS, REOPEN_LABELS as REOPEN,
    ROLE_LABELS as ROLES, STATE_LABELS as STATES, TRIGGER_LABELS as TRIGGERS,
)

LEVELS = {
    0: _l("临期提醒"),
    1: _l("一级督办（L1）"),
    2: _l("二级督办（L2）"),
    3: _l("三级督办（L3）"),
    10: _l("审核超时提醒"),
    11: _l("审核超时（上级）"),
}

EXTENSION_STATUS = {
    "pending": _l("待审批"),
    "granted": _l("已同意"),
    "denied": _l("未同意"),
}

FEEDBACK_STATUS = {
    "new": _l("待处理"),
    "reopened": _l("已转重新整改"),
    "dismissed": _l("已处理"),
}

UNIT_KINDS = {
    "district": _l("区"),
    "subdistrict": _l("办事处/街道"),
    "community": _l("社区/村"),
    "department": _l("部门"),
}

__all__ = ["EXTENSION_STATUS", "FEEDBACK_STATUS", "KINDS", "LEVELS", "LIGHTS", "PROGRESS", "REOPEN", "ROLES",
           "STATES", "TRIGGERS", "UNIT_KINDS", "label"]


def label(table: dict, key, default=None) -> str:
    """The label for ``key`` in ``table``, or the key itself."""
    value = table.get(key)
    if value is None:
        return default if default is not None else ("" if key is None else str(key))
    return str(value)
