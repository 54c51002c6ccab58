"""Security over HTTP: CSRF, headers, sessions, sign-in limits, tokens, IDOR and uploads."""
from __future__ import annotations

import io
import os
import stat

import pytest
from sqlalchemy import func, select, update

from tests.conftest import png_bytes
from workflow.models import ApiToken, LoginFailure, Measure, MeasureEvidence, User, WebSession

API = "/api/v1"


def _cookie(client, name="rectify_session"):
    c = client.get_cookie(name)
    return c.value if c else None


def _signed_in(client) -> bool:
    return client.get(f"{API}/me").status_code == 200


# --- CSRF ---------------------------------------------------------------------------

def test_a_form_post_without_its_csrf_token_is_refused_with_400(site):
    c = site.app.test_client()
    c.get("/login")
    r = c.post("/login", data={"username": "owner1", "password": "pw-owner1"})
    assert r.status_code == 400
    assert "安全令牌" in r.get_data(as_text=True)
    assert not _signed_in(c)
    site.login(c, "owner1")
    r = c.post("/logout")  # signed in, but no token
    assert r.status_code == 400 and _signed_in(c)


def test_a_csrf_token_from_another_session_is_refused(site):
    a, b = site.app.test_client(), site.app.test_client()
    foreign = site.csrf(a)
    b.get("/login")
    r = b.post("/login", data={"username": "owner1", "password": "pw-owner1", "csrf_token": foreign})
    assert r.status_code == 400


def test_the_api_used_with_a_session_cookie_needs_the_csrf_header_to_write(site):
    c = site.app.test_client()
    site.login(c, "owner1")
    m = site.ids["measures"][0]
    path = f"{API}/measures/{m}/triggers/comment"
    assert c.get(f"{API}/measures/{m}").status_code == 200  # reading needs no token
    r = c.post(path, json={"comment": "没有令牌"})
    assert (r.status_code, r.get_json()["code"]) == (400, "csrf_failed")
    token = site.csrf(c, "/")  # any page of the session carries it
    r = c.post(path, json={"comment": "带上令牌"}, headers={"X-CSRFToken": token})
    assert r.status_code == 200, r.get_json()


# --- headers ---------------------------------------------------------------------

def test_every_page_carries_the_security_headers_and_no_inline_script_is_allowed(site):
    r = site.client.get("/login")
    h = r.headers
    csp = h["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["X-Frame-Options"] == "DENY"
    assert h["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in h
    html = r.get_data(as_text=True)
    assert "<script>" not in html and "http://" not in html and "https://" not in html  # nothing remote
    api = site.api("GET", f"{API}/me", "owner1").headers
    assert api["X-Content-Type-Options"] == "nosniff" and api["Cache-Control"] == "no-store"


def test_https_requests_get_hsts_and_secure_cookies_when_configured(make_site):
    site = make_site(config={"RECTIFY_HTTPS": True})
    c = site.app.test_client()
    r = c.get("/login", base_url="https://rectify.example")
    assert r.headers["Strict-Transport-Security"].startswith("max-age=")
    set_cookie = r.headers.get("Set-Cookie", "")
    assert "Secure" in set_cookie and "HttpOnly" in set_cookie


# --- sessions ---------------------------------------------------------------------

def test_signing_in_rotates_the_session_cookie_and_signing_out_kills_it_everywhere(site):
    c = site.app.test_client()
    c.get("/login")
    before = _cookie(c)
    assert before
    r = site.login(c, "owner1")
    assert r.status_code == 302
    after = _cookie(c)
    assert after and after != before
    assert _signed_in(c)
    # the cookie from before sign-in is not a signed-in cookie
    old = site.app.test_client()
    old.set_cookie("rectify_session", before)
    assert not _signed_in(old)
    # a copy of the signed-in cookie works until sign-out, then nowhere
    copy = site.app.test_client()
    copy.set_cookie("rectify_session", after)
    assert _signed_in(copy)
    token = site.csrf(c, "/")
    assert c.post("/logout", data={"csrf_token": token}).status_code == 302
    assert not _signed_in(c)
    assert not _signed_in(copy)
    with site.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(WebSession)).scalar() == 0


def test_the_database_keeps_only_a_hash_of_the_session_token(site):
    c = site.app.test_client()
    site.login(c, "owner1")
    with site.engine.connect() as conn:
        stored = conn.execute(select(WebSession.id)).scalar_one()
    assert len(stored) == 64 and stored not in _cookie(c)


def test_a_session_idle_for_more_than_30_minutes_ends(site):
    c = site.app.test_client()
    site.login(c, "owner1")
    site.clock.advance(minutes=29)
    assert _signed_in(c)  # and this use resets the idle timer
    site.clock.advance(minutes=29)
    assert _signed_in(c)
    site.clock.advance(minutes=31)
    assert not _signed_in(c)
    r = c.get("/", follow_redirects=False)
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_a_session_ends_after_12_hours_however_busy(site):
    c = site.app.test_client()
    site.login(c, "owner1")
    for _ in range(35):  # 35 × 20 minutes = 11 h 40 min
        site.clock.advance(minutes=20)
        assert _signed_in(c)
    site.clock.advance(minutes=25)
    assert not _signed_in(c)


def test_an_expired_session_sends_the_browser_to_sign_in_with_a_notice(site):
    c = site.app.test_client()
    site.login(c, "owner1")
    site.clock.advance(hours=1)
    r = c.get("/", follow_redirects=True)
    text = r.get_data(as_text=True)
    assert "登录已超时" in text and 'name="password"' in text


def test_sign_in_goes_back_to_a_local_page_only(site):
    for target, landing in (("/api/v1/me", "/api/v1/me"), ("https://evil.example/x", "/"),
                            ("//evil.example", "/"), ("/\\evil.example", "/")):
        c = site.app.test_client()
        token = site.csrf(c)
        r = c.post("/login", data={"username": "owner1", "password": "pw-owner1", "csrf_token": token,
                                   "next": target})
        assert r.status_code == 302 and r.headers["Location"] == landing, target


def test_a_deactivated_user_loses_their_session_and_tokens_at_once(site):
    c = site.app.test_client()
    site.login(c, "owner1")
    assert _signed_in(c)
    with site.engine.begin() as conn:
        conn.execute(update(User).where(User.username == "owner1").values(active=False))
    assert not _signed_in(c)
    assert site.api("GET", f"{API}/me", "owner1").status_code == 401


# --- the sign-in rate limit ----------------------------------------------------------

def _try(site, username, password, ip):
    c = site.app.test_client()
    c.environ_base["REMOTE_ADDR"] = ip
    token = site.csrf(c)
    return c.post("/login", data={"username": username, "password": password, "csrf_token": token})


def test_five_wrong_passwords_for_one_name_from_one_address_lock_that_pair_for_five_minutes(site):
    for _ in range(5):
        r = _try(site, "owner1", "wrong", "10.0.0.1")
        assert r.status_code == 200 and "用户名或密码错误" in r.get_data(as_text=True)
    r = _try(site, "owner1", "pw-owner1", "10.0.0.1")  # even the right password, from that address
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) > 0
    assert "登录失败次数过多" in r.get_data(as_text=True)
    assert _try(site, "owner1", "pw-owner1", "10.0.1.1").status_code == 302  # the person elsewhere is not locked
    assert _try(site, "owner2", "pw-owner2", "10.0.0.1").status_code == 302  # nor others from that address
    site.clock.advance(minutes=5, seconds=1)
    assert _try(site, "owner1", "pw-owner1", "10.0.0.1").status_code == 302


