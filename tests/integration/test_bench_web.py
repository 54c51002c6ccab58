"""``rectify bench web``: a small real run (gunicorn, HTTP, SQLite) through the console script.

The benchmark measures; these tests check the shape of its report, that the work it reports
was really done, and that gunicorn is gone afterwards — never a time or a threshold.
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]
RECTIFY = Path(sys.executable).with_name("rectify")

ENDPOINTS = ("approve", "html_ledger_first", "html_ledger_last", "api_list_first", "api_list_last", "healthz")
PERCENTILES = ("p50", "p95", "p99", "max")


def _positive(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bench_web")
    env = dict(os.environ, RECTIFY_INSTANCE=str(tmp), TMPDIR=str(tmp),
               RECTIFY_DATABASE_URL=f"sqlite:///{tmp / 'untouched.db'}")
    proc = subprocess.run([str(RECTIFY), "bench", "web", "--json", "--measures", "2000", "--seconds", "3"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    return proc, tmp


def test_bench_web_prints_one_json_document_with_positive_figures(small_run):
    proc, _ = small_run
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)  # the whole of stdout is one document
    assert data["measures"] == 2000 and data["workers"] == 2 and data["threads"] >= 1
    for key in ("approvals", "approvals_per_s", "html_last_first_p50_ratio", "api_last_first_p50_ratio",
                "submitted", "build_s", "startup_s", "total_s"):
        assert _positive(data[key]), (key, data[key])
    for name in ENDPOINTS:
        figures = data["latency_ms"][name]
        assert figures["n"] > 0, name
        for p in PERCENTILES:
            assert _positive(figures[p]), (name, p, figures)
        assert figures["p50"] <= figures["p95"] <= figures["p99"] <= figures["max"], (name, figures)
    assert data["errors"] == {}, data["errors"]


def test_bench_web_ratios_are_the_quotients_of_the_medians_it_reports(small_run):
    data = json.loads(small_run[0].stdout)
    lat = data["latency_ms"]
    assert data["html_last_first_p50_ratio"] == pytest.approx(
        lat["html_ledger_last"]["p50"] / lat["html_ledger_first"]["p50"], rel=1e-2)
    assert data["api_last_first_p50_ratio"] == pytest.approx(
        lat["api_list_last"]["p50"] / lat["api_list_first"]["p50"], rel=1e-2)
    # the last pages are the real last pages of 2000 measures: 25 a page in HTML, 50 in the API
    assert data["html_pages"] == 80 and data["api_pages"] == 40


def test_bench_web_approvals_were_real_and_the_audit_chain_still_holds(small_run):
    data = json.loads(small_run[0].stdout)
    assert data["latency_ms"]["approve"]["n"] == data["approvals"] <= data["submitted"]
    assert data["chain_ok"] is True


def test_bench_web_leaves_no_gunicorn_running_and_no_files_behind(small_run):
    proc, tmp = small_run
    data = json.loads(proc.stdout)
    pids = data["gunicorn_pids"]
    assert len(pids) == 1 + data["workers"]
    for pid in pids:
        try:
            p = psutil.Process(pid)
        except psutil.NoSuchProcess:
            continue
        # a pid may have been reused by something else, never by our gunicorn
        assert p.status() == psutil.STATUS_ZOMBIE or "gunicorn" not in " ".join(p.cmdline()), (pid, p.cmdline())
    assert not list(tmp.glob("rectify-bench-web-*")), "the temporary database was not removed"
    assert not (tmp / "untouched.db").exists()
