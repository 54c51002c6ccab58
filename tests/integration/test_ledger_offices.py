"""Ledgers from other offices' systems: every column read or kept, the office's own header map.

The ledgers are built in :mod:`tests.data.ledgers` the way each kind of office keeps them: an
audit-rectification system's export, a sign-off sheet of problems only, a list of measures only,
a supervision sheet with several leaders and dated milestones in one cell. Each import is checked
for its parts, problems, measures (owner, leader, unit, deadline, kind, state, account) and the
cells kept as they are (``measures.extra``); importing again changes nothing; a dry run writes
nothing; ``--map`` reads an office's header as a field and the plan remembers it.
"""
from __future__ import annotations

import datetime as dt
import json

import openpyxl
import pytest
from sqlalchemy import text

from tests.data import ledgers
from workflow import db, importing, planwriter, readmodels
from workflow.exporting import ledger_xlsx
from workflow.importing import REPORT_KEYS

NOW = dt.datetime(2024, 2, 1, 2, 0)
D = dt.date
TABLES = ("plans", "parts", "categories", "problems", "measures", "events", "users", "org_units")


def counts(engine) -> dict:
    with engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}


def parts(engine, plan_id: int) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT no, title FROM parts WHERE plan_id = :p ORDER BY no"),
                                               {"p": plan_id})]


def problems(engine, plan_id: int) -> list[tuple]:
    """(no, part no, text, amount involved) of each problem."""
    q = text("SELECT p.no, pt.no, p.text, p.amount_involved FROM problems p JOIN parts pt ON pt.id = p.part_id "
             "WHERE p.plan_id = :p ORDER BY p.no")
    with engine.connect() as conn:
        return [(r[0], r[1], r[2], None if r[3] is None else float(r[3])) for r in conn.execute(q, {"p": plan_id})]


def measures(engine, plan_id: int) -> list[tuple]:
    """(problem no, seq, text, owner, leader, unit, deadline, kind, state, account, extra) of each measure."""
    q = text("""
        SELECT p.no, m.seq, m.text, o.name, l.name, u.name, m.deadline, m.kind, m.state, m.account, m.extra
        FROM measures m JOIN problems p ON p.id = m.problem_id
        LEFT JOIN org_units u ON u.id = m.unit_id
        LEFT JOIN users o ON o.id = m.owner_id LEFT JOIN users l ON l.id = m.leader_id
        WHERE p.plan_id = :p ORDER BY p.no, m.seq""")
    out = []
    with engine.connect() as conn:
        for r in conn.execute(q, {"p": plan_id}):
            day = dt.date.fromisoformat(r[6]) if isinstance(r[6], str) else r[6]
            extra = json.loads(r[10]) if isinstance(r[10], str) else r[10]
            out.append((*r[:6], day, *r[7:10], extra))
    return out


def imported_twice(path, engine, **kw) -> dict:
    """Import ``path``; import it again and check that nothing changed; return the first report."""
    first = importing.import_file(path, now=NOW, engine=engine, **kw)
    before = counts(engine)
    again = importing.import_file(path, now=NOW + dt.timedelta(days=1), engine=engine, **kw)
    assert counts(engine) == before
    assert again["plan_id"] == first["plan_id"]
    assert not any(again["create"].values()) and not any(again["update"].values())
    assert again["unchanged"] == {"problems": first["problems"], "measures": first["measures"]}
    return first


# --- four kinds of source system -----------------------------------------------------------

