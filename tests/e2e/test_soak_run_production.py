"""``deploy/run-production.sh``: PostgreSQL, gunicorn workers, a scheduler and a standby, one command.

The script is started in its own process group, as from a terminal; it must serve the app, have
exactly one scheduler leading and one standing by, log JSON when asked, and on Ctrl-C (SIGINT
to the group) stop everything it started, PostgreSQL included.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import requests

from tests import pg

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "run-production.sh"



@pytest.fixture
def data_dir():
    """A folder the postgres user can reach (pytest's own tmp folders are private to root)."""
    if pg.bin_dir() is None:
        pytest.skip("no PostgreSQL binaries")
    path = Path(tempfile.mkdtemp(prefix="rectify-prod-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_run_production_serves_with_a_leader_and_a_standby_and_stops_everything_on_ctrl_c(data_dir):
    port = pg.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECTIFY_")}
    env.update(RECTIFY_LOG_FORMAT="json", RECTIFY_LEADER_POLL="2")
    err = (data_dir / "stderr.log").open("w")
    proc = subprocess.Popen([str(SCRIPT), "--workers", "2", "--port", str(port), "--data", str(data_dir / "d"),
                             "--demo"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while "serving on" not in (data_dir / "stderr.log").read_text():
            assert proc.poll() is None, (data_dir / "stderr.log").read_text()[-3000:]
            assert time.monotonic() < deadline, (data_dir / "stderr.log").read_text()[-3000:]
            time.sleep(0.3)
        base = f"http://127.0.0.1:{port}"
        assert requests.get(f"{base}/healthz", timeout=10).json() == {"status": "ok"}
        assert requests.get(f"{base}/public/", timeout=10).status_code == 200
        deadline = time.monotonic() + 60
        while True:
            text = (data_dir / "stderr.log").read_text()
            if "rectify scheduler: leader" in text and "rectify scheduler: standby" in text:
                break
            assert time.monotonic() < deadline, text[-3000:]
            time.sleep(0.3)
        assert text.count("rectify scheduler: leader") == 1, text
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
        try:
            code = proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
        err.close()
    text = (data_dir / "stderr.log").read_text()
    assert code == 0, text[-3000:]
    assert "run-production: PostgreSQL stopped" in text and text.rstrip().endswith("run-production: stopped")
    json_lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    foreign = [r for r in json_lines if not r["logger"].startswith(("gunicorn", "web", "workflow", "rectify"))]
    assert json_lines and not foreign, foreign
    assert any(r["logger"] == "rectify.scheduler" and "leader" in r["message"] for r in json_lines)
    assert not (data_dir / "d" / "pg" / "data" / "postmaster.pid").exists(), "PostgreSQL is still running"
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
