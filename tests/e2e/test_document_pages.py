"""Printable documents on pages: the supervision order (督办单) with its replies, as a page and as
.docx/.html, reached from 督办; the weekly report and monthly summary, made by a worker for the office."""
from __future__ import annotations

import io
import re

import docx

from tests.e2e.forms import post, signed_in, text
from workflow import jobs

ORDER = "DB-2026-0001"


def test_the_order_is_reached_from_supervision_and_prints_what_it_must_say(site, ordered):
    office = signed_in(site, "office1")
    board = text(office.get("/supervise?level=3"))
    assert f'href="/orders/{ORDER}"' in board
    page = office.get(f"/orders/{ORDER}")
    body = text(page)
    assert page.status_code == 200 and f'data-order="{ORDER}"' in body
    for words in ("督办单", ORDER, "学习不主动。", "水利局", "水利局责任人", "分管领导甲", "2026年12月8日",
                  "截至督办之日已逾期10个工作日", "至今逾期12个工作日", "请于2026年12月25日前书面回复", "尚未回复"):
        assert words in body, words
    assert "data-print" in body and f'href="/orders/{ORDER}/docx"' in body
    listing = text(office.get("/orders"))
    assert f'data-order="{ORDER}" data-replied="no"' in listing


def test_a_reply_is_shown_on_the_order_and_in_its_word_file(site, ordered):
    site.fire(ordered, "reply_order", "owner1", comment="已加派人手，预计本月底完成。")
    owner = signed_in(site, "owner1")  # the responsible person reads the order addressed to them
    body = text(owner.get(f"/orders/{ORDER}"))
    assert "已加派人手，预计本月底完成。" in body and "尚未回复" not in body and 'data-replies="1"' in body
    r = owner.get(f"/orders/{ORDER}/docx")
    assert r.status_code == 200 and "attachment" in r.headers["Content-Disposition"]
    d = docx.Document(io.BytesIO(r.data))
    assert d.tables[0].cell(1, 1).text == ORDER
    assert any("已加派人手" in p.text for p in d.paragraphs)
    html = owner.get(f"/orders/{ORDER}/html")
    assert html.status_code == 200 and "<style>" in text(html) and "已加派人手" in text(html)
    assert f'data-order="{ORDER}" data-replied="yes"' in text(signed_in(site, "super1").get("/orders"))


def test_an_order_is_read_only_by_those_who_see_its_measure(site, ordered):
    assert site.app.test_client().get(f"/orders/{ORDER}").status_code == 302
    for user, status in (("office1", 200), ("super1", 200), ("leader1", 200), ("owner1", 200), ("owner3", 404),
                         ("leader2", 404)):
        client = signed_in(site, user)
        assert client.get(f"/orders/{ORDER}").status_code == status, user
        assert client.get(f"/orders/{ORDER}/docx").status_code == status, user
        assert (ORDER in text(client.get("/orders"))) == (status == 200), user
    assert signed_in(site, "office1").get("/orders/DB-2026-9999").status_code == 404


def finished_file(site, client, response):
    """Run the worker for a queued file and download it from its progress page."""
    assert response.status_code == 302, text(response)[:500]
    page = response.headers["Location"]
    assert "/ledger/export/" in page
    assert jobs.work(engine=site.engine).done == 1
    return client.get(page + "/file")


def test_the_office_downloads_the_weekly_report_and_the_monthly_summary(site, ordered):
    office = signed_in(site, "office1")
    body = text(office.get("/plans"))
    assert 'data-digest="weekly"' in body and 'data-digest="monthly"' in body
    r = post(office, "/digests", {"digest": "weekly", "format": "docx", "day": "2026-12-24"}, csrf_from="/plans")
    page = r.headers["Location"]
    assert "生成周报告或月总结" in text(office.get(page))
    f = finished_file(site, office, r)
    assert f.status_code == 200 and "attachment" in f.headers["Content-Disposition"]
    d = docx.Document(io.BytesIO(f.data))
    title = "\n".join(p.text for p in d.paragraphs)
    assert "整改周报告" in title and "2026-12-21" in title and "水利局" in title
    r = post(office, "/digests", {"digest": "monthly", "format": "html", "day": "2026-12-24"}, csrf_from="/plans")
    f = finished_file(site, office, r)
    assert f.status_code == 200 and "整改月总结（2026年11月）" in text(f)
    assert re.search(r"<td>水利局</td>\s*<td>8</td>", text(f))


def test_only_the_office_makes_digests(site):
    for user in ("owner1", "leader1", "super1"):
        r = post(signed_in(site, user), "/digests", {"digest": "weekly", "format": "docx"})
        assert r.status_code == 403, user
    r = post(signed_in(site, "office1"), "/digests", {"digest": "yearly", "format": "docx"})
    assert r.status_code == 400