def test_an_audit_system_export_reads_its_owner_status_and_feedback_columns(engine, tmp_path):
    path = ledgers.audit_system(tmp_path / "审计整改台账.xlsx")
    s = imported_twice(path, engine)
    assert {k: s[k] for k in REPORT_KEYS} == {
        "kind": "ledger", "parts": 2, "problems": 4, "measures": 4,
        "units_created": ["测试县财政局", "测试县机关事务中心", "测试县住建局"],
        "unmapped_columns": ["问题来源", "审计项目编号"], "warnings": []}
    assert s["plan_title"] == "2024年度审计发现问题整改台账"
    assert parts(engine, s["plan_id"]) == [(1, "财务管理方面"), (2, "项目管理方面")]
    assert problems(engine, s["plan_id"]) == [
        (1, 1, "专项资金未按规定用途使用。", 125000.0), (2, 1, "公务接待超标准。", None),
        (3, 2, "工程项目未按期验收。", None), (4, 2, "合同管理不规范。", None)]
    assert measures(engine, s["plan_id"]) == [
        (1, 1, "收回挪用资金并调整账目", "财政局整改负责人", None, "测试县财政局", D(2024, 6, 30), "time_bound",
         "closed", "已收回资金并调整账目。", {"问题来源": "年度预算执行审计", "审计项目编号": "SJ-2024-01"}),
        (2, 1, "建立接待审批制度", "事务中心整改负责人", None, "测试县机关事务中心", D(2024, 9, 30), "time_bound",
         "in_progress", "制度已起草。", {"问题来源": "年度预算执行审计", "审计项目编号": "SJ-2024-02"}),
        (3, 1, "组织竣工验收", "住建局整改负责人", None, "测试县住建局", D(2024, 12, 31), "time_bound", "submitted",
         "已组织验收，待审核。", {"问题来源": "专项审计", "审计项目编号": "SJ-2024-07"}),
        (4, 1, "完善合同审查流程", "住建局整改负责人", None, "测试县住建局", D(2024, 12, 31), "time_bound",
         "assigned", None, {"问题来源": "专项审计"}),
    ]


def test_a_signoff_sheet_of_problems_only_makes_each_problem_its_own_measure(engine, tmp_path):
    s = imported_twice(ledgers.signoff_problems(tmp_path / "销号台账.xlsx"), engine)
    assert (s["parts"], s["problems"], s["measures"]) == (2, 3, 3)
    assert s["unmapped_columns"] == ["销号时间"]
    assert parts(engine, s["plan_id"]) == [(1, "党的建设方面"), (2, "工作作风方面")]
    assert [p[:3] for p in problems(engine, s["plan_id"])] == [
        (1, 1, "三重一大事项未集体研究。"), (2, 1, "党员发展程序不规范。"), (3, 2, "会议多文件多。")]
    assert measures(engine, s["plan_id"]) == [
        (1, 1, "三重一大事项未集体研究。", "教育局责任人", None, "测试县教育局", D(2023, 6, 30), "time_bound",
         "closed", None, {"配合单位": "测试县财政局、测试县审计局", "销号时间": "2023-07-05", "备注": "已销号"}),
        (2, 1, "党员发展程序不规范。", "教育局责任人", None, "测试县教育局", None, "long_term", "in_progress", None,
         None),
        (3, 1, "会议多文件多。", "水利局责任人", None, "测试县水利局", D(2023, 9, 30), "time_bound", "in_progress",
         None, None),
    ]


def test_a_list_of_measures_only_groups_them_by_their_problem_number(engine, tmp_path):
    s = imported_twice(ledgers.measure_list(tmp_path / "任务清单.xlsx"), engine)
    assert (s["parts"], s["problems"], s["measures"]) == (1, 3, 4)
    assert s["unmapped_columns"] == ["佐证材料"]
    assert [p[:3] for p in problems(engine, s["plan_id"])] == [
        (1, 1, "修订议事规则"), (2, 1, "开展专项检查"), (3, 1, "建立长效机制")]
    assert measures(engine, s["plan_id"]) == [
        (1, 1, "修订议事规则", "发改局责任人", None, "测试县发改局", D(2024, 3, 31), "time_bound", "closed", None,
         {"佐证材料": "议事规则（修订稿）"}),
        (1, 2, "组织专题学习", "发改局责任人", None, "测试县发改局", D(2024, 4, 30), "time_bound", "in_progress",
         None, None),
        (2, 1, "开展专项检查", "监管局责任人", None, "测试县市场监管局", D(2024, 6, 30), "time_bound", "assigned",
         None, None),
        (3, 1, "建立长效机制", "监管局责任人", None, "测试县市场监管局", None, "long_term", "in_progress", None, None),
    ]


def test_a_problem_number_column_groups_a_measure_list(sqlite_engine, tmp_path):
    rows = [["序号", "对应问题序号", "整改措施", "责任单位", "完成时限"],
            [1, 1, "措施甲", "测试县水利局", "2024-03-31"], [2, 1, "措施乙", "测试县水利局", "2024-04-30"],
            [3, 2, "措施丙", "测试县住建局", "2024-05-31"]]
    s = imported_twice(ledgers.write_xlsx(tmp_path / "清单.xlsx", rows), sqlite_engine)
    assert [(m[0], m[1], m[2]) for m in measures(sqlite_engine, s["plan_id"])] == [
        (1, 1, "措施甲"), (1, 2, "措施乙"), (2, 1, "措施丙")]


