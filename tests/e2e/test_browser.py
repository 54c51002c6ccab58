"""A real browser: Debian's headless Chromium driven by Playwright against the app served on a port.

The whole round of one measure: the owner signs in and submits with a photo, the leader returns
it with a reason, the owner resubmits (adding a second photo by drag and drop), the leader
approves, the office signs off (confirming), and the ledger shows it closed. Then 待我审核 on a phone-sized
screen. Screenshots go to ``test-artifacts/screenshots/`` (git-ignored).

Without ``/usr/bin/chromium`` the tests are skipped, saying why; under CI (``CI=true``) that is
a failure instead. Playwright's own browser downloads are never used (the ``browser`` and ``live``
fixtures are in ``tests/e2e/conftest.py``).
"""
from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest
from sqlalchemy import select

from workflow.models import Measure

pytestmark = pytest.mark.browser

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def photo_png(width: int = 160, height: int = 120, tint: int = 0) -> bytes:
    """A real, viewable PNG: a colour gradient (so the preview shows something)."""
    rows = []
    for y in range(height):
        row = bytearray(b"\x00")
        for x in range(width):
            row += bytes(((x * 255 // width + tint) & 0xFF, (y * 255 // height) & 0xFF, (128 + tint) & 0xFF))
        rows.append(bytes(row))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"".join(rows))) + chunk(b"IEND", b""))


