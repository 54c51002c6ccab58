"""Importing Excel ledgers: the customary layouts, the audit chain, re-import, and refusals."""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import openpyxl
import pytest
from sqlalchemy import text

from tests.data import ledgers
from workflow import audit, db, importing, planwriter
from workflow.errors import NotFound

NOW = dt.datetime(2023, 1, 20, 2, 0)
TABLES = ("inspections", "plans", "parts", "categories", "problems", "measures", "events", "users", "user_roles",
          "memberships", "org_units", "light_history")


def counts(engine) -> dict:
    with engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}


def ledger_rows(engine, plan_id: int) -> list[tuple]:
    """The measures of a plan as (problem no, seq, text, kind, deadline, state, unit, owner, leader, account)."""
    q = text("""
        SELECT p.no, m.seq, m.text, m.kind, m.deadline, m.state, u.name, o.name, l.name, m.account
        FROM measures m JOIN problems p ON p.id = m.problem_id
        LEFT JOIN org_units u ON u.id = m.unit_id
        LEFT JOIN users o ON o.id = m.owner_id LEFT JOIN users l ON l.id = m.leader_id
        WHERE p.plan_id = :plan ORDER BY p.no, m.seq""")
    with engine.connect() as conn:
        out = []
        for r in conn.execute(q, {"plan": plan_id}):
            day = r[4]
            if isinstance(day, str):
                day = dt.date.fromisoformat(day)
            out.append((r[0], r[1], r[2], r[3], day, *r[5:]))
        return out


def test_customary_ledger_with_title_row_and_merged_cells_imports_every_measure(engine, tmp_path):
    path = ledgers.customary(tmp_path / "台账.xlsx")
    s = importing.import_ledger(path, now=NOW, engine=engine)
    exp = ledgers.EXPECTED_CUSTOMARY
    assert s["plan_created"] and s["plan_title"] == exp["title"]
    assert s["create"]["problems"] == 3 and s["create"]["measures"] == 6 and s["create"]["parts"] == 2
    with engine.connect() as conn:
        parts = conn.execute(text("SELECT no, title FROM parts WHERE plan_id = :p ORDER BY no"),
                             {"p": s["plan_id"]}).all()
        problems = conn.execute(text("SELECT p.no, pt.no, p.text FROM problems p JOIN parts pt ON pt.id = p.part_id "
                                     "WHERE p.plan_id = :p ORDER BY p.no"), {"p": s["plan_id"]}).all()
        title = conn.execute(text("SELECT title FROM plans WHERE id = :p"), {"p": s["plan_id"]}).scalar_one()
    assert title == exp["title"]
    assert [tuple(r) for r in parts] == exp["parts"]
    assert [tuple(r) for r in problems] == exp["problems"]
    assert ledger_rows(engine, s["plan_id"]) == exp["measures"]
    assert audit.verify(engine) is None


def test_people_and_units_are_matched_by_name_or_created_with_roles(sqlite_engine, tmp_path):
    with db.write_tx(sqlite_engine) as conn:
        planwriter.user(conn, "dzb-owner", "党政办责任人", ["owner"], "区党政办")
    s = importing.import_ledger(ledgers.customary(tmp_path / "a.xlsx"), now=NOW, engine=sqlite_engine)
    with sqlite_engine.connect() as conn:
        owner = conn.execute(text("SELECT DISTINCT o.username FROM measures m JOIN users o ON o.id = m.owner_id "
                                  "WHERE o.name = '党政办责任人'")).scalar_one()
        roles = dict(conn.execute(text("SELECT u.name, group_concat(r.role) FROM users u JOIN user_roles r "
                                       "ON r.user_id = u.id GROUP BY u.name")).all())
        members = conn.execute(text("SELECT u.name FROM memberships ms JOIN users u ON u.id = ms.user_id "
                                    "JOIN org_units o ON o.id = ms.unit_id WHERE o.name = '祖师办事处'")).scalars().all()
        usernames = conn.execute(text("SELECT username FROM users WHERE name IN ('分管领导甲', '发改局责任人')")
                                 ).scalars().all()
    assert owner == "dzb-owner"  # the existing person, not a new one
    assert roles["分管领导甲"] == "leader" and roles["发改局责任人"] == "owner"
    assert members == ["办事处责任人"]
    assert all(u.isascii() and u.startswith("u") for u in usernames)
    assert {u["name"] for u in s["new_users"]} >= {"分管领导甲", "分管领导乙", "发改局责任人"}


