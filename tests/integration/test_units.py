"""Org units from the database: the unit commands, the org chart import, and notices that find,
map or create units through it. On SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from tests.data import notices as T
from workflow import db, spec
from workflow.commands import units as U
from workflow.importing import notice as N
from workflow.models import Inspection, Measure, OrgUnit, Plan, Problem, UnitAlias

NOW = dt.datetime(2024, 3, 6, 2, 0)


def unit_rows(engine) -> dict[str, tuple[str, str | None, list[str]]]:
    with db.read_tx(engine) as conn:
        names = dict(conn.execute(select(OrgUnit.id, OrgUnit.name)).all())
        aliases: dict[int, list[str]] = {}
        for uid, alias in conn.execute(select(UnitAlias.unit_id, UnitAlias.alias).order_by(UnitAlias.alias)):
            aliases.setdefault(uid, []).append(alias)
        return {r.name: (r.kind, names.get(r.parent_id), aliases.get(r.id, []))
                for r in conn.execute(select(OrgUnit.id, OrgUnit.name, OrgUnit.kind, OrgUnit.parent_id))}


def count(engine, model) -> int:
    with db.read_tx(engine) as conn:
        return conn.execute(select(func.count()).select_from(model)).scalar_one()


# --- commands ------------------------------------------------------------------------

def test_units_are_created_renamed_moved_and_aliased(engine):
    U.create_unit("测试县教育局", "department", engine=engine)
    U.create_unit("测试县人民政府", "district", engine=engine)
    U.create_unit("测试县教育发展中心", "department", parent="测试县教育局", aliases=["县教育发展中心"], engine=engine)
    U.add_alias("测试县教育局", "县教育局", engine=engine)
    U.set_parent("测试县教育局", "测试县人民政府", engine=engine)
    U.rename_unit("测试县教育局", "测试县教育和体育局", engine=engine)
    rows = unit_rows(engine)
    assert rows["测试县教育和体育局"] == ("department", "测试县人民政府", ["县教育局", "测试县教育局"])
    assert rows["测试县教育发展中心"] == ("department", "测试县教育和体育局", ["县教育发展中心"])
    U.remove_alias("测试县教育和体育局", "县教育局", engine=engine)
    assert unit_rows(engine)["测试县教育和体育局"][2] == ["测试县教育局"]


@pytest.mark.parametrize("call,match", [
    (lambda e: U.create_unit("测试县教育局", engine=e), "name: 测试县教育局 already exists"),
    (lambda e: U.create_unit("县教育局", engine=e), "name: 县教育局 already exists"),  # an alias is taken too
    (lambda e: U.create_unit("新单位", "planet", engine=e), "kind: one of"),
    (lambda e: U.add_alias("测试县财政局", "县教育局", engine=e), "already names another unit"),
    (lambda e: U.add_alias("测试县财政局", "测试县教育局", engine=e), "already names another unit"),
    (lambda e: U.remove_alias("测试县财政局", "县教育局", engine=e), "is not an alias of"),
    (lambda e: U.set_parent("测试县教育局", "测试县教育局", engine=e), "cannot be under itself"),
    (lambda e: U.set_parent("无此单位", None, engine=e), "no such unit"),
    (lambda e: U.set_unit_head("测试县教育局", "nobody", engine=e), "no such active user"),
])
def test_bad_unit_commands_are_refused_naming_the_field_and_write_nothing(engine, call, match):
    U.create_unit("测试县教育局", aliases=["县教育局"], engine=engine)
    U.create_unit("测试县财政局", engine=engine)
    before = unit_rows(engine)
    with pytest.raises(spec.Refused, match=match):
        call(engine)
    assert unit_rows(engine) == before


# --- the org chart -------------------------------------------------------------------

def write_xlsx(path, rows):
    wb = Workbook()
    for r in rows:
        wb.active.append(r)
    wb.save(path)
    return path


def test_an_org_chart_from_xlsx_creates_units_parents_and_aliases(engine, tmp_path):
    path = write_xlsx(tmp_path / "org.xlsx", [
        ["单位名称", "类型", "上级单位", "别名"],
        ["示例区人民政府", "区县", None, "区政府"],
        ["示例区教育局", "部门", "示例区人民政府", "区教育局、教育局"],
        ["示例街道办事处", "街道/办事处", "示例区人民政府", "示例街道"],
        ["示例社区", "community", "示例街道办事处", None],
    ])
    result = U.import_org_chart(path, engine=engine)
    assert result["units_created"] == ["示例区人民政府", "示例区教育局", "示例街道办事处", "示例社区"]
    assert result["aliases_added"] == 4
    rows = unit_rows(engine)
    assert rows["示例区教育局"] == ("department", "示例区人民政府", ["区教育局", "教育局"])
    assert rows["示例社区"] == ("community", "示例街道办事处", [])
    again = U.import_org_chart(path, engine=engine)  # idempotent: updates, adds nothing
    assert again["units_created"] == [] and again["aliases_added"] == 0 and unit_rows(engine) == rows


@pytest.mark.parametrize("rows,match", [
    ([["name", "kind"], ["甲局", "planet"]], r"org.csv: row 2, column kind: unknown kind 'planet'"),
    ([["name", "parent"], ["甲局", "无此单位"]], r"org.csv: row 2, column parent: no such unit: 无此单位"),
    ([["name"], ["甲局"], ["甲局"]], r"org.csv: row 3, column name: 甲局 repeats row 2"),
    ([["name", "aliases"], ["甲局", "乙局"], ["乙局", ""]], r"org.csv: row 2, column aliases: 乙局 already names"),
    ([["kind"], ["department"]], r"org.csv: row 1: expected a column name"),
    ([["name", "parent"], ["甲局", "乙局"], ["乙局", "甲局"]], r"row 3, column parent: a unit cannot be under itself"),
])
def test_a_bad_org_chart_names_row_and_column_and_writes_nothing(engine, tmp_path, rows, match):
    path = tmp_path / "org.csv"
    path.write_text("\n".join(",".join(r) for r in rows) + "\n", encoding="utf-8")
    with pytest.raises(spec.Refused, match=match):
        U.import_org_chart(path, engine=engine)
    assert count(engine, OrgUnit) == 0 and count(engine, UnitAlias) == 0


def test_rectify_units_import_and_list(sqlite_engine, tmp_path, capfd):
    from workflow.cli import main

    path = tmp_path / "org.csv"
    path.write_text("name,kind,parent,aliases\n示例区教育局,department,,区教育局、教育局\n示例中学,,示例区教育局,\n",
                    encoding="utf-8")
    assert main(["units", "import", str(path), "--dry-run"]) == 0
    assert "预览" in capfd.readouterr().out and count(sqlite_engine, OrgUnit) == 0
    assert main(["units", "import", str(path), "--json"]) == 0
    assert json.loads(capfd.readouterr().out)["units_created"] == ["示例区教育局", "示例中学"]
    assert main(["units", "list", "--json"]) == 0
    listed = {u["name"]: u for u in json.loads(capfd.readouterr().out)}
    assert listed["示例区教育局"]["aliases"] == ["区教育局", "教育局"]
    assert listed["示例中学"]["parent"] == "示例区教育局" and listed["示例中学"]["kind"] == "department"
    bad = tmp_path / "bad.csv"
    bad.write_text("name,kind\n甲局,planet\n", encoding="utf-8")
    assert main(["units", "import", str(bad)]) == 3
    assert "bad.csv: row 2, column kind" in capfd.readouterr().err


# --- notices find units in the database ----------------------------------------------

def test_a_notice_maps_units_through_aliases_and_creates_the_unknown_ones(engine, tmp_path):
    U.create_unit("示例区教育发展中心", aliases=["区教育发展中心"], engine=engine)
    path = tmp_path / "portal.txt"
    path.write_text(T.PORTAL, encoding="utf-8")
    report = N.import_notice(path, NOW, engine=engine)
    assert report["kind"] == "notice" and report["unmapped_columns"] == []
    assert (report["parts"], report["problems"], report["measures"]) == (2, 3, 6)
    assert report["units_created"] == ["局纪检组"]
    assert any("inspecting body" in w for w in report["warnings"])
    assert any("no responsible unit found for 4 measure(s)" in w for w in report["warnings"])
    with db.read_tx(engine) as conn:
        rows = conn.execute(select(Problem.no, Measure.seq, Measure.state, OrgUnit.name)
                            .join(Problem, Problem.id == Measure.problem_id)
                            .outerjoin(OrgUnit, OrgUnit.id == Measure.unit_id).order_by(Problem.no, Measure.seq)).all()
        assert conn.execute(select(Inspection.body, Inspection.target)).one() == ("", "")
    assert [tuple(r) for r in rows] == [
        (1, 1, "closed", "局纪检组"), (1, 2, "closed", "示例区教育发展中心"),
        (2, 1, "in_progress", None), (2, 2, "in_progress", None),
        (3, 1, "closed", None), (3, 2, "closed", None)]
    again = N.import_notice(path, NOW, engine=engine)
    assert again["units_created"] == [] and again["plan_id"] == report["plan_id"]
    assert again["created"]["measures"] == 0 and again["unchanged_measures"] == 6


def test_a_dry_run_reports_what_an_import_would_do_and_writes_nothing(engine, tmp_path):
    path = tmp_path / "traditional.txt"
    path.write_text(T.TRADITIONAL, encoding="utf-8")
    preview = N.import_notice(path, NOW, engine=engine, dry_run=True)
    assert preview["dry_run"] and preview["plan_id"] is None
    assert preview["units_created"] == ["公司法务部"] and preview["created"]["measures"] == 5
    assert count(engine, Plan) == 0 and count(engine, OrgUnit) == 0 and count(engine, Measure) == 0
    real = N.import_notice(path, NOW, engine=engine)
    assert {k: v for k, v in real.items() if k not in ("dry_run", "plan_id", "inspection_id")} == \
        {k: v for k, v in preview.items() if k not in ("dry_run", "plan_id", "inspection_id")}
    assert count(engine, Measure) == 5


def test_rectify_import_of_a_notice_prints_the_one_import_report(sqlite_engine, tmp_path, capfd):
    from workflow.cli import main

    path = tmp_path / "county.txt"
    path.write_text(T.render(T.Style(layout="county")), encoding="utf-8")
    assert main(["import", str(path), "--dry-run", "--json"]) == 0
    doc = json.loads(capfd.readouterr().out)
    assert {"kind", "parts", "problems", "measures", "units_created", "unmapped_columns", "warnings"} <= set(doc)
    assert (doc["kind"], doc["parts"], doc["problems"], doc["measures"]) == ("notice", 2, 5, 10)
    assert count(sqlite_engine, Plan) == 0
    assert main(["import", str(path)]) == 0
    assert "已导入" in capfd.readouterr().out and count(sqlite_engine, Measure) == 10
