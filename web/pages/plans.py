"""整改方案与通报, for the office: the plans, one plan's computed draft notice with the imported notice
as history and the versions published, the 发布 button; and the weekly report and monthly summary
to download.

Publishing freezes the draft the office reviewed: the form carries the draft's fingerprint, and if
the ledger changed in between nothing is published and the page says so
(:func:`workflow.publication.publish` with ``expected``). The draft and the digests are files made
by a worker (:mod:`workflow.jobs`), with the export progress page.
"""
from __future__ import annotations

import datetime as dt

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext

from web.auth import current_user, roles_required
from workflow import jobs, publication, readmodels, spec, workdays
from workflow.errors import NotFound

from .common import arg_choice, bp, engine, now, refusal_text
from .docs import shown


@bp.get("/plans")
@roles_required("office")
def plans():
    return render_template("pages/plans/list.html", plans=readmodels.plans(engine()), formats=jobs.REPORT_FORMATS,
                           today=workdays.local_today(now()))


@bp.get("/plans/<int:plan_id>")
@roles_required("office")
def plan(plan_id: int):
    try:
        r = readmodels.plan_review(plan_id, now=now(), engine=engine())
    except NotFound:
        abort(404)
    return render_template("pages/plans/plan.html", r=r, draft=shown(r["draft"]),
                           imported=shown(r["imported"]) if r["imported"] else None, formats=jobs.REPORT_FORMATS)


@bp.post("/plans/<int:plan_id>/publish")
@roles_required("office")
def plan_publish(plan_id: int):
    """Publish the draft the office reviewed (its fingerprint in the form), after the confirmation box."""
    f = request.form
    back = redirect(url_for("pages.plan", plan_id=plan_id) + "#publish")
    if f.get("confirm") != "1":
        flash(gettext("请先勾选“已核对草稿，确认发布”。"), "error")
        return back
    try:
        out = publication.publish(plan_id, current_user.username, now=now(), engine=engine(),
                                  expected=f.get("fingerprint") or "-")
    except NotFound:
        abort(404)
    except spec.Refused as e:
        if e.rule == "draft_changed":
            flash(gettext("您核对草稿之后，台账已有变化，通报内容随之改变，本次未发布。请重新核对草稿后再发布。"), "error")
        else:
            flash(refusal_text(e.rule), "error")
        return back
    flash(gettext("已发布第 %(v)s 版通报，公开页面即日起显示此版本。", v=out["version"]), "success")
    return redirect(url_for("pages.plan", plan_id=plan_id) + "#published")


def _digest_at(value: str | None) -> dt.datetime | None:
    """Noon (China time) of the chosen day, as naive UTC; None for today."""
    try:
        day = dt.date.fromisoformat(value or "")
    except ValueError:
        return None
    return dt.datetime.combine(day, dt.time(12), tzinfo=workdays.TZ).astimezone(dt.UTC).replace(tzinfo=None)


@bp.post("/digests")
@roles_required("office")
def digest_start():
    """Queue the weekly report or monthly summary of the period containing the chosen day."""
    f = request.form
    kind = arg_choice("digest", ("weekly", "monthly"), source=f)
    fmt = arg_choice("format", jobs.REPORT_FORMATS, "docx", source=f)
    if kind is None:
        abort(400)
    job_id = jobs.enqueue_digest(current_user.id, kind, fmt, now=now(), at=_digest_at(f.get("day")) or now(),
                                 engine=engine())
    return redirect(url_for("pages.ledger_export_page", job_id=job_id))
