"""Exporting the ledger as .xlsx, and the round trip import → export → import."""
from __future__ import annotations

import datetime as dt
import subprocess
import sys

import openpyxl
import pytest
from sqlalchemy import text

from tests.data import ledgers
from workflow import audit, db, importing
from workflow.effects import Refused
from workflow.exporting import ledger_xlsx
from workflow.importing import notice
from workflow.vocabulary import LIGHT_LABELS

NOW = dt.datetime(2023, 1, 20, 2, 0)


def plan_snapshot(engine, plan_id: int | None = None) -> dict:
    """Everything the ledger layout carries about a plan, without database ids."""
    with engine.connect() as conn:
        if plan_id is None:
            plan_id = conn.execute(text("SELECT max(id) FROM plans")).scalar_one()
        p = {"plan": plan_id}
        parts = conn.execute(text("SELECT no, title FROM parts WHERE plan_id = :plan ORDER BY no"), p).all()
        cats = conn.execute(text("SELECT pt.no, c.no, c.title FROM categories c JOIN parts pt ON pt.id = c.part_id "
                                 "WHERE pt.plan_id = :plan ORDER BY pt.no, c.no"), p).all()
        probs = conn.execute(text("""
            SELECT pr.no, pt.no, c.no, pr.text, pr.account, pr.amount_involved, pr.amount_recovered
            FROM problems pr JOIN parts pt ON pt.id = pr.part_id LEFT JOIN categories c ON c.id = pr.category_id
            WHERE pr.plan_id = :plan ORDER BY pr.no"""), p).all()
        meas = conn.execute(text("""
            SELECT pr.no, m.seq, m.text, m.kind, m.deadline, m.state, u.name, o.username, o.name, l.username, l.name,
                   m.account
            FROM measures m JOIN problems pr ON pr.id = m.problem_id LEFT JOIN org_units u ON u.id = m.unit_id
            LEFT JOIN users o ON o.id = m.owner_id LEFT JOIN users l ON l.id = m.leader_id
            WHERE pr.plan_id = :plan ORDER BY pr.no, m.seq"""), p).all()

    def norm(rows):
        return [tuple(str(v) if v is not None and not isinstance(v, (int, str)) else v for v in r) for r in rows]

    return {"parts": norm(parts), "categories": norm(cats), "problems": norm(probs), "measures": norm(meas)}


def fresh_engine(tmp_path, name="other.db"):
    url = f"sqlite:///{tmp_path / name}"
    db.init_db(url)
    return db.get_engine(url)


def test_round_trip_import_export_import_gives_the_same_plan(sqlite_engine, tmp_path):
    s = importing.import_ledger(ledgers.customary(tmp_path / "a.xlsx"), now=NOW, engine=sqlite_engine)
    original = plan_snapshot(sqlite_engine, s["plan_id"])
    out = tmp_path / "export.xlsx"
    result = ledger_xlsx.export_ledger(out, plan_id=s["plan_id"], now=NOW, engine=sqlite_engine)
    assert result["rows"] == 6 and result["problems"] == 3
    # into an empty database: the same plan
    other = fresh_engine(tmp_path)
    s2 = importing.import_ledger(out, now=NOW, engine=other)
    assert s2["plan_title"] == "东城区落实巡察反馈意见整改台账"
    assert plan_snapshot(other, s2["plan_id"]) == original
    # into the database it came from: nothing changes
    with sqlite_engine.connect() as conn:
        events = audit.event_count(conn)
    s3 = importing.import_ledger(out, now=NOW, engine=sqlite_engine)
    assert s3["plan_id"] == s["plan_id"]
    assert s3["create"]["measures"] == 0 and s3["update"] == {"parts": 0, "categories": 0, "problems": 0,
                                                              "measures": 0}
    assert plan_snapshot(sqlite_engine, s["plan_id"]) == original
    with sqlite_engine.connect() as conn:
        assert audit.event_count(conn) == events


def test_the_seed_notice_round_trips_through_the_excel_ledger(sqlite_engine, tmp_path):
    summary = notice.import_notice(notice.read(notice.SEED_PATH), NOW, engine=sqlite_engine)
    original = plan_snapshot(sqlite_engine, summary["plan_id"])
    assert len(original["problems"]) == 16 and len(original["measures"]) == 45
    out = tmp_path / "seed.xlsx"
    ledger_xlsx.export_ledger(out, now=NOW, engine=sqlite_engine)
    other = fresh_engine(tmp_path)
    s2 = importing.import_ledger(out, now=NOW, engine=other)
    assert plan_snapshot(other, s2["plan_id"]) == original
    s3 = importing.import_ledger(out, plan_id=summary["plan_id"], now=NOW, engine=sqlite_engine)
    assert s3["unchanged"] == {"problems": 16, "measures": 45}