def test_one_person_named_in_two_new_units_is_a_member_of_both(sqlite_engine, tmp_path):
    rows = [ledgers.CN_HEADER,
            ["1", "一、方面", "问题甲。", "措施一", "分管领导丙", "新单位甲", "联络员丁", "2023-03-31", None, None, None],
            [None, None, None, "措施二", "分管领导丙", "新单位乙", "联络员丁", "2023-03-31", None, None, None]]
    importing.import_ledger(ledgers.write_xlsx(tmp_path / "u.xlsx", rows, merges=["A2:A3", "C2:C3"]), now=NOW,
                        engine=sqlite_engine)
    with sqlite_engine.connect() as conn:
        units = conn.execute(text("SELECT o.name FROM memberships ms JOIN users u ON u.id = ms.user_id "
                                  "JOIN org_units o ON o.id = ms.unit_id WHERE u.name = '联络员丁' ORDER BY o.name")
                             ).scalars().all()
        people = conn.execute(text("SELECT count(*) FROM users WHERE name = '联络员丁'")).scalar_one()
    assert units == ["新单位乙", "新单位甲"] and people == 1


def test_status_words_map_to_states_recorded_as_import_events_outside_the_lifecycle(sqlite_engine, tmp_path):
    s = importing.import_ledger(ledgers.customary(tmp_path / "a.xlsx"), now=NOW, actor="system", engine=sqlite_engine)
    assert s["closed_by_import"] == 3
    with sqlite_engine.connect() as conn:
        rows = conn.execute(text("SELECT m.state, e.kind, e.to_state, e.body FROM measures m JOIN events e "
                                 "ON e.measure_id = m.id ORDER BY m.id")).all()
    assert {r.kind for r in rows} == {"import"}
    for r in rows:
        assert r.to_state == r.state
        body = json.loads(r.body)
        assert body["source"] == "a.xlsx" and body["sheet"] == "台账"
        assert body.get("lifecycle_bypassed", False) == (r.state != "assigned")
    assert sorted(r.state for r in rows) == ["assigned", "closed", "closed", "closed", "in_progress", "in_progress"]


def test_english_headers_and_dotted_numbers_import_the_same_way(sqlite_engine, tmp_path):
    s = importing.import_ledger(ledgers.english(tmp_path / "ledger.xlsx"), now=NOW, engine=sqlite_engine)
    assert s["plan_title"] == "ledger"  # no title row: the file name
    assert ledger_rows(sqlite_engine, s["plan_id"]) == [
        (1, 1, "Make a study plan", "time_bound", dt.date(2023, 3, 31), "closed", "Office", "Office owner",
         "Leader A", "Plan made."),
        (1, 2, "Report monthly", "time_bound", dt.date(2023, 4, 30), "in_progress", "Office", "Office owner",
         "Leader A", None),
        (2, 1, "Train every quarter", "long_term", None, "assigned", "Emergency office", "Duty owner", "Leader B",
         None),
    ]


def test_two_row_header_section_rows_and_a_row_counter_are_understood(sqlite_engine, tmp_path):
    s = importing.import_ledger(ledgers.sections(tmp_path / "s.xlsx"), now=NOW, engine=sqlite_engine)
    assert s["plan_title"] == "整改工作台账（第一批）"
    assert s["ignored_columns"] == {"台账": ["责任主体"]}  # a group header; 备注 is the remarks column
    assert s["unmapped_columns"] == []  # every column names a field: nothing to keep beside them
    assert any("注：本表由区整改办汇总" in w for w in s["warnings"])
    with sqlite_engine.connect() as conn:
        probs = conn.execute(text("""
            SELECT p.no, pt.no, pt.title, c.no, c.title, p.text FROM problems p JOIN parts pt ON pt.id = p.part_id
            LEFT JOIN categories c ON c.id = p.category_id ORDER BY p.no""")).all()
    assert [tuple(r) for r in probs] == [
        (1, 1, "责任意识不够强方面", 1, "学习贯彻不及时", "学习不主动。"),
        (2, 1, "责任意识不够强方面", 1, "学习贯彻不及时", "贯彻有差距。"),
        (3, 2, "履职尽责不到位方面", None, None, "应急培训不到位。"),
    ]
    assert ledger_rows(sqlite_engine, s["plan_id"]) == [
        (1, 1, "制定学习计划", "time_bound", dt.date(2023, 3, 31), "closed", "区党政办", "党政办责任人", "分管领导甲",
         "已制定。"),
        (1, 2, "开展专题学习", "time_bound", dt.date(2023, 3, 31), "in_progress", "区党政办", "党政办责任人",
         "分管领导甲", None),
        (2, 1, "召开专项会议", "immediate", None, "closed", "发改局", "发改局责任人", "分管领导乙", "已召开。"),
        (3, 1, "制定培训计划", "time_bound", dt.date(2023, 6, 30), "assigned", "区防办", "防办责任人", "分管领导乙",
         None),
    ]


