"""Administration of people, units and roles (the admin role only), and the holiday calendar."""
from __future__ import annotations

import tempfile
from pathlib import Path

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext

from web.auth import current_user, roles_required
from web.i18n import current_lang
from workflow import holidays, readmodels, security_log, spec
from workflow.commands import people as persons, units as unit_commands

from . import labels
from .common import arg_int, bp, engine, now, refusal_text, send_back, stashed


def _roles(form) -> list[str]:
    return [r for r in form.getlist("roles") if r]


def _refused(e: spec.Refused) -> str:
    if e.rule.startswith("password_"):  # the policy's own words say it all
        return refusal_text(e.rule)
    return refusal_text(e.rule, None, e.message)


@bp.get("/admin/people")
@roles_required("admin")
def admin_people():
    kept = stashed("person:new")
    return render_template("pages/admin/people.html", people=readmodels.people(engine()),
                           units=readmodels.units(engine()), roles=spec.ROLES,
                           values=kept["values"] if kept else {}, error=kept["message"] if kept else None)


@bp.post("/admin/people")
@roles_required("admin")
def admin_people_create():
    f = request.form
    try:
        persons.create_user(f.get("username", ""), f.get("name", ""), f.get("password", ""), _roles(f),
                            unit=f.get("unit") or None, email=f.get("email") or None, head=bool(f.get("head")),
                            by=current_user.username, ip=request.remote_addr, now=now(), engine=engine())
    except spec.Refused as e:
        values = {k: f.get(k, "") for k in ("username", "name", "unit", "email")}
        values["roles"] = _roles(f)
        return send_back(url_for("pages.admin_people") + "#new-user", "person:new", _refused(e), values=values,
                         announce=False)
    flash(gettext("已创建用户 %(u)s", u=f.get("username", "").strip()), "success")
    return redirect(url_for("pages.admin_people"), 303)


def _person(username: str) -> dict:
    for p in readmodels.people(engine()):
        if p["username"] == username:
            return p
    abort(404)


@bp.get("/admin/people/<username>")
@roles_required("admin")
def admin_person(username: str):
    p = _person(username)
    kept = stashed(f"person:{username}")
    if kept:
        p = {**p, **kept["values"]}
    return render_template("pages/admin/person.html", p=p, units=readmodels.units(engine()),
                           roles=spec.ROLES, error=kept["message"] if kept else None)


@bp.post("/admin/people/<username>")
@roles_required("admin")
def admin_person_update(username: str):
    f = request.form
    _person(username)
    try:
        persons.update_user(username, name=f.get("name", ""), roles=_roles(f), unit=f.get("unit") or None,
                            email=f.get("email"), active=bool(f.get("active")), head=bool(f.get("head")),
                            password=f.get("password") or None, by=current_user.username, ip=request.remote_addr,
                            now=now(), engine=engine())
    except spec.Refused as e:
        values = {"name": f.get("name", ""), "email": f.get("email", ""), "unit": f.get("unit") or None,
                  "roles": _roles(f), "active": bool(f.get("active")), "head": bool(f.get("head"))}
        return send_back(url_for("pages.admin_person", username=username), f"person:{username}", _refused(e),
                         values=values)
    flash(gettext("已保存用户 %(u)s", u=username), "success")
    return redirect(url_for("pages.admin_person", username=username), 303)


def _units_page(**extra):
    kinds = [k for k in unit_commands.UNIT_KINDS if k in labels.UNIT_KINDS]
    return render_template("pages/admin/units.html", units=readmodels.units(engine()),
                           people=readmodels.people(engine()), kinds=kinds, L=labels, **extra)


def _back_to_units(message: str, category: str = "success"):
    flash(message, category)
    return redirect(url_for("pages.admin_units"))


@bp.get("/admin/units")
@roles_required("admin")
def admin_units():
    return _units_page()


@bp.post("/admin/units")
@roles_required("admin")
def admin_units_create():
    f = request.form
    try:
        unit_commands.create_unit(f.get("name", ""), f.get("kind", "department"), f.get("parent") or None,
                                  engine=engine())
    except spec.Refused as e:
        return _back_to_units(_refused(e), "error")
    return _back_to_units(gettext("已创建单位 %(u)s", u=f.get("name", "").strip()))


