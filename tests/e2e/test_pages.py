"""The HTML pages through Flask's test client on a real SQLite file.

Each page renders for the roles it is for and is refused to the others (302 to sign-in, 403, or
404 for a measure the person may not see); Chinese by default, English with ``?lang=en``; the
forms fire the lifecycle's triggers and answer with a redirect (303), a refusal back where the
person was with what they typed; a stale form is a conflict that overwrites nothing.
"""
from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from sqlalchemy import func, select

from tests.conftest import png_bytes
from workflow import escalation, publication, spec
from workflow.models import Escalation, Feedback, Measure, MeasureEvidence, Membership, OrgUnit, Outbox, User

TOKEN_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def signed_in(site, username):
    client = site.app.test_client()
    r = site.login(client, username)
    assert r.status_code == 302, r.get_data(as_text=True)[:300]
    return client


def token(client, path="/ledger"):
    m = TOKEN_RE.search(client.get(path).get_data(as_text=True))
    assert m, f"no CSRF token on {path}"
    return m.group(1)


def measure_row(site, measure_id):
    with site.engine.connect() as conn:
        return conn.execute(select(Measure).where(Measure.id == measure_id)).one()


def post(client, path, data=None, files=None, csrf_from="/ledger"):
    data = dict(data or {})
    data["csrf_token"] = token(client, csrf_from)
    if files:
        data["evidence"] = [(io.BytesIO(b), name) for name, b in files]
        return client.post(path, data=data, content_type="multipart/form-data")
    return client.post(path, data=data)


def fire(client, measure_id, trigger, version, **fields):
    files = fields.pop("files", None)
    return post(client, f"/measures/{measure_id}/fire/{trigger}", {"version": version, **fields}, files=files)


# --- who may open what ---------------------------------------------------------------

PAGES = {
    # path: (users who get 200, users who get 403)
    "/todo": (("owner1", "head1"), ("leader1", "office1", "super1", "admin1")),
    "/review": (("leader1",), ("owner1", "office1", "super1")),
    "/signoff": (("office1",), ("owner1", "leader1", "super1", "insp1")),
    "/ledger": (("owner1", "leader1", "office1", "super1", "insp1", "admin1"), ()),
    "/dashboard": (("owner1", "leader1", "office1", "super1", "insp1"), ()),
    "/supervise": (("super1", "office1", "leader1", "admin1", "insp1"), ("owner1",)),
    "/inbox": (("owner1", "leader1", "office1"), ()),
    "/feedback": (("office1",), ("owner1", "leader1", "super1", "admin1")),
    "/admin/people": (("admin1",), ("owner1", "leader1", "office1", "super1")),
    "/admin/units": (("admin1",), ("office1", "owner1")),
    "/admin/people/owner1": (("admin1",), ("office1",)),
}


