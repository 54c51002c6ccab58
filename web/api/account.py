"""The caller: who they are, and their inbox."""
from __future__ import annotations

from .blueprint import Blueprint

from workflow import readmodels
from workflow.commands import inbox

from .. import db, now
from ..auth import current_user
from ..i18n import current_lang
from . import require_user, schemas

blp = Blueprint("account", __name__, description="我的 · the caller: profile and notification inbox")
blp.before_request(require_user)

NOTIFICATION = "/notifications/<int(max=2147483647):notification_id>"


@blp.route("/me")
@blp.response(200, schemas.Me)
def me():
    """Who the caller is: roles, units and whose delegate they are."""
    out = readmodels.user_profile(current_user.actor, engine=db())
    out["language"] = current_lang()
    return out


@blp.route("/notifications")
@blp.arguments(schemas.NotificationArgs, location="query", as_kwargs=True)
@blp.response(200, schemas.NotificationPage)
def notifications(unread: bool, page: int, per_page: int):
    """The caller's in-app inbox, newest first."""
    return readmodels.notifications(current_user.id, unread_only=unread, page=page, per_page=per_page, engine=db())


@blp.route(NOTIFICATION + "/read", methods=["POST"])
@blp.response(200, schemas.Marked)
def mark_one_read(notification_id: int):
    """Mark one of the caller's messages read (404 if it is not theirs)."""
    return {"marked": inbox.mark_read(current_user.id, [notification_id], now=now(), engine=db())}


@blp.route("/notifications/read-all", methods=["POST"])
@blp.response(200, schemas.Marked)
def mark_all_read():
    """Mark every message in the caller's inbox read."""
    return {"marked": inbox.mark_read(current_user.id, None, now=now(), engine=db())}