@bp.post("/admin/units/head")
@roles_required("admin")
def admin_units_head():
    f = request.form
    try:
        unit_commands.set_unit_head(f.get("unit", ""), f.get("username", ""), engine=engine())
    except spec.Refused as e:
        return _back_to_units(_refused(e), "error")
    return _back_to_units(gettext("已设置 %(u)s 的负责人", u=f.get("unit", "")))


@bp.post("/admin/units/alias")
@roles_required("admin")
def admin_units_alias():
    f = request.form
    unit, alias = f.get("unit", ""), f.get("alias", "").strip()
    try:
        if f.get("remove"):
            unit_commands.remove_alias(unit, alias, engine=engine())
        else:
            unit_commands.add_alias(unit, alias, engine=engine())
    except spec.Refused as e:
        return _back_to_units(_refused(e), "error")
    if f.get("remove"):
        return _back_to_units(gettext("已删除 %(u)s 的别名 %(a)s", u=unit, a=alias))
    return _back_to_units(gettext("已为 %(u)s 添加别名 %(a)s", u=unit, a=alias))


@bp.post("/admin/units/import")
@roles_required("admin")
def admin_units_import():
    upload = request.files.get("file")
    suffix = Path(upload.filename or "").suffix.lower() if upload else ""
    if not upload or suffix not in (".xlsx", ".csv"):
        return _back_to_units(gettext("请上传 .xlsx 或 .csv 文件"), "error")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"org-chart{suffix}"
        upload.save(path)
        try:
            result = unit_commands.import_org_chart(path, engine=engine())
        except spec.Refused as e:
            return _back_to_units(_refused(e).replace(path.name, upload.filename or path.name), "error")
    return _back_to_units(gettext("已导入组织架构：新建 %(c)s 个单位，更新 %(u)s 个，新增别名 %(a)s 个",
                                  c=len(result["units_created"]), u=len(result["units_updated"]),
                                  a=result["aliases_added"]))


# --- the working-day calendar ------------------------------------------------------------

@bp.get("/admin/calendar")
@roles_required("admin", "office")
def admin_calendar():
    kept = stashed("calendar")
    return render_template("pages/admin/calendar.html", years=holidays.overview(now(), engine()),
                           error=kept["message"] if kept else None, values=kept["values"] if kept else {})


@bp.post("/admin/calendar")
@roles_required("admin", "office")
def admin_calendar_import():
    f = request.form
    upload = request.files.get("file")
    source = upload.read() if upload and upload.filename else f.get("text", "")
    year = arg_int("year", source=f)
    try:
        s = holidays.import_text(source, current_user.username, now(), year=year,
                                 filename=upload.filename if upload and upload.filename else None, engine=engine())
    except holidays.ScheduleError as e:
        return send_back(url_for("pages.admin_calendar") + "#import-calendar", "calendar", e.text(current_lang()),
                         values={"text": f.get("text", ""), "year": f.get("year", "")}, announce=False)
    for y in s["years"]:
        flash(gettext("已录入%(year)s年节假日安排：放假 %(off)s 天，调休上班 %(on)s 天", year=y,
                      off=s["holidays"][y], on=s["workdays"][y]), "success")
    return redirect(url_for("pages.admin_calendar"), 303)


# --- the security event log ---------------------------------------------------------------

@bp.get("/admin/security")
@roles_required("admin")
def admin_security():
    """Sign-ins, lockouts, CSRF failures, refusals, role and password changes, tokens: newest first."""
    kind = request.args.get("kind") if request.args.get("kind") in security_log.KINDS else None
    outcome = request.args.get("outcome") if request.args.get("outcome") in security_log.OUTCOMES else None
    user = (request.args.get("user") or "").strip()[:80] or None
    page = readmodels.security_events(kind=kind, user=user, outcome=outcome, page=arg_int("page", 1),
                                      per_page=arg_int("per_page", 50), engine=engine())
    return render_template("pages/admin/security.html", page=page, kinds=security_log.KINDS, L=labels,
                           outcomes=security_log.OUTCOMES, f={"kind": kind, "user": user or "", "outcome": outcome})
