"""What the import, publishing and document pages call, on SQLite and PostgreSQL: uploads kept for
review (staging), a publication that must match the reviewed draft, the plans as the office sees them,
the public's view limited to published versions, orders scoped by who sees the measure, the digests
as documents, and the jobs that do the long work."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import update

from tests import factory
from tests.data import ledgers, notices
from workflow import db, escalation, jobs, publication, readmodels, spec
from workflow.cli import parse_now
from workflow.digests import digest_doc
from workflow.errors import NotFound
from workflow.importing import ImportRefused, staging
from workflow.models import Measure
from workflow.render import Items, Table, render

NOW = factory.NOW


@pytest.fixture
def ids(engine):
    return factory.build(engine, measures=3)


def test_an_upload_is_checked_kept_for_its_owner_and_removed_after_its_import(engine, ids, tmp_path):
    data = ledgers.audit_system(tmp_path / "审计.xlsx").read_bytes()
    meta = staging.stage(data, "../../审计整改台账.xlsx", ids["office"])
    assert meta["name"] == "审计整改台账.xlsx" and meta["kind"] == "ledger" and meta["size"] == len(data)
    assert meta["path"] == str(staging.folder() / meta["token"] / "审计整改台账.xlsx")
    with pytest.raises(NotFound):
        staging.get(meta["token"], ids["owner"])
    with pytest.raises(NotFound):
        staging.get("../" + meta["token"][3:], ids["office"])
    check = staging.check(meta, now=NOW, engine=engine)
    assert check["error"] is None and check["report"]["measures"] == 4 and check["report"]["dry_run"] is True
    assert [h["field"] for h in check["detected"]["headers"]][-2:] == [None, None]
    meta = staging.update(meta["token"], ids["office"], mapping={"问题来源": "remarks"})
    assert staging.check(meta, now=NOW, engine=engine)["report"]["unmapped_columns"] == ["审计项目编号"]
    out = staging.run(meta, "office1", now=NOW, engine=engine)
    assert out["error"] is None and out["report"]["plan_id"] and out["report"]["measures"] == 4
    with pytest.raises(NotFound):
        staging.get(meta["token"], ids["office"])


@pytest.mark.parametrize("name, data, rule", [
    ("a.exe", b"MZ\x90\x00", "unsupported_file"),
    ("a.xlsx", b"", "empty_file"),
    ("a.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512, "bad_file"),  # a legacy .xls renamed
    ("a.docx", b"PK\x03\x04 broken", "bad_file"),
    ("a.txt", b"%PDF-1.7\n" + b"\x00" * 100, "bad_file"),
])
def test_an_upload_that_is_not_what_it_says_is_refused_and_leaves_nothing(instance, name, data, rule):
    with pytest.raises(ImportRefused) as info:
        staging.stage(data, name, 1)
    assert info.value.rule == rule
    assert list(staging.folder().iterdir()) == []


def test_a_refused_file_is_an_answer_naming_the_place_not_an_exception(engine, ids, tmp_path):
    data = ledgers.audit_system(tmp_path / "审计.xlsx", status4="没想好").read_bytes()
    meta = staging.stage(data, "审计.xlsx", ids["office"])
    for out in (staging.check(meta, now=NOW, engine=engine), staging.run(meta, "office1", now=NOW, engine=engine)):
        e = out["error"]
        assert e["kind"] == "ledger_import" and (e["issues"][0]["sheet"], e["issues"][0]["row"],
                                                 e["issues"][0]["column"]) == ("审计整改", 6, "H")
    staging.get(meta["token"], ids["office"])  # a refused import keeps the upload
    meta = staging.stage("随手写的一段话".encode(), "x.txt", ids["office"])
    e = staging.check(meta, now=NOW, engine=engine)["error"]
    assert e["kind"] == "notice" and e["line"] == 1


def test_old_uploads_and_stray_files_are_cleaned_up(instance):
    meta = staging.stage(notices.render().encode(), "通报.txt", 1)
    (staging.folder() / "stray").write_text("x")
    later = dt.datetime.now(dt.UTC).replace(tzinfo=None) + staging.KEEP + dt.timedelta(minutes=1)
    assert staging.clean(now=later - dt.timedelta(hours=2)) == 0
    assert staging.clean(now=later) == 2
    with pytest.raises(NotFound):
        staging.get(meta["token"], 1)


def test_the_jobs_check_and_import_a_staged_upload_and_answer_in_json(engine, ids, tmp_path):
    data = ledgers.measure_list(tmp_path / "清单.xlsx").read_bytes()
    meta = staging.stage(data, "任务清单.xlsx", ids["office"])
    check = jobs.enqueue_import(ids["office"], meta["token"], run=False, now=NOW, engine=engine)
    assert jobs.result(check, ids["office"], engine) is None  # not yet done
    assert jobs.work(engine=engine).done == 1
    answer = jobs.result(check, ids["office"], engine)
    assert answer["report"]["measures"] == 4 and answer["report"]["dry_run"] is True
    with pytest.raises(NotFound):
        jobs.result(check, ids["owner"], engine)
    run = jobs.enqueue_import(ids["office"], meta["token"], run=True, actor="office1", now=NOW, engine=engine)
    assert jobs.work(engine=engine).done == 1
    assert jobs.result(run, ids["office"], engine)["report"]["plan_id"]
    with pytest.raises(NotFound):  # the upload is gone: nothing to queue
        jobs.enqueue_import(ids["office"], meta["token"], run=True, actor="office1", now=NOW, engine=engine)


def test_publishing_refuses_a_draft_other_than_the_one_reviewed(engine, ids):
    plan = ids["plan"]
    reviewed = readmodels.plan_review(plan, now=NOW, engine=engine)
    assert publication.fingerprint(reviewed["draft"]) == reviewed["fingerprint"]
    with db.write_tx(engine) as conn:
        conn.execute(update(Measure.__table__).where(Measure.id == ids["measures"][0]).values(state="closed"))
    with pytest.raises(spec.Refused) as info:
        publication.publish(plan, "office1", now=NOW, engine=engine, expected=reviewed["fingerprint"])
    assert info.value.rule == "draft_changed" and publication.published(plan, engine=engine) == []
    again = readmodels.plan_review(plan, now=NOW, engine=engine)["fingerprint"]
    out = publication.publish(plan, "office1", now=NOW, engine=engine, expected=again)
    assert out["sha256"] == again


def test_the_public_sees_only_plans_with_a_published_version(engine, ids):
    plan = ids["plan"]
    assert readmodels.public_plans(engine) == []
    with pytest.raises(NotFound):
        readmodels.published_notice(plan, engine=engine)
    publication.publish(plan, "office1", now=NOW, engine=engine)
    publication.publish(plan, "office1", now=NOW + dt.timedelta(days=2), engine=engine)
    [listed] = readmodels.public_plans(engine)
    assert (listed["id"], listed["version"], listed["published_at"]) == (plan, 2, NOW + dt.timedelta(days=2))
    n = readmodels.published_notice(plan, engine=engine)
    assert n["version"]["version"] == 2 and [v["version"] for v in n["versions"]] == [2, 1]
    assert n["problems"] == [{"id": ids["problem"], "no": 1, "text": "学习不主动。"}]  # the feedback form names them
    assert readmodels.published_notice(plan, 1, engine=engine)["version"]["published_at"] == NOW
    overview = {p["id"]: p for p in readmodels.plans(engine)}
    assert (overview[plan]["problems"], overview[plan]["measures"], overview[plan]["version"]) == (1, 3, 2)


def test_a_plan_from_a_notice_keeps_its_text_as_history_a_ledger_plan_has_none(engine, ids, tmp_path):
    from workflow.importing import import_file

    path = tmp_path / "通报.txt"
    path.write_text(notices.render(), encoding="utf-8")
    plan = import_file(path, now=NOW, engine=engine)["plan_id"]
    r = readmodels.plan_review(plan, now=NOW, engine=engine)
    history = render(r["imported"], "md").decode()
    assert "已整改完成3个，其余正在持续推进" in history and "问题1：" in history
    assert "其余正在持续推进" not in render(r["draft"], "md").decode()
    assert readmodels.plan_review(ids["plan"], now=NOW, engine=engine)["imported"] is None


def test_orders_are_read_by_those_who_see_their_measure(engine):
    ids = factory.build(engine, measures=1, deadline=dt.date(2026, 12, 8))
    for at in ("2026-12-03T10:00", "2026-12-09T10:00", "2026-12-15T10:00", "2026-12-22T10:00"):
        escalation.sweep(parse_now(at), engine)
    for who, sees in (("office1", True), ("super1", True), ("owner1", True), ("leader1", True), ("owner3", False),
                      ("leader2", False)):
        actor = readmodels.load_actor(who, engine)
        assert [o["order_no"] for o in readmodels.supervision_orders(actor, engine)] == (["DB-2026-0001"] if sees
                                                                                          else []), who
        if sees:
            o = readmodels.supervision_order(actor, "DB-2026-0001", now=parse_now("2026-12-24T10:00"), engine=engine)
            assert o["measure_id"] == ids["measures"][0] and o["late_now"] == 12
        else:
            with pytest.raises(NotFound):
                readmodels.supervision_order(actor, "DB-2026-0001", now=NOW, engine=engine)


def test_the_digests_are_documents_of_their_period(engine, ids):
    weekly = digest_doc("weekly", parse_now("2026-12-30T10:00"), engine)  # the measures fall due on the 31st
    assert "2026-12-28" in weekly.title and "本周到期 3 项" in weekly.blocks[0].text
    assert any(isinstance(b, Items) and len(b.items) == 3 for b in weekly.blocks)
    at = parse_now("2026-12-24T10:00")
    monthly = digest_doc("monthly", at, engine)
    assert "2026年11月" in monthly.title
    table = next(b for b in monthly.blocks if isinstance(b, Table))
    assert [row[0] for row in table.rows] == ["水利局", "合计"] and table.rows[0][1] == "3"
    with pytest.raises(ValueError):
        digest_doc("yearly", at, engine)
    job = jobs.enqueue_digest(ids["office"], "monthly", "md", now=NOW, at=at, engine=engine)
    assert jobs.status(job, ids["office"], engine)["name"] == "整改月总结-202611.md"
    assert jobs.work(engine=engine).done == 1
    path, name, _mime = jobs.ready_file(job, ids["office"], engine)
    assert path.read_text(encoding="utf-8").startswith("# 整改月总结（2026年11月）")
    with pytest.raises(spec.Refused):
        jobs.enqueue_digest(ids["office"], "weekly", "pdf", now=NOW, engine=engine)
    assert json.loads(json.dumps(name, ensure_ascii=False)) == name