def test_each_page_renders_for_its_roles_and_is_forbidden_to_the_others(site):
    clients = {}
    wrong = []
    for path, (ok, forbidden) in PAGES.items():
        for user in ok + forbidden:
            client = clients.get(user) or clients.setdefault(user, signed_in(site, user))
            status = client.get(path).status_code
            want = 200 if user in ok else 403
            if status != want:
                wrong.append(f"{user} GET {path}: {status}, expected {want}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("path", list(PAGES) + ["/", "/measures/1", "/evidence/" + "a" * 64])
def test_anonymous_visitors_are_sent_to_sign_in(site, path):
    r = site.app.test_client().get(path)
    assert r.status_code == 302
    assert r.headers["Location"].startswith("/login?next=")


def test_each_person_lands_on_their_own_queue(site):
    want = {"owner1": "/todo", "leader1": "/review", "office1": "/signoff", "super1": "/supervise",
            "insp1": "/ledger", "admin1": "/admin/people"}
    for user, target in want.items():
        assert signed_in(site, user).get("/").headers["Location"] == target


def test_a_measure_the_person_may_not_see_is_not_found(site):
    m = site.ids["measures"][0]
    assert signed_in(site, "owner3").get(f"/measures/{m}").status_code == 404
    assert signed_in(site, "leader2").get(f"/measures/{m}").status_code == 404
    assert signed_in(site, "owner2").get(f"/measures/{m}").status_code == 200  # same unit
    assert signed_in(site, "insp1").get("/measures/99999").status_code == 404


def test_pages_are_chinese_by_default_and_english_on_request(site):
    client = signed_in(site, "owner1")
    zh = client.get("/todo").get_data(as_text=True)
    assert "我的待办" in zh and "开始整改" in zh and 'lang="zh-CN"' in zh
    en = client.get("/todo?lang=en").get_data(as_text=True)
    assert "My tasks" in en and ">Start<" in en and 'lang="en"' in en
    assert "我的待办" not in en and "开始整改" not in en
    # the choice is remembered
    assert "My tasks" in client.get("/todo").get_data(as_text=True)
    m = site.ids["measures"][0]
    page = client.get(f"/measures/{m}?lang=en").get_data(as_text=True)
    assert "Workflow" in page and "History" in page and "Deadline" in page and "整改流程" not in page
    assert 'data-fire="start">Start<' in page


# --- the owner's work ----------------------------------------------------------------

def test_owner_starts_then_submits_an_account_with_several_evidence_files(site):
    m = site.ids["measures"][0]
    client = signed_in(site, "owner1")
    r = fire(client, m, "start", 1, next="/todo")
    assert r.status_code == 303 and r.headers["Location"] == "/todo"
    assert measure_row(site, m).state == "in_progress"
    page = client.get(f"/measures/{m}").get_data(as_text=True)
    assert 'capture="environment"' in page and 'accept="image/*"' in page and "multiple" in page
    r = fire(client, m, "submit", 2, comment="已组织专题学习 4 次。",
             files=[("现场照片.png", png_bytes(1)), ("会议记录.png", png_bytes(2))])
    assert r.status_code == 303, r.get_data(as_text=True)[:500]
    row = measure_row(site, m)
    assert (row.state, row.evidence_count, row.account) == ("submitted", 2, "已组织专题学习 4 次。")
    page = client.get(f"/measures/{m}").get_data(as_text=True)
    assert "现场照片.png" in page and "已组织专题学习 4 次。" in page
    shas = re.findall(r'src="/evidence/([0-9a-f]{64})"', page)
    assert len(shas) == 2
    img = client.get(f"/evidence/{shas[0]}")
    assert img.status_code == 200 and img.mimetype == "image/png" and img.data in (png_bytes(1), png_bytes(2))
    assert "attachment" not in img.headers.get("Content-Disposition", "")


def test_submit_without_evidence_is_refused_in_a_plain_sentence_and_stores_nothing(site):
    m = site.ids["measures"][0]
    site.drive(m, "in_progress")
    client = signed_in(site, "owner1")
    r = fire(client, m, "submit", 2, comment="做完了")
    assert r.status_code == 303 and r.headers["Location"] == f"/measures/{m}#act-submit"
    body = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "未能提交：请至少上传一份佐证材料。" in body and "evidence_required" not in body
    assert "做完了" in body  # what the person typed is kept
    assert measure_row(site, m).state == "in_progress"
    # a file that is not an image, PDF, Word or Excel is refused before anything is written, naming it
    r = fire(client, m, "submit", 2, comment="做完了", files=[("x.png", b"not really a picture")])
    body = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "「x.png」未能上传：只接受图片、PDF、Word 或 Excel 文件。" in body
    assert "evidence_type" not in body and "not an accepted" not in body
    with site.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(MeasureEvidence)).scalar() == 0
    assert measure_row(site, m).version == 2