def test_a_part_longer_than_a_sheet_goes_on_in_continuation_sheets_and_still_round_trips(sqlite_engine, tmp_path):
    summary = notice.import_notice(notice.read(notice.SEED_PATH), NOW, engine=sqlite_engine)
    original = plan_snapshot(sqlite_engine, summary["plan_id"])
    out = tmp_path / "split.xlsx"
    # twelve rows to a sheet: the title, the header and ten measures (the longest problem has eight)
    result = ledger_xlsx.export_ledger(out, now=NOW, engine=sqlite_engine, sheet_rows=12)
    wb = openpyxl.load_workbook(out)
    parts = wb.worksheets[1:]
    assert len(parts) > 3 and any(name.endswith("(2)") for name in result["sheets"])
    assert all(ws.max_row <= 12 for ws in parts)
    assert sum(ws.max_row - 2 for ws in parts) == 45
    for ws in parts:  # each sheet reads on its own: header, and the problem's cells on its first row
        assert [c.value for c in ws[2]] == [h for _f, h, _w in ledger_xlsx.EXPORT_COLUMNS]
        assert ws.cell(3, 4).value
    other = fresh_engine(tmp_path)
    s2 = importing.import_ledger(out, now=NOW, engine=other)
    assert plan_snapshot(other, s2["plan_id"]) == original


def test_a_problem_longer_than_a_sheet_is_refused_by_name_and_no_file_is_written(sqlite_engine, tmp_path):
    notice.import_notice(notice.read(notice.SEED_PATH), NOW, engine=sqlite_engine)
    out = tmp_path / "short.xlsx"
    with pytest.raises(Refused) as info:  # problem 10 of the seed has eight measures
        ledger_xlsx.export_ledger(out, now=NOW, engine=sqlite_engine, sheet_rows=9)
    assert info.value.rule == "sheet_too_long" and "问题10" in info.value.message
    assert not out.exists() and not list(tmp_path.glob(".*.part"))


def test_export_layout_summary_sheet_parts_frozen_header_filters_widths_and_light_fills(sqlite_engine, tmp_path):
    s = importing.import_ledger(ledgers.customary(tmp_path / "a.xlsx"), now=NOW, engine=sqlite_engine)
    out = tmp_path / "ledger.xlsx"
    # 2023-02-24 is a Friday: 2023-02-28 is two working days away (yellow), 2023-06-30 is far (green)
    ledger_xlsx.export_ledger(out, plan_id=s["plan_id"], now=dt.datetime(2023, 2, 24, 2), engine=sqlite_engine)
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["汇总", "一、责任意识不够强方面", "二、履职尽责不到位方面"]
    one, two = wb.worksheets[1], wb.worksheets[2]
    assert one.freeze_panes == "E3" and one.auto_filter.ref == "A2:P6" and two.auto_filter.ref == "A2:P4"
    assert [c.value for c in one[2]] == [h for _f, h, _w in ledger_xlsx.EXPORT_COLUMNS]
    # the width as Excel shows it (the file stores it with the cell padding: 48 → 48.71)
    assert int(one.column_dimensions["D"].width) == 48 and int(one.column_dimensions["A"].width) == 8
    assert {"A1:P1", "B3:B5", "C3:C5", "D3:D5", "N3:N5"} <= {str(r) for r in one.merged_cells.ranges}
    assert one["A3"].value == "1.1" and one["D3"].value == "学习不主动，未及时学习有关指示批示精神。"
    assert one["D4"].value is None and one["E4"].value == "纳入理论中心组学习计划"
    assert isinstance(one["I3"].value, dt.datetime) and one["I3"].number_format == "yyyy-mm-dd"

    def fill(cell):
        return cell.fill.fgColor.rgb[-6:]

    rows = {r[4].value: r for r in two.iter_rows(min_row=3)}
    yellow, green = rows["制定年度培训计划"], rows["督促办事处开展应急培训"]
    assert (yellow[11].value, fill(yellow[10]), fill(yellow[11])) == (LIGHT_LABELS["yellow"], "FFEB9C", "FFEB9C")
    assert (green[11].value, fill(green[10])) == (LIGHT_LABELS["green"], "C6EFCE")
    # a month later the first is overdue
    ledger_xlsx.export_ledger(out, plan_id=s["plan_id"], now=dt.datetime(2023, 3, 24, 2), engine=sqlite_engine)
    two = openpyxl.load_workbook(out).worksheets[2]
    rows = {r[4].value: r for r in two.iter_rows(min_row=3)}
    assert (rows["制定年度培训计划"][11].value, fill(rows["制定年度培训计划"][10])) == (LIGHT_LABELS["red"], "FFC7CE")
    summary = {r[0]: r[1:] for r in wb["汇总"].iter_rows(values_only=True) if r and r[0]}
    assert summary["问题"][0] == 3 and summary["整改措施"][0] == 6
    assert summary["已销号"][0] == 3 and summary["整改中"][0] == 2 and summary["已交办"][0] == 1
    assert summary[LIGHT_LABELS["yellow"]][0] == 1 and summary["区党政办"][:3] == (3, 2, 1)


