"""整改台账: the filtered, sorted, paginated ledger and its Excel export with a progress bar."""
from __future__ import annotations

from flask import abort, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import gettext
from sqlalchemy import func, select

from web.auth import current_user, login_required
from workflow import readmodels, spec, workdays
from workflow.errors import NotFound
from workflow.models import Measure, Problem

from . import exports
from .common import actor, arg_choice, arg_int, bp, engine, now, refusal_text

EXPORT_BATCH = 200  # rows between two progress reports
REPORT_FORMATS = ("docx", "html", "md")

def _filters(source) -> dict:
    return {
        "plan": arg_int("plan", source=source),
        "part": arg_int("part", source=source),
        "unit": (source.get("unit") or "").strip() or None,
        "state": arg_choice("state", spec.STATES, source=source),
        "light": arg_choice("light", readmodels.LIGHTS, source=source),
    }


@bp.get("/ledger")
@login_required
def ledger():
    f = _filters(request.args)
    f["sort"] = arg_choice("sort", readmodels.SORTS, "id")
    f["desc"] = request.args.get("desc") == "1"
    per_page = arg_int("per_page", 25)
    page = readmodels.ledger(actor(), now=now(), sort=f["sort"], desc=f["desc"], page=arg_int("page", 1),
                          per_page=per_page, engine=engine(), **{k: f[k] for k in ("plan", "part", "unit", "state", "light")})
    return render_template("pages/ledger.html", page=page, f=f, choices=readmodels.filter_choices(engine()),
                           states=spec.STATES, lights=readmodels.LIGHTS)


@bp.post("/ledger/export")
@login_required
def ledger_export():
    """Start the .xlsx export of a plan's whole ledger; the next page shows its progress.

    The exporter writes every measure of the plan (with a summary sheet), so only those who see
    every measure may export.
    """
    from workflow import db as wdb, stats
    from workflow.exporting.ledger_xlsx import export_ledger

    if not current_user.sees_everything:
        abort(403)
    at, eng_ = now(), engine()
    try:
        with wdb.read_tx(eng_) as conn:
            plan = stats.resolve_plan(conn, arg_int("plan", source=request.form))
            total = conn.execute(select(func.count()).select_from(Measure)
                                 .join(Problem, Problem.id == Measure.problem_id)
                                 .where(Problem.plan_id == plan.id)).scalar_one()
    except NotFound:
        abort(404)
    except spec.Refused as e:
        flash(refusal_text(e.rule) + " — " + gettext("请先在筛选中选择一个整改方案"), "error")
        return redirect(url_for("pages.ledger"))
    plan_id = plan.id

    def work(path, progress):
        export_ledger(path, plan_id=plan_id, now=at, engine=eng_, batch=EXPORT_BATCH,
                      progress=lambda done, _total: progress(done))

    name = f"整改台账-{plan_id}-{workdays.local_today(at):%Y%m%d}.xlsx"
    job_id = exports.start(current_user.id, total, work, name=name)
    return redirect(url_for("pages.ledger_export_page", job_id=job_id))


def _job(job_id: str) -> dict:
    try:
        return exports.status(job_id, current_user.id)
    except KeyError:
        abort(404)


@bp.get("/ledger/export/<job_id>")
@login_required
def ledger_export_page(job_id: str):
    return render_template("pages/export.html", job=_job(job_id))


@bp.get("/ledger/export/<job_id>/status")
@login_required
def ledger_export_status(job_id: str):
    job = _job(job_id)
    return jsonify({k: job.get(k) for k in ("id", "state", "done", "total", "error")})


@bp.get("/ledger/export/<job_id>/file")
@login_required
def ledger_export_file(job_id: str):
    job = _job(job_id)
    name = job.get("name") or "ledger.xlsx"
    try:
        path = exports.file_path(job_id, name)
    except KeyError:
        abort(404)
    if job["state"] != "done" or not path.exists():
        abort(404)
    return send_file(path, as_attachment=True, download_name=name, mimetype=exports.MIMETYPES[path.suffix])


@bp.post("/reports")
@login_required
def report_start():
    """Generate the public notice (通报) of a plan as .docx, .html or .md, with a progress page."""
    from workflow import db as wdb, report, stats

    if not current_user.sees_everything:
        abort(403)
    fmt = arg_choice("format", REPORT_FORMATS, "docx", source=request.form)
    at, eng_ = now(), engine()
    try:
        with wdb.read_tx(eng_) as conn:
            plan = stats.resolve_plan(conn, arg_int("plan", source=request.form))
    except NotFound:
        abort(404)
    except spec.Refused as e:
        flash(refusal_text(e.rule) + " — " + gettext("请先在筛选中选择一个整改方案"), "error")
        return redirect(url_for("pages.ledger"))
    plan_id = plan.id

    def work(path, progress):
        path.write_bytes(report.report(fmt, plan_id, now=at, engine=eng_))

    name = f"巡察整改情况通报-{plan_id}-{workdays.local_today(at):%Y%m%d}.{fmt}"
    job_id = exports.start(current_user.id, 0, work, name=name)
    return redirect(url_for("pages.ledger_export_page", job_id=job_id))
