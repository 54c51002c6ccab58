"""督办 (escalations by level) and the dashboard with its server-drawn charts."""
from __future__ import annotations

from flask import render_template, request
from flask_babel import gettext

from web.auth import current_user, login_required, roles_required
from workflow import holidays, readmodels

from . import labels
from .charts import line_chart, stacked_bars
from .common import actor, arg_int, bp, engine, now

LEVEL_TABS = (None, 3, 2, 1, 0, 10)
# who reads 督办: the inspector reads everything, and may not urge
SUPERVISE_ROLES = ("supervisor", "office", "admin", "leader", "inspector")


@bp.get("/supervise")
@roles_required(*SUPERVISE_ROLES)
def supervise():
    """Each escalated measure once, at its level now, most serious first, with its ladder folded in."""
    level = arg_int("level")
    if level not in LEVEL_TABS:
        level = None
    open_only = request.args.get("all") != "1"
    page = readmodels.escalations(actor(), now=now(), level=level, open_only=open_only, page=arg_int("page", 1),
                                  engine=engine())
    return render_template("pages/supervise.html", page=page, level=level, open_only=open_only,
                           tabs=LEVEL_TABS, L=labels, may_urge=current_user.has_role("supervisor", "office", "leader"))


@bp.get("/dashboard")
@login_required
def dashboard():
    a = actor()
    s = readmodels.stats(a, now=now(), engine=engine())
    unit_rows = [(u["unit"] or gettext("（未指定）"), {"done": u["closed"], "open": u["total"] - u["closed"]})
                 for u in s["by_unit"]]
    part_rows = [(f"{p['no']}. {p['title']}", {"done": p["closed"], "open": p["total"] - p["closed"]})
                 for p in readmodels.by_part(a, engine=engine())]
    series_done = [("done", gettext("已销号")), ("open", gettext("未销号"))]
    light_series = [(k, labels.label(labels.LIGHTS, k)) for k in readmodels.LIGHTS]
    light_rows = [(labels.label(labels.LIGHTS, k), {k: s["by_light"].get(k, 0)}) for k in readmodels.LIGHTS]
    tl = readmodels.timeline(a, now=now(), engine=engine())
    empty = gettext("暂无数据")
    charts = {
        "units": stacked_bars(gettext("各责任单位完成情况"), unit_rows, series_done, empty),
        "parts": stacked_bars(gettext("各方面完成情况"), part_rows, series_done, empty),
        "lights": stacked_bars(gettext("亮灯分布"), light_rows, light_series, empty),
        "timeline": line_chart(gettext("整改进度（累计）"), [
            ("submitted", gettext("已提交"), tl["submit"]),
            ("closed", gettext("已销号"), tl["sign_off"]),
        ], empty),
    }
    closed = s["by_state"].get("closed", 0)
    rate = round(100 * closed / s["total"]) if s["total"] else 0
    uncovered = holidays.uncovered(now(), engine()) if current_user.has_role("office", "admin") else []
    return render_template("pages/dashboard.html", s=s, charts=charts, closed=closed, rate=rate,
                           uncovered=uncovered)
