"""The HTML pages people use, plugged into the app by :func:`register`.

- 我的待办 ``/todo`` (owners), 待我审核 ``/review`` (leaders, with bulk approval), 销号
  ``/signoff`` (the office), a measure ``/measures/<id>`` (detail, lifecycle diagram, timeline
  and the forms of the triggers the person may fire), evidence ``/evidence/<sha256>``;
- 整改台账 ``/ledger`` (filter, sort, paginate, export to .xlsx with a progress bar);
- 督办 ``/supervise``, the dashboard ``/dashboard``, the inbox ``/inbox`` (the bell);
- administration ``/admin/people``, ``/admin/units``, the holiday calendar ``/admin/calendar`` and
  the security event log ``/admin/security``;
- the public notice ``/public/plans/<id>`` with its feedback form, and the office's feedback
  desk ``/feedback``.
"""
from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from web.auth import current_user
from workflow import readmodels, vocabulary

from . import admin, board, inbox, ledger, public, work  # noqa: F401  (the routes)
from .common import bp, public_bp

# (endpoint, label, roles that see it; empty = everyone signed in)
MENU = (
    ("pages.todo", _l("我的待办"), ("owner",)),
    ("pages.review", _l("待我审核"), ("leader",)),
    ("pages.signoff", _l("销号"), ("office",)),
    ("pages.ledger", _l("整改台账"), ()),
    ("pages.supervise", _l("督办"), ("supervisor", "office", "admin", "leader")),
    ("pages.dashboard", _l("统计"), ()),
    ("pages.feedback_desk", _l("群众反馈"), ("office",)),
    ("pages.admin_people", _l("人员管理"), ("admin",)),
    ("pages.admin_calendar", _l("节假日安排"), ("admin", "office")),
    ("pages.admin_security", _l("安全日志"), ("admin",)),
)


def page_menu():
    """The menu entries the signed-in person may open."""
    if not current_user.is_authenticated:
        return []
    return [(e, text, roles) for e, text, roles in MENU if not roles or current_user.has_role(*roles)]


def inbox_unread() -> int:
    if not current_user.is_authenticated:
        return 0
    from web import db

    return readmodels.unread_count(current_user.id, engine=db())




def register(app: Flask) -> None:
    """Add the pages' blueprints and template helpers to ``app``."""
    app.register_blueprint(bp)
    app.register_blueprint(public_bp)
    app.add_template_global(page_menu, "page_menu")
    app.add_template_global(inbox_unread, "inbox_unread")
    app.add_template_filter(vocabulary.cn_ordinal, "cn_ordinal")