def test_owner_reports_progress_and_requests_an_extension_that_the_leader_grants(site):
    m = site.ids["measures"][0]
    site.drive(m, "in_progress")
    owner = signed_in(site, "owner1")
    assert fire(owner, m, "progress_update", 2, comment="本周完成隐患排查。").status_code == 303
    assert fire(owner, m, "request_extension", 3, new_deadline="2027-03-31", reason="汛期施工受限").status_code == 303
    leader = signed_in(site, "leader1")
    queue = leader.get("/review").get_data(as_text=True)
    assert "汛期施工受限" in queue and "2027-03-31" in queue
    assert fire(leader, m, "grant_extension", 4).status_code == 303
    row = measure_row(site, m)
    assert (row.deadline, row.deadline_original) == (dt.date(2027, 3, 31), dt.date(2026, 12, 31))
    page = owner.get(f"/measures/{m}").get_data(as_text=True)
    assert 'data-deadline>2027-03-31' in page and "data-deadline-original>2026-12-31" in page
    assert "已同意" in page and "本周完成隐患排查。" in page


# --- the leader's queue --------------------------------------------------------------

def test_leader_returns_with_a_reason_and_the_owner_resubmits(site):
    m = site.ids["measures"][0]
    site.drive(m, "submitted")
    leader = signed_in(site, "leader1")
    assert f'data-measure="{m}"' in leader.get("/review").get_data(as_text=True)
    r = fire(leader, m, "return", 3, next="/review")  # no reason: back to the queue, at the measure's card
    assert r.status_code == 303 and r.headers["Location"] == f"/review#m-{m}"
    queue = leader.get(r.headers["Location"]).get_data(as_text=True)
    assert "未能退回：请填写理由。" in queue and "reason_required" not in queue
    assert fire(leader, m, "return", 3, reason="佐证照片不清晰", next="/review").headers["Location"] == "/review"
    assert measure_row(site, m).state == "in_progress"
    owner = signed_in(site, "owner1")
    page = owner.get(f"/measures/{m}").get_data(as_text=True)
    assert "佐证照片不清晰" in page
    # the earlier evidence still counts: a new account alone is enough to resubmit
    assert fire(owner, m, "submit", 4, comment="已补充清晰照片。").status_code == 303
    assert measure_row(site, m).state == "submitted"


def test_a_stale_form_is_a_conflict_and_overwrites_nothing(site):
    m = site.ids["measures"][0]
    site.drive(m, "submitted")
    leader = signed_in(site, "leader1")
    page = leader.get(f"/measures/{m}").get_data(as_text=True)
    version = int(re.search(r'name="version" value="(\d+)"', page).group(1))
    # meanwhile the office comments: the measure moves on to a new version
    site.fire(m, "comment", "office1", comment="请注意核对台账")
    before = measure_row(site, m)
    r = fire(leader, m, "approve", version)
    assert r.status_code == 303
    body = leader.get(r.headers["Location"]).get_data(as_text=True)
    assert "flash-conflict" in body and "冲突" in body and f"第 {version} 版" in body
    after = measure_row(site, m)
    assert (after.state, after.version) == (before.state, before.version) == ("submitted", version + 1)
    # with the fresh version it goes through
    assert fire(leader, m, "approve", after.version).status_code == 303
    assert measure_row(site, m).state == "verified"


def test_bulk_approval_shows_a_result_for_each_measure(site):
    a, b, c = site.ids["measures"][:3]
    for m in (a, b, c):
        site.drive(m, "submitted")
    site.fire(b, "comment", "office1", comment="改了一下")  # b's form is now stale
    leader = signed_in(site, "leader1")
    r = post(leader, "/review/bulk", {"pick": [f"{a}:3", f"{b}:3", f"{c}:3"]}, csrf_from="/review")
    assert r.status_code == 303 and r.headers["Location"] == "/review/result"
    body = leader.get("/review/result").get_data(as_text=True)
    assert re.search(rf'data-measure="{a}" data-ok="yes"', body)
    assert re.search(rf'data-measure="{b}" data-ok="no"', body)
    assert re.search(rf'data-measure="{c}" data-ok="yes"', body)
    assert "成功 2 项，未成功 1 项" in body and "冲突" in body
    assert [measure_row(site, m).state for m in (a, b, c)] == ["verified", "submitted", "verified"]


