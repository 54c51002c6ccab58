"""The admin units page through Flask's test client: aliases listed, added and removed, and the org
chart uploaded; a bad upload names row and column and writes nothing."""
from __future__ import annotations

import io

from sqlalchemy import func, select

from tests.e2e.test_pages import post, signed_in, token
from workflow.models import OrgUnit, UnitAlias


def aliases(site, unit: str) -> list[str]:
    with site.engine.connect() as conn:
        return list(conn.execute(select(UnitAlias.alias).join(OrgUnit, OrgUnit.id == UnitAlias.unit_id)
                                 .where(OrgUnit.name == unit).order_by(UnitAlias.alias)).scalars())


def upload(client, name: str, data: bytes):
    return client.post("/admin/units/import", data={"csrf_token": token(client, "/admin/units"),
                                                    "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def test_admin_adds_and_removes_an_alias_and_sees_it_listed(site):
    admin = signed_in(site, "admin1")
    r = post(admin, "/admin/units/alias", {"unit": "水利局", "alias": "区水利局"}, csrf_from="/admin/units")
    assert r.status_code == 302 and aliases(site, "水利局") == ["区水利局"]
    page = admin.get("/admin/units").get_data(as_text=True)
    assert 'data-alias="区水利局"' in page and "添加别名" in page
    assert "Add an alias" in admin.get("/admin/units?lang=en").get_data(as_text=True)
    r = post(admin, "/admin/units/alias", {"unit": "水利局", "alias": "区水利局", "remove": "1"},
             csrf_from="/admin/units")
    assert r.status_code == 302 and aliases(site, "水利局") == []


def test_an_alias_taken_by_another_unit_is_refused_with_a_message(site):
    admin = signed_in(site, "admin1")
    post(admin, "/admin/units", {"name": "发改局", "kind": "department"}, csrf_from="/admin/units")
    r = post(admin, "/admin/units/alias", {"unit": "发改局", "alias": "水利局"}, csrf_from="/admin/units")
    assert r.status_code == 302 and aliases(site, "发改局") == []
    page = admin.get("/admin/units").get_data(as_text=True)
    assert "「水利局」已是另一个单位的名称或别名" in page and "already names" not in page


def test_admin_uploads_an_org_chart(site):
    admin = signed_in(site, "admin1")
    csv = "名称,类型,上级单位,别名\n测试县发改局,部门,,县发改局、发改委\n测试县统计局,department,测试县发改局,\n"
    r = upload(admin, "组织架构.csv", csv.encode("utf-8"))
    assert r.status_code == 302
    page = admin.get("/admin/units").get_data(as_text=True)
    assert "新建 2 个单位" in page and 'data-unit="测试县统计局"' in page and 'data-alias="发改委"' in page
    assert aliases(site, "测试县发改局") == ["县发改局", "发改委"]


def test_a_bad_org_chart_upload_names_the_cell_and_writes_nothing(site):
    admin = signed_in(site, "admin1")
    with site.engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(OrgUnit)).scalar_one()
    r = upload(admin, "org.csv", "name,kind\n新单位甲,department\n新单位乙,planet\n".encode())
    assert r.status_code == 302
    assert "org.csv：第 3 行「类型」列：没有「planet」这种单位类型" in admin.get("/admin/units").get_data(as_text=True)
    with site.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(OrgUnit)).scalar_one() == before
    assert upload(admin, "org.txt", b"name\n").status_code == 302
    assert "请上传 .xlsx 或 .csv 文件" in admin.get("/admin/units").get_data(as_text=True)


def test_only_admins_may_change_units(site):
    office = signed_in(site, "office1")
    r = office.post("/admin/units/alias", data={"csrf_token": token(office), "unit": "水利局", "alias": "x"})
    assert r.status_code == 403 and aliases(site, "水利局") == []
