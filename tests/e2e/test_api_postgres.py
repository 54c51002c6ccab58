"""The same API on PostgreSQL: visibility, lights, triggers with If-Match, uploads, sessions."""
from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import update

from tests.conftest import png_bytes
from workflow import audit, workdays
from workflow.models import Measure

pytestmark = pytest.mark.postgres
API = "/api/v1"


def test_on_postgres_each_role_sees_its_own_measures_and_lights_filter_in_sql(pg_site):
    site = pg_site
    ms = site.ids["measures"]
    today = workdays.local_today(site.clock())
    with site.engine.begin() as conn:
        for mid, days in zip(ms, (-12, -1, 0, 2, 5, 40, 60, 90)):
            conn.execute(update(Measure).where(Measure.id == mid).values(deadline=today + dt.timedelta(days=days)))
    assert site.api("GET", f"{API}/measures", "owner1").get_json()["total"] == len(ms)
    assert site.api("GET", f"{API}/measures", "owner3").get_json()["total"] == 0
    assert site.api("GET", f"{API}/measures/{ms[0]}", "leader2").status_code == 404
    rows = site.api("GET", f"{API}/measures?per_page=200", "super1").get_json()["items"]
    for light in ("red", "yellow", "green"):
        got = [m["id"] for m in site.api("GET", f"{API}/measures?light={light}", "super1").get_json()["items"]]
        assert got == [r["id"] for r in rows if r["light"] == light], light
    assert site.api("GET", f"{API}/measures?unit=%E6%B0%B4%E5%88%A9%E5%B1%80", "office1").get_json()["total"] == len(ms)


def test_on_postgres_the_lifecycle_runs_over_http_with_if_match_and_evidence(pg_site):
    site = pg_site
    m = site.ids["measures"][0]
    base = f"{API}/measures/{m}/triggers"
    assert site.api("POST", f"{base}/start", "owner1", json={}, headers={"If-Match": '"1"'}).status_code == 200
    assert site.api("POST", f"{base}/start", "owner1", json={}, headers={"If-Match": '"1"'}).status_code == 412
    r = site.api("POST", f"{base}/submit", "owner1", headers={"If-Match": '"2"'}, content_type="multipart/form-data",
                 data={"comment": "已完成。", "evidence": (io.BytesIO(png_bytes(5)), "照片.png")})
    assert r.status_code == 200, r.get_json()
    assert site.api("POST", f"{base}/approve", "leader1", json={}).status_code == 200
    assert site.api("POST", f"{base}/sign_off", "office1", json={}).get_json()["state"] == "closed"
    sha = site.api("GET", f"{API}/measures/{m}", "owner1").get_json()["evidence"][0]["sha256"]
    assert site.api("GET", f"{API}/evidence/{sha}", "owner1").data == png_bytes(5)
    assert site.api("GET", f"{API}/evidence/{sha}", "owner3").status_code == 404
    assert site.api("POST", f"{base}/comment", "owner1", json={"comment": "a\x00b"}).status_code == 422
    assert audit.verify(site.engine) is None
    assert site.api("GET", f"{API}/stats", "office1").get_json()["by_state"]["closed"] == 1
    problems = site.api("GET", f"{API}/problems", "owner1").get_json()["items"]
    assert problems[0]["closed"] == 1 and problems[0]["measure_ids"] == site.ids["measures"]
    assert site.api("GET", f"{API}/problems", "leader2").get_json()["total"] == 0


def test_on_postgres_sessions_and_the_sign_in_limit_work(pg_site):
    site = pg_site
    c = site.app.test_client()
    assert site.login(c, "owner1").status_code == 302
    assert c.get(f"{API}/me").status_code == 200
    site.clock.advance(minutes=31)
    assert c.get(f"{API}/me").status_code == 401
    for _ in range(5):
        assert site.login(site.app.test_client(), "owner2", "wrong").status_code == 200
    assert site.login(site.app.test_client(), "owner2").status_code == 429