def test_export_reports_progress_to_a_callback(sqlite_engine, tmp_path):
    s = importing.import_ledger(ledgers.customary(tmp_path / "a.xlsx"), now=NOW, engine=sqlite_engine)
    calls = []
    ledger_xlsx.export_ledger(tmp_path / "x.xlsx", plan_id=s["plan_id"], now=NOW, engine=sqlite_engine,
                        progress=lambda done, total: calls.append((done, total)), batch=2)
    assert calls[0] == (0, 6) and calls[-1] == (6, 6)
    assert [d for d, _t in calls] == sorted(d for d, _t in calls)
    assert (2, 6) in calls and (4, 6) in calls


def rectify(*args):
    return subprocess.run([sys.executable, "-m", "workflow.cli", *args], capture_output=True, text=True, timeout=120)


def test_cli_export_shows_progress_on_stderr_and_needs_a_plan_when_there_are_several(sqlite_engine, tmp_path,
                                                                                     capfd):
    from workflow.cli import main

    s = importing.import_ledger(ledgers.customary(tmp_path / "a.xlsx"), now=NOW, engine=sqlite_engine)
    out = tmp_path / "out.xlsx"
    r = rectify("export", str(out))
    assert r.returncode == 0, r.stderr
    assert r.stdout == "" and "导出" in r.stderr and "exported 6 measures" in r.stderr
    assert openpyxl.load_workbook(out).sheetnames[0] == "汇总"
    importing.import_ledger(ledgers.english(tmp_path / "e.xlsx"), now=NOW, engine=sqlite_engine)
    capfd.readouterr()
    assert main(["export", str(out)]) == 3
    assert "several plans" in capfd.readouterr().err
    assert main(["export", str(out), "--plan", str(s["plan_id"]), "--json", "-q"]) == 0
    assert '"rows": 6' in capfd.readouterr().out
    assert main(["export", str(out), "--plan", "99"]) == 5
    assert main(["export", str(tmp_path / "out.csv")]) == 3


@pytest.mark.postgres
def test_round_trip_on_postgresql(pg_engine, tmp_path):
    s = importing.import_ledger(ledgers.customary(tmp_path / "a.xlsx"), now=NOW, engine=pg_engine)
    original = plan_snapshot(pg_engine, s["plan_id"])
    out = tmp_path / "pg.xlsx"
    ledger_xlsx.export_ledger(out, plan_id=s["plan_id"], now=NOW, engine=pg_engine)
    s2 = importing.import_ledger(out, plan_id=s["plan_id"], now=NOW, engine=pg_engine)
    assert s2["unchanged"] == {"problems": 3, "measures": 6}
    assert plan_snapshot(pg_engine, s["plan_id"]) == original


def test_control_characters_left_by_pdf_extraction_do_not_break_the_export(sqlite_engine, tmp_path):
    s = importing.import_ledger(ledgers.customary(tmp_path / "a.xlsx"), now=NOW, engine=sqlite_engine)
    with db.write_tx(sqlite_engine) as conn:
        conn.execute(text("UPDATE measures SET text = '第一页\fcontinued\x0b末尾' WHERE seq = 1"))
    ledger_xlsx.export_ledger(tmp_path / "x.xlsx", plan_id=s["plan_id"], now=NOW, engine=sqlite_engine)
    ws = openpyxl.load_workbook(tmp_path / "x.xlsx").worksheets[1]
    assert ws["E3"].value == "第一页continued末尾"


def test_text_that_looks_like_a_formula_is_exported_as_text(sqlite_engine, tmp_path):
    s = importing.import_ledger(ledgers.customary(tmp_path / "a.xlsx"), now=NOW, engine=sqlite_engine)
    typed = ['=HYPERLINK("http://example.invalid","点此")', "+1+2", "-cmd|' /C calc'!A0", "@SUM(A1:A2)"]
    with db.write_tx(sqlite_engine) as conn:
        ids = conn.execute(text("SELECT m.id FROM measures m JOIN problems p ON p.id = m.problem_id "
                                "ORDER BY p.no, m.seq LIMIT 4")).scalars().all()
        for mid, value in zip(ids, typed, strict=True):
            conn.execute(text("UPDATE measures SET text = :t WHERE id = :m"), {"t": value, "m": mid})
        conn.execute(text("UPDATE problems SET text = '=1+1' WHERE no = 1"))
    out = tmp_path / "x.xlsx"
    ledger_xlsx.export_ledger(out, plan_id=s["plan_id"], now=NOW, engine=sqlite_engine)
    ws = openpyxl.load_workbook(out).worksheets[1]  # not data_only: a formula would read back as one
    cells = [ws.cell(row=r, column=5) for r in (3, 4, 5, 6)]
    assert [c.value for c in cells] == typed
    assert all(c.data_type == "s" for c in cells) and ws["D3"].value == "=1+1" and ws["D3"].data_type == "s"
    # and the file imports back with the same text
    again = importing.import_ledger(out, plan_id=s["plan_id"], now=NOW, engine=sqlite_engine)
    assert again["update"]["measures"] == 0 and again["update"]["problems"] == 0
