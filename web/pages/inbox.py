"""The bell and the inbox: in-app notifications (outbox rows on the ``inbox`` channel)."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext

from web.auth import current_user, login_required
from workflow import readmodels
from workflow.commands import inbox as inbox_commands
from workflow.errors import NotFound

from .common import arg_int, bp, engine, next_url, now


@bp.get("/inbox")
@login_required
def inbox():
    unread_only = request.args.get("unread") == "1"
    page = readmodels.notifications(current_user.id, unread_only=unread_only, page=arg_int("page", 1), engine=engine())
    return render_template("pages/inbox.html", page=page, unread_only=unread_only)


@bp.post("/inbox/read")
@login_required
def inbox_read():
    """Mark one message (``id``) or all (no ``id``) read; opening a message's measure marks it too."""
    ids = request.form.getlist("id", type=int)
    try:
        n = inbox_commands.mark_read(current_user.id, ids or None, now=now(), engine=engine())
    except NotFound:
        abort(404)
    if request.form.get("open"):
        return redirect(next_url(url_for("pages.inbox")))
    flash(gettext("已标记 %(n)s 条为已读", n=n), "success")
    return redirect(next_url(url_for("pages.inbox")))
