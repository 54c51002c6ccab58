"""The REST API over HTTP: the ledger, one measure, triggers, evidence, If-Match and conflicts."""
from __future__ import annotations

import datetime as dt
import io
import sqlite3
import threading
import time

import pytest
from sqlalchemy import select, update

from tests.conftest import png_bytes
from workflow import audit, readmodels, workdays
from workflow.models import Measure, Plan

API = "/api/v1"


def test_the_ledger_pages_in_id_order_and_every_page_is_stable(site):
    ids = site.ids["measures"]
    seen = []
    for page in (1, 2, 3):
        r = site.api("GET", f"{API}/measures?per_page=3&page={page}", "office1")
        assert r.status_code == 200
        body = r.get_json()
        assert (body["total"], body["pages"], body["per_page"]) == (len(ids), 3, 3)
        seen += [m["id"] for m in body["items"]]
    assert seen == sorted(ids)
    again = site.api("GET", f"{API}/measures?per_page=3&page=2", "office1").get_json()
    assert [m["id"] for m in again["items"]] == seen[3:6]


def test_the_ledger_filters_by_state_unit_part_and_problem(site):
    a, b = site.ids["measures"][:2]
    site.drive(a, "in_progress")
    site.drive(b, "submitted")

    def ids(query):
        r = site.api("GET", f"{API}/measures?{query}", "office1")
        assert r.status_code == 200, r.get_json()
        return [m["id"] for m in r.get_json()["items"]]

    assert ids("state=submitted") == [b]
    assert ids("state=in_progress&unit=水利局") == [a]
    assert ids("unit=住建局") == []
    assert len(ids("part=1&problem=1")) == len(site.ids["measures"])
    assert ids("part=2") == []


def test_a_bad_filter_is_a_422_naming_the_field(site):
    r = site.api("GET", f"{API}/measures?state=finished&per_page=1000", "office1")
    assert r.status_code == 422
    body = r.get_json()
    assert body["code"] == "validation_error"
    assert set(body["errors"]["query"]) == {"state", "per_page"}


def _spread_deadlines(site, offsets):
    today = workdays.local_today(site.clock())
    with site.engine.begin() as conn:
        for mid, days in zip(site.ids["measures"], offsets):
            conn.execute(update(Measure).where(Measure.id == mid).values(deadline=today + dt.timedelta(days=days)))


@pytest.mark.parametrize("ladder", [None, {"yellow_within": 6}], ids=["default-ladder", "plan-ladder"])
def test_the_light_filter_agrees_with_the_light_of_every_row(site, ladder):
    ms = site.ids["measures"]
    _spread_deadlines(site, [-15, -3, 0, 1, 3, 4, 6, 30])
    site.drive(ms[1], "submitted")  # overdue but waiting for approval: green
    site.drive(ms[7], "closed")
    with site.engine.begin() as conn:
        conn.execute(update(Plan).values(ladder=ladder))
    rows = site.api("GET", f"{API}/measures?per_page=200", "office1").get_json()["items"]
    computed = {r["id"]: r["light"] for r in rows}
    cli = {r["id"]: r["light"] for r in readmodels.iter_items(now=site.clock(), engine=site.engine)}
    assert computed == cli
    assert set(computed.values()) == {"red", "yellow", "green", "done"}
    for light in ("green", "yellow", "red", "done"):
        got = [m["id"] for m in site.api("GET", f"{API}/measures?light={light}&per_page=200",
                                         "office1").get_json()["items"]]
        assert got == sorted(i for i, lt in computed.items() if lt == light), light


def test_a_measure_has_an_etag_and_the_triggers_its_viewer_may_fire(site):
    m = site.ids["measures"][0]
    r = site.api("GET", f"{API}/measures/{m}", "owner1")
    assert r.status_code == 200
    body = r.get_json()
    assert r.headers["ETag"] == '"1"' and body["version"] == 1
    assert body["allowed_triggers"] == ["start", "comment", "progress_update", "request_extension"]
    assert body["owner"] == "owner1" and body["unit"] == "水利局" and body["problem_text"] == "学习不主动。"
    assert site.api("GET", f"{API}/measures/{m}", "office1").get_json()["allowed_triggers"] == [
        "reassign", "comment", "urge"]


def test_firing_a_trigger_returns_the_new_version_and_the_timeline_records_it(site):
    m = site.ids["measures"][0]
    r = site.api("POST", f"{API}/measures/{m}/triggers/start", "owner1", json={}, headers={"If-Match": '"1"'})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["state"] == "in_progress" and r.headers["ETag"] == '"2"'
    r = site.api("POST", f"{API}/measures/{m}/triggers/comment", "leader1", json={"comment": "请本周内完成"})
    assert r.status_code == 200
    events = site.api("GET", f"{API}/measures/{m}/events", "owner1").get_json()
    assert [(e["kind"], e["actor"]) for e in events] == [("create", "system"), ("start", "owner1"),
                                                        ("comment", "leader1")]
    assert events[2]["body"] == {"comment": "请本周内完成"}
    assert events[2]["prev_hash"] == events[1]["hash"]
    assert audit.verify(site.engine) is None