def test_bulk_approval_refuses_a_measure_the_leader_does_not_lead(site):
    m = site.ids["measures"][0]
    site.drive(m, "submitted")
    other = signed_in(site, "leader2")
    post(other, "/review/bulk", {"pick": [f"{m}:3"]}, csrf_from="/review")
    body = other.get("/review/result").get_data(as_text=True)
    assert 'data-ok="no"' in body
    assert measure_row(site, m).state == "submitted"


# --- the office ----------------------------------------------------------------------

def test_office_signs_off_and_rejects_with_a_reason(site):
    a, b = site.ids["measures"][:2]
    site.drive(a, "verified")
    site.drive(b, "verified")
    office = signed_in(site, "office1")
    page = office.get("/signoff").get_data(as_text=True)
    assert f'data-measure="{a}"' in page and f'data-measure="{b}"' in page
    assert fire(office, a, "sign_off", 4).status_code == 303
    assert fire(office, b, "reject", 4, reason="与台账不符").status_code == 303
    assert measure_row(site, a).state == "closed"
    assert measure_row(site, b).state == "in_progress"
    assert f'data-measure="{a}"' not in office.get("/signoff").get_data(as_text=True)


def test_only_the_triggers_the_person_may_fire_are_offered(site):
    m = site.ids["measures"][0]
    site.drive(m, "submitted")
    forms = lambda user: set(re.findall(r'data-action="(\w+)"', signed_in(site, user).get(f"/measures/{m}")
                                        .get_data(as_text=True)))
    assert forms("leader1") == {"approve", "return", "comment", "urge"}
    assert forms("owner1") == {"comment"}
    assert forms("office1") == {"comment", "urge"}
    assert forms("insp1") == {"comment"}


def test_the_lifecycle_diagram_draws_every_edge_of_the_spec_and_highlights_the_state(site):
    m = site.ids["measures"][0]
    page = signed_in(site, "owner1").get(f"/measures/{m}").get_data(as_text=True)
    svg = page[page.index('<svg class="lifecycle"'):]
    svg = svg[:svg.index("</svg>")]
    drawn = {t for group in re.findall(r'data-trigger="([^"]+)"', svg) for t in group.split()}
    assert drawn == {t for _, t, _ in spec.edges()}
    assert set(re.findall(r'data-state="(\w+)"', svg)) == set(spec.STATES)
    assert re.search(r'class="lc-state current" data-state="assigned"', svg)
    assert "<script" not in svg


# --- the ledger ----------------------------------------------------------------------

def test_ledger_filters_sorts_and_pages_with_a_stable_order(site):
    ids = site.ids["measures"]
    site.drive(ids[0], "closed")
    site.drive(ids[1], "submitted")
    client = signed_in(site, "office1")

    def rows(query):
        return [int(x) for x in re.findall(r'<tr data-measure="(\d+)"', client.get("/ledger" + query)
                                           .get_data(as_text=True))]

    assert rows("") == ids
    assert rows("?state=closed") == [ids[0]]
    assert rows("?light=done") == [ids[0]]
    assert rows("?unit=水利局&state=submitted") == [ids[1]]
    assert rows("?unit=住建局") == []
    assert rows("?sort=id&desc=1") == list(reversed(ids))
    # equal deadlines: ties are broken by id, so pages neither repeat nor skip
    pages = rows("?sort=deadline&per_page=3&page=1") + rows("?sort=deadline&per_page=3&page=2") + \
        rows("?sort=deadline&per_page=3&page=3")
    assert pages == ids
    assert "第 1 / 3 页" in client.get("/ledger?per_page=3").get_data(as_text=True)
    # a month past the deadline every open measure is red
    site.clock.t = dt.datetime(2027, 2, 1, 2, 0)
    client = signed_in(site, "office1")  # the old session timed out meanwhile
    assert rows("?light=red") == [m for m in ids if m not in (ids[0], ids[1])]


