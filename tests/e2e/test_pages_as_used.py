"""The pages as an office uses them (issue 13), through Flask's test client on a real SQLite file.

What came back is first on the to-do; 督办 lists each late measure once; people are named, never by
their login; refusals are one plain sentence and land where the person was, with what they typed,
without a resubmitting page; evidence is kept once and removable until submitted; sign-off and
bulk approval ask to confirm with a comment; feedback on open work has somewhere to go; the ledger
searches and exports what it shows; the smaller things around them.
"""
from __future__ import annotations

import datetime as dt
import io
import re
import subprocess
from pathlib import Path

import openpyxl
from sqlalchemy import select

from tests.conftest import png_bytes
from workflow import escalation, jobs
from workflow.models import Event, Feedback, MeasureEvidence, Outbox

from tests.e2e.test_pages import fire, measure_row, post, signed_in

ROOT = Path(__file__).resolve().parents[2]


def follow(client, r) -> str:
    assert r.status_code == 303, (r.status_code, r.get_data(as_text=True)[:300])
    return client.get(r.headers["Location"]).get_data(as_text=True)


def card(body: str, measure_id: int) -> str:
    m = re.search(rf'<li class="item[^"]*"[^>]*data-measure="{measure_id}".*?\n  </li>', body, re.S)
    assert m, f"no card for {measure_id}"
    return m.group(0)


# --- 1. what came back -------------------------------------------------------------------

def test_a_returned_measure_heads_the_to_do_with_the_leaders_name_reason_and_time(site):
    a, b = site.ids["measures"][:2]
    site.drive(a, "in_progress")
    site.drive(b, "submitted")
    site.clock.advance(hours=2)
    site.fire(b, "return", "leader1", reason="照片看不清整改后的现场。")
    body = signed_in(site, "owner1").get("/todo").get_data(as_text=True)
    listed = [int(x) for x in re.findall(r'<li class="item[^"]*" id="m-(\d+)"', body)]
    assert listed[0] == b and sorted(listed) == site.ids["measures"]
    first = card(body, b)
    assert "已退回" in first and "分管领导甲" in first and "照片看不清整改后的现场。" in first
    assert "2026-11-30 12:00" in first  # 02:00 UTC + 2 h, shown in China time
    assert "重新提交落实情况" in first and "已退回" not in card(body, a)
    assert "其中 1 项被退回" in body


def test_the_to_do_counts_its_own_items_and_the_waiting_list_its_own(site):
    a, b, c = site.ids["measures"][:3]
    site.drive(b, "submitted")
    site.drive(c, "verified")
    body = signed_in(site, "owner1").get("/todo").get_data(as_text=True)
    assert "待办 6 项" in body and "等待审核或销号（2 项）" in body and "共 " not in body


# --- 2. 督办 ---------------------------------------------------------------------------------

def test_supervision_shows_each_late_measure_once_and_leaves_out_a_recovered_one(site):
    ids = site.ids["measures"]
    for day in (dt.datetime(2026, 12, 28, 2), dt.datetime(2027, 1, 4, 2), dt.datetime(2027, 1, 25, 2)):
        site.clock.t = day
        escalation.sweep(day, site.engine)
    m = ids[0]
    site.drive(m, "in_progress")
    site.fire(m, "request_extension", "owner1", reason="汛期", params={"new_deadline": "2027-03-31"})
    site.fire(m, "grant_extension", "leader1")
    client = signed_in(site, "super1")
    body = client.get("/supervise").get_data(as_text=True)
    listed = [int(x) for x in re.findall(r'data-measure="(\d+)" data-level=', body)]
    assert sorted(listed) == ids[1:] and len(set(listed)) == len(listed)
    assert re.search(r'data-tab="3".*?data-count>7<', body, re.S)  # measures, not escalations
    one = card(body, ids[1])
    assert one.count("data-step=") == 4 and "三级督办" in one and "DB-2027-" in one
    assert "按时限" not in body and "当时完成时限 2026-12-31" in one
    everything = client.get("/supervise?all=1").get_data(as_text=True)
    assert "data-recovered" in card(everything, m)


def test_the_inspector_reads_supervision_without_an_urge_button(site):
    site.clock.t = dt.datetime(2027, 1, 25, 2)
    escalation.sweep(site.clock(), site.engine)
    insp = signed_in(site, "insp1")
    body = insp.get("/supervise").get_data(as_text=True)
    assert body.count('data-level="3"') == 8 and "urge" not in body
    assert 'href="/supervise"' in body  # in the menu
    assert "fire/urge" in signed_in(site, "super1").get("/supervise").get_data(as_text=True)


# --- 3. names, plain words --------------------------------------------------------------