def test_submitting_with_evidence_files_stores_them_and_only_viewers_may_download_them(site):
    m = site.ids["measures"][0]
    site.drive(m, "in_progress")
    pdf = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
    data = {"comment": "已整改完毕。", "evidence": [(io.BytesIO(png_bytes(7)), "现场照片.png"),
                                                  (io.BytesIO(pdf), "整改报告.pdf")]}
    r = site.api("POST", f"{API}/measures/{m}/triggers/submit", "owner1", data=data,
                 content_type="multipart/form-data")
    assert r.status_code == 200, r.get_json()
    assert len(r.get_json()["evidence"]) == 2
    detail = site.api("GET", f"{API}/measures/{m}", "leader1").get_json()
    assert [(e["name"], e["mime"]) for e in detail["evidence"]] == [("现场照片.png", "image/png"),
                                                                    ("整改报告.pdf", "application/pdf")]
    sha = detail["evidence"][1]["sha256"]
    got = site.api("GET", f"{API}/evidence/{sha}", "leader1")
    assert got.status_code == 200 and got.data == pdf
    assert got.mimetype == "application/pdf"
    assert got.headers["Content-Disposition"].startswith("attachment;")
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert site.api("GET", f"{API}/evidence/{sha}", "owner3").status_code == 404


def test_a_stale_if_match_is_412_and_names_the_current_version(site):
    m = site.ids["measures"][0]
    site.drive(m, "in_progress")  # version 2 now
    for stale in ('"1"', 'W/"1"', "1", "garbage"):
        r = site.api("POST", f"{API}/measures/{m}/triggers/comment", "owner1", json={"comment": "x"},
                     headers={"If-Match": stale})
        assert r.status_code == 412, stale
        assert r.get_json()["code"] == "precondition_failed"
        assert r.headers["ETag"] == '"2"'
    # a current tag, weak or strong, in a list, or "*" passes; each success moves the tag on
    for fresh, version_after in (('"2"', 3), ('W/"3"', 4), ('"1", "4"', 5), ("*", 6)):
        r = site.api("POST", f"{API}/measures/{m}/triggers/comment", "owner1", json={"comment": "x"},
                     headers={"If-Match": fresh})
        assert r.status_code == 200, fresh
        assert r.headers["ETag"] == f'"{version_after}"'


def test_a_write_that_loses_a_race_after_its_check_is_a_409_conflict(site):
    """Another writer commits between the request's If-Match check and its write."""
    m = site.ids["measures"][0]
    site.drive(m, "in_progress")
    results = {}
    raw = sqlite3.connect(site.folder / "rectify.db", isolation_level=None, timeout=10)
    raw.execute("BEGIN IMMEDIATE")  # the other writer holds the write lock
    worker = threading.Thread(target=lambda: results.update(r=site.api(
        "POST", f"{API}/measures/{m}/triggers/comment", "owner1", json={"comment": "慢了一步"},
        headers={"If-Match": '"2"'})))
    worker.start()
    time.sleep(1.0)  # the request has passed its If-Match check and waits for the lock
    raw.execute("UPDATE measures SET version = version + 1 WHERE id = ?", (m,))
    raw.execute("COMMIT")
    raw.close()
    worker.join(20)
    r = results["r"]
    assert r.status_code == 409, r.get_json()
    assert r.get_json()["code"] == "conflict"
    with site.engine.connect() as conn:
        assert conn.execute(select(Measure.version).where(Measure.id == m)).scalar() == 3


def test_errors_speak_english_when_asked_and_chinese_otherwise(site):
    m = site.ids["measures"][0]
    path = f"{API}/measures/{m}/triggers/approve"
    zh = site.api("POST", path, "leader1", json={}).get_json()
    en = site.api("POST", path, "leader1", json={}, headers={"Accept-Language": "en-GB,en;q=0.8"}).get_json()
    en2 = site.api("POST", path + "?lang=en", "leader1", json={}).get_json()
    assert zh["code"] == en["code"] == en2["code"] == "wrong_state"
    assert zh["message"] == "整改措施当前的状态不允许此操作"
    assert en["message"] == en2["message"] == "The measure’s current state does not allow this"


