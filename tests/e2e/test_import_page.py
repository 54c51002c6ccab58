"""The office's import page: upload → the detected mapping and the dry run → confirm, through Flask's
test client against a real SQLite file. Ledgers are built by ``tests/data/ledgers.py``, the notice by
``tests/data/notices.py`` (fictional units and people)."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from tests.data import ledgers, notices
from workflow import jobs
from workflow.importing import staging
from workflow.models import Measure, Plan, Problem

from tests.e2e.forms import post, signed_in, text, upload


def plans(site) -> int:
    with site.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(Plan)).scalar_one()


def staged(site) -> list[str]:
    folder = site.folder / "imports"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def review_path(response) -> str:
    assert response.status_code == 302, text(response)[:500]
    path = response.headers["Location"]
    assert re.fullmatch(r"/imports/[0-9a-f]{32}", path), path
    return path


def audit_bytes(tmp_path, **kw) -> bytes:
    return ledgers.audit_system(tmp_path / "审计整改台账.xlsx", **kw).read_bytes()


def test_only_the_office_opens_the_import_page(site):
    assert site.app.test_client().get("/imports").status_code == 302
    for user, status in (("office1", 200), ("owner1", 403), ("leader1", 403), ("admin1", 403), ("super1", 403)):
        assert signed_in(site, user).get("/imports").status_code == status, user
    assert 'href="/plans"' in text(signed_in(site, "office1").get("/ledger"))


@pytest.mark.parametrize("name, content, status, says", [
    ("notes.pdf", b"%PDF-1.4 not a ledger", 415, "只能导入"),
    ("ledger.xlsx", b"", 422, "文件是空的"),
    ("ledger.xlsx", b"these bytes are not a spreadsheet" * 20, 422, "不是电子表格"),
    ("ledger.xlsx", ledgers.docx_bytes(), 422, "不是电子表格"),
    ("notice.txt", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, 422, "不是文本文件"),
])
def test_a_file_of_the_wrong_kind_is_refused_and_nothing_is_kept(site, name, content, status, says):
    office = signed_in(site, "office1")
    r = upload(office, name, content)
    assert r.status_code == status and says in text(r), text(r)[:800]
    assert "data-error" in text(r)
    assert staged(site) == []


def test_a_file_over_the_limit_is_refused(site, monkeypatch):
    monkeypatch.setattr(staging, "MAX_BYTES", 1024)
    r = upload(signed_in(site, "office1"), "big.txt", "巡察".encode() * 1000)
    assert r.status_code == 413 and "文件太大" in text(r)
    assert staged(site) == []


def test_a_ledger_shows_its_detected_mapping_its_first_rows_and_the_dry_run(site, tmp_path):
    office = signed_in(site, "office1")
    before = plans(site)
    page = office.get(review_path(upload(office, "审计整改台账.xlsx", audit_bytes(tmp_path))))
    body = text(page)
    assert page.status_code == 200
    # each column with the field it is read as; the system's own columns are kept
    fields = dict(re.findall(r'data-column="([A-L])" data-field="(\w+)"', body))
    assert fields == {"A": "no", "B": "part", "C": "problem", "D": "measure", "E": "unit", "F": "owner",
                      "G": "deadline", "H": "status", "I": "account", "J": "amount_involved", "K": "extra",
                      "L": "extra"}
    assert '<option value="owner" selected>责任人</option>' in body
    assert "SJ-2024-01" in body  # the first rows, as they are in the sheet
    # the dry run: counts, units created, columns kept, the rows as they will be stored
    report = body[body.index('id="report"'):]
    assert re.search(r'data-count="parts">2<', report) and re.search(r'data-count="problems">4<', report)
    assert re.search(r'data-count="measures">4<', report)
    assert "测试县财政局" in report and "测试县住建局" in report
    kept = re.search(r"data-kept-columns>(.*?)</ul>", report, re.S).group(1)
    assert "问题来源" in kept and "审计项目编号" in kept
    rows = re.findall(r'<tr data-row="(\d+)" data-state="(\w+)">', report)
    assert rows == [("3", "closed"), ("4", "in_progress"), ("5", "submitted"), ("6", "assigned")]
    assert "财政局整改负责人" in report
    assert "新建 4 个问题、4 项整改措施、3 个单位、3 名人员；更新 0 个问题、0 项整改措施" in report
    assert "data-confirm-import" in body
    assert plans(site) == before  # a dry run writes nothing
    assert len(staged(site)) == 1


def test_correcting_a_column_changes_the_dry_run_and_the_import_keeps_the_choice(site, tmp_path):
    office = signed_in(site, "office1")
    path = review_path(upload(office, "审计整改台账.xlsx", audit_bytes(tmp_path, feedback_header="情况说明")))
    body = text(office.get(path))
    assert 'data-column="I" data-field="extra"' in body  # 情况说明 is no header of the vocabulary
    assert "情况说明" in re.search(r"data-kept-columns>(.*?)</ul>", body, re.S).group(1)
    form = {f"header-{c}": h for c, h in re.findall(r'name="header-(\w+)" value="([^"]*)"', body)}
    form.update({f"was-{c}": f for c, f in re.findall(r'name="was-(\w+)" value="([^"]*)"', body)})
    form.update({f"field-{c[4:]}": v for c, v in form.items() if c.startswith("was-")})
    form["field-I"] = "account"
    r = post(office, path + "/mapping", form, csrf_from=path)
    assert r.status_code == 302
    body = text(office.get(path))
    assert 'data-column="I" data-field="account"' in body
    assert "情况说明" not in re.search(r"data-kept-columns>(.*?)(</ul>|</p>)", body, re.S).group(1)
    done = post(office, path + "/confirm", csrf_from=path)
    assert done.status_code == 200, text(done)[:800]
    plan_id = int(re.search(r'data-import-result="done" data-plan="(\d+)"', text(done)).group(1))
    with site.engine.connect() as conn:
        accounts = conn.execute(select(Measure.account).join(Problem, Problem.id == Measure.problem_id)
                                .where(Problem.plan_id == plan_id).order_by(Problem.no)).scalars().all()
        remembered = conn.execute(select(Plan.column_map).where(Plan.id == plan_id)).scalar_one()
    assert accounts[:3] == ["已收回资金并调整账目。", "制度已起草。", "已组织验收，待审核。"]
    assert remembered == {"情况说明": "account"}


def test_confirming_imports_links_to_the_plans_ledger_and_removes_the_upload(site, tmp_path):
    office = signed_in(site, "office1")
    path = review_path(upload(office, "审计整改台账.xlsx", audit_bytes(tmp_path)))
    before = plans(site)
    done = post(office, path + "/confirm", csrf_from=path)
    body = text(done)
    assert done.status_code == 200 and 'data-import-result="done"' in body
    assert plans(site) == before + 1
    plan_id = int(re.search(r'data-plan="(\d+)"', body).group(1))
    assert f'href="/ledger?plan={plan_id}"' in body and "data-plan-ledger" in body
    assert re.search(r'data-count="measures">4<', body)
    assert staged(site) == []  # the upload is gone once imported
    assert office.get(path).status_code == 404
    ledger = text(office.get(f"/ledger?plan={plan_id}"))
    assert "组织竣工验收" in ledger and "完善合同审查流程" in ledger


def test_a_ledger_with_a_bad_cell_is_refused_naming_sheet_row_and_column(site, tmp_path):
    office = signed_in(site, "office1")
    path = review_path(upload(office, "审计整改台账.xlsx", audit_bytes(tmp_path, status4="差不多了")))
    body = text(office.get(path))
    issue = re.search(r'<tr data-issue data-sheet="([^"]*)" data-row="(\d+)" data-column="(\w+)">(.*?)</tr>', body, re.S)
    assert issue and issue.groups()[:3] == ("审计整改", "6", "H")
    assert "第6行" in issue.group(4) and "H列" in issue.group(4) and "整改验收情况" in issue.group(4)
    assert "差不多了" in issue.group(4) and "未写入任何数据" in body
    assert "data-confirm-import" not in body
    assert post(office, path + "/confirm", csrf_from=path).status_code == 422
    assert len(staged(site)) == 1  # kept, to correct the mapping or upload again


def test_a_notice_shows_its_dry_run_imports_and_its_text_becomes_the_plans_history(site):
    office = signed_in(site, "office1")
    path = review_path(upload(office, "整改情况通报.txt", notices.render().encode("utf-8")))
    body = text(office.get(path))
    assert "data-mapping" not in body  # a notice has no columns to map
    assert re.search(r'data-count="parts">2<', body) and re.search(r'data-count="problems">5<', body)
    assert re.search(r'data-count="measures">10<', body)
    done = post(office, path + "/confirm", csrf_from=path)
    assert done.status_code == 200, text(done)[:800]
    plan_id = int(re.search(r'data-plan="(\d+)"', text(done)).group(1))
    plan = text(office.get(f"/plans/{plan_id}"))
    history = plan[plan.index('id="imported"'):]
    draft = plan[plan.index('id="draft"'):plan.index('id="imported"')]
    claim = "已整改完成3个，其余正在持续推进"  # the notice's own summary: history, never reprinted as current
    assert "导入的通报原文" in history and claim in history
    assert "其余正在持续推进" not in draft and "整改完成率60%" in draft  # the draft computes its own


def test_a_notice_that_is_not_one_is_refused_naming_the_line(site):
    office = signed_in(site, "office1")
    path = review_path(upload(office, "随笔.txt", "一段随手写下的文字".encode()))
    body = text(office.get(path))
    assert 'data-import-error="notice"' in body and 'data-line="1"' in body and "第1行" in body
    assert "data-confirm-import" not in body


def test_an_upload_is_its_uploaders_alone_and_goes_after_a_day(site, tmp_path):
    from workflow import planwriter

    with site.engine.begin() as conn:
        planwriter.user(conn, "office2", "整改办工作人员乙", ["office"], "整改办", password="pw-office2")
    office = signed_in(site, "office1")
    path = review_path(upload(office, "审计整改台账.xlsx", audit_bytes(tmp_path)))
    other = signed_in(site, "office2")
    assert other.get(path).status_code == 404
    assert post(other, path + "/confirm", csrf_from="/imports").status_code == 404
    assert staging.clean(now=dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(hours=23)) == 0
    assert staging.clean(now=dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(days=1, minutes=1)) == 1
    assert staged(site) == [] and office.get(path).status_code == 404


def test_giving_up_an_upload_removes_it(site, tmp_path):
    office = signed_in(site, "office1")
    path = review_path(upload(office, "审计整改台账.xlsx", audit_bytes(tmp_path)))
    assert post(office, path + "/cancel", csrf_from=path).status_code == 302
    assert staged(site) == [] and office.get(path).status_code == 404


def test_a_large_file_is_checked_and_imported_by_a_worker_with_a_progress_page(site, tmp_path, monkeypatch):
    monkeypatch.setattr(staging, "INLINE_BYTES", 0)
    office = signed_in(site, "office1")
    path = review_path(upload(office, "审计整改台账.xlsx", audit_bytes(tmp_path)))
    body = text(office.get(path))
    assert "data-import-job" in body and "<progress" in body and 'id="report"' not in body
    assert jobs.work(engine=site.engine).done == 1
    body = text(office.get(path))
    assert re.search(r'data-count="measures">4<', body) and "data-confirm-import" in body
    before = plans(site)
    r = post(office, path + "/confirm", csrf_from=path)
    assert r.status_code == 302 and "/imports/jobs/" in r.headers["Location"]
    waiting = text(office.get(r.headers["Location"]))
    assert "data-import-job" in waiting and plans(site) == before  # queued, not yet done
    assert jobs.work(engine=site.engine).done == 1
    body = text(office.get(r.headers["Location"]))
    assert 'data-import-result="done"' in body and plans(site) == before + 1
    assert staged(site) == []
    assert signed_in(site, "super1").get(r.headers["Location"]).status_code == 403


def test_the_dropdown_offers_every_field_the_importer_reads_in_both_languages(site):
    from flask_babel import force_locale

    from web.pages.imports import FIELDS
    from workflow.importing.ledger_vocab import EXTRA, FIELD_LABELS

    assert set(FIELDS) == set(FIELD_LABELS) | {EXTRA}
    with site.app.test_request_context():
        assert {k: str(v) for k, v in FIELDS.items() if k != EXTRA} == FIELD_LABELS
        with force_locale("en"):
            english = {k: str(v) for k, v in FIELDS.items()}
    assert english["owner"] == "Owner" and english[EXTRA] == "Other information (kept as it is)"
    page = text(signed_in(site, "office1").get("/imports?lang=en"))
    assert "Import a ledger or a notice" in page and "Upload and preview" in page


def test_importing_again_into_a_plan_shows_the_header_map_it_remembers(site, tmp_path):
    office = signed_in(site, "office1")
    data = audit_bytes(tmp_path, feedback_header="情况说明")
    path = review_path(upload(office, "审计整改台账.xlsx", data))
    body = text(office.get(path))
    form = {f"header-{c}": h for c, h in re.findall(r'name="header-(\w+)" value="([^"]*)"', body)}
    form.update({f"was-{c}": f for c, f in re.findall(r'name="was-(\w+)" value="([^"]*)"', body)})
    form.update({f"field-{c[4:]}": v for c, v in form.items() if c.startswith("was-")})
    form["field-I"] = "account"
    post(office, path + "/mapping", form, csrf_from=path)
    done = post(office, path + "/confirm", csrf_from=path)
    plan_id = int(re.search(r'data-plan="(\d+)"', text(done)).group(1))
    again = review_path(upload(office, "审计整改台账.xlsx", data))
    post(office, again + "/mapping", {"plan": plan_id}, csrf_from=again)
    body = text(office.get(again))
    assert 'data-column="I" data-field="account"' in body  # remembered by the plan, shown as read
    assert re.search(r'data-count="measures">4<', body) and "不变 4 项整改措施" in body
