"""In a real browser (Debian's headless Chromium through Playwright): the office imports a ledger,
correcting a column on the way, publishes the notice, and the public reads it; a large file waits
for the worker and its page refreshes itself; the order prints. See ``test_browser.py`` for the set-up."""
from __future__ import annotations

import re

import pytest

from tests.data import ledgers
from tests.e2e.test_browser import shot, sign_in, submit
from workflow.importing import staging

pytestmark = pytest.mark.browser


def test_the_office_imports_a_ledger_publishes_its_notice_and_the_public_reads_it(browser, live, tmp_path):
    site = live
    path = ledgers.audit_system(tmp_path / "审计整改台账.xlsx", feedback_header="情况说明")
    ctx, page = sign_in(browser, site, "office1")
    page.goto(site.url + "/plans")
    with page.expect_navigation():
        page.locator("[data-import-link]").click()
    assert page.locator("h1").inner_text() == "导入台账或通报"
    page.set_input_files("#import-file", str(path))
    submit(page, page.get_by_role("button", name="上传并预览"))
    assert re.search(r"/imports/[0-9a-f]{32}$", page.url)

    # the detected mapping: 情况说明 is no known header, so it would be kept as it is; correct it
    assert page.locator("#field-F").input_value() == "owner"
    assert page.locator("#field-I").input_value() == "extra"
    assert "情况说明" in page.locator("[data-kept-columns]").inner_text()
    page.select_option("#field-I", "account")
    shot(page, "11-import-mapping")
    submit(page, page.locator("[data-remap]"))
    assert page.locator("#field-I").input_value() == "account"
    assert "情况说明" not in page.locator("[data-kept-columns]").inner_text()
    # the dry run: counts and the rows as they will be stored
    assert page.locator('[data-count="measures"]').inner_text() == "4"
    assert page.locator("[data-preview] tbody tr").count() == 4
    assert "财政局整改负责人" in page.locator("[data-preview]").inner_text()
    shot(page, "12-import-dry-run")

    submit(page, page.locator("[data-confirm-import]"))
    assert "已导入" in page.locator('[data-import-result="done"]').inner_text()
    plan_id = int(page.locator("[data-import-result]").get_attribute("data-plan"))
    submit(page, page.locator("[data-plan-ledger]"))
    assert f"plan={plan_id}" in page.url and page.locator("tr[data-measure]").count() == 4
    assert "组织竣工验收" in page.locator("table").inner_text()

    # the office reviews the draft and publishes it, ticking the confirmation
    page.goto(f"{site.url}/plans/{plan_id}")
    assert "审计发现问题整改落实情况" in page.locator("[data-draft]").inner_text()
    page.locator("#publish-confirm").check()
    shot(page, "13-plan-publish")
    submit(page, page.locator("[data-publish-button]"))
    assert "已发布第 1 版通报" in page.locator(".flashes").inner_text()
    assert page.locator('[data-versions] li[data-version="1"]').count() == 1
    ctx.close()

    # the public, on a phone, finds it and reads it with its publication date
    pub = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    p = pub.new_page()
    p.goto(site.url + "/public/")
    with p.expect_navigation():
        p.locator(f'li[data-plan="{plan_id}"] a').click()
    assert p.locator("[data-published-version]").get_attribute("data-published-version") == "1"
    assert "发布时间" in p.locator("[data-published-at]").inner_text()
    notice = p.locator("article[data-notice]").inner_text()
    assert "专项资金未按规定用途使用" in notice and "财政局整改负责人" not in notice
    assert p.evaluate("document.documentElement.scrollWidth") <= 390
    shot(p, "14-phone-published-notice")
    pub.close()


def test_a_large_ledger_waits_for_the_worker_and_the_page_shows_it_when_ready(browser, live, tmp_path, monkeypatch):
    site = live
    monkeypatch.setattr(staging, "INLINE_BYTES", 0)  # every file counts as large here
    path = ledgers.audit_system(tmp_path / "审计整改台账.xlsx")
    ctx, page = sign_in(browser, site, "office1", viewport={"width": 390, "height": 844})
    page.goto(site.url + "/imports")
    page.set_input_files("#import-file", str(path))
    submit(page, page.get_by_role("button", name="上传并预览"))
    page.locator('[data-count="measures"]').wait_for()  # the worker checked it; the page reloaded itself
    assert page.locator('[data-count="measures"]').inner_text() == "4"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    submit(page, page.locator("[data-confirm-import]"))
    page.locator('[data-import-result="done"]').wait_for()
    assert "/imports/jobs/" in page.url
    shot(page, "15-phone-import-done")
    ctx.close()


def test_the_supervision_order_prints_from_its_page(browser, live, ordered):
    site = live
    ctx, page = sign_in(browser, site, "super1")
    page.goto(site.url + "/supervise?level=3")
    with page.expect_navigation():
        page.locator("a[data-order-no]").first.click()
    assert page.locator("article[data-order] h1").inner_text() == "督办单"
    button = page.locator("[data-print]")
    assert button.is_visible()  # shown by the script (hidden without it)
    page.evaluate("() => { window.printed = 0; window.print = () => { window.printed += 1; }; }")
    button.click()
    assert page.evaluate("window.printed") == 1
    page.emulate_media(media="print")
    assert page.locator(".topbar").is_hidden() and page.locator("[data-print]").is_hidden()
    shot(page, "16-order-print")
    ctx.close()
    # the office's pages of this work fit a phone
    ctx, page = sign_in(browser, site, "office1", viewport={"width": 390, "height": 844})
    wide = []
    for path in ("/plans", f"/plans/{site.ids['plan']}", "/imports", "/orders", "/orders/DB-2026-0001"):
        page.goto(site.url + path)
        if page.evaluate("document.documentElement.scrollWidth") > 390:
            wide.append(path)
    shot(page, "17-phone-order")
    ctx.close()
    assert not wide, "pages wider than a phone: " + ", ".join(wide)