def test_ledger_shows_each_person_only_their_scope(site):
    assert re.findall(r'<tr data-measure', signed_in(site, "owner3").get("/ledger").get_data(as_text=True)) == []
    assert len(re.findall(r'<tr data-measure', signed_in(site, "leader1").get("/ledger").get_data(as_text=True))) == 8


def test_ledger_export_runs_with_progress_and_downloads_an_xlsx(site):
    import openpyxl

    from workflow import jobs

    client = signed_in(site, "office1")
    assert "导出 Excel 台账" in client.get("/ledger").get_data(as_text=True)
    r = post(client, "/ledger/export", {"plan": site.ids["plan"]})
    assert r.status_code == 303
    job = r.headers["Location"].rsplit("/", 1)[1]
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "<progress" in page and "data-status-url" in page
    assert client.get(f"/ledger/export/{job}/status").get_json()["state"] == "queued"
    assert client.get(f"/ledger/export/{job}/file").status_code == 404  # not made yet
    assert jobs.work(engine=site.engine).done == 1  # a worker (the scheduler, `rectify worker`) makes it
    done = jobs.status(job, site.ids["office"], site.engine)
    assert done["state"] == "done", done
    status = client.get(f"/ledger/export/{job}/status").get_json()
    assert status == {"id": job, "state": "done", "done": 8, "total": 8, "error": None}
    assert 'data-export-download href' in client.get(f"/ledger/export/{job}").get_data(as_text=True)
    xlsx = client.get(f"/ledger/export/{job}/file")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    assert "attachment" in xlsx.headers["Content-Disposition"]
    wb = openpyxl.load_workbook(io.BytesIO(xlsx.data))
    texts = {c for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for c in row if c}
    assert {f"整改措施 {i}" for i in range(1, 9)} <= texts
    # someone else's job is nobody's business; another unit's owner exports only what they see (nothing here)
    owner = signed_in(site, "owner3")
    assert owner.get(f"/ledger/export/{job}/status").status_code == 404
    assert owner.get(f"/ledger/export/{job}/file").status_code == 404
    theirs = post(owner, "/ledger/export", {"plan": site.ids["plan"]}).headers["Location"].rsplit("/", 1)[1]
    jobs.work(engine=site.engine)
    assert owner.get(f"/ledger/export/{theirs}/status").get_json()["total"] == 0
    assert post(client, "/ledger/export", {"plan": 999}).status_code == 404


def test_office_generates_the_notice_as_a_word_file_with_a_progress_page(site):
    import docx

    from workflow import jobs

    site.drive(site.ids["measures"][0], "closed")
    client = signed_in(site, "office1")
    r = post(client, "/reports", {"plan": site.ids["plan"], "format": "docx"})
    assert r.status_code == 303
    job = r.headers["Location"].rsplit("/", 1)[1]
    assert "<progress" in client.get(r.headers["Location"]).get_data(as_text=True)
    jobs.work(engine=site.engine)
    assert jobs.status(job, site.ids["office"], site.engine)["state"] == "done"
    f = client.get(f"/ledger/export/{job}/file")
    assert f.status_code == 200 and f.mimetype.endswith("wordprocessingml.document")
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(f.data)).paragraphs)
    assert "学习不主动。" in text and "整改进度" in text
    assert post(signed_in(site, "leader1"), "/reports", {"plan": site.ids["plan"]}).status_code == 403


