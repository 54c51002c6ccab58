"""各单位整改 (every target's rounds), 疑似反弹 (recurrence candidates to confirm or dismiss) and 举一反三."""
from __future__ import annotations

import datetime as dt

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext

from web.auth import current_user, roles_required
from workflow import readmodels, recurrence, rounds, spec
from workflow.commands import spread
from workflow.errors import NotFound

from .charts import stacked_bars
from .common import actor, arg_choice, arg_int, bp, engine, now, refusal_text

READERS = ("inspection_office", "office", "admin", "supervisor", "inspector")


@bp.get("/rounds")
@roles_required(*READERS)
def rounds_page():
    rows = rounds.overview(actor(), now=now(), engine=engine())
    targets: dict[str, list[dict]] = {}
    for r in rows:
        targets.setdefault(r["target"], []).append(r)
    bars = [(f"{gettext('第%(n)s轮', n=r['round'] or '—')} {r['target']}",
             {"done": r["problems_done"], "open": r["problems"] - r["problems_done"]}) for r in rows]
    chart = stacked_bars(gettext("各轮巡察反馈问题整改情况"), bars,
                         [("done", gettext("已整改完成")), ("open", gettext("未完成"))], gettext("暂无数据"))
    return render_template("pages/rounds.html", targets=targets, chart=chart)


@bp.get("/recurrence")
@roles_required("office", "inspection_office")
def recurrence_page():
    status = arg_choice("status", ("candidate", "confirmed", "dismissed"), "candidate")
    plan = arg_int("plan")
    links = recurrence.links(plan, status, engine=engine())
    return render_template("pages/recurrence.html", links=links, status=status, plan=plan)


@bp.post("/recurrence/<int:link_id>/<any(confirm, dismiss):decision>")
@roles_required("office")
def recurrence_decide(link_id: int, decision: str):
    fn = recurrence.confirm if decision == "confirm" else recurrence.dismiss
    try:
        out = fn(link_id, current_user.username, now=now(), engine=engine())
    except NotFound:
        abort(404)
    except spec.Refused as e:
        flash(refusal_text(e.rule), "error")
        return redirect(url_for("pages.recurrence_page"))
    if decision == "confirm":
        flash(gettext("已确认为问题反弹，重新整改了 %(n)s 项长期坚持措施", n=len(out["reopened"])), "success")
    else:
        flash(gettext("已排除"), "success")
    return redirect(url_for("pages.recurrence_page"))


@bp.route("/problems/<int:problem_id>/spread", methods=["GET", "POST"])
@roles_required("office")
def spread_page(problem_id: int):
    """举一反三: start a self-check of the problem in chosen units, or every unit of a kind."""
    try:
        problem = rounds.problem_brief(problem_id, engine=engine())
    except NotFound:
        abort(404)
    units = readmodels.units(engine())
    values = {"units": [], "unit_kind": "", "deadline": "", "fix_days": "30"}
    if request.method == "POST":
        f = request.form
        values = {"units": f.getlist("units"), "unit_kind": f.get("unit_kind", ""),
                  "deadline": f.get("deadline", ""), "fix_days": f.get("fix_days", "30")}
        try:
            due = dt.date.fromisoformat(values["deadline"])
            out = spread.start(problem_id, current_user.username, deadline=due, units=values["units"],
                               unit_kind=values["unit_kind"] or None, fix_days=int(values["fix_days"] or 30),
                               now=now(), engine=engine())
        except ValueError:
            flash(gettext("请填写正确的自查时限和整改天数"), "error")
        except spec.Refused as e:
            flash(refusal_text(e.rule) + " — " + e.message, "error")
        else:
            flash(gettext("已向 %(n)s 个单位下发举一反三自查", n=len(out["measures"])), "success")
            return redirect(url_for("pages.ledger", plan=problem["plan_id"]))
    kinds = sorted({u["kind"] for u in units if u.get("kind")})
    return render_template("pages/spread.html", problem=problem, units=units, kinds=kinds, values=values)