def test_a_body_that_is_not_json_or_a_form_is_refused_cleanly(site):
    m = site.ids["measures"][0]
    path = f"{API}/measures/{m}/triggers/comment"
    r = site.api("POST", path, "owner1", data="comment=x", content_type="text/plain")
    assert (r.status_code, r.get_json()["code"]) == (415, "unsupported_media_type")
    r = site.api("POST", path, "owner1", data="{not json", content_type="application/json")
    assert (r.status_code, r.get_json()["code"]) == (400, "bad_request")
    r = site.api("POST", path, "owner1", json={"comment": "x", "colour": "red"})
    assert (r.status_code, r.get_json()["code"]) == (422, "validation_error")
    assert "colour" in r.get_json()["errors"]["body"]
    r = site.api("POST", path, "owner1", json={"comment": "a\x00b"})
    assert (r.status_code, r.get_json()["code"]) == (422, "validation_error")
    r = site.api("POST", path, "owner1", json=["comment"])
    assert r.status_code == 422


def test_problems_show_their_derived_progress_to_those_who_see_a_measure(site):
    ms = site.ids["measures"]
    for m in ms:
        site.drive(m, "closed")
    body = site.api("GET", f"{API}/problems", "owner1").get_json()
    assert body["total"] == 1
    p = body["items"][0]
    assert (p["no"], p["progress"], p["measures"], p["closed"]) == (1, "done", len(ms), len(ms))
    assert p["measure_ids"] == ms
    assert site.api("GET", f"{API}/problems", "owner3").get_json()["total"] == 0


def test_stats_count_only_what_the_caller_may_see(site):
    a, b = site.ids["measures"][:2]
    site.drive(a, "submitted")
    site.drive(b, "closed")
    office = site.api("GET", f"{API}/stats", "office1").get_json()
    n = len(site.ids["measures"])
    assert office["total"] == n
    assert office["by_state"] == {"assigned": n - 2, "in_progress": 0, "submitted": 1, "verified": 0, "closed": 1}
    assert office["by_light"]["done"] == 1 and sum(office["by_light"].values()) == n
    assert office["by_unit"] == [{"unit": "水利局", "total": n, "closed": 1, "closed_on_time": 1, "red": 0,
                                  "yellow": 0}]
    other = site.api("GET", f"{API}/stats", "owner3").get_json()
    assert other["total"] == 0 and other["by_unit"] == []


def test_the_inbox_holds_the_callers_messages_and_marks_them_read(site):
    m = site.ids["measures"][0]
    site.drive(m, "submitted")  # the leader is told
    inbox = site.api("GET", f"{API}/notifications", "leader1").get_json()
    assert inbox["unread"] == 1 and inbox["items"][0]["kind"] == "awaiting_approval"
    assert inbox["items"][0]["measure_id"] == m
    nid = inbox["items"][0]["id"]
    assert site.api("POST", f"{API}/notifications/{nid}/read", "owner1").status_code == 404
    r = site.api("POST", f"{API}/notifications/{nid}/read", "leader1")
    assert r.status_code == 200 and r.get_json() == {"marked": 1}
    after = site.api("GET", f"{API}/notifications?unread=true", "leader1").get_json()
    assert after["unread"] == 0 and after["items"] == []
    assert site.api("GET", f"{API}/notifications", "leader1").get_json()["items"][0]["read_at"]


def test_me_tells_the_caller_who_they_are(site):
    r = site.api("GET", f"{API}/me", "head1")
    body = r.get_json()
    assert (body["username"], body["name"], body["roles"], body["unit"]) == ("head1", "水利局局长", ["owner"], "水利局")
    assert body["units"] == [{"name": "水利局", "head": True}]
    assert body["language"] == "zh"


def test_health_is_ok_while_the_database_answers(site):
    r = site.client.get("/healthz")
    assert r.status_code == 200 and r.get_json() == {"status": "ok"}


def test_the_openapi_document_describes_every_route_and_the_docs_load_nothing_remote(site):
    spec = site.client.get(f"{API}/openapi.json").get_json()
    for path in ("/api/v1/me", "/api/v1/measures", "/api/v1/measures/{measure_id}",
                 "/api/v1/measures/{measure_id}/triggers/{trigger}", "/api/v1/measures/{measure_id}/events",
                 "/api/v1/evidence/{sha256}", "/api/v1/problems", "/api/v1/notifications", "/api/v1/stats"):
        assert path in spec["paths"], path
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    html = site.client.get(f"{API}/docs").get_data(as_text=True)
    assert "http://" not in html and "https://" not in html
    for asset in ("/static/vendor/swagger-ui/swagger-ui-bundle.js", "/static/vendor/swagger-ui/swagger-ui.css",
                  "/static/js/api-docs.js"):
        assert asset in html
        assert site.client.get(asset).status_code == 200


def test_an_undeclared_query_parameter_is_refused_by_name_and_lang_is_not(site):
    r = site.api("GET", f"{API}/measures?per_pag=10", "office1")
    assert r.status_code == 422 and "per_pag" in r.get_data(as_text=True)
    assert site.api("GET", f"{API}/measures?lang=en", "office1").status_code == 200
