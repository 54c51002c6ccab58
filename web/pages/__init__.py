"""The HTML pages people use, plugged into the app by :func:`register`.

- 我的待办 ``/todo`` (owners), 待我审核 ``/review`` (leaders, with bulk approval), 销号
  ``/signoff`` (the office), a measure ``/measures/<id>`` (detail, lifecycle diagram, timeline
  and the forms of the triggers the person may fire), evidence ``/evidence/<sha256>``;
- 整改台账 ``/ledger`` (filter, sort, paginate, export to .xlsx with a progress bar);
- 督办 ``/supervise``, the dashboard ``/dashboard``, the inbox ``/inbox`` (the bell);
- administration ``/admin/people``, ``/admin/units``, the holiday calendar ``/admin/calendar`` and
  the security event log ``/admin/security``;
- the published notice ``/public/plans/<id>`` (only versions the office published) with its
  feedback form, and the office's feedback desk ``/feedback``;
- 整改方案与通报 ``/plans`` (the office: a plan's draft notice, the imported text as history, the
  published versions, 发布; the weekly report and monthly summary), 导入 ``/imports`` (upload →
  mapping and dry run → confirm), 督办单 ``/orders/<no>`` (print-ready, .docx/.html).
"""
from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from web.auth import current_user
from workflow import readmodels, vocabulary

from . import admin, board, imports, inbox, ledger, orders, plans, public, rounds, work  # noqa: F401  (the routes)
from .common import bp, public_bp, stashed

# (endpoint, label, roles that see it; empty = everyone signed in)
MENU = (
    ("pages.todo", _l("我的待办"), ("owner",)),
    ("pages.review", _l("待我审核"), ("leader",)),
    ("pages.signoff", _l("销号"), ("office",)),
    ("pages.ledger", _l("整改台账"), ()),
    ("pages.supervise", _l("督办"), ("supervisor", "office", "admin", "leader", "inspector")),
    ("pages.dashboard", _l("统计"), ()),
    ("pages.feedback_desk", _l("群众反馈"), ("office",)),
    ("pages.plans", _l("方案与通报"), ("office",)),
    ("pages.rounds_page", _l("各单位整改"), ("inspection_office", "office", "admin", "supervisor", "inspector")),
    ("pages.recurrence_page", _l("疑似反弹"), ("office", "inspection_office")),
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


def now_local() -> str:
    """The time now in China, for printed pages."""
    from web import now
    from web.i18n import localtime

    return localtime(now())


def register(app: Flask) -> None:
    """Add the pages' blueprints and template helpers to ``app``."""
    app.register_blueprint(bp)
    app.register_blueprint(public_bp)
    app.add_template_global(page_menu, "page_menu")
    app.add_template_global(inbox_unread, "inbox_unread")
    app.add_template_global(stashed, "stashed")
    app.add_template_global(now_local, "now_local")
    app.add_template_global(current_user, "current_user")  # for the macros, imported without context
    app.add_template_filter(vocabulary.cn_ordinal, "cn_ordinal")
