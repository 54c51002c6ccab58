"""Each role's day in a real browser (Debian's headless Chromium through Playwright), on a desktop
screen and on a 390×844 phone: what came back, evidence, confirmations, refusals that land where the
person was, 督办 by measure, search and the filtered export, print, the public page.

Screenshots go to ``test-artifacts/screenshots/`` (``day-<role>-<screen>-<step>.png``). Skipped
without ``/usr/bin/chromium`` (a failure under CI), as ``test_browser.py``.
"""
from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import openpyxl
import pytest

from tests.conftest import png_bytes
from tests.e2e.test_browser import photo_png, shot, sign_in, submit
from workflow import escalation, evidence as ev

pytestmark = pytest.mark.browser

SCREENS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
LATE = dt.datetime(2027, 1, 25, 2, 0)


@pytest.fixture(params=list(SCREENS))
def screen(request):
    return request.param


class Day:
    """One person's session on one screen: pages visited are checked for sideways scrolling."""

    def __init__(self, browser, site, user, screen):
        self.site, self.user, self.screen = site, user, screen
        self.ctx, self.page = sign_in(browser, site, user, viewport=SCREENS[screen])
        self.wide: list[str] = []

    def go(self, path):
        self.page.goto(self.site.url + path)
        self.check()

    def check(self):
        width = self.page.evaluate("document.documentElement.scrollWidth")
        if width > SCREENS[self.screen]["width"]:
            self.wide.append(f"{self.page.url}: {width}px")

    def shot(self, step):
        shot(self.page, f"day-{self.user}-{self.screen}-{step}")

    def close(self):
        self.ctx.close()
        assert not self.wide, "wider than the screen: " + ", ".join(self.wide)


def card(page, measure_id):
    return page.locator(f'li.item[data-measure="{measure_id}"]')


def test_an_owner_sees_what_came_back_first_and_resubmits_with_a_new_photo(browser, live, screen):
    site = live
    back, other = site.ids["measures"][:2]
    site.drive(back, "submitted")
    site.drive(other, "in_progress")
    site.fire(back, "return", "leader1", reason="照片看不清整改后的现场，请补拍。")
    day = Day(browser, site, "owner1", screen)
    page = day.page
    assert page.url.endswith("/todo")
    day.check()
    first = page.locator("li.item").first
    assert first.get_attribute("data-measure") == str(back)
    assert "已退回" in first.inner_text() and "照片看不清整改后的现场" in first.inner_text()
    day.shot("1-todo")
    with page.expect_navigation():
        first.get_by_role("link", name="重新提交落实情况").click()
    day.check()
    assert page.locator("[data-no-new-evidence]").is_visible()
    page.fill("#f-submit-comment", "已补拍整改后的现场照片。")
    page.set_input_files("#evidence-files", files=[{"name": "整改后.png", "mimeType": "image/png",
                                                    "buffer": photo_png(tint=40)}])
    chosen = page.locator("#act-submit [data-chosen]")
    assert chosen.is_visible() and chosen.inner_text() == "已选择 1 份，提交时上传"
    day.shot("2-resubmit")
    submit(page, page.locator('button[data-fire="submit"]'))
    assert page.locator("h1 .badge[data-state]").inner_text() == "待审核"
    assert page.locator("[data-evidence] li").count() == 2
    day.close()


def test_an_owner_removes_a_wrong_file_before_submitting(browser, live, screen):
    site = live
    m = site.ids["measures"][0]
    site.drive(m, "in_progress")
    site.fire(m, "progress_update", "owner1", comment="本周进展", evidence=[ev.store(png_bytes(31), "传错的文件.png")])
    day = Day(browser, site, "owner1", screen)
    page = day.page
    day.go(f"/measures/{m}")
    assert page.locator("[data-evidence] li").count() == 1
    page.once("dialog", lambda d: d.accept())
    submit(page, page.locator("[data-remove-evidence] button"))
    day.check()
    assert "已删除佐证材料「传错的文件.png」" in page.locator(".flashes").inner_text()
    assert page.locator("[data-evidence]").count() == 0
    assert "传错的文件.png" in page.locator('[data-timeline] li[data-kind="remove_evidence"]').inner_text()
    day.shot("3-removed")
    day.close()


def test_a_leader_sees_what_is_new_is_sent_back_to_the_queue_on_a_refusal_and_approves_in_bulk(browser, live,
                                                                                                screen):
    site = live
    again, a, b = site.ids["measures"][:3]
    site.drive(again, "submitted")
    site.fire(again, "return", "leader1", reason="补充整改后照片")
    site.fire(again, "submit", "owner1", comment="已补充。", evidence=[ev.store(png_bytes(41), "补拍.png")])
    for m in (a, b):
        site.drive(m, "submitted")
    day = Day(browser, site, "leader1", screen)
    page = day.page
    assert page.url.endswith("/review")
    note = card(page, again).locator("[data-resubmitted]")
    assert "补充整改后照片" in note.inner_text() and "此后新增佐证 1 份" in note.inner_text()
    day.shot("1-review")
    # a reason of blanks: refused, back on the queue at that card, the form open with the message
    item = card(page, a)
    item.locator("summary", has_text="退回").click()
    item.locator("textarea[name=reason]").fill("   ")
    submit(page, item.get_by_role("button", name="确认退回"))
    assert page.url.endswith(f"/review#m-{a}")
    assert "未能退回：请填写理由。" in card(page, a).locator("[data-form-error]").inner_text()
    day.shot("2-refused")
    page.reload()  # a plain GET: nothing is sent again, the message is gone
    assert card(page, a).locator("[data-form-error]").count() == 0
    # bulk approval, confirmed with one opinion
    card(page, a).locator('input[name="pick"]').check()
    card(page, b).locator('input[name="pick"]').check()
    submit(page, page.get_by_role("button", name="批量审核通过"))
    assert "/review/confirm" in page.url
    day.check()
    page.fill("#bulk-comment", "同意，请整改办对账销号。")
    day.shot("3-confirm")
    submit(page, page.get_by_role("button", name="确认审核通过 2 项"))
    assert page.url.endswith("/review/result") and page.locator('tr[data-ok="yes"]').count() == 2
    day.check()
    day.shot("4-result")
    day.close()


