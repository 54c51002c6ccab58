"""``rectify bench transitions``: a small real run through the console script.

A benchmark measures; these tests check the shape and the arithmetic of its report, never a
time or a threshold.
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RECTIFY = Path(sys.executable).with_name("rectify")

REQUIRED = ("engine_per_s", "raw_sqlite_per_s", "spiff_per_s", "ratio_vs_raw", "ratio_vs_spiff", "peak_rss_mb",
            "raw_full_per_s", "ratio_vs_raw_full", "spiff_reload_per_s", "ratio_vs_spiff_reload", "cpu_ratio_vs_raw")
SCALE = ("dashboard_ratio", "ledger_filtered_ratio", "ledger_last_page_ratio", "items_json_rss_ratio",
         "audit_verify_rss_ratio", "export_ratio_vs_baseline")


def _run(*args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, RECTIFY_INSTANCE=str(tmp_path), TMPDIR=str(tmp_path),
               RECTIFY_DATABASE_URL=f"sqlite:///{tmp_path / 'untouched.db'}")
    return subprocess.run([str(RECTIFY), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bench")
    proc = _run("bench", "transitions", "--json", "--n", "400", tmp_path=tmp)
    return proc, tmp


def test_bench_transitions_prints_one_json_document_with_the_promised_keys(small_run):
    proc, _ = small_run
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)  # the whole of stdout is one document
    assert isinstance(data, dict)
    for key in REQUIRED:
        assert key in data, key
        value = data[key]
        assert isinstance(value, (int, float)) and not isinstance(value, bool), (key, value)
        assert math.isfinite(value) and value > 0, (key, value)


def test_bench_ratios_are_the_quotients_of_the_rates_it_reports(small_run):
    data = json.loads(small_run[0].stdout)
    assert data["ratio_vs_raw"] == pytest.approx(data["engine_per_s"] / data["raw_sqlite_per_s"], rel=1e-3)
    assert data["ratio_vs_spiff"] == pytest.approx(data["engine_per_s"] / data["spiff_per_s"], rel=1e-3)
    assert data["ratio_vs_raw_full"] == pytest.approx(data["engine_per_s"] / data["raw_full_per_s"], rel=1e-3)
    assert data["ratio_vs_spiff_reload"] == pytest.approx(data["engine_per_s"] / data["spiff_reload_per_s"],
                                                          rel=1e-3)
    cpu = data["cpu_per_s"]
    assert data["cpu_ratio_vs_raw"] == pytest.approx(cpu["engine"] / cpu["raw"], rel=1e-2)


def test_bench_runs_the_requested_number_of_triggers_through_every_implementation(small_run):
    data = json.loads(small_run[0].stdout)
    assert data["n"] == 400 and data["raw_n"] == 400 and data["raw_full_n"] == 400
    assert data["spiff_n"] == 400
    # every measure went through start, submit, approve and sign_off: one creation event plus four
    assert data["events_written"] == 100 * 5
    per = data["outbox_rows_per_trigger"]
    assert data["outbox_rows_written"] == 100 * sum(per.values())
    assert data["evidence_waived"] is True
    assert data["rss_start_mb"] > 0 and data["peak_rss_mb"] >= data["rss_start_mb"]


def test_bench_leaves_no_files_behind_and_does_not_touch_the_configured_database(small_run):
    proc, tmp = small_run
    assert proc.returncode == 0, proc.stderr
    assert not (tmp / "untouched.db").exists()
    assert not [p for p in tmp.iterdir() if p.name.startswith("rectify-bench-")]


def test_a_benchmark_module_that_does_not_exist_is_named_in_a_one_line_error():
    from bench.cli import _module
    from workflow.cli import CliError

    with pytest.raises(CliError) as info:
        _module("no_such_benchmark")
    message = info.value.format_message()
    assert "no_such_benchmark" in message and "\n" not in message
    assert info.value.exit_code != 0


def test_bench_of_an_unknown_name_is_refused_in_one_line(tmp_path):
    proc = _run("bench", "nonsense", tmp_path=tmp_path)
    assert proc.returncode != 0
    assert proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_bench_scale_reports_each_ratio_as_large_over_small_from_two_built_ledgers(tmp_path):
    proc = _run("bench", "scale", "--json", "--small", "300", "--large", "900", tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert (data["small"], data["large"]) == (300, 900)
    for key in SCALE:
        assert isinstance(data[key], float) and math.isfinite(data[key]) and data[key] > 0, key
    small, large = data["small_figures"], data["large_figures"]
    assert data["dashboard_ratio"] == pytest.approx(large["dashboard_s"] / small["dashboard_s"], rel=2e-2)
    assert data["items_json_rss_ratio"] == pytest.approx(large["items_json_rss_mb"] / small["items_json_rss_mb"],
                                                         rel=2e-2)
    assert data["export_ratio_vs_baseline"] == pytest.approx(small["export_rows_per_s"] / small["bare_rows_per_s"],
                                                             rel=2e-2)
    assert small["export_rows"] == 300
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("rectify-bench-")]


def test_bench_transitions_runs_on_an_empty_postgresql_database_and_empties_it_again(tmp_path, pg_server):
    from sqlalchemy import create_engine, inspect

    from tests import pg

    url = pg.create_database(pg_server, prefix="rectify_bench")
    try:
        proc = _run("bench", "transitions", "--json", "--n", "40", "--database-url", url, tmp_path=tmp_path)
        assert proc.returncode == 0, proc.stderr
        data = json.loads(proc.stdout)
        assert data["database"] == "postgresql" and data["n"] == 40 and data["raw_full_n"] == 40
        assert data["events_written"] == 10 * 5 and data["ratio_vs_raw_full"] > 0
        eng = create_engine(url)
        try:
            assert inspect(eng).get_table_names() == []
        finally:
            eng.dispose()
        again = _run("bench", "transitions", "--json", "--n", "40", "--database-url", url, tmp_path=tmp_path)
        assert again.returncode == 0, again.stderr
    finally:
        pg.drop_database(pg_server, url)