def shot(page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(browser, site, username: str, viewport=None):
    ctx = browser.new_context(locale="zh-CN", viewport=viewport or {"width": 1280, "height": 900})
    page = ctx.new_page()
    page.set_default_timeout(15000)
    page.goto(site.url + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", f"pw-{username}")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "/login" not in page.url, f"{username} could not sign in"
    return ctx, page


def submit(page, button) -> None:
    """Click a form's button and wait for the page the server answers with."""
    with page.expect_navigation():
        button.click()
    page.wait_for_load_state()


def state_of(site, measure_id: int):
    with site.engine.connect() as conn:
        return conn.execute(select(Measure.state, Measure.evidence_count).where(Measure.id == measure_id)).one()


def test_a_measure_goes_round_the_whole_lifecycle_in_a_real_browser(browser, live):
    site = live
    m = site.ids["measures"][0]
    item = f'li[data-measure="{m}"]'

    # the owner starts and submits with a photo
    octx, owner = sign_in(browser, site, "owner1")
    owner.goto(site.url + "/todo")
    assert owner.locator("h1").inner_text() == "我的待办"
    submit(owner, owner.locator(item).get_by_role("button", name="开始整改"))
    assert "已完成「开始整改」" in owner.locator(".flashes").inner_text()
    owner.goto(f"{site.url}/measures/{m}")
    assert owner.locator("h1 .badge[data-state]").inner_text() == "整改中"
    owner.fill("#f-submit-comment", "已组织专题学习，附现场照片。")
    owner.set_input_files("#evidence-files", files=[
        {"name": "现场照片.png", "mimeType": "image/png", "buffer": photo_png(tint=0)}])
    # the preview is drawn from the chosen file (a data: URL, which the CSP allows)
    owner.wait_for_function("() => { const i = document.querySelector('[data-file-list] img');"
                            " return i && i.naturalWidth === 160; }")
    shot(owner, "01-owner-submits")
    submit(owner, owner.locator('button[data-fire="submit"]'))
    assert owner.locator("h1 .badge[data-state]").inner_text() == "待审核"
    assert owner.locator("[data-evidence] img").count() == 1
    assert owner.locator("[data-evidence] img").evaluate("img => img.naturalWidth") == 160  # served and decoded
    assert tuple(state_of(site, m)) == ("submitted", 1)

    # the leader returns it with a reason
    lctx, leader = sign_in(browser, site, "leader1")
    leader.goto(site.url + "/review")
    card = leader.locator(item)
    card.locator("summary", has_text="退回").click()
    card.locator("textarea[name=reason]").fill("照片看不清整改后的现场，请补充。")
    submit(leader, card.get_by_role("button", name="确认退回"))
    assert leader.locator(item).count() == 0
    assert state_of(site, m).state == "in_progress"

    # the owner sees why, adds a second photo by drag and drop and resubmits
    owner.goto(f"{site.url}/measures/{m}")
    assert "照片看不清整改后的现场" in owner.locator("[data-timeline]").inner_text()
    owner.fill("#f-submit-comment", "已补充整改后现场照片。")
    data = list(photo_png(tint=90))
    owner.evaluate("""([bytes, name]) => {
        const file = new File([new Uint8Array(bytes)], name, {type: 'image/png'});
        const dt = new DataTransfer();
        dt.items.add(file);
        const zone = document.querySelector('[data-dropzone]');
        zone.dispatchEvent(new DragEvent('dragover', {dataTransfer: dt, bubbles: true, cancelable: true}));
        zone.dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));
    }""", [data, "整改后.png"])
    assert owner.locator("[data-file-list] li").count() == 1
    assert owner.locator("#evidence-files").evaluate("i => i.files.length") == 1
    submit(owner, owner.locator('button[data-fire="submit"]'))
    assert owner.locator("h1 .badge[data-state]").inner_text() == "待审核"
    assert tuple(state_of(site, m)) == ("submitted", 2)

    # the leader approves from the queue
    leader.goto(site.url + "/review")
    submit(leader, leader.locator(item).get_by_role("button", name="审核通过"))
    assert state_of(site, m).state == "verified"

    # the office signs it off
    fctx, office = sign_in(browser, site, "office1")
    office.goto(site.url + "/signoff")
    office.locator(item).locator("summary", has_text="销号").first.click()  # signing off asks to confirm
    shot(office, "02-office-signoff")
    submit(office, office.locator(item).get_by_role("button", name="确认销号"))
    assert state_of(site, m).state == "closed"

    # the ledger shows it closed
    office.goto(site.url + "/ledger?state=closed")
    row = office.locator(f'tr[data-measure="{m}"]')
    assert row.get_attribute("data-state") == "closed"
    assert "已销号" in row.inner_text()
    shot(office, "03-ledger-closed")
    office.goto(f"{site.url}/measures/{m}")
    assert office.locator('svg.lifecycle .lc-state.current').get_attribute("data-state") == "closed"
    kinds = office.locator("[data-timeline] li").evaluate_all("els => els.map(e => e.dataset.kind)")
    assert kinds == ["sign_off", "approve", "submit", "return", "submit", "start", "create"]
    shot(office, "04-measure-closed")

    # the office exports the ledger: a progress bar, then the file
    office.goto(site.url + "/ledger")
    submit(office, office.get_by_role("button", name="导出 Excel 台账"))
    assert "/ledger/export/" in office.url
    assert office.locator("progress[data-export-progress]").count() == 1
    link = office.locator("[data-export-download]")
    link.wait_for(state="visible")  # the page's script polled the status until done
    assert office.locator("progress").evaluate("p => [p.value, p.max]") == [8, 8]
    shot(office, "05-export-done")
    with office.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename.endswith(".xlsx")
    assert Path(download.path()).read_bytes()[:2] == b"PK"
    for ctx in (octx, lctx, fctx):
        ctx.close()


def test_the_review_queue_fits_a_phone_screen(browser, live):
    site = live
    for m in site.ids["measures"][:3]:
        site.drive(m, "submitted")
    ctx, page = sign_in(browser, site, "leader1", viewport={"width": 390, "height": 844})
    page.goto(site.url + "/review")
    assert page.locator("h1").inner_text() == "待我审核"
    assert page.locator("li[data-measure]").count() == 3
    # no sideways scrolling on a 390 px screen, and the buttons are big enough to tap
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    heights = page.locator("li[data-measure] button").evaluate_all(
        "els => els.map(e => e.getBoundingClientRect().height)")
    assert heights and min(h for h in heights if h > 0) >= 40
    # the fonts cover Chinese: the heading is not drawn as empty boxes (its width is real text)
    assert page.locator("h1").evaluate("h => h.getBoundingClientRect().width") > 40
    shot(page, "06-phone-review")
    # bulk approval of everything ticked, confirmed, with one result per measure
    page.locator("[data-check-all]").check()
    submit(page, page.get_by_role("button", name="批量审核通过"))
    submit(page, page.get_by_role("button", name="确认审核通过 3 项"))
    assert page.locator('tr[data-ok="yes"]').count() == 3
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "07-phone-bulk-result")
    ctx.close()


def test_pages_fit_a_phone_screen(browser, live):
    site = live
    site.drive(site.ids["measures"][0], "submitted")
    wide = []
    for user, paths in {"owner1": ["/todo", f"/measures/{site.ids['measures'][0]}", "/ledger", "/dashboard",
                                   "/inbox"],
                        "office1": ["/signoff", "/feedback", "/supervise"],
                        "admin1": ["/admin/people", "/admin/units"]}.items():
        ctx, page = sign_in(browser, site, user, viewport={"width": 390, "height": 844})
        for path in paths:
            page.goto(site.url + path)
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > 390:
                wide.append(f"{user} {path}: {width}px")
        if user == "owner1":
            page.goto(f"{site.url}/measures/{site.ids['measures'][0]}")
            shot(page, "08-phone-measure")
            page.goto(site.url + "/dashboard")
            shot(page, "09-phone-dashboard")
        ctx.close()
    from workflow import publication

    publication.publish(site.ids["plan"], "office1", now=site.clock(), engine=site.engine)
    ctx = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    page = ctx.new_page()
    page.goto(f"{site.url}/public/plans/{site.ids['plan']}")
    if page.evaluate("document.documentElement.scrollWidth") > 390:
        wide.append("public notice")
    shot(page, "10-phone-public-notice")
    ctx.close()
    assert not wide, "pages wider than a phone: " + ", ".join(wide)
