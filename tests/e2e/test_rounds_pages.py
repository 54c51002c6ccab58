"""The pages of rounds, recurrence and 举一反三, through the app (and a real browser for the overview)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, text

from tests.data import rounds as R
from workflow import db, importing, planwriter
from workflow.models import Measure

from tests.e2e.test_browser import shot, sign_in

NOW1 = dt.datetime(2023, 9, 2, 2, 0)
NOW2 = dt.datetime(2025, 9, 2, 2, 0)


@pytest.fixture
def two_targets(site, tmp_path):
    """The site's ledger, plus two rounds of one target and one round of another."""
    with db.write_tx(site.engine) as conn:
        planwriter.user(conn, "xuncha1", "巡察办工作人员", ["inspection_office"], "巡察办", password="pw-xuncha1")
    for name, body, problems, year, progress, now, target in (
            ("r1.txt", "县委第一巡察组", R.ROUND1, 2023, "已完成，长期坚持", NOW1, R.TARGET),
            ("r2.txt", "县委第三巡察组", R.ROUND2, 2025, "正在整改", NOW2, R.TARGET),
            ("o1.txt", "县委第二巡察组", R.ROUND1[:3], 2024, "正在整改", NOW2, "测试县教育局")):
        path = tmp_path / name
        path.write_text(R.notice(body, problems, year=year, progress=progress, target=target), encoding="utf-8")
        importing.import_file(path, now=now, engine=site.engine)
    return site


def test_the_inspection_office_lands_on_every_targets_rounds(two_targets):
    site = two_targets
    c = site.client
    site.login(c, "xuncha1")
    page = c.get("/", follow_redirects=True)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "各被巡察单位整改情况" in html
    assert R.TARGET in html and "测试县教育局" in html and "第2轮" in html
    # read-only everywhere: no form to act on a measure
    with db.read_tx(site.engine) as conn:
        mid = conn.execute(select(Measure.id).order_by(Measure.id.desc())).scalars().first()
    assert "data-fire" not in c.get(f"/measures/{mid}").get_data(as_text=True)
    assert c.get("/recurrence").status_code == 200
    assert c.get("/todo").status_code == 403


def test_the_office_confirms_a_candidate_and_the_earlier_measures_are_reopened(two_targets):
    site = two_targets
    c = site.client
    site.login(c, "office1")
    html = c.get("/recurrence").get_data(as_text=True)
    assert html.count("data-link=") == 5
    link_id = int(html.split('data-link="')[1].split('"')[0])
    token = site.csrf(c, "/recurrence")
    r = c.post(f"/recurrence/{link_id}/confirm", data={"csrf_token": token})
    assert r.status_code == 302 and r.headers["Location"].endswith("/recurrence")
    assert "已确认为问题反弹" in c.get("/recurrence").get_data(as_text=True)
    with db.read_tx(site.engine) as conn:
        assert conn.execute(text("SELECT count(*) FROM events WHERE kind = 'reopen'")).scalar() > 0
    assert c.get("/recurrence?status=confirmed").get_data(as_text=True).count("data-link=") == 1


def test_the_office_spreads_a_problem_to_units_from_the_measure_page(site):
    c = site.client
    with db.write_tx(site.engine) as conn:
        for name in ("一号街道", "二号街道"):
            planwriter.unit(conn, name, "subdistrict")
            planwriter.user(conn, f"head-{name}", f"{name}负责人", ["owner"], name, head=True)
    site.login(c, "office1")
    mid = site.ids["measures"][0]
    assert f'/problems/{site.ids["problem"]}/spread' in c.get(f"/measures/{mid}").get_data(as_text=True)
    token = site.csrf(c, f"/problems/{site.ids['problem']}/spread")
    r = c.post(f"/problems/{site.ids['problem']}/spread",
               data={"csrf_token": token, "unit_kind": "subdistrict", "deadline": "2026-12-20", "fix_days": "15"})
    assert r.status_code == 302
    with db.read_tx(site.engine) as conn:
        assert conn.execute(text("SELECT count(*) FROM measures WHERE kind = 'self_check'")).scalar() == 2
    site.login(c, "owner1")
    assert c.get(f"/problems/{site.ids['problem']}/spread").status_code == 403


def test_the_overview_shows_two_targets_in_a_real_browser(two_targets, browser, live):
    _ctx, page = sign_in(browser, live, "xuncha1")
    page.goto(live.url + "/rounds")
    targets = page.locator("[data-target]")
    names = {targets.nth(i).get_attribute("data-target") for i in range(targets.count())}
    assert {R.TARGET, "测试县教育局"} <= names  # (and the site's own ledger's target)
    assert page.locator(f'[data-target="{R.TARGET}"] tr[data-round]').count() == 2
    shot(page, "rounds-overview")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "rounds-overview-phone")
