"""Administration of people, units and roles (the admin role only)."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext

from web.auth import roles_required
from workflow import readmodels, spec
from workflow.commands import people as persons

from . import labels, people
from .common import bp, engine, refusal_text


def _roles(form) -> list[str]:
    return [r for r in form.getlist("roles") if r]


def _refused(e: spec.Refused) -> str:
    return f"{refusal_text(e.rule)} — {e.message}"


@bp.get("/admin/people")
@roles_required("admin")
def admin_people():
    return render_template("pages/admin/people.html", people=readmodels.people(engine()),
                           units=readmodels.units(engine()), roles=spec.ROLES, values={})


@bp.post("/admin/people")
@roles_required("admin")
def admin_people_create():
    f = request.form
    try:
        persons.create_user(f.get("username", ""), f.get("name", ""), f.get("password", ""), _roles(f),
                            unit=f.get("unit") or None, email=f.get("email") or None, head=bool(f.get("head")),
                            engine=engine())
    except spec.Refused as e:
        values = {k: f.get(k, "") for k in ("username", "name", "unit", "email")}
        values["roles"] = _roles(f)
        return render_template("pages/admin/people.html", people=readmodels.people(engine()),
                               units=readmodels.units(engine()), roles=spec.ROLES, values=values,
                               error=_refused(e)), 422
    flash(gettext("已创建用户 %(u)s", u=f.get("username", "").strip()), "success")
    return redirect(url_for("pages.admin_people"))


def _person(username: str) -> dict:
    for p in readmodels.people(engine()):
        if p["username"] == username:
            return p
    abort(404)


@bp.get("/admin/people/<username>")
@roles_required("admin")
def admin_person(username: str):
    return render_template("pages/admin/person.html", p=_person(username), units=readmodels.units(engine()),
                           roles=spec.ROLES)


@bp.post("/admin/people/<username>")
@roles_required("admin")
def admin_person_update(username: str):
    f = request.form
    p = _person(username)
    try:
        persons.update_user(username, name=f.get("name", ""), roles=_roles(f), unit=f.get("unit") or None,
                            email=f.get("email"), active=bool(f.get("active")), head=bool(f.get("head")),
                            password=f.get("password") or None, engine=engine())
    except spec.Refused as e:
        return render_template("pages/admin/person.html", p=p, units=readmodels.units(engine()), roles=spec.ROLES,
                               error=_refused(e)), 422
    flash(gettext("已保存用户 %(u)s", u=username), "success")
    return redirect(url_for("pages.admin_person", username=username))


@bp.get("/admin/units")
@roles_required("admin")
def admin_units():
    return render_template("pages/admin/units.html", units=readmodels.units(engine()), people=readmodels.people(engine()),
                           kinds=people.UNIT_KINDS, L=labels)


@bp.post("/admin/units")
@roles_required("admin")
def admin_units_create():
    f = request.form
    try:
        people.create_unit(f.get("name", ""), f.get("kind", "department"), f.get("parent") or None, engine=engine())
    except spec.Refused as e:
        flash(_refused(e), "error")
        return redirect(url_for("pages.admin_units"))
    flash(gettext("已创建单位 %(u)s", u=f.get("name", "").strip()), "success")
    return redirect(url_for("pages.admin_units"))


@bp.post("/admin/units/head")
@roles_required("admin")
def admin_units_head():
    f = request.form
    try:
        people.set_unit_head(f.get("unit", ""), f.get("username", ""), engine=engine())
    except spec.Refused as e:
        flash(_refused(e), "error")
        return redirect(url_for("pages.admin_units"))
    flash(gettext("已设置 %(u)s 的负责人", u=f.get("unit", "")), "success")
    return redirect(url_for("pages.admin_units"))