def test_a_supervision_sheet_keeps_every_leader_and_every_milestone(engine, tmp_path):
    s = imported_twice(ledgers.supervision(tmp_path / "督查台账.xlsx"), engine)
    assert (s["parts"], s["problems"], s["measures"]) == (1, 2, 3)
    assert s["unmapped_columns"] == ["督办意见"]
    assert measures(engine, s["plan_id"]) == [
        (1, 1, "健全学习制度", None, "县领导甲", "测试县党政办", D(2024, 6, 30), "time_bound", "in_progress", None,
         {"责任领导": "县领导甲、县领导乙", "完成时限": "3月：制定制度\n6月底前：全面落实", "督办意见": "加快进度"}),
        (1, 2, "开展督导检查", None, "县领导甲", "测试县党政办", D(2024, 12, 31), "time_bound", "assigned", None,
         {"配合单位": "测试县纪委监委", "完成时限": "2024年4月：第一轮检查；9月：第二轮检查；12月底前：总结"}),
        (2, 1, "清理规范文件", None, "县领导丙", "测试县政务服务中心", D(2024, 5, 31), "time_bound", "closed", None,
         {"督办意见": "按期完成"}),
    ]
    with engine.connect() as conn:
        body = json.loads(conn.execute(text(
            "SELECT e.body FROM events e JOIN measures m ON m.id = e.measure_id WHERE m.text = '开展督导检查'")
        ).scalar_one())
    assert body["milestones"] == [["2024-04-30", "第一轮检查"], ["2024-09-30", "第二轮检查"], ["2024-12-31", "总结"]]
    assert body["columns"]["配合单位"] == "测试县纪委监委" and "several" not in body


def test_a_dry_run_of_each_kind_writes_nothing(engine, tmp_path):
    before = counts(engine)
    for make in (ledgers.audit_system, ledgers.signoff_problems, ledgers.measure_list, ledgers.supervision):
        report = importing.import_file(make(tmp_path / f"{make.__name__}.xlsx"), dry_run=True, now=NOW,
                                       engine=engine)
        assert report["dry_run"] and report["create"]["measures"] == report["measures"] > 0
        assert counts(engine) == before


# --- the office's own words -----------------------------------------------------------------

def test_an_unknown_status_word_names_the_cell_under_the_offices_header(sqlite_engine, tmp_path):
    before = counts(sqlite_engine)
    with pytest.raises(importing.LedgerImportError) as info:
        importing.import_file(ledgers.audit_system(tmp_path / "a.xlsx", status4="差不多了"), now=NOW,
                              engine=sqlite_engine)
    first = info.value.issues[0]
    assert (first.sheet, first.row, first.column, first.header) == ("审计整改", 6, "H", "整改验收情况")
    assert "unknown status word" in first.reason and counts(sqlite_engine) == before


def test_a_progress_column_of_prose_is_the_account_and_its_leading_word_the_state(sqlite_engine, tmp_path):
    rows = [["序号", "问题", "整改措施", "责任单位", "完成情况"],
            [1, "问题甲。", "措施一", "测试县水利局", "已完成。召开专题会议2次，修订制度1项。"],
            [2, "问题乙。", "措施二", "测试县水利局", "正在整改，已完成摸排。"],
            [3, "问题丙。", "措施三", "测试县水利局", "已制定工作方案，下一步组织实施。"]]
    s = importing.import_file(ledgers.write_xlsx(tmp_path / "p.xlsx", rows), now=NOW, engine=sqlite_engine)
    assert any("完成情况" in w and "account" in w for w in s["warnings"])
    assert [(m[8], m[9]) for m in measures(sqlite_engine, s["plan_id"])] == [
        ("closed", "已完成。召开专题会议2次，修订制度1项。"), ("in_progress", "正在整改，已完成摸排。"),
        ("assigned", "已制定工作方案，下一步组织实施。")]