def test_a_merged_account_over_all_rows_of_a_problem_is_its_published_account(sqlite_engine, tmp_path):
    rows = [ledgers.CN_HEADER,
            ["1", "一、方面一", "问题甲。", "措施一", None, "水利局", None, "2023-03-31", None, "已完成", "统一落实情况。"],
            [None, None, None, "措施二", None, "水利局", None, "2023-03-31", None, "已完成", None]]
    path = ledgers.write_xlsx(tmp_path / "m.xlsx", rows, merges=["A2:A3", "C2:C3", "K2:K3"])
    importing.import_ledger(path, now=NOW, engine=sqlite_engine)
    with sqlite_engine.connect() as conn:
        assert conn.execute(text("SELECT account FROM problems")).scalar_one() == "统一落实情况。"
        assert conn.execute(text("SELECT count(*) FROM measures WHERE account IS NOT NULL")).scalar_one() == 0


def test_dry_run_previews_counts_and_first_rows_and_writes_nothing(sqlite_engine, tmp_path):
    before = counts(sqlite_engine)
    s = importing.import_ledger(ledgers.customary(tmp_path / "a.xlsx"), dry_run=True, now=NOW, engine=sqlite_engine)
    assert counts(sqlite_engine) == before
    assert s["dry_run"] and s["plan_id"] is None
    assert s["create"] == {"parts": 2, "categories": 0, "problems": 3, "measures": 6, "units": 4, "users": 7}
    assert [(r["action"], r["row"], r["problem_no"], r["seq"]) for r in s["preview"][:3]] == [
        ("create", 3, 1, 1), ("create", 4, 1, 2), ("create", 5, 1, 3)]


def test_a_dry_run_writes_nothing_on_either_database_and_reports_what_a_real_run_does(engine, tmp_path):
    first = ledgers.customary(tmp_path / "a.xlsx")
    before = counts(engine)
    dry = importing.import_ledger(first, dry_run=True, now=NOW, engine=engine)
    assert counts(engine) == before
    real = importing.import_ledger(first, now=NOW, engine=engine)
    for key in ("create", "update", "unchanged", "closed_by_import", "new_users", "warnings", "totals"):
        assert dry[key] == real[key], key
    # a dry run of changes to a stored plan: no event, no version, nothing
    before = counts(engine)
    changed = ledgers.customary(tmp_path / "b.xlsx", status3="已完成", measure1="制定专题学习计划并组织集中学习")
    dry = importing.import_ledger(changed, dry_run=True, now=NOW, engine=engine)
    assert counts(engine) == before and dry["update"]["measures"] == 2 and dry["plan_id"] == real["plan_id"]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT max(version) FROM measures")).scalar_one() == 1


def test_importing_the_same_file_again_changes_nothing(engine, tmp_path):
    path = ledgers.customary(tmp_path / "a.xlsx")
    first = importing.import_ledger(path, now=NOW, engine=engine)
    before = counts(engine)
    again = importing.import_ledger(path, now=NOW + dt.timedelta(days=1), engine=engine)
    assert counts(engine) == before
    assert again["plan_id"] == first["plan_id"]
    assert again["create"] == {"parts": 0, "categories": 0, "problems": 0, "measures": 0, "units": 0, "users": 0}
    assert again["update"]["measures"] == 0 and again["unchanged"] == {"problems": 3, "measures": 6}


