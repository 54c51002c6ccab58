"""A large ledger exports in bounded memory (streaming read, write-only workbook).

Run the measurement by hand (it prints time and peak RSS)::

    .venv/bin/python -m tests.integration.test_excel_large 100000
"""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import insert

from workflow import db, planwriter
from workflow.models import Measure, Problem

NOW = dt.datetime(2023, 3, 1, 2, 0)
STATES = ("assigned", "in_progress", "submitted", "verified", "closed")


def fill(engine, measures: int, per_problem: int = 5, parts: int = 3) -> int:
    """A plan with ``measures`` measures, inserted in bulk (no audit events: export does not read them)."""
    with db.write_tx(engine) as conn:
        units = [planwriter.unit(conn, f"测试单位{i:02d}") for i in range(20)]
        owners = [planwriter.user(conn, f"bulk-owner{i}", f"测试责任人{i}", ["owner"], f"测试单位{i % 20:02d}")
                  for i in range(40)]
        leaders = [planwriter.user(conn, f"bulk-leader{i}", f"测试领导{i}", ["leader"]) for i in range(5)]
        insp = planwriter.inspection(conn, "测试巡察组", "测试区", "routine", rect_end=dt.date(2023, 6, 30))
        plan = planwriter.plan(conn, insp, "大台账导出测试")
        part_ids = [planwriter.part(conn, plan, i + 1, f"第{i + 1}方面问题") for i in range(parts)]
        n_problems = (measures + per_problem - 1) // per_problem
        conn.execute(insert(Problem.__table__), [
            {"plan_id": plan, "part_id": part_ids[i * parts // n_problems], "no": i + 1,
             "text": f"问题{i + 1}：某单位某项工作落实不到位，存在需要整改的情况，具体表现为若干方面。",
             "account": None} for i in range(n_problems)])
        prob_ids = [r[0] for r in conn.exec_driver_sql(
            f"SELECT id FROM problems WHERE plan_id = {plan} ORDER BY no")]
        rows = []
        base = dt.date(2023, 1, 1)
        for i in range(measures):
            state = STATES[i % 5]
            rows.append({
                "problem_id": prob_ids[i // per_problem], "seq": i % per_problem + 1,
                "text": f"整改措施{i}：制定工作方案，明确责任分工，按期完成整改任务并建立长效机制。",
                "kind": ("time_bound", "long_term", "immediate")[i % 3], "leader_id": leaders[i % 5],
                "unit_id": units[i % 20], "owner_id": owners[i % 40],
                "deadline": base + dt.timedelta(days=i % 180), "deadline_original": base + dt.timedelta(days=i % 180),
                "state": state, "version": 1, "account": "已按要求完成整改。" if state == "closed" else None,
                "reopen_count": 0, "evidence_count": 0, "pending_extension": False, "light": "green", "level": -1,
                "head_seq": 0, "head_hash": "0" * 64, "created_at": NOW,
            })
            if len(rows) == 5000:
                conn.execute(insert(Measure.__table__), rows)
                rows = []
        if rows:
            conn.execute(insert(Measure.__table__), rows)
    return plan


CHILD = r"""
import json, sys, time, datetime as dt
from workflow import db
from workflow.exporting import ledger_xlsx

def status_kb(key):
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith(key + ":"))


def rss_kb():
    return status_kb("VmRSS")


engine = db.get_engine()
with engine.connect() as c:
    c.exec_driver_sql("SELECT 1")
try:  # reset the high-water mark so the peak is the export's own (Linux)
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
except OSError:
    pass
before = rss_kb()
t = time.perf_counter()
r = ledger_xlsx.export_ledger(sys.argv[1], now=dt.datetime(2023, 3, 1, 2))
s = time.perf_counter() - t
print(json.dumps({"rows": r["rows"], "seconds": round(s, 2), "rows_per_s": round(r["rows"] / s),
                  "rss_before_mb": round(before / 1024, 1),
                  "peak_rss_mb": round(status_kb("VmHWM") / 1024, 1),
                  "merged_ranges": r["merged_ranges"]}))
"""


def measure(n: int, folder: Path) -> dict:
    """Build an n-measure ledger in ``folder`` and export it in a fresh process; return its numbers."""
    url = f"sqlite:///{folder / 'big.db'}"
    db.init_db(url)
    fill(db.get_engine(url), n)
    db.reset_engines()
    env = {**os.environ, "RECTIFY_DATABASE_URL": url, "RECTIFY_INSTANCE": str(folder)}
    out = subprocess.run([sys.executable, "-c", CHILD, str(folder / "big.xlsx")], env=env, capture_output=True,
                         text=True, timeout=1800, check=True)
    return json.loads(out.stdout)


@pytest.mark.slow
def test_a_100k_row_export_streams_in_bounded_memory(tmp_path):
    (tmp_path / "small").mkdir()
    (tmp_path / "large").mkdir()
    small = measure(10_000, tmp_path / "small")
    large = measure(100_000, tmp_path / "large")
    assert small["rows"] == 10_000 and large["rows"] == 100_000
    growth_small = small["peak_rss_mb"] - small["rss_before_mb"]
    growth_large = large["peak_rss_mb"] - large["rss_before_mb"]
    print(f"\nexport 10k: {small}\nexport 100k: {large}")
    # ten times the rows, nowhere near ten times the memory: only the batch and the merge list grow
    assert growth_large < 3 * growth_small + 80, (small, large)
    from openpyxl import load_workbook

    wb = load_workbook(tmp_path / "large" / "big.xlsx", read_only=True)
    assert wb.sheetnames[0] == "汇总" and len(wb.sheetnames) == 4
    wb.close()


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as d:
        print(json.dumps(measure(n, Path(d))))