def test_twenty_failures_from_one_address_lock_that_address_whatever_the_names(site):
    for i in range(20):
        assert _try(site, f"nobody{i}", "guess", "192.0.2.7").status_code == 200
    assert _try(site, "owner1", "pw-owner1", "192.0.2.7").status_code == 429
    assert _try(site, "owner1", "pw-owner1", "192.0.2.8").status_code == 302


def test_the_failure_counter_lives_in_the_database_shared_by_every_worker(site, make_site):
    for _ in range(3):
        _try(site, "owner1", "wrong", "10.9.0.1")
    # a second app (another worker) on the same database sees the same count
    from web import create_app

    other = create_app({"TESTING": True, "RECTIFY_CLOCK": site.clock})
    site2 = type(site)(other, site.engine, site.ids, site.tokens, site.clock, site.folder, other.test_client())
    _try(site2, "owner1", "wrong", "10.9.0.1")
    _try(site, "owner1", "wrong", "10.9.0.1")
    assert _try(site2, "owner1", "pw-owner1", "10.9.0.1").status_code == 429
    with site.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(LoginFailure)
                            .where(LoginFailure.key == "pair:owner1|10.9.0.1")).scalar() == 5


# --- bearer tokens -----------------------------------------------------------------

def test_a_bad_revoked_or_misplaced_token_is_401_and_never_falls_back(site):
    good = site.tokens["owner1"]
    for header in ("Bearer nonsense", "Basic b3duZXIxOnB3", f"Bearer {good}x", "Bearer"):
        r = site.client.get(f"{API}/me", headers={"Authorization": header})
        assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer"), header
    with site.engine.begin() as conn:
        conn.execute(update(ApiToken).values(revoked=True))
    assert site.api("GET", f"{API}/me", "owner1").status_code == 401
    # a signed-in browser that sends a broken token is not let in by its cookie
    c = site.app.test_client()
    site.login(c, "office1")
    assert c.get(f"{API}/me", headers={"Authorization": "Bearer broken"}).status_code == 401


def test_the_database_keeps_only_a_hash_of_each_token(site):
    with site.engine.connect() as conn:
        hashes = set(conn.execute(select(ApiToken.token_hash)).scalars())
    assert not hashes & set(site.tokens.values())


# --- IDOR ------------------------------------------------------------------------

def test_guessing_another_units_measure_looks_exactly_like_a_missing_one(site):
    m = site.ids["measures"][0]
    for suffix in ("", "/events"):
        hidden = site.api("GET", f"{API}/measures/{m}{suffix}", "owner3")
        missing = site.api("GET", f"{API}/measures/999999{suffix}", "owner3")
        assert hidden.status_code == missing.status_code == 404
        assert hidden.get_json() == missing.get_json()
    r = site.api("POST", f"{API}/measures/{m}/triggers/comment", "owner3", json={"comment": "我看看"})
    assert r.status_code == 404