def test_a_failed_export_shows_its_error_on_the_progress_page(site, monkeypatch):
    from workflow import jobs

    def broken(path, params, progress, engine):
        raise OSError("磁盘空间不足")

    monkeypatch.setitem(jobs.KINDS, "report", jobs.Kind(jobs.KINDS["report"].prepare, broken))
    client = signed_in(site, "office1")
    job = post(client, "/reports", {"plan": site.ids["plan"], "format": "md"}).headers["Location"].rsplit("/", 1)[1]
    assert jobs.work(engine=site.engine).failed == 1
    assert client.get(f"/ledger/export/{job}/status").get_json() == {
        "id": job, "state": "failed", "done": 0, "total": 0, "error": "磁盘空间不足"}
    page = client.get(f"/ledger/export/{job}").get_data(as_text=True)
    assert "通报生成失败：磁盘空间不足" in page
    assert client.get(f"/ledger/export/{job}/file").status_code == 404


# --- evidence, inbox, supervision, dashboard ------------------------------------------

def test_evidence_is_served_only_to_those_who_may_see_its_measure(site):
    m = site.ids["measures"][0]
    site.drive(m, "submitted")
    with site.engine.connect() as conn:
        sha = conn.execute(select(MeasureEvidence.sha256).where(MeasureEvidence.measure_id == m)).scalar()
    assert signed_in(site, "leader1").get(f"/evidence/{sha}").status_code == 200
    assert signed_in(site, "owner3").get(f"/evidence/{sha}").status_code == 404
    assert signed_in(site, "leader2").get(f"/evidence/{sha}").status_code == 404
    dl = signed_in(site, "office1").get(f"/evidence/{sha}?download=1")
    assert dl.status_code == 200 and "attachment" in dl.headers["Content-Disposition"]


def test_the_bell_counts_unread_messages_and_the_inbox_marks_them_read(site):
    m = site.ids["measures"][0]
    site.drive(m, "submitted")  # the leader is told
    leader = signed_in(site, "leader1")
    page = leader.get("/review").get_data(as_text=True)
    assert re.search(r'data-unread>1<', page)
    inbox = leader.get("/inbox").get_data(as_text=True)
    assert "待审核" in inbox and 'data-read="no"' in inbox
    with site.engine.connect() as conn:
        oid = conn.execute(select(Outbox.id).where(Outbox.recipient_id == site.ids["leader"],
                                                   Outbox.channel == "inbox")).scalar()
    # someone else cannot mark it
    assert post(signed_in(site, "owner1"), "/inbox/read", {"id": oid}).status_code == 404
    r = post(leader, "/inbox/read", {"id": oid, "open": "1", "next": f"/measures/{m}"})
    assert r.headers["Location"] == f"/measures/{m}"
    with site.engine.connect() as conn:
        assert conn.execute(select(Outbox.read_at).where(Outbox.id == oid)).scalar() is not None
    assert "data-unread>" not in leader.get("/review").get_data(as_text=True)


def test_supervision_lists_escalations_by_level_with_order_numbers(site):
    ids = site.ids["measures"]
    site.drive(ids[0], "closed")
    site.clock.t = dt.datetime(2027, 1, 25, 2, 0)  # far past 2026-12-31
    escalation.sweep(site.clock(), site.engine)
    with site.engine.connect() as conn:
        levels = dict(conn.execute(select(Escalation.level, func.count()).group_by(Escalation.level)).all())
        orders = [r[0] for r in conn.execute(select(Escalation.order_no).where(Escalation.level == 3))]
    assert levels.get(3) == len(ids) - 1 and all(orders)
    client = signed_in(site, "super1")
    body = client.get("/supervise?level=3").get_data(as_text=True)
    assert len(re.findall(r'data-level="3"', body)) == len(ids) - 1
    assert orders[0] in body and "三级督办" in body
    assert 'data-level="1"' not in body
    # the urge form from the list
    m = ids[1]
    r = post(client, f"/measures/{m}/fire/urge", {"version": measure_row(site, m).version, "comment": "请加快",
                                                  "next": "/supervise?level=3"})
    assert r.status_code == 303 and r.headers["Location"] == "/supervise?level=3"


