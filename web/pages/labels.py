"""Words shown on the pages: the domain's labels from :mod:`web.i18n`, plus a few of the pages' own.

The message ids are the Chinese texts; ``web/translations/en`` carries the English. Labels are
lazy so they are translated in the language of the request that shows them.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from web.i18n import (
    KIND_LABELS as KINDS, LEVEL_LABELS as LEVELS, LIGHT_LABELS as LIGHTS, PROGRESS_LABELS as PROGRESS,
    REOPEN_LABELS as REOPEN, ROLE_LABELS as ROLES, STATE_LABELS as STATES, TRIGGER_LABELS as TRIGGERS,
)
from workflow import vocabulary

EXTENSION_STATUS = {k: _l(v) for k, v in vocabulary.EXTENSION_STATUS_LABELS.items()}
FEEDBACK_STATUS = {k: _l(v) for k, v in vocabulary.FEEDBACK_STATUS_LABELS.items()}
UNIT_KINDS = {k: _l(v) for k, v in vocabulary.UNIT_KIND_LABELS.items()}

__all__ = ["EXTENSION_STATUS", "FEEDBACK_STATUS", "KINDS", "LEVELS", "LIGHTS", "PROGRESS", "REOPEN", "ROLES",
           "STATES", "TRIGGERS", "UNIT_KINDS", "label"]


def label(table: dict, key, default=None) -> str:
    """The label for ``key`` in ``table``, or the key itself."""
    value = table.get(key)
    if value is None:
        return default if default is not None else ("" if key is None else str(key))
    return str(value)
