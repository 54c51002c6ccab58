"""Publishing the notice: the office reviews the computed draft and publishes it; the public reads only
published versions, newest first, each with its date; a plan with nothing published is not public."""
from __future__ import annotations

import io
import re

import docx
from sqlalchemy import func, select

from tests.e2e.forms import post, signed_in, text
from workflow.models import NoticeVersion


def versions(site) -> int:
    with site.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(NoticeVersion)).scalar_one()


def fingerprint(body: str) -> str:
    return re.search(r'name="fingerprint" value="([0-9a-f]{64})"', body).group(1)


def publish(site, client, plan_id: int, **form):
    path = f"/plans/{plan_id}"
    data = {"confirm": "1", "fingerprint": fingerprint(text(client.get(path))), **form}
    return post(client, path + "/publish", data, csrf_from=path)


def progress_lines(body: str) -> list[str]:
    return re.findall(r'data-lead="整改进度："><strong>整改进度：</strong>([^<]*)</p>', body)


def test_a_plan_with_nothing_published_is_not_public_nor_open_to_feedback(site):
    public = site.app.test_client()
    plan = site.ids["plan"]
    assert f'data-plan="{plan}"' not in text(public.get("/public/"))
    assert public.get(f"/public/plans/{plan}").status_code == 404
    assert public.get(f"/public/plans/{plan}/versions/1").status_code == 404
    r = post(public, f"/public/plans/{plan}/feedback", {"problem_id": site.ids["problem"], "text": "意见"},
             csrf_from="/public/")
    assert r.status_code == 404


def test_the_office_reviews_the_draft_and_publishes_it_with_a_confirmation(site):
    office = signed_in(site, "office1")
    plan = site.ids["plan"]
    body = text(office.get(f"/plans/{plan}"))
    assert "data-draft" in body and "通报草稿（未发布）" in body and "尚未发布" in body
    assert progress_lines(body) == ["正在整改，预计2026年12月底前完成。"]
    # without ticking the confirmation nothing is published
    r = publish(site, office, plan, confirm="")
    assert r.status_code == 302 and versions(site) == 0
    assert "确认发布" in text(office.get(f"/plans/{plan}"))
    r = publish(site, office, plan)
    assert r.status_code == 302 and versions(site) == 1
    body = text(office.get(f"/plans/{plan}"))
    assert "已发布第 1 版通报" in body and '<li data-version="1">' in body
    public = site.app.test_client()
    assert f'data-plan="{plan}"' in text(public.get("/public/"))
    page = text(public.get(f"/public/plans/{plan}"))
    assert 'data-published-version="1"' in page and "发布时间：2026-11-30 10:00" in page
    assert progress_lines(page) == ["正在整改，预计2026年12月底前完成。"]
    assert "owner1" not in page and "水利局责任人" not in page  # no people on the public page


def test_the_public_page_keeps_the_frozen_text_until_the_next_publication(site):
    office = signed_in(site, "office1")
    plan = site.ids["plan"]
    publish(site, office, plan)
    for m in site.ids["measures"]:
        site.drive(m, "closed")
    public = site.app.test_client()
    assert progress_lines(text(public.get(f"/public/plans/{plan}"))) == ["正在整改，预计2026年12月底前完成。"]
    assert progress_lines(text(office.get(f"/plans/{plan}"))) == ["已完成。"]  # the draft is computed now
    site.clock.advance(days=1)
    publish(site, signed_in(site, "office1"), plan)  # (a day later: signed in again)
    page = text(public.get(f"/public/plans/{plan}"))
    assert progress_lines(page) == ["已完成。"] and 'data-published-version="2"' in page
    listed = re.findall(r'<li data-version="(\d+)"[^>]*>.*?发布时间：([^<]+)</span>', page, re.S)
    assert listed == [("2", "2026-12-01 10:00"), ("1", "2026-11-30 10:00")]  # newest first, each dated
    old = text(public.get(f"/public/plans/{plan}/versions/1"))
    assert progress_lines(old) == ["正在整改，预计2026年12月底前完成。"] and "这不是最新版本" in old
    assert public.get(f"/public/plans/{plan}/versions/3").status_code == 404


def test_a_draft_that_changed_after_review_is_not_published(site):
    office = signed_in(site, "office1")
    plan = site.ids["plan"]
    reviewed = fingerprint(text(office.get(f"/plans/{plan}")))
    for m in site.ids["measures"]:
        site.drive(m, "closed")
    r = post(office, f"/plans/{plan}/publish", {"confirm": "1", "fingerprint": reviewed}, csrf_from=f"/plans/{plan}")
    assert r.status_code == 302 and versions(site) == 0
    assert "台账已有变化" in text(office.get(f"/plans/{plan}"))


def test_only_the_office_reviews_and_publishes(site):
    plan = site.ids["plan"]
    for user in ("owner1", "leader1", "super1", "admin1"):
        client = signed_in(site, user)
        assert client.get(f"/plans/{plan}").status_code == 403, user
        assert client.get("/plans").status_code == 403, user
        r = post(client, f"/plans/{plan}/publish", {"confirm": "1", "fingerprint": "0" * 64})
        assert r.status_code == 403, user
    assert versions(site) == 0
    assert signed_in(site, "office1").get("/plans/999").status_code == 404


def test_the_plans_page_lists_plans_with_what_is_published(site):
    office = signed_in(site, "office1")
    body = text(office.get("/plans"))
    assert f'data-plan="{site.ids["plan"]}" data-published="0"' in body and "未发布" in body
    publish(site, office, site.ids["plan"])
    body = text(office.get("/plans"))
    assert f'data-plan="{site.ids["plan"]}" data-published="1"' in body and "已发布第 1 版" in body


def test_a_published_version_downloads_as_word_and_as_printable_html(site):
    office = signed_in(site, "office1")
    plan = site.ids["plan"]
    publish(site, office, plan)
    public = site.app.test_client()
    r = public.get(f"/public/plans/{plan}/versions/1/docx")
    assert r.status_code == 200 and r.data[:2] == b"PK"
    assert "attachment" in r.headers["Content-Disposition"]
    paragraphs = [p.text for p in docx.Document(io.BytesIO(r.data)).paragraphs]
    assert any("学习不主动" in p for p in paragraphs)
    html = public.get(f"/public/plans/{plan}/versions/1/html")
    assert html.status_code == 200 and "<style>" in text(html) and "学习不主动" in text(html)


def test_public_feedback_goes_to_a_published_plan(site):
    plan = site.ids["plan"]
    publish(site, signed_in(site, "office1"), plan)
    public = site.app.test_client()
    path = f"/public/plans/{plan}"
    r = post(public, path + "/feedback", {"problem_id": site.ids["problem"], "text": "河道仍有垃圾"}, csrf_from=path)
    assert r.status_code == 303
    assert "河道仍有垃圾" in text(signed_in(site, "office1").get("/feedback"))