def test_dashboard_draws_its_charts_as_svg(site):
    ids = site.ids["measures"]
    site.drive(ids[0], "closed")
    site.drive(ids[1], "submitted")
    body = signed_in(site, "office1").get("/dashboard").get_data(as_text=True)
    assert body.count('<svg class="chart"') == 4
    assert "水利局" in body and "data-total>8<" in body and "data-closed>1<" in body
    assert "<script>" not in body


# --- administration ------------------------------------------------------------------

def test_admin_creates_a_person_who_can_then_sign_in(site):
    admin = signed_in(site, "admin1")
    r = post(admin, "/admin/people", {"username": "owner9", "name": "发改局责任人", "password": "short",
                                      "roles": ["owner"], "unit": "水利局"}, csrf_from="/admin/people")
    assert r.status_code == 303
    page = admin.get(r.headers["Location"]).get_data(as_text=True)
    assert "密码至少需要 10 个字符" in page and "at least" not in page
    assert 'value="发改局责任人"' in page  # what was typed is kept
    r = post(admin, "/admin/people", {"username": "owner9", "name": "发改局责任人", "password": "pw-owner9-long",
                                      "roles": ["owner", "leader"], "unit": "水利局", "head": "1"},
             csrf_from="/admin/people")
    assert r.status_code == 303
    assert site.login(site.app.test_client(), "owner9", "pw-owner9-long").status_code == 302
    with site.engine.connect() as conn:
        uid = conn.execute(select(User.id).where(User.username == "owner9")).scalar()
        heads = [r[0] for r in conn.execute(select(Membership.user_id).where(
            Membership.is_head.is_(True), Membership.unit_id == site.ids["unit"]))]
    assert heads == [uid]  # the new head replaced head1


def test_admin_deactivates_a_person_and_their_session_ends(site):
    owner = signed_in(site, "owner2")
    assert owner.get("/todo").status_code == 200
    admin = signed_in(site, "admin1")
    r = post(admin, "/admin/people/owner2", {"name": "水利局科员", "roles": ["owner"], "unit": "水利局"},
             csrf_from="/admin/people/owner2")  # 'active' unticked
    assert r.status_code == 303
    assert owner.get("/todo").status_code == 302
    assert site.login(site.app.test_client(), "owner2").status_code != 302


def test_admin_creates_a_unit_and_sets_its_head(site):
    admin = signed_in(site, "admin1")
    assert post(admin, "/admin/units", {"name": "发改局", "kind": "department"}, csrf_from="/admin/units") \
        .status_code == 302
    assert post(admin, "/admin/units/head", {"unit": "发改局", "username": "owner3"}, csrf_from="/admin/units") \
        .status_code == 302
    with site.engine.connect() as conn:
        head = conn.execute(select(User.username).join(Membership, Membership.user_id == User.id)
                            .join(OrgUnit, OrgUnit.id == Membership.unit_id)
                            .where(OrgUnit.name == "发改局", Membership.is_head.is_(True))).scalar()
    assert head == "owner3"
    assert "发改局" in admin.get("/admin/units").get_data(as_text=True)


# --- the public notice and feedback -----------------------------------------------------

def published(site):
    """The office publishes the plan's notice as computed now (only published notices are public)."""
    return publication.publish(site.ids["plan"], "office1", now=site.clock(), engine=site.engine)


def test_the_published_notice_needs_no_sign_in_and_shows_derived_progress(site):
    ids = site.ids["measures"]
    client = site.app.test_client()
    assert client.get(f"/public/plans/{site.ids['plan']}").status_code == 404  # nothing published yet
    published(site)
    body = client.get(f"/public/plans/{site.ids['plan']}").get_data(as_text=True)
    assert "学习不主动。" in body and "<strong>整改进度：</strong>正在整改" in body
    assert "owner1" not in body and "水利局责任人" not in body  # no people on the public page
    for m in ids:
        site.drive(m, "closed")
    published(site)
    body = client.get(f"/public/plans/{site.ids['plan']}").get_data(as_text=True)
    assert "<strong>整改进度：</strong>已完成。" in body
    assert client.get("/public/plans/999").status_code == 404