def test_the_history_names_people_and_shows_login_names_to_admins_only_on_hover(site):
    m = site.ids["measures"][0]
    site.drive(m, "verified")
    site.clock.t = dt.datetime(2026, 12, 29, 2)
    escalation.sweep(site.clock(), site.engine)  # verified: nothing to escalate
    office = signed_in(site, "office1").get(f"/measures/{m}").get_data(as_text=True)
    timeline = office[office.index("data-timeline"):]
    assert "分管领导甲" in timeline and "水利局责任人" in timeline and "系统" in timeline
    for login in ("leader1", "owner1", "system"):
        assert login not in office
    assert "版本" not in office and not re.search(r"#\d+ [0-9a-f]{12}", office)
    admin = signed_in(site, "admin1").get(f"/measures/{m}").get_data(as_text=True)
    assert 'title="leader1"' in admin and re.search(r"#\d+ [0-9a-f]{12}", admin)


def test_a_deadline_reminder_is_called_a_reminder_not_a_supervision(site):
    m = site.ids["measures"][0]
    site.clock.t = dt.datetime(2026, 12, 28, 2)
    escalation.sweep(site.clock(), site.engine)
    body = signed_in(site, "owner1").get(f"/measures/{m}").get_data(as_text=True)
    entry = re.search(r'<li data-kind="escalate">.*?</li>', body, re.S).group(0)
    assert "临期预警" in entry and "督办" not in entry


def test_the_inbox_shows_no_raw_addresses(site):
    site.drive(site.ids["measures"][0], "submitted")
    body = signed_in(site, "leader1").get("/inbox").get_data(as_text=True)
    assert "待审核" in body and "http://" not in body and "https://" not in body
    with site.engine.connect() as conn:
        stored = conn.execute(select(Outbox.body).where(Outbox.channel == "inbox")).scalars().all()
    assert any("/measures/" in b for b in stored)  # the email copy keeps its link


def test_a_notice_generated_says_so_not_export_done(site):
    client = signed_in(site, "office1")
    r = post(client, "/reports", {"plan": site.ids["plan"], "format": "md"})
    job = r.headers["Location"].rsplit("/", 1)[1]
    jobs.work(engine=site.engine)
    page = client.get(f"/ledger/export/{job}").get_data(as_text=True)
    assert "通报已生成。" in page and "导出完成" not in page


# --- 4. evidence ---------------------------------------------------------------------------

def test_the_same_photo_uploaded_twice_shows_once_and_the_person_is_told(site):
    m = site.ids["measures"][0]
    site.drive(m, "in_progress")
    client = signed_in(site, "owner1")
    r = fire(client, m, "progress_update", 2, comment="进展", files=[("现场.png", png_bytes(7))])
    assert r.status_code == 303
    r = fire(client, m, "submit", 3, comment="完成", files=[("现场-副本.png", png_bytes(7)), ("另一张.png", png_bytes(8))])
    body = follow(client, r)
    assert "此前已上传过，没有重复保存：现场-副本.png" in body
    assert len(re.findall(r'<li data-sha="', body)) == 2 and measure_row(site, m).evidence_count == 2


def test_a_wrong_file_is_removed_before_submitting_and_kept_after(site):
    m = site.ids["measures"][0]
    site.drive(m, "in_progress")
    owner = signed_in(site, "owner1")
    fire(owner, m, "progress_update", 2, comment="进展", files=[("传错了.png", png_bytes(9))])
    page = owner.get(f"/measures/{m}").get_data(as_text=True)
    sha = re.search(r'action="/measures/\d+/evidence/([0-9a-f]{64})/remove"', page).group(1)
    assert "data-confirm-text" in page
    assert "/remove" not in signed_in(site, "leader1").get(f"/measures/{m}").get_data(as_text=True)
    body = follow(owner, post(owner, f"/measures/{m}/evidence/{sha}/remove", {"version": 3}))
    assert "已删除佐证材料「传错了.png」" in body and "传错了.png" in body[body.index("data-timeline"):]
    assert 'data-sha="' not in body
    # a submitted file has no remove button and cannot be removed
    fire(owner, m, "submit", 4, comment="完成", files=[("对的.png", png_bytes(10))])
    site.fire(m, "return", "leader1", reason="补充")
    page = owner.get(f"/measures/{m}").get_data(as_text=True)
    assert "/remove" not in page
    with site.engine.connect() as conn:
        kept = conn.execute(select(MeasureEvidence.sha256).where(MeasureEvidence.measure_id == m,
                                                                 MeasureEvidence.removed_seq.is_(None))).scalar()
    body = follow(owner, post(owner, f"/measures/{m}/evidence/{kept}/remove", {"version": 6}))
    assert "已提交审核的佐证材料会保留在记录中，不能删除。" in body
    assert signed_in(site, "owner3").post(f"/measures/{m}/evidence/{kept}/remove").status_code in (400, 404)


