"""The public notice of a plan (no sign-in) with its feedback form, and the office's feedback desk.

Feedback is rate limited per sender address: the ``feedback`` table keeps a keyed hash of the
address (never the address itself), so every worker process counts the same rows. The office
can turn a piece of feedback into a ``reopen`` (群众不满意) of a chosen measure of its problem.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from sqlalchemy import func, insert, select, update

from web.auth import current_user, roles_required
from workflow import commands, db, readmodels, spec
from workflow.errors import Conflict, NotFound
from workflow.models import Feedback, Measure, Problem

from . import labels
from .common import arg_choice, arg_int, bp, conflict_text, engine, now, public_bp, refusal_text

F = Feedback.__table__
MAX_TEXT = 2000
WINDOW = dt.timedelta(hours=1)


def _limit() -> int:
    return int(current_app.config.get("RECTIFY_FEEDBACK_PER_HOUR", 5))


def source_hash(addr: str) -> str:
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, f"feedback:{addr}".encode(), hashlib.sha256).hexdigest()


# --- services -------------------------------------------------------------------

class RateLimited(Exception):
    pass


def submit_feedback(plan_id: int, problem_id: int, text: str, contact: str, source: str, *, at: dt.datetime,
                    limit: int, engine=None) -> int:
    """Record one piece of public feedback on a problem of the plan; RateLimited past the limit."""
    text, contact = (text or "").strip(), (contact or "").strip()
    if not text:
        raise spec.Refused("comment_required", "text: must not be empty")
    if len(text) > MAX_TEXT or len(contact) > 200:
        raise spec.Refused("invalid_input", f"text: at most {MAX_TEXT} characters; contact: at most 200")
    with db.write_tx(engine) as conn:
        ok = conn.execute(select(Problem.id).where(Problem.id == problem_id, Problem.plan_id == plan_id)).first()
        if ok is None:
            raise spec.Refused("invalid_input", f"problem: not a problem of plan {plan_id}")
        recent = conn.execute(select(func.count()).select_from(F).where(
            F.c.source_hash == source, F.c.created_at > at - WINDOW)).scalar_one()
        if recent >= limit:
            raise RateLimited()
        return conn.execute(insert(F).returning(F.c.id), {
            "problem_id": problem_id, "text": text, "contact": contact or None, "status": "new",
            "created_at": at, "source_hash": source}).scalar_one()


def close_feedback(feedback_id: int, status: str, measure_id: int | None = None, engine=None) -> None:
    with db.write_tx(engine) as conn:
        conn.execute(update(F).where(F.c.id == feedback_id).values(status=status, measure_id=measure_id))


# --- public pages -----------------------------------------------------------------

@public_bp.get("/")
def plans():
    return render_template("pages/public/plans.html", plans=readmodels.public_plans(engine()))


def _notice(plan_id: int):
    try:
        return readmodels.public_notice(plan_id, now=now(), engine=engine())
    except NotFound:
        abort(404)


@public_bp.get("/plans/<int:plan_id>")
def notice(plan_id: int):
    return render_template("pages/public/notice.html", n=_notice(plan_id), values={}, L=labels)


@public_bp.post("/plans/<int:plan_id>/feedback")
def feedback(plan_id: int):
    n = _notice(plan_id)
    f = request.form
    values = {"problem_id": arg_int("problem_id", source=f), "text": f.get("text", ""), "contact": f.get("contact", "")}
    try:
        submit_feedback(plan_id, values["problem_id"] or 0, values["text"], values["contact"],
                        source_hash(request.remote_addr or "-"), at=now(), limit=_limit(), engine=engine())
    except RateLimited:
        return render_template("pages/public/notice.html", n=n, values=values, L=labels,
                               error=gettext("提交太频繁，请一小时后再试。")), 429, {"Retry-After": "3600"}
    except spec.Refused as e:
        return render_template("pages/public/notice.html", n=n, values=values, L=labels,
                               error=refusal_text(e.rule)), 422
    flash(gettext("感谢您的反馈，我们会认真核实处理。"), "success")
    return redirect(url_for("public.notice", plan_id=plan_id) + "#feedback")


# --- the office's feedback desk -------------------------------------------------------

@bp.get("/feedback")
@roles_required("office")
def feedback_desk():
    status = arg_choice("status", ("new", "reopened", "dismissed"), "new")
    page = readmodels.feedback_list(status=status, page=arg_int("page", 1), engine=engine())
    return render_template("pages/feedback.html", page=page, status=status, L=labels)


def _feedback_row(feedback_id: int):
    with db.read_tx(engine()) as conn:
        row = conn.execute(select(F).where(F.c.id == feedback_id)).first()
    if row is None:
        abort(404)
    return row


@bp.post("/feedback/<int:feedback_id>/reopen")
@roles_required("office")
def feedback_reopen(feedback_id: int):
    """Reopen the chosen measure of the feedback's problem: 群众不满意, reason from the form."""
    fb = _feedback_row(feedback_id)
    f = request.form
    measure_id = arg_int("measure_id", source=f)
    version = arg_int("version", source=f)
    reason = f.get("reason", "").strip()
    with db.read_tx(engine()) as conn:
        m = conn.execute(select(Measure.id, Measure.version).where(
            Measure.id == (measure_id or 0), Measure.problem_id == fb.problem_id)).first()
    if m is None:
        flash(refusal_text("invalid_input", "reopen") + " — " + gettext("请选择该问题下的一项整改措施"), "error")
        return redirect(url_for("pages.feedback_desk"))
    try:
        commands.fire(m.id, "reopen", current_user.username, reason=reason,
                 params={"category": "public_dissatisfaction"},
                 expected_version=version if version is not None else m.version, now=now(), engine=engine())
    except spec.Refused as e:
        flash(refusal_text(e.rule, "reopen"), "error")
        return redirect(url_for("pages.feedback_desk"))
    except Conflict as e:
        flash(conflict_text(e.expected, e.actual), "error")
        return redirect(url_for("pages.feedback_desk"))
    close_feedback(feedback_id, "reopened", m.id, engine=engine())
    flash(gettext("已将整改措施 #%(id)s 转为重新整改（群众不满意）", id=m.id), "success")
    return redirect(url_for("pages.feedback_desk"))


@bp.post("/feedback/<int:feedback_id>/dismiss")
@roles_required("office")
def feedback_dismiss(feedback_id: int):
    _feedback_row(feedback_id)
    close_feedback(feedback_id, "dismissed", engine=engine())
    flash(gettext("已标记为已处理"), "success")
    return redirect(url_for("pages.feedback_desk"))
