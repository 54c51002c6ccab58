"""Small things found walking the demo as a newcomer in each role (the draft's formats in words, one
full stop after a reason, an English 'returned' line that reads, the thanks for feedback on screen)."""
from __future__ import annotations

from tests.conftest import png_bytes
from tests.e2e.test_pages import fire, post, signed_in
from tests.e2e.test_pages_as_used import card


def test_the_draft_notice_formats_are_named_in_words(site):
    body = signed_in(site, "office1").get(f"/plans/{site.ids['plan']}").get_data(as_text=True)
    assert '<option value="docx">docx</option>' not in body and '<option value="md">md</option>' not in body
    assert '<option value="docx">Word 文档 (.docx)</option>' in body
    assert '<option value="html">可打印网页 (.html)</option>' in body


def test_a_reason_ending_in_a_full_stop_gets_no_second_one_in_the_review_queue(site):
    m = site.ids["measures"][0]
    site.drive(m, "submitted")
    site.fire(m, "return", "leader1", reason="补充整改后照片。")
    fire(signed_in(site, "owner1"), m, "submit", 4, comment="已补充。", files=[("整改后.png", png_bytes(11))])
    queue = card(signed_in(site, "leader1").get("/review").get_data(as_text=True), m)
    assert "补充整改后照片。" in queue and "。。" not in queue


def test_the_returned_line_reads_in_english(site):
    m = site.ids["measures"][0]
    site.drive(m, "submitted")
    site.fire(m, "return", "leader1", reason="more photos")
    body = signed_in(site, "owner1").get(f"/measures/{m}?lang=en").get_data(as_text=True)
    assert "Return by" not in body and "Return: " in body


def test_the_thanks_for_feedback_is_where_the_sender_lands(site):
    site.publish()
    path = f"/public/plans/{site.ids['plan']}"
    client = site.app.test_client()
    r = post(client, path + "/feedback", {"problem_id": site.ids["problem"], "text": "河道仍有垃圾"}, csrf_from=path)
    assert r.status_code == 303 and "#" not in r.headers["Location"]
    assert "感谢您的反馈" in client.get(r.headers["Location"]).get_data(as_text=True)


def test_a_label_ends_in_a_full_width_colon_in_chinese_and_in_a_colon_and_space_in_english(site):
    client = signed_in(site, "owner1")
    chinese = client.get("/todo").get_data(as_text=True)
    english = client.get("/todo?lang=en").get_data(as_text=True)
    assert "完成时限：" in chinese
    assert "Deadline: " in english and "：" not in english.split("<main", 1)[1].split("</main>", 1)[0]
