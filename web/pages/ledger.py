"""整改台账: the filtered, sorted, paginated ledger; its Excel export and the notice, queued for a worker
(:mod:`workflow.jobs`), with a progress page."""
from __future__ import annotations

from flask import abort, flash, jsonify, redirect, render_template, request, send_file, url_for

from web.auth import current_user, login_required
from workflow import jobs, readmodels, spec
from workflow.errors import NotFound

from .common import actor, arg_choice, arg_int, bp, engine, now, refusal_text

FILTERS = ("plan", "part", "unit", "state", "light", "q")


def _filters(source) -> dict:
    return {
        "plan": arg_int("plan", source=source),
        "part": arg_int("part", source=source),
        "unit": (source.get("unit") or "").strip() or None,
        "state": arg_choice("state", spec.STATES, source=source),
        "light": arg_choice("light", readmodels.LIGHTS, source=source),
        "q": " ".join(readmodels.search_terms(source.get("q"))) or None,
    }


@bp.get("/ledger")
@login_required
def ledger():
    f = _filters(request.args)
    f["sort"] = arg_choice("sort", readmodels.SORTS, "id")
    f["desc"] = request.args.get("desc") == "1"
    per_page = arg_int("per_page", 25)
    page = readmodels.ledger(actor(), now=now(), sort=f["sort"], desc=f["desc"], page=arg_int("page", 1),
                             per_page=per_page, engine=engine(), **{k: f[k] for k in FILTERS})
    filtered = any(f[k] for k in FILTERS if k != "plan")
    return render_template("pages/ledger.html", page=page, f=f, choices=readmodels.filter_choices(engine()),
                           states=spec.STATES, lights=readmodels.LIGHTS, filtered=filtered)


def _queue(enqueue):
    """Queue a file for the signed-in person and show its progress page; 404 or a message if refused."""
    try:
        job_id = enqueue(current_user.id, arg_int("plan", source=request.form), now=now(), engine=engine())
    except NotFound:
        abort(404)
    except spec.Refused as e:
        flash(refusal_text(e.rule, None, e.message), "error")
        return redirect(url_for("pages.ledger"), 303)
    return redirect(url_for("pages.ledger_export_page", job_id=job_id), 303)


@bp.post("/ledger/export")
@login_required
def ledger_export():
    """Queue the .xlsx export of the ledger as the person sees it, with the page's filters (a
    keyword search included); the next page shows its progress. A worker (the scheduler, or
    ``rectify worker``) writes the file.
    """
    f = _filters(request.form)
    filters = {k: f[k] for k in FILTERS if k != "plan" and f[k]}
    return _queue(lambda owner, plan, **kw: jobs.enqueue_ledger_export(
        owner, plan, actor=current_user.username, filters=filters, **kw))


def _job(job_id: str) -> dict:
    try:
        return jobs.status(job_id, current_user.id, engine())
    except NotFound:
        abort(404)


@bp.get("/ledger/export/<job_id>")
@login_required
def ledger_export_page(job_id: str):
    return render_template("pages/export.html", job=_job(job_id))


@bp.get("/ledger/export/<job_id>/status")
@login_required
def ledger_export_status(job_id: str):
    job = _job(job_id)
    return jsonify({k: job[k] for k in ("id", "state", "done", "total", "error")})


@bp.get("/ledger/export/<job_id>/file")
@login_required
def ledger_export_file(job_id: str):
    try:
        path, name, mimetype = jobs.ready_file(job_id, current_user.id, engine())
    except NotFound:
        abort(404)
    return send_file(path, as_attachment=True, download_name=name, mimetype=mimetype)


@bp.post("/reports")
@login_required
def report_start():
    """Queue the public notice (通报) of a plan as .docx, .html or .md, with a progress page (for those
    who see every measure: the notice is about all of them)."""
    if not current_user.sees_everything:
        abort(403)
    fmt = arg_choice("format", jobs.REPORT_FORMATS, "docx", source=request.form)
    return _queue(lambda owner, plan, **kw: jobs.enqueue_report(owner, plan, fmt, **kw))
