"""``rectify serve`` starts the web app on the address it is given."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests
from tests.pg import free_port

BIN = Path(sys.executable).parent


def test_rectify_serve_answers_on_the_given_port(site):
    port = free_port()
    env = {**os.environ, "RECTIFY_INSTANCE": str(site.folder),
           "RECTIFY_DATABASE_URL": f"sqlite:///{site.folder / 'rectify.db'}"}
    proc = subprocess.Popen([str(BIN / "rectify"), "serve", "--host", "127.0.0.1", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                r = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except (requests.ConnectionError, requests.Timeout):
                assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read().decode()[-2000:]
                time.sleep(0.1)
        assert r.json() == {"status": "ok"}
        me = requests.get(f"http://127.0.0.1:{port}/api/v1/me",
                          headers={"Authorization": f"Bearer {site.tokens['insp1']}"}, timeout=5)
        assert me.json()["roles"] == ["inspector"]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(15)


def test_rectify_serve_refuses_a_database_without_schema(tmp_path):
    env = {**os.environ, "RECTIFY_INSTANCE": str(tmp_path), "RECTIFY_DATABASE_URL": f"sqlite:///{tmp_path / 'e.db'}"}
    proc = subprocess.run([str(BIN / "rectify"), "serve", "--port", "1"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode != 0
    assert "init-db" in proc.stderr and proc.stderr.count("\n") == 1