def test_after_a_return_the_owner_is_warned_and_the_leader_sees_what_is_new(site):
    m = site.ids["measures"][0]
    site.drive(m, "submitted")
    site.fire(m, "return", "leader1", reason="补充整改后照片")
    owner = signed_in(site, "owner1")
    page = owner.get(f"/measures/{m}").get_data(as_text=True)
    assert "data-no-new-evidence" in page and "已保存 1 份" in page
    fire(owner, m, "submit", 4, comment="已补充。", files=[("整改后.png", png_bytes(11))])
    leader = signed_in(site, "leader1")
    queue = card(leader.get("/review").get_data(as_text=True), m)
    assert "重新提交" in queue and "补充整改后照片" in queue and "此后新增佐证 1 份" in queue
    page = leader.get(f"/measures/{m}").get_data(as_text=True)
    assert len(re.findall(r"<li data-sha=\"[0-9a-f]+\" data-new>", page)) == 1
    assert 'data-new-evidence="1"' in page


# --- 5. confirmations ----------------------------------------------------------------------

def test_signing_off_from_the_list_asks_to_confirm_and_takes_an_opinion(site):
    m = site.ids["measures"][0]
    site.drive(m, "verified")
    office = signed_in(site, "office1")
    item = card(office.get("/signoff").get_data(as_text=True), m)
    assert 'data-confirm="sign_off"' in item and "确认销号" in item and 'name="comment"' in item
    r = post(office, f"/measures/{m}/fire/sign_off", {"version": 4, "comment": "已对账，同意销号。", "next": "/signoff"},
             csrf_from="/signoff")
    assert r.headers["Location"] == "/signoff"
    with site.engine.connect() as conn:
        body = conn.execute(select(Event.body).where(Event.measure_id == m, Event.kind == "sign_off")).scalar_one()
    assert "已对账，同意销号。" in body


def test_bulk_approval_is_confirmed_on_its_own_page_with_one_opinion_for_all(site):
    a, b = site.ids["measures"][:2]
    site.drive(a, "submitted")
    site.drive(b, "submitted")
    leader = signed_in(site, "leader1")
    assert 'id="bulk-approve" method="get"' in leader.get("/review").get_data(as_text=True)
    confirm = leader.get(f"/review/confirm?pick={a}:3&pick={b}:3&pick=999:1").get_data(as_text=True)
    assert "确认审核通过 2 项" in confirm and "有 1 项已不在待审核列表中" in confirm
    assert measure_row(site, a).state == "submitted"  # nothing happens before the confirmation
    r = post(leader, "/review/bulk", {"pick": [f"{a}:3", f"{b}:3"], "comment": "同意。"}, csrf_from="/review")
    body = follow(leader, r)
    assert "成功 2 项" in body
    assert leader.get("/review/result").headers["Location"] == "/review"  # a refresh does nothing again
    with site.engine.connect() as conn:
        bodies = conn.execute(select(Event.body).where(Event.kind == "approve")).scalars().all()
    assert len(bodies) == 2 and all("同意。" in x for x in bodies)
    assert leader.get("/review/confirm").headers["Location"] == "/review"


# --- 6. post-redirect-get ----------------------------------------------------------------------

def test_a_refusal_lands_where_the_person_was_with_what_they_typed_once(site):
    m = site.ids["measures"][0]
    site.drive(m, "in_progress")
    owner = signed_in(site, "owner1")
    r = fire(owner, m, "request_extension", 2, new_deadline="2026-12-01", reason="汛期施工受限，需延至明年。")
    assert r.headers["Location"] == f"/measures/{m}#act-request_extension"
    body = owner.get(r.headers["Location"]).get_data(as_text=True)
    assert "未能申请延期：新的完成时限须晚于现行的完成时限。" in body
    assert "汛期施工受限，需延至明年。" in body and 'value="2026-12-01"' in body
    form = re.search(r'<details class="action" id="act-request_extension"[^>]*>', body).group(0)
    assert " open" in form and "data-form-error" in body
    again = owner.get(f"/measures/{m}").get_data(as_text=True)  # a refresh: a clean page, nothing sent
    assert "汛期施工受限" not in again and "data-form-error" not in again
    assert measure_row(site, m).version == 2


def test_a_refusal_from_a_queue_goes_back_to_the_queue_at_that_card(site):
    m = site.ids["measures"][0]
    site.drive(m, "submitted")
    leader = signed_in(site, "leader1")
    r = post(leader, f"/measures/{m}/fire/return", {"version": 3, "reason": " ", "next": "/review"}, csrf_from="/review")
    assert r.headers["Location"] == f"/review#m-{m}"
    item = card(leader.get("/review").get_data(as_text=True), m)
    assert "未能退回：请填写理由。" in item and "<details class=\"action\" open>" in item