def test_map_reads_an_offices_header_as_a_field_and_the_plan_remembers_it(engine, tmp_path):
    path = ledgers.audit_system(tmp_path / "a.xlsx", feedback_header="整改佐证说明")
    plain = importing.import_file(path, dry_run=True, now=NOW, engine=engine)
    assert "整改佐证说明" in plain["unmapped_columns"]  # unknown: kept, not lost
    s = importing.import_file(path, mapping={"整改佐证说明": "落实情况"}, title="审计整改", now=NOW, engine=engine)
    assert s["unmapped_columns"] == ["问题来源", "审计项目编号"] and s["column_map"] == {"整改佐证说明": "account"}
    assert [m[9] for m in measures(engine, s["plan_id"])] == [
        "已收回资金并调整账目。", "制度已起草。", "已组织验收，待审核。", None]
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT column_map FROM plans WHERE id = :p"), {"p": s["plan_id"]}).scalar_one()
    assert (json.loads(stored) if isinstance(stored, str) else stored) == {"整改佐证说明": "account"}
    # a later version of the file, into the same plan, without --map: the plan's map applies
    later = ledgers.audit_system(tmp_path / "b.xlsx", feedback_header="整改佐证说明", status4="整改中")
    s2 = importing.import_file(later, title="审计整改", now=NOW, engine=engine)
    assert s2["plan_id"] == s["plan_id"] and s2["update"]["measures"] == 1
    assert s2["column_map"] == {"整改佐证说明": "account"} and "整改佐证说明" not in s2["unmapped_columns"]
    assert [m[8] for m in measures(engine, s["plan_id"])] == ["closed", "in_progress", "submitted", "in_progress"]
    # a plan that was never given the map (the file's own title names another plan) keeps the column
    s3 = importing.import_file(later, now=NOW, engine=engine)
    assert s3["plan_id"] != s["plan_id"] and "整改佐证说明" in s3["unmapped_columns"]


def fresh_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'other.db'}"
    db.init_db(url)
    return db.get_engine(url)


def test_the_map_is_found_through_the_files_own_title(sqlite_engine, tmp_path):
    path = ledgers.audit_system(tmp_path / "a.xlsx", feedback_header="整改佐证说明")
    first = importing.import_file(path, mapping={"整改佐证说明": "account"}, now=NOW, engine=sqlite_engine)
    again = importing.import_file(path, now=NOW, engine=sqlite_engine)  # no --plan, no --title, no --map
    assert again["plan_id"] == first["plan_id"] and not any(again["update"].values())
    assert again["column_map"] == {"整改佐证说明": "account"}


def test_a_column_mapped_to_extra_is_kept_as_it_is(sqlite_engine, tmp_path):
    path = ledgers.audit_system(tmp_path / "a.xlsx")
    s = importing.import_file(path, mapping={"整改反馈": "extra"}, now=NOW, engine=sqlite_engine)
    first = measures(sqlite_engine, s["plan_id"])[0]
    assert first[9] is None and first[10]["整改反馈"] == "已收回资金并调整账目。"


@pytest.mark.parametrize("mapping, reason", [({"整改反馈": "nonsense"}, "unknown field"),
                                             ({"": "account"}, "empty header")])
def test_a_bad_map_is_refused_before_anything_is_read(sqlite_engine, tmp_path, mapping, reason):
    with pytest.raises(importing.LedgerImportError, match=reason):
        importing.import_file(ledgers.audit_system(tmp_path / "a.xlsx"), mapping=mapping, now=NOW,
                              engine=sqlite_engine)
    assert counts(sqlite_engine)["measures"] == 0


# --- kept cells go back out -----------------------------------------------------------------

def test_kept_columns_leaders_and_milestones_are_exported_back_and_import_unchanged(sqlite_engine, tmp_path):
    s = importing.import_file(ledgers.supervision(tmp_path / "督查台账.xlsx"), now=NOW, engine=sqlite_engine)
    original = measures(sqlite_engine, s["plan_id"])
    out = tmp_path / "out.xlsx"
    ledger_xlsx.export_ledger(out, plan_id=s["plan_id"], now=NOW, engine=sqlite_engine)
    ws = openpyxl.load_workbook(out).worksheets[1]
    header = [c.value for c in ws[2]]
    assert header[:16] == [h for _f, h, _w in ledger_xlsx.EXPORT_COLUMNS] and header[16:] == ["配合单位", "督办意见"]
    first = {h: c.value for h, c in zip(header, ws[3], strict=True)}
    assert first["责任领导"] == "县领导甲、县领导乙" and first["完成时限"] == "3月：制定制度\n6月底前：全面落实"
    assert first["督办意见"] == "加快进度" and first["配合单位"] is None
    again = importing.import_file(out, plan_id=s["plan_id"], now=NOW, engine=sqlite_engine)
    assert not any(again["update"].values()) and not any(again["create"].values())
    other = fresh_sqlite(tmp_path)
    s2 = importing.import_file(out, now=NOW, engine=other)
    assert measures(other, s2["plan_id"]) == original