def test_reimport_updates_in_place_with_a_versioned_import_event_on_the_chain(engine, tmp_path):
    s = importing.import_ledger(ledgers.customary(tmp_path / "a.xlsx"), now=NOW, engine=engine)
    before = counts(engine)
    changed = ledgers.customary(tmp_path / "a.xlsx", status3="已完成", deadline1="2023-04-15",
                                measure1="制定专题学习计划并组织集中学习")
    s2 = importing.import_ledger(changed, now=NOW + dt.timedelta(days=2), engine=engine)
    assert s2["plan_id"] == s["plan_id"]
    assert s2["update"]["measures"] == 2 and s2["create"]["measures"] == 0 and s2["closed_by_import"] == 1
    after = counts(engine)
    assert after["measures"] == before["measures"] and after["events"] == before["events"] + 2
    with engine.connect() as conn:
        m1 = conn.execute(text("SELECT m.id, m.text, m.deadline, m.deadline_original, m.version, m.head_seq "
                               "FROM measures m JOIN problems p ON p.id = m.problem_id WHERE p.no = 1 AND m.seq = 1")
                          ).one()
        m3 = conn.execute(text("SELECT m.id, m.state, m.version, m.closed_at FROM measures m JOIN problems p "
                               "ON p.id = m.problem_id WHERE p.no = 1 AND m.seq = 3")).one()
        ev1 = conn.execute(text("SELECT kind, from_state, to_state, body FROM events WHERE measure_id = :m AND seq = 2"),
                           {"m": m1.id}).one()
        ev3 = conn.execute(text("SELECT kind, from_state, to_state, body FROM events WHERE measure_id = :m AND seq = 2"),
                           {"m": m3.id}).one()
    assert m1.text == "制定专题学习计划并组织集中学习" and str(m1.deadline) == "2023-04-15"
    assert str(m1.deadline_original) == "2023-03-31"  # the original is kept
    assert m1.version == 2 and m1.head_seq == 2
    assert ev1.kind == "import" and ev1.to_state is None
    assert json.loads(ev1.body)["changes"] == {"text": ["制定专题学习计划并组织学习", "制定专题学习计划并组织集中学习"],
                                               "deadline": ["2023-03-31", "2023-04-15"]}
    assert m3.state == "closed" and m3.version == 2 and m3.closed_at is not None
    assert (ev3.kind, ev3.from_state, ev3.to_state) == ("import", "in_progress", "closed")
    assert json.loads(ev3.body)["lifecycle_bypassed"] is True
    assert audit.verify(engine) is None


def test_a_file_never_moves_a_measure_backwards(sqlite_engine, tmp_path):
    path = ledgers.customary(tmp_path / "a.xlsx", status3="已完成")
    importing.import_ledger(path, now=NOW, engine=sqlite_engine)
    events = counts(sqlite_engine)["events"]
    s = importing.import_ledger(ledgers.customary(tmp_path / "a.xlsx", status3="正在整改"), now=NOW,
                            engine=sqlite_engine)
    assert s["update"]["measures"] == 0 and counts(sqlite_engine)["events"] == events
    assert any("保留台账状态" in w and "台账!5" in w for w in s["warnings"])
    with sqlite_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM measures WHERE state = 'closed'")).scalar_one() == 4


def test_import_into_a_named_plan_and_an_unknown_plan_is_not_found(sqlite_engine, tmp_path):
    path = ledgers.english(tmp_path / "e.xlsx")
    s = importing.import_ledger(path, title="二〇二三年整改方案", now=NOW, engine=sqlite_engine)
    assert s["plan_title"] == "二〇二三年整改方案"
    s2 = importing.import_ledger(path, plan_id=s["plan_id"], now=NOW, engine=sqlite_engine)
    assert s2["unchanged"]["measures"] == 3
    with pytest.raises(NotFound):
        importing.import_ledger(path, plan_id=999, now=NOW, engine=sqlite_engine)


# --- refusals: a clear reason naming sheet, row and column; nothing written --------------

def _bad_date(tmp_path):
    return ledgers.customary(tmp_path / "bad.xlsx", deadline1="2023年13月底前"), ("台账", 3, "H", "bad date")


def _unknown_status(tmp_path):
    return ledgers.customary(tmp_path / "bad.xlsx", status3="差不多了"), ("台账", 5, "J", "unknown status word")


def _duplicate_no(tmp_path):
    return ledgers.customary(tmp_path / "bad.xlsx", no2="1"), ("台账", 6, None, "duplicate 序号 1")


def _duplicate_measure_no(tmp_path):
    rows = [ledgers.CN_HEADER,
            ["1.1", "一、方面", "问题。", "措施一", None, None, None, "2023-03-31", None, None, None],
            ["1.1", None, None, "措施二", None, None, None, "2023-03-31", None, None, None]]
    return ledgers.write_xlsx(tmp_path / "bad.xlsx", rows), ("台账", 3, None, "duplicate 序号 1.1")


