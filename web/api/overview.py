"""Problems and the dashboard counts, within what the caller may see."""
from __future__ import annotations

from .blueprint import Blueprint

from workflow import readmodels

from .. import db, now
from ..auth import current_user
from . import require_user, schemas

blp = Blueprint("overview", __name__, description="问题与统计 · problems with their progress; dashboard counts")
blp.before_request(require_user)


@blp.route("/problems")
@blp.arguments(schemas.PageArgs, location="query", as_kwargs=True)
@blp.response(200, schemas.ProblemPage)
def problems(page: int, per_page: int):
    """Problems with at least one measure the caller may see, with their derived progress."""
    return readmodels.list_problems(current_user.actor, now=now(), page=page, per_page=per_page, engine=db())


@blp.route("/stats")
@blp.response(200, schemas.Stats)
def stats():
    """Counts by state, light and unit over the measures the caller may see."""
    return readmodels.stats(current_user.actor, now=now(), engine=db())