def test_the_sha256_of_invisible_evidence_is_404_like_an_unknown_one(site):
    m = site.ids["measures"][0]
    site.drive(m, "submitted")
    with site.engine.connect() as conn:
        sha = conn.execute(select(MeasureEvidence.sha256).where(MeasureEvidence.measure_id == m)).scalar_one()
    assert site.api("GET", f"{API}/evidence/{sha}", "owner1").status_code == 200
    hidden = site.api("GET", f"{API}/evidence/{sha}", "owner3")
    unknown = site.api("GET", f"{API}/evidence/{'0' * 64}", "owner3")
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.get_json() == unknown.get_json()
    assert site.api("GET", f"{API}/evidence/{'../' * 21}x", "owner1").status_code == 404


# --- uploads ------------------------------------------------------------------------

def _submit(site, m, files, user="owner1"):
    data = {"comment": "已完成。", "evidence": files}
    return site.api("POST", f"{API}/measures/{m}/triggers/submit", user, data=data,
                    content_type="multipart/form-data")


def _evidence_files(site):
    root = site.folder / "evidence"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def small_limit_site(make_site, monkeypatch):
    monkeypatch.setenv("RECTIFY_MAX_UPLOAD_MB", "1")
    return make_site()


def test_an_upload_larger_than_the_request_limit_is_413_and_writes_nothing(small_limit_site):
    site = small_limit_site
    m = site.ids["measures"][0]
    site.drive(m, "in_progress")
    big = png_bytes(1) + b"\0" * (3 * 1024 * 1024)
    r = _submit(site, m, [(io.BytesIO(big), "big.png")])
    assert (r.status_code, r.get_json()["code"]) == (413, "payload_too_large")
    assert _evidence_files(site) == []


def test_one_file_over_the_evidence_limit_is_413_naming_the_rule(small_limit_site):
    site = small_limit_site
    m = site.ids["measures"][0]
    site.drive(m, "in_progress")
    over = png_bytes(1) + b"\0" * (1024 * 1024)  # within the request margin, over the file limit
    r = _submit(site, m, [(io.BytesIO(over), "over.png")])
    assert (r.status_code, r.get_json()["code"]) == (413, "evidence_too_large")
    assert _evidence_files(site) == []


def test_a_png_that_is_really_text_is_refused_and_nothing_is_stored(site):
    m = site.ids["measures"][0]
    site.drive(m, "in_progress")
    with site.engine.connect() as conn:
        before = conn.execute(select(Measure.version, Measure.state).where(Measure.id == m)).one()
    r = _submit(site, m, [(io.BytesIO(b"<script>alert(1)</script> not an image"), "photo.png")])
    assert (r.status_code, r.get_json()["code"]) == (415, "evidence_type")
    assert _evidence_files(site) == []
    with site.engine.connect() as conn:
        assert conn.execute(select(Measure.version, Measure.state).where(Measure.id == m)).one() == before


def test_a_refused_trigger_stores_none_of_its_uploaded_files(site):
    m = site.ids["measures"][0]
    site.drive(m, "in_progress")
    r = _submit(site, m, [(io.BytesIO(png_bytes(3)), "a.png")], user="owner2")  # not the owner
    assert r.status_code == 403
    assert _evidence_files(site) == []


def test_a_path_traversal_file_name_is_stored_safely_inside_the_evidence_store(site):
    m = site.ids["measures"][0]
    site.drive(m, "in_progress")
    r = _submit(site, m, [(io.BytesIO(png_bytes(9)), "../../etc/passwd.png")])
    assert r.status_code == 200, r.get_json()
    detail = site.api("GET", f"{API}/measures/{m}", "owner1").get_json()
    assert [e["name"] for e in detail["evidence"]] == ["passwd.png"]
    sha = detail["evidence"][0]["sha256"]
    assert _evidence_files(site) == [site.folder / "evidence" / sha[:2] / sha]
    assert not (site.folder.parent / "etc").exists()
    got = site.api("GET", f"{API}/evidence/{sha}", "owner1")
    assert "passwd.png" in got.headers["Content-Disposition"]


# --- the secret key ------------------------------------------------------------------

def test_without_a_configured_key_one_is_generated_once_and_kept_private(site):
    key_file = site.folder / "secret_key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    key = key_file.read_text().strip()
    assert len(key) >= 64 and site.app.secret_key == key
    from web import create_app

    assert create_app({"TESTING": True}).secret_key == key


def test_a_configured_key_is_used_and_no_file_is_written(tmp_path, monkeypatch):
    monkeypatch.setenv("RECTIFY_INSTANCE", str(tmp_path))
    monkeypatch.setenv("RECTIFY_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.setenv("RECTIFY_SECRET_KEY", "k" * 48)
    from web import create_app
    from workflow import db

    try:
        assert create_app().secret_key == "k" * 48
        assert not (tmp_path / "secret_key").exists()
    finally:
        db.reset_engines()