def test_the_office_signs_off_with_an_opinion_searches_exports_and_prints(browser, live, screen):
    site = live
    ids = site.ids["measures"]
    site.drive(ids[0], "verified")
    day = Day(browser, site, "office1", screen)
    page = day.page
    assert page.url.endswith("/signoff")
    item = card(page, ids[0])
    item.locator("summary", has_text="销号").first.click()
    item.locator("textarea[name=comment]").fill("已对照台账核实。")
    day.shot("1-signoff")
    submit(page, item.get_by_role("button", name="确认销号"))
    assert card(page, ids[0]).count() == 0 and "已完成「销号」" in page.locator(".flashes").inner_text()
    day.go("/ledger")
    page.fill("#fl-q", "措施 2")
    submit(page, page.get_by_role("button", name="筛选"))
    day.check()
    assert page.locator("tr[data-measure]").count() == 1
    day.shot("2-search")
    submit(page, page.get_by_role("button", name="导出当前筛选结果"))
    link = page.locator("[data-export-download]")
    link.wait_for(state="visible")
    with page.expect_download() as info:
        link.click()
    wb = openpyxl.load_workbook(io.BytesIO(Path(info.value.path()).read_bytes()))
    texts = {c for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for c in row if isinstance(c, str)}
    assert "整改措施 2" in texts and "整改措施 3" not in texts
    day.go("/ledger")
    page.emulate_media(media="print")
    assert not page.locator("header.topbar").is_visible() and not page.locator("[data-filters]").is_visible()
    assert page.locator("table[data-ledger]").is_visible() and page.locator(".print-only").is_visible()
    day.shot("3-ledger-print")
    page.goto(f"{site.url}/measures/{ids[0]}")
    assert not page.locator("#actions").is_visible() and not page.locator("svg.lifecycle").is_visible()
    assert page.locator("[data-timeline]").is_visible()
    day.shot("4-measure-print")
    page.emulate_media(media="screen")
    day.close()


def test_the_supervisor_reads_each_late_measure_once_opens_its_ladder_and_urges(browser, live, screen):
    site = live
    ids = site.ids["measures"]
    site.drive(ids[0], "closed")
    for when in (dt.datetime(2026, 12, 28, 2), LATE):
        escalation.sweep(when, site.engine)
    site.clock.t = LATE
    day = Day(browser, site, "super1", screen)
    page = day.page
    assert page.url.endswith("/supervise")
    cards = page.locator("li.item[data-measure]")
    assert cards.count() == len(ids) - 1
    one = card(page, ids[1])
    one.locator("details.ladder > summary").click()
    assert one.locator("[data-step]").count() == 4  # 临期 and the catch-up to 三级, each once
    day.shot("1-supervise")
    one.locator("details.action > summary", has_text="催办").click()
    one.locator("textarea[name=comment]").fill("请本周内报告进展。")
    submit(page, one.get_by_role("button", name="催办"))
    assert page.url.endswith("/supervise") and "已完成「催办」" in page.locator(".flashes").inner_text()
    assert "催办 1 次" in card(page, ids[1]).locator("details.ladder > summary").inner_text()
    day.check()
    day.close()
    inspector = Day(browser, site, "insp1", screen)
    inspector.go("/supervise")
    assert inspector.page.locator("li.item[data-measure]").count() == len(ids) - 1
    assert inspector.page.locator("details.action").count() == 0  # reads, does not urge
    inspector.shot("1-supervise")
    inspector.close()


def test_the_admin_is_refused_a_taken_login_on_the_same_page_with_the_form_kept(browser, live, screen):
    site = live
    day = Day(browser, site, "admin1", screen)
    page = day.page
    assert page.url.endswith("/admin/people")
    page.locator("#new-user > summary").click()
    page.fill("#nu-username", "owner1")
    page.fill("#nu-name", "测试县发改局责任人")
    page.fill("input[name=password]", "long-enough-1")
    submit(page, page.locator("#new-user button[type=submit]"))
    assert "/admin/people" in page.url and page.locator("#new-user").get_attribute("open") is not None
    assert "用户名「owner1」已存在" in page.locator("#new-user [data-error]").inner_text()
    assert page.input_value("#nu-name") == "测试县发改局责任人"
    day.check()
    day.shot("1-refused")
    day.close()


def test_anyone_finds_the_public_notice_from_the_sign_in_page(browser, live, screen):
    site = live
    site.publish()
    ctx = browser.new_context(locale="en-US", viewport=SCREENS[screen])  # a browser set to English
    page = ctx.new_page()
    page.goto(site.url + "/login")
    assert page.locator("h1").inner_text() == "登录"  # Chinese unless the person chooses English
    with page.expect_navigation():
        page.locator("[data-public-link]").click()
    with page.expect_navigation():
        page.locator("li.item a.title").first.click()
    options = page.locator("#fb-problem option").all_inner_texts()
    assert options and options[0].startswith("问题 1：学习不主动")
    assert page.evaluate("document.documentElement.scrollWidth") <= SCREENS[screen]["width"]
    shot(page, f"day-public-{screen}-1-notice")
    ctx.close()