def test_the_measure_detail_lists_the_kept_cells_in_column_order(sqlite_engine, tmp_path):
    importing.import_file(ledgers.supervision(tmp_path / "督查台账.xlsx"), now=NOW, engine=sqlite_engine)
    with sqlite_engine.connect() as conn:
        mid = conn.execute(text("SELECT id FROM measures WHERE text = '健全学习制度'")).scalar_one()
    with db.write_tx(sqlite_engine) as conn:
        planwriter.user(conn, "office9", "整改办人员", ["office"])
    actor = readmodels.load_actor("office9", sqlite_engine)
    detail = readmodels.measure_detail(actor, mid, now=NOW, engine=sqlite_engine)
    assert list(detail["extra"].items()) == [("责任领导", "县领导甲、县领导乙"),
                                             ("完成时限", "3月：制定制度\n6月底前：全面落实"), ("督办意见", "加快进度")]


# --- what a mapping page needs, and the one report ------------------------------------------

def test_detect_shows_each_header_with_its_field_and_the_first_rows(tmp_path):
    path = ledgers.audit_system(tmp_path / "a.xlsx", feedback_header="整改佐证说明")
    d = importing.detect(path)
    assert d["kind"] == "ledger" and d["sheet"] == "审计整改" and d["header_row"] == 2
    assert [(h["column"], h["header"], h["field"]) for h in d["headers"]] == [
        ("A", "序号", "no"), ("B", "问题类型", "part"), ("C", "问题描述", "problem"), ("D", "审计建议", "measure"),
        ("E", "责任单位", "unit"), ("F", "整改负责人", "owner"), ("G", "整改期限", "deadline"),
        ("H", "整改验收情况", "status"), ("I", "整改佐证说明", None), ("J", "涉及金额（万元）", "amount_involved"),
        ("K", "问题来源", None), ("L", "审计项目编号", None)]
    assert len(d["first_rows"]) == 4 and d["first_rows"][1][:3] == ["2", "财务管理方面", "公务接待超标准。"]
    assert d["fields"]["owner"] == "责任人" and d["fields"]["extra"] == "其他信息"
    mapped = importing.detect(path, {"整改佐证说明": "account"})
    assert mapped["headers"][8]["field"] == "account"


def test_import_json_is_one_report_for_a_ledger_and_a_notice(sqlite_engine, tmp_path, capfd):
    from workflow.importing import notice
    from workflow.cli import main

    path = ledgers.audit_system(tmp_path / "a.xlsx", feedback_header="整改佐证说明")
    assert main(["import", str(path), "--json", "--dry-run", "--map", "整改佐证说明=落实情况"]) == 0
    dry = json.loads(capfd.readouterr().out)
    assert set(REPORT_KEYS) <= set(dry) and dry["kind"] == "ledger" and dry["dry_run"]
    assert counts(sqlite_engine)["measures"] == 0
    assert main(["import", str(notice.SEED_PATH), "--json"]) == 0
    doc = json.loads(capfd.readouterr().out)
    assert set(REPORT_KEYS) <= set(doc) and doc["kind"] == "notice"
    assert (doc["problems"], doc["measures"]) == (16, 45) and doc["parts"] >= 1
    assert doc["units_created"] and all(isinstance(u, str) for u in doc["units_created"])
    assert main(["import", str(path), "--map", "整改佐证说明"]) == 3
    assert "HEADER=FIELD" in capfd.readouterr().err
    assert main(["import", str(path), "--map", "整改佐证说明=nonsense"]) == 3
    assert "unknown field" in capfd.readouterr().err
    assert main(["import", str(notice.SEED_PATH), "--map", "a=account"]) == 3
    assert "ledger_only" in capfd.readouterr().err