def test_public_feedback_is_csrf_protected_and_rate_limited(make_site):
    site = make_site(config={"RECTIFY_FEEDBACK_PER_HOUR": 2})
    published(site)
    client = site.app.test_client()
    path = f"/public/plans/{site.ids['plan']}"
    form = {"problem_id": site.ids["problem"], "text": "问题没有真正解决", "contact": ""}
    assert client.post(path + "/feedback", data=form).status_code == 400  # no CSRF token
    for _ in range(2):
        assert post(client, path + "/feedback", form, csrf_from=path).status_code == 303
    r = post(client, path + "/feedback", form, csrf_from=path)
    assert r.status_code == 429 and "提交太频繁" in r.get_data(as_text=True)
    assert post(client, path + "/feedback", {**form, "text": "  "}, csrf_from=path).status_code == 303
    with site.engine.connect() as conn:
        rows = conn.execute(select(Feedback.text, Feedback.source_hash)).all()
    assert len(rows) == 2 and all(len(r.source_hash) == 64 and "127.0.0.1" not in r.source_hash for r in rows)
    # an hour later the address may write again
    site.clock.advance(hours=1, minutes=1)
    assert post(client, path + "/feedback", form, csrf_from=path).status_code == 303


def test_office_turns_public_feedback_into_a_reopen(site):
    m = site.ids["measures"][0]
    site.drive(m, "closed")
    published(site)
    public = site.app.test_client()
    path = f"/public/plans/{site.ids['plan']}"
    post(public, path + "/feedback", {"problem_id": site.ids["problem"], "text": "河道仍有垃圾"}, csrf_from=path)
    office = signed_in(site, "office1")
    desk = office.get("/feedback").get_data(as_text=True)
    assert "河道仍有垃圾" in desk
    fid = int(re.search(r'data-feedback="(\d+)"', desk).group(1))
    r = post(office, f"/feedback/{fid}/reopen", {"measure_id": m, "reason": "群众反馈：河道仍有垃圾"},
             csrf_from="/feedback")
    assert r.status_code == 303
    row = measure_row(site, m)
    assert (row.state, row.reopen_count) == ("in_progress", 1)
    with site.engine.connect() as conn:
        fb = conn.execute(select(Feedback.status, Feedback.measure_id).where(Feedback.id == fid)).one()
    assert tuple(fb) == ("reopened", m)
    assert signed_in(site, "owner1").post(f"/feedback/{fid}/dismiss").status_code in (400, 403)


@pytest.mark.postgres
def test_the_pages_work_on_postgresql(pg_site):
    site = pg_site
    m = site.ids["measures"][0]
    site.drive(m, "closed")
    site.drive(site.ids["measures"][1], "submitted")
    office = signed_in(site, "office1")
    for path in ("/ledger?light=done&sort=unit&desc=1", f"/measures/{m}", "/dashboard", "/signoff",
                 "/supervise", "/feedback", "/inbox"):
        assert office.get(path).status_code == 200, path
    assert re.findall(r'<tr data-measure="(\d+)"', office.get("/ledger?state=closed").get_data(as_text=True)) \
        == [str(m)]
    leader = signed_in(site, "leader1")
    post(leader, "/review/bulk", {"pick": [f"{site.ids['measures'][1]}:3"]}, csrf_from="/review")
    body = leader.get("/review/result").get_data(as_text=True)
    assert 'data-ok="yes"' in body
    assert signed_in(site, "owner1").get("/todo").status_code == 200
    assert site.app.test_client().get(f"/public/plans/{site.ids['plan']}").status_code == 404
    published(site)
    assert site.app.test_client().get(f"/public/plans/{site.ids['plan']}").status_code == 200
