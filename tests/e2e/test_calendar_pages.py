"""The holiday calendar page ``/admin/calendar`` and the dashboard's banner, through Flask's test client.

The 2027 schedule pasted here is made up (``tests/data/calendar.py``).
"""
from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from sqlalchemy import func, select

from tests.data.calendar import CSV_2027, HOLIDAYS_2027, NOTICE_2027
from workflow import holidays
from workflow.models import CalendarImport

TOKEN_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
MISSING = "2027年节假日安排尚未录入"


@pytest.fixture(autouse=True)
def _calendar_forgotten():
    """Imported schedules belong to one database: after each test, count with the package alone again."""
    yield
    holidays.forget()


def signed_in(site, username):
    client = site.app.test_client()
    assert site.login(client, username).status_code == 302
    return client


def send(client, data=None, upload=None, query=""):
    page = client.get("/admin/calendar").get_data(as_text=True)
    data = {**(data or {}), "csrf_token": TOKEN_RE.search(page).group(1)}
    if upload:
        data["file"] = (io.BytesIO(upload[1]), upload[0])
        return client.post("/admin/calendar" + query, data=data, content_type="multipart/form-data")
    return client.post("/admin/calendar" + query, data=data)


def refused(client, r) -> str:
    """A refused form answers with a redirect back to the page: the page it leads to."""
    assert r.status_code == 303, r.status_code
    return client.get(r.headers["Location"]).get_data(as_text=True)


def imports(site) -> int:
    with site.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(CalendarImport)).scalar_one()


def row(body: str, year: int) -> str:
    m = re.search(rf'<tr data-year="{year}"[^>]*>.*?</tr>', body, re.S)
    assert m, f"no row for {year}"
    return m.group(0)


def test_the_calendar_page_is_for_the_admin_and_the_office_and_in_their_menu(site):
    assert site.app.test_client().get("/admin/calendar").status_code == 302
    for user, status in (("admin1", 200), ("office1", 200), ("owner1", 403), ("leader1", 403), ("super1", 403)):
        client = signed_in(site, user)
        assert client.get("/admin/calendar").status_code == status, user
        assert ('href="/admin/calendar"' in client.get("/ledger").get_data(as_text=True)) == (status == 200), user


def test_the_page_lists_each_year_with_its_source_and_counts(site):
    body = signed_in(site, "admin1").get("/admin/calendar").get_data(as_text=True)
    assert 'data-source="package"' in row(body, 2026) and 'data-source="none"' in row(body, 2027)
    assert "未录入，按周末计算" in row(body, 2027)
    assert "Not entered: weekends only" in signed_in(site, "admin1").get("/admin/calendar?lang=en").get_data(
        as_text=True)  # (a fresh client: the language it chooses is remembered)


def test_pasting_the_notice_imports_the_year_and_the_page_shows_who_and_what(site):
    office = signed_in(site, "office1")
    r = send(office, {"text": NOTICE_2027})
    assert r.status_code == 303
    body = office.get("/admin/calendar").get_data(as_text=True)
    assert "已录入2027年节假日安排：放假 29 天，调休上班 6 天" in body
    line = row(body, 2027)
    assert 'data-source="imported"' in line and f">{HOLIDAYS_2027}<" in line and "整改办工作人员" in line
    assert "office1" not in line  # the person's name, not their login name


def test_a_pasted_notice_with_a_bad_line_is_refused_in_chinese_naming_the_line_and_nothing_is_written(site):
    admin = signed_in(site, "admin1")
    bad = NOTICE_2027.replace("共9天", "共10天")
    r = send(admin, {"text": bad})
    page = refused(admin, r)
    assert "第6行：写明共10天" in page and "data-error" in page
    assert "共10天" in page  # the pasted text is kept to be corrected
    assert imports(site) == 0
    assert "line 6: says 10 days" in refused(admin, send(admin, {"text": bad}, query="?lang=en"))
    r = send(admin, {"text": "各有关单位：\n一、元旦：1月1日至3日放假，共3天。"}, query="?lang=zh")
    assert "未找到年份" in refused(admin, r)
    assert send(admin, {"text": "一、元旦：1月1日至3日放假，共3天。", "year": "2027"}).status_code == 303
    assert imports(site) == 1


def test_a_csv_uploaded_imports_the_year(site):
    admin = signed_in(site, "admin1")
    r = send(admin, upload=("2027.csv", CSV_2027.encode("utf-8")))
    assert r.status_code == 303
    line = row(admin.get("/admin/calendar").get_data(as_text=True), 2027)
    assert 'data-source="imported"' in line and ">12<" in line and "2027.csv" in line
    r = send(admin, upload=("bad.csv", b"date,kind\n2027-01-01,holiday\n2027-01-04,workday\n"))
    assert "bad.csv: 第3行" in refused(admin, r)


def test_the_dashboard_warns_the_office_and_admin_of_an_uncovered_year_until_it_is_imported(site):
    site.clock.t = dt.datetime(2027, 1, 4, 2, 0)  # Monday 4 January 2027, 10:00 in China
    office, admin, owner = (signed_in(site, u) for u in ("office1", "admin1", "owner1"))
    for client in (office, admin):
        body = client.get("/dashboard").get_data(as_text=True)
        assert 'data-calendar-missing="2027"' in body and MISSING in body
    assert "data-calendar-missing" not in owner.get("/dashboard").get_data(as_text=True)
    english = office.get("/dashboard?lang=en").get_data(as_text=True)
    assert "No holiday schedule has been entered for 2027" in english
    assert send(office, {"text": NOTICE_2027}, query="?lang=zh").status_code == 303
    assert "data-calendar-missing" not in office.get("/dashboard").get_data(as_text=True)
