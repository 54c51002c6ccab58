"""The app as production runs it: gunicorn 'web:create_app()' with several workers.

The sign-in failure counter is in the database, so the limit holds across workers; the
secret key is shared through the instance folder, so a cookie made by one worker is good
at the others.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from tests.pg import free_port

pytestmark = pytest.mark.slow  # starts real gunicorn masters with three workers

BIN = Path(sys.executable).parent
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')



@pytest.fixture
def gunicorn_url(site):
    port = free_port()
    env = {**os.environ, "RECTIFY_INSTANCE": str(site.folder),
           "RECTIFY_DATABASE_URL": f"sqlite:///{site.folder / 'rectify.db'}"}
    (site.folder / "secret_key").unlink(missing_ok=True)  # the workers must agree on a new one
    proc = subprocess.Popen([str(BIN / "gunicorn"), "-w", "3", "-b", f"127.0.0.1:{port}", "web:create_app()"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{url}/healthz", timeout=5).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"gunicorn did not start: {proc.stdout.read().decode()[-2000:]}")
            time.sleep(0.1)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(15)


def _attempt(url, username, password):
    s = requests.Session()  # a new connection, so any worker may answer
    token = CSRF_RE.search(s.get(f"{url}/login", timeout=5).text).group(1)
    return s, s.post(f"{url}/login", data={"username": username, "password": password, "csrf_token": token},
                     allow_redirects=False, timeout=10)


def test_the_sign_in_limit_holds_across_gunicorn_workers(gunicorn_url):
    for _ in range(5):
        _, r = _attempt(gunicorn_url, "owner1", "wrong")
        assert r.status_code == 200
    for _ in range(4):
        _, r = _attempt(gunicorn_url, "owner1", "pw-owner1")
        assert r.status_code == 429


def test_a_session_made_by_one_worker_is_good_at_every_other(gunicorn_url, site):
    s, r = _attempt(gunicorn_url, "office1", "pw-office1")
    assert r.status_code == 302
    for _ in range(12):
        s.headers["Connection"] = "close"
        assert s.get(f"{gunicorn_url}/api/v1/me", timeout=5).json()["username"] == "office1"
    key = (site.folder / "secret_key").read_text().strip()
    assert len(key) == 64