def _missing_header(tmp_path):
    rows = [["东城区整改台账"], ["甲", "乙", "丙"], ["1", "学习不主动", "制定计划"]]
    return ledgers.write_xlsx(tmp_path / "bad.xlsx", rows), ("台账", None, None, "missing header")


def _missing_problem_and_measure_columns(tmp_path):
    # (a sheet with 问题 but no 整改措施 is a sheet of problems that are their own measures)
    rows = [["序号", "责任单位", "完成时限"], ["1", "水利局", "2023-03-31"]]
    return ledgers.write_xlsx(tmp_path / "bad.xlsx", rows), ("台账", 1, None, "(missing header): 问题 或 整改措施")


def _not_a_spreadsheet(tmp_path):
    p = tmp_path / "notes.xlsx"
    p.write_text("序号,问题,整改措施\n1,学习不主动,制定计划\n", encoding="utf-8")
    return p, (None, None, None, "not a spreadsheet")


def _random_10mb(tmp_path):
    return ledgers.random_file(tmp_path / "random.xlsx"), (None, None, None, "not a spreadsheet")


def _random_zip_magic(tmp_path):
    return ledgers.random_file(tmp_path / "r.xlsx", 1 << 20, prefix=b"PK\x03\x04"), (None, None, None, "broken zip")


def _word_package(tmp_path):
    p = tmp_path / "report.xlsx"
    p.write_bytes(ledgers.docx_bytes())
    return p, (None, None, None, "no xl/workbook.xml")


def _legacy_xls(tmp_path):
    p = tmp_path / "old.xlsx"
    p.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 4096)
    return p, (None, None, None, "legacy .xls")


def _bomb(tmp_path):
    return ledgers.zip_bomb(tmp_path / "bomb.xlsx"), (None, None, None, "compression bomb")


BAD = [_bad_date, _unknown_status, _duplicate_no, _duplicate_measure_no, _missing_header,
       _missing_problem_and_measure_columns,
       _not_a_spreadsheet, _random_10mb, _random_zip_magic, _word_package, _legacy_xls, _bomb]


@pytest.mark.parametrize("make", BAD, ids=[f.__name__.strip("_") for f in BAD])
def test_malformed_input_is_refused_with_where_and_why_and_nothing_is_written(sqlite_engine, tmp_path, make):
    path, (sheet, row, column, reason) = make(tmp_path)
    before = counts(sqlite_engine)
    with pytest.raises(importing.LedgerImportError) as info:
        importing.import_ledger(path, now=NOW, engine=sqlite_engine)
    assert counts(sqlite_engine) == before
    first = info.value.issues[0]
    assert (first.sheet, first.row, first.column) == (sheet, row, column)
    assert reason in first.reason
    assert reason in str(info.value)


def test_a_compression_bomb_is_refused_before_openpyxl_opens_it(sqlite_engine, tmp_path, monkeypatch):
    path = ledgers.zip_bomb(tmp_path / "bomb.xlsx", inflated_mb=200)
    assert path.stat().st_size < 1024 * 1024

    def no_parse(*a, **k):
        raise AssertionError("openpyxl must not see the file")

    monkeypatch.setattr(openpyxl, "load_workbook", no_parse)
    with pytest.raises(importing.LedgerImportError, match="compression bomb"):
        importing.import_ledger(path, now=NOW, engine=sqlite_engine)


def test_every_problem_in_a_file_is_reported_at_once(sqlite_engine, tmp_path):
    path = ledgers.customary(tmp_path / "bad.xlsx", deadline1="明年", status3="快好了")
    with pytest.raises(importing.LedgerImportError) as info:
        importing.import_ledger(path, now=NOW, engine=sqlite_engine)
    where = [(i.row, i.column, i.header) for i in info.value.issues]
    assert where == [(3, "H", "完成时限"), (5, "J", "整改进度")]
    assert "工作表「台账」 第3行 H列（完成时限） [台账!H3]" in str(info.value)


# --- the command line -------------------------------------------------------------------