def test_public_feedback_refused_keeps_what_was_written(site):
    site.publish()
    path = f"/public/plans/{site.ids['plan']}"
    client = site.app.test_client()
    r = post(client, path + "/feedback", {"problem_id": site.ids["problem"], "text": " ", "contact": "电话 123"},
             csrf_from=path)
    body = follow(client, r)
    assert "内容不能为空。" in body and 'value="电话 123"' in body


# --- 7. feedback on work still open ---------------------------------------------------------------

def test_feedback_on_a_problem_with_nothing_closed_is_passed_to_the_owner(site):
    m = site.ids["measures"][0]
    site.publish()
    path = f"/public/plans/{site.ids['plan']}"
    public = site.app.test_client()
    post(public, path + "/feedback", {"problem_id": site.ids["problem"], "text": "河道仍有垃圾"}, csrf_from=path)
    office = signed_in(site, "office1")
    desk = office.get("/feedback").get_data(as_text=True)
    assert "data-nothing-closed" in desk and 'data-feedback-action="reopen"' not in desk
    assert " disabled" not in desk
    fid = int(re.search(r'data-feedback="(\d+)"', desk).group(1))
    r = post(office, f"/feedback/{fid}/forward", {"measure_id": m, "text": "群众反馈：河道仍有垃圾"}, csrf_from="/feedback")
    assert "已将群众反馈转给整改措施" in follow(office, r)
    with site.engine.connect() as conn:
        assert conn.execute(select(Feedback.status).where(Feedback.id == fid)).scalar() == "forwarded"
        told = conn.execute(select(Outbox.subject).where(Outbox.recipient_id == site.ids["owner"],
                                                         Outbox.kind == "feedback_forwarded")).scalars().all()
    assert told
    assert "群众反馈：河道仍有垃圾" in signed_in(site, "owner1").get(f"/measures/{m}").get_data(as_text=True)


# --- 8. finding things ----------------------------------------------------------------------------

def test_the_ledger_searches_by_keyword_and_exports_what_it_shows(site):
    ids = site.ids["measures"]
    client = signed_in(site, "office1")
    body = client.get("/ledger?q=措施 3").get_data(as_text=True)
    assert re.findall(r'<tr data-measure="(\d+)"', body) == [str(ids[2])]
    assert "找到 1 项符合条件的整改措施" in body and "导出当前筛选结果" in body
    assert '<input type="hidden" name="q" value="措施 3">' in body
    r = post(client, "/ledger/export", {"plan": site.ids["plan"], "q": "措施 3"})
    job = r.headers["Location"].rsplit("/", 1)[1]
    jobs.work(engine=site.engine)
    xlsx = client.get(f"/ledger/export/{job}/file")
    wb = openpyxl.load_workbook(io.BytesIO(xlsx.data))
    texts = {c for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for c in row if isinstance(c, str)}
    assert "整改措施 3" in texts and "整改措施 4" not in texts


def test_the_public_page_is_linked_from_sign_in_and_its_feedback_names_the_problems(site):
    login = site.app.test_client().get("/login").get_data(as_text=True)
    assert 'data-public-link' in login and 'href="/public/"' in login
    site.publish()
    page = site.app.test_client().get(f"/public/plans/{site.ids['plan']}").get_data(as_text=True)
    assert re.search(r"<option value=\"\d+\"[^>]*>问题 1：学习不主动。</option>", page)


# --- 9. the smaller things -----------------------------------------------------------------------

def test_error_pages_keep_the_menu(site):
    client = signed_in(site, "owner1")
    for path, status in (("/measures/99999", 404), ("/signoff", 403)):
        r = client.get(path)
        body = r.get_data(as_text=True)
        assert r.status_code == status and 'class="menu"' in body and 'href="/todo"' in body, path


def test_the_dashboard_lays_charts_side_by_side_and_aligns_its_counts(site):
    body = signed_in(site, "office1").get("/dashboard").get_data(as_text=True)
    assert 'class="charts"' in body
    table = re.search(r"<table class=\"counts\".*?</table>", body, re.S).group(0)
    assert '<th scope="col" class="num">' in table and table.count('<td class="num">') == 2 * 6


def test_the_demo_port_can_be_chosen_from_make():
    out = subprocess.run(["make", "-n", "demo", "PORT=5099"], cwd=ROOT, capture_output=True, text=True).stdout
    assert "rectify demo --port 5099" in out


def test_print_styles_leave_out_menus_and_forms():
    css = (ROOT / "web" / "static" / "css" / "app.css").read_text(encoding="utf-8")
    rules = css[css.index("@media print"):]
    hidden = re.search(r"([^{}]*)\{ display: none !important; \}", rules).group(1)
    for selector in (".topbar", "form", "details.action", ".pager", ".flashes"):
        assert selector in hidden, selector
