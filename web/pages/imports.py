"""导入: the office imports a ledger (.xlsx) or a notice (.txt/.docx) in steps, each shown before the next.

1. ``/imports``: upload. The file is checked (suffix, size, content) and kept on the server under
   the instance folder (:mod:`workflow.importing.staging`), never in the session.
2. ``/imports/<token>``: for a ledger, each column's header with the field it is read as (a
   dropdown to correct it) and the first rows of the sheet; then the dry run's report (parts,
   problems, measures, units created, columns kept as they are, warnings, the first rows as they
   will be stored), or the refusal naming sheet, row and column.
3. Confirm: the real import, all or nothing; its report and links to the plan.

A small file (up to ``staging.INLINE_BYTES``) is checked and imported in the request. A larger one
goes to a worker through the jobs table (:mod:`workflow.jobs`, kinds ``import_check`` and
``import_run``): the page shows a progress bar until the answer is there.
"""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext as _l

from web.auth import current_user, roles_required
from workflow import jobs, readmodels
from workflow.errors import NotFound
from workflow.importing import ImportRefused, staging

from .common import arg_int, bp, engine, now

# the fields a ledger column may be read as (workflow.importing.ledger_vocab.FIELD_LABELS, and extra)
FIELDS = {
    "no": _l("序号"), "problem_no": _l("问题编号"), "part": _l("方面"), "category": _l("分类"),
    "problem": _l("问题"), "measure": _l("整改措施"), "leader": _l("责任领导"), "unit": _l("责任单位"),
    "co_units": _l("配合单位"), "owner": _l("责任人"), "deadline": _l("完成时限"), "kind": _l("整改类型"),
    "status": _l("整改进度"), "account": _l("落实情况"), "problem_account": _l("问题落实情况"),
    "amount_involved": _l("涉及金额（元）"), "amount_recovered": _l("退还/追缴金额（元）"), "remarks": _l("备注"),
    "light": _l("预警"), "extra": _l("其他信息（原样保留）"),
}
REFUSED = {
    "unsupported_file": _l("只能导入 .xlsx 格式的整改台账，或 .txt / .docx 格式的整改情况通报。"),
    "empty_file": _l("上传的文件是空的。"),
    "file_too_large": _l("文件太大，超过了 %(mb)s MB 的上限。"),
    "bad_file": _l("文件内容与类型不符或已损坏。"),
}


def _refused_text(e: ImportRefused) -> str:
    text = REFUSED.get(e.rule)
    if text is None:
        return str(e)
    return str(text) % {"mb": staging.MAX_BYTES // (1024 * 1024)} + " " + str(e)


def _upload_page(error: str | None = None, status: int = 200):
    return render_template("pages/imports/upload.html", error=error, max_mb=staging.MAX_BYTES // (1024 * 1024)), \
        status


@bp.get("/imports")
@roles_required("office")
def import_start():
    return _upload_page()


@bp.post("/imports")
@roles_required("office")
def import_upload():
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _upload_page(gettext("请选择要导入的文件。"), 422)
    try:
        meta = staging.stage(upload.read(), upload.filename, current_user.id)
    except ImportRefused as e:
        status = {"file_too_large": 413, "unsupported_file": 415}.get(e.rule, 422)
        return _upload_page(_refused_text(e), status)
    staging.clean()
    return redirect(url_for("pages.import_review", token=meta["token"]))


def _staged(token: str) -> dict:
    try:
        return staging.get(token, current_user.id)
    except NotFound:
        abort(404)


def _check_job(meta: dict) -> str:
    """The worker's dry run of a large upload with its current choices (queued once per choice)."""
    job_id = meta["jobs"].get("check")
    if job_id is None:
        job_id = jobs.enqueue_import(current_user.id, meta["token"], run=False, now=now(), engine=engine())
        staging.update(meta["token"], current_user.id, jobs={**meta["jobs"], "check": job_id})
    return job_id


@bp.get("/imports/<token>")
@roles_required("office")
def import_review(token: str):
    meta = _staged(token)
    job = None
    if staging.inline(meta):
        check = staging.check(meta, now=now(), engine=engine())
    else:
        job_id = _check_job(meta)
        try:
            job = jobs.status(job_id, current_user.id, engine())
            check = jobs.result(job_id, current_user.id, engine())
        except NotFound:  # the job was cleaned up: queue it again
            staging.update(token, current_user.id, jobs={})
            return redirect(url_for("pages.import_review", token=token))
    plans = readmodels.plans(engine()) if meta["kind"] == "ledger" else []
    return render_template("pages/imports/review.html", meta=meta, check=check, job=job, plans=plans,
                           fields=FIELDS)


@bp.post("/imports/<token>/mapping")
@roles_required("office")
def import_mapping(token: str):
    """Read the columns whose dropdown was changed as the chosen fields; choose the plan; check again."""
    meta = _staged(token)
    f = request.form
    mapping = dict(meta["mapping"])
    for key in f:
        if not key.startswith("field-"):
            continue
        column = key[len("field-"):]
        header, was, field = f.get(f"header-{column}", ""), f.get(f"was-{column}", ""), f.get(key, "")
        if field not in FIELDS or not header.strip():
            abort(400)
        if field != was:
            mapping[header] = field
    staging.update(token, current_user.id, mapping=mapping, plan=arg_int("plan", source=f), jobs={})
    return redirect(url_for("pages.import_review", token=token) + "#report")


@bp.post("/imports/<token>/confirm")
@roles_required("office")
def import_confirm(token: str):
    """The real import: in the request for a small file, else queued for a worker."""
    meta = _staged(token)
    if not staging.inline(meta):
        job_id = jobs.enqueue_import(current_user.id, token, run=True, actor=current_user.username, now=now(),
                                     engine=engine())
        return redirect(url_for("pages.import_job", job_id=job_id))
    out = staging.run(meta, current_user.username, now=now(), engine=engine())
    return render_template("pages/imports/result.html", out=out, job=None), (422 if out["error"] else 200)


@bp.get("/imports/jobs/<job_id>")
@roles_required("office")
def import_job(job_id: str):
    try:
        job = jobs.status(job_id, current_user.id, engine())
        out = jobs.result(job_id, current_user.id, engine())
    except NotFound:
        abort(404)
    if job["kind"] != "import_run":
        abort(404)
    return render_template("pages/imports/result.html", out=out, job=job)


@bp.post("/imports/<token>/cancel")
@roles_required("office")
def import_cancel(token: str):
    _staged(token)
    staging.discard(token)
    flash(gettext("已放弃该文件，未写入任何数据。"), "info")
    return redirect(url_for("pages.import_start"))