def rectify(*args, env=None):
    return subprocess.run([sys.executable, "-m", "workflow.cli", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_cli_import_refuses_with_exit_3_naming_row_and_column_and_writes_nothing(sqlite_engine, tmp_path):
    path = ledgers.customary(tmp_path / "bad.xlsx", status3="差不多了")
    before = counts(sqlite_engine)
    r = rectify("import", str(path))
    assert r.returncode == 3, r.stderr
    assert "台账!J5" in r.stderr and "unknown status word" in r.stderr and "nothing was written" in r.stderr
    assert r.stdout == ""
    assert counts(sqlite_engine) == before


def test_cli_import_dry_run_then_import_as_json(sqlite_engine, tmp_path, capfd):
    from workflow.cli import main

    path = ledgers.customary(tmp_path / "a.xlsx")
    assert main(["import", str(path), "--dry-run"]) == 0
    out = capfd.readouterr().out
    assert "预览" in out and "6 measures" in out and counts(sqlite_engine)["measures"] == 0
    assert main(["import", str(path), "--json", "--title", "测试方案"]) == 0
    doc = json.loads(capfd.readouterr().out)
    assert doc["plan_title"] == "测试方案" and doc["create"]["measures"] == 6 and not doc["dry_run"]
    assert counts(sqlite_engine)["measures"] == 6


def test_cli_import_of_a_notice_goes_to_the_notice_importer(sqlite_engine, tmp_path, capfd):
    from workflow.importing import notice
    from workflow.cli import main

    assert main(["import", str(notice.SEED_PATH), "--json"]) == 0
    assert json.loads(capfd.readouterr().out)["problems"] == 16
    assert counts(sqlite_engine)["problems"] == 16
    assert main(["import", str(tmp_path / "missing.xlsx")]) == 3
    assert "no such file" in capfd.readouterr().err
    odd = tmp_path / "ledger.csv"
    odd.write_text("a,b\n")
    assert main(["import", str(odd)]) == 3
    assert "unsupported_file" in capfd.readouterr().err
    # --dry-run previews notices too, and writes nothing
    assert main(["import", str(notice.SEED_PATH), "--dry-run", "--json"]) == 0
    preview = json.loads(capfd.readouterr().out)
    assert preview["dry_run"] and preview["problems"] == 16 and preview["kind"] == "notice"
    assert counts(sqlite_engine)["problems"] == 16
    # a workbook is recognised by its content under another name
    renamed = tmp_path / "ledger.bin"
    renamed.write_bytes(ledgers.english(tmp_path / "e.xlsx").read_bytes())
    assert main(["import", str(renamed), "--dry-run"]) == 0


def test_a_repeated_problem_text_without_numbers_is_matched_once_each_time(sqlite_engine, tmp_path):
    header = ["方面", "问题", "整改措施", "责任单位"]
    rows = [header, ["一、甲方面", "问题同名。", "措施一", "水利局"], ["一、甲方面", "另一个问题。", "措施二", "水利局"],
            ["一、甲方面", "问题同名。", "措施三", "住建局"]]
    path = ledgers.write_xlsx(tmp_path / "same.xlsx", rows)
    first = importing.import_ledger(path, now=NOW, engine=sqlite_engine)
    assert first["create"]["problems"] == 3
    again = importing.import_ledger(path, now=NOW, engine=sqlite_engine)
    assert again["create"]["problems"] == 0 and again["unchanged"] == {"problems": 3, "measures": 3}


def test_moving_a_problem_to_a_new_part_and_category_on_reimport(sqlite_engine, tmp_path):
    header = ["序号", "方面", "分类", "问题", "整改措施"]
    path = ledgers.write_xlsx(tmp_path / "p.xlsx", [header, ["1", "一、甲方面", "1. 甲类", "问题一。", "措施一"],
                                                    ["2", "一、甲方面", "1. 甲类", "问题二。", "措施二"]])
    s = importing.import_ledger(path, now=NOW, engine=sqlite_engine)
    path = ledgers.write_xlsx(tmp_path / "p.xlsx", [header, ["1", "一、甲方面", "1. 甲类", "问题一。", "措施一"],
                                                    ["2", "二、乙方面", "1. 乙类", "问题二。", "措施二"]])
    s2 = importing.import_ledger(path, now=NOW, engine=sqlite_engine)
    assert s2["plan_id"] == s["plan_id"] and s2["update"]["problems"] == 1 and s2["create"]["parts"] == 1
    with sqlite_engine.connect() as conn:
        row = conn.execute(text("SELECT pt.no, pt.title, c.no, c.title FROM problems p JOIN parts pt ON pt.id = "
                                "p.part_id JOIN categories c ON c.id = p.category_id WHERE p.no = 2")).one()
    assert tuple(row) == (2, "乙方面", 1, "乙类")
