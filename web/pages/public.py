"""The published notice of a plan (no sign-in) with its feedback form, and the office's feedback desk.

The public reads only versions the office published (:mod:`workflow.publication`): the newest at
``/public/plans/<id>``, every version listed newest first with its publication date, each as a
page and as .docx/.html. A plan with nothing published does not exist here.

Feedback is rate limited per sender address, counted in the database; the office can turn a
piece of feedback into a ``reopen`` (群众不满意) of a chosen measure of its problem, in one
transaction. Both are :mod:`workflow.commands.feedback`.
"""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext as _l

from web.auth import current_user, roles_required
from workflow import readmodels, spec
from workflow.commands import feedback as feedbacks
from workflow.errors import Conflict, NotFound

from . import labels
from .common import arg_choice, arg_int, bp, conflict_text, engine, now, public_bp, refusal_text, send_back, stashed
from .docs import send_document, shown


def _limit() -> int:
    return int(current_app.config.get("RECTIFY_FEEDBACK_PER_HOUR", 5))


# --- public pages -----------------------------------------------------------------
# Only what the office published: a plan with no published version is not listed and has no page
# (nor feedback form); a draft is never served.

@public_bp.get("/")
def plans():
    return render_template("pages/public/plans.html", plans=readmodels.public_plans(engine()))


def _notice(plan_id: int, version: int | None = None):
    try:
        return readmodels.published_notice(plan_id, version, engine=engine())
    except NotFound:
        abort(404)


def _page(n: dict, status: int = 200, **extra):
    latest = n["version"]["version"] == n["versions"][0]["version"]
    return render_template("pages/public/notice.html", n=n, doc=shown(n["doc"]), latest=latest,
                           values=extra.pop("values", {}), **extra), status


@public_bp.get("/plans/<int:plan_id>")
def notice(plan_id: int):
    kept = stashed("feedback")
    return _page(_notice(plan_id), values=dict(kept["values"]) if kept else {},
                 error=kept["message"] if kept else None)


@public_bp.get("/plans/<int:plan_id>/versions/<int:version>")
def version(plan_id: int, version: int):
    return _page(_notice(plan_id, version))


@public_bp.get("/plans/<int:plan_id>/versions/<int:version>/<any(docx, html):fmt>")
def version_file(plan_id: int, version: int, fmt: str):
    n = _notice(plan_id, version)
    return send_document(n["doc"], fmt, f"{n['doc'].title}-{plan_id}-v{version}")


@public_bp.post("/plans/<int:plan_id>/feedback")
def feedback(plan_id: int):
    """Send feedback; refused, the sender is sent back to the form with what they wrote (a redirect),
    except past the hourly limit, which is answered 429 with the form as it was."""
    n = _notice(plan_id)
    f = request.form
    values = {"problem_id": arg_int("problem_id", source=f), "text": f.get("text", ""), "contact": f.get("contact", "")}
    source = feedbacks.source_hash(current_app.config["SECRET_KEY"], request.remote_addr or "-")
    back = url_for("public.notice", plan_id=plan_id) + "#feedback"
    try:
        feedbacks.submit(plan_id, values["problem_id"] or 0, values["text"], values["contact"], source,
                         at=now(), limit=_limit(), engine=engine())
    except feedbacks.RateLimited:
        return _page(n, 429, values=values, error=gettext("提交太频繁，请一小时后再试。"))[0], 429, \
            {"Retry-After": "3600"}
    except spec.Refused as e:
        return send_back(back, "feedback", refusal_text(e.rule, None, e.message), values=values, announce=False)
    flash(gettext("感谢您的反馈，我们会认真核实处理。"), "success")
    # to the top of the page, where the thanks is shown (at the form it would be out of sight)
    return redirect(url_for("public.notice", plan_id=plan_id), 303)


# --- the office's feedback desk -------------------------------------------------------

@bp.get("/feedback")
@roles_required("office")
def feedback_desk():
    status = arg_choice("status", feedbacks.STATUSES, "new")
    page = readmodels.feedback_list(status=status, page=arg_int("page", 1), engine=engine())
    return render_template("pages/feedback.html", page=page, status=status, L=labels)


# reopen (群众不满意, the reason from the form) a closed measure of the feedback's problem, or forward
# the feedback to the owner of an open one (a comment on its record): the command, the form field it
# takes, the trigger it fires and what is said when done
_ACTS = {
    "reopen": (feedbacks.reopen, "reason", "reopen", _l("已将整改措施 #%(id)s 转为重新整改（群众不满意）")),
    "forward": (feedbacks.forward, "text", "comment", _l("已将群众反馈转给整改措施 #%(id)s 的责任人")),
}


@bp.post("/feedback/<int:feedback_id>/<any(reopen, forward):act>")
@roles_required("office")
def feedback_act(feedback_id: int, act: str):
    """Reopen or forward: one command on the chosen measure of the feedback's problem."""
    command, field, trigger, done = _ACTS[act]
    f = request.form
    measure_id = arg_int("measure_id", source=f)
    back = url_for("pages.feedback_desk") + f"#fb-{feedback_id}"
    form = f"feedback:{feedback_id}:{trigger}"
    values = {"measure_id": measure_id, "text": f.get("text", ""), "reason": f.get("reason", "")}
    try:
        command(feedback_id, measure_id, current_user.username, expected_version=arg_int("version", source=f),
                now=now(), engine=engine(), **{field: f.get(field, "").strip()})
    except NotFound:
        abort(404)
    except feedbacks.NotOfProblem:
        return send_back(back, form, refusal_text("invalid_input", trigger) + gettext("请选择该问题下的一项整改措施。"),
                         values=values)
    except spec.Refused as e:
        return send_back(back, form, refusal_text(e.rule, trigger, e.message), values=values)
    except Conflict as e:
        return send_back(back, form, conflict_text(e.expected, e.actual), values=values, category="conflict")
    flash(str(done) % {"id": measure_id}, "success")
    return redirect(url_for("pages.feedback_desk"), 303)


@bp.post("/feedback/<int:feedback_id>/dismiss")
@roles_required("office")
def feedback_dismiss(feedback_id: int):
    try:
        feedbacks.dismiss(feedback_id, engine=engine())
    except NotFound:
        abort(404)
    flash(gettext("已标记为已处理"), "success")
    return redirect(url_for("pages.feedback_desk"), 303)
