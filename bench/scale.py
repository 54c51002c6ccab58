"""``rectify bench scale``: what a ledger ten times larger costs the reads, the memory and the export.

Two SQLite databases are built with bulk inserts (the same builder as ``bench sweep``: 40 units,
60 % of the measures signed off, the rest open in every state, each measure with its ``create``
event), ``small`` (default 100,000) and ``large`` (1,000,000) measures. Each is checkpointed and
synced to disk before anything is timed. Then, on each, as the rectification office:

- the dashboard (:func:`workflow.readmodels.stats`, ``by_part`` and ``timeline``), best of 3;
- the ledger filtered by state (``submitted``: a tenth of the measures), first page, best of 3;
- the ledger's last page, best of 3;
- the peak resident memory of ``rectify items --json`` and of ``rectify audit verify``, each run
  as its own process (its own ``ru_maxrss``), output to ``/dev/null``.

Each ratio is large ÷ small. On the small database the Excel export is timed against a bare
constant-memory writer (XlsxWriter's ``constant_memory`` mode, no formats, merges or summary) writing the same cells
from the same query: ``export_ratio_vs_baseline`` is the export's rows/s ÷ the bare writer's.
A benchmark measures: nothing here asserts a time.
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import sweep

NOW = sweep.NOW


def _say(msg: str) -> None:
    print(f"bench scale: {msg}", file=sys.stderr, flush=True)


def _best(fn, tries: int = 3) -> float:
    best = float("inf")
    for _ in range(tries):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


_CHILD = """\
import atexit, sys

def _peak():  # VmHWM: this process's own peak (ru_maxrss would count the parent's size at fork)
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                sys.stderr.write("peak_kib " + line.split()[1] + "\\n")

atexit.register(_peak)
from workflow.cli import main
sys.argv = ["rectify", *sys.argv[1:]]
main()
"""


def _child_rss(args: list[str], url: str, workdir: Path) -> float:
    """Peak resident memory (MiB) of ``rectify ARGS`` run as its own process, stdout to /dev/null."""
    env = dict(os.environ, RECTIFY_DATABASE_URL=url, RECTIFY_INSTANCE=str(workdir))
    proc = subprocess.run([sys.executable, "-c", _CHILD, *args], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, env=env, text=True)
    peaks = [line.split()[1] for line in proc.stderr.splitlines() if line.startswith("peak_kib ")]
    if proc.returncode != 0 or not peaks:
        raise RuntimeError(f"rectify {' '.join(args)} failed: {proc.stderr.strip()[-300:]}")
    return int(peaks[-1]) / 1024


def measure(total: int, workdir: Path, export: bool) -> dict:
    """Build a ledger of ``total`` measures and time the reads on it (and the export if asked)."""
    from workflow import db, readmodels

    path = workdir / f"scale_{total}.db"
    t = time.perf_counter()
    sweep.build(path, total, max(1, total // 1000))
    sweep.settle(path)
    built = time.perf_counter() - t
    _say(f"built {total:,} measures in {built:.1f}s")
    url = f"sqlite:///{path}"
    engine = db.make_engine(url)
    out: dict = {"build_s": built}
    try:
        actor = readmodels.load_actor("office_a", engine=engine)
        out["dashboard_s"] = _best(lambda: (readmodels.stats(actor, now=NOW, engine=engine),
                                            readmodels.by_part(actor, engine=engine),
                                            readmodels.timeline(actor, now=NOW, engine=engine)))
        out["ledger_filtered_s"] = _best(lambda: readmodels.ledger(actor, now=NOW, state="submitted", engine=engine))
        pages = readmodels.ledger(actor, now=NOW, engine=engine).pages
        out["ledger_last_page_s"] = _best(lambda: readmodels.ledger(actor, now=NOW, page=pages, engine=engine))
        out["ledger_first_page_s"] = _best(lambda: readmodels.ledger(actor, now=NOW, engine=engine))
        if export:
            out.update(_export(engine, workdir))
    finally:
        engine.dispose()
    out["items_json_rss_mb"] = _child_rss(["items", "--json", "--now", NOW.isoformat() + "+00:00"], url, workdir)
    out["audit_verify_rss_mb"] = _child_rss(["audit", "verify"], url, workdir)
    _say(f"{total:,}: " + ", ".join(f"{k} {v:.3f}" for k, v in out.items()))
    return out


def _export(engine, workdir: Path) -> dict:
    """The export's rows/s, and a bare constant-memory XlsxWriter's over the same query's cells
    (no formats, merges, summary or continuation sheets)."""
    import xlsxwriter

    from workflow import db, workdays
    from workflow.exporting import ledger_xlsx

    t = time.perf_counter()
    result = ledger_xlsx.export_ledger(workdir / "export.xlsx", now=NOW, engine=engine)
    export_s = time.perf_counter() - t
    today = workdays.local_today(NOW)
    t = time.perf_counter()
    wb = xlsxwriter.Workbook(str(workdir / "bare.xlsx"), {"constant_memory": True, "strings_to_formulas": False,
                                                          "strings_to_urls": False})
    ws = wb.add_worksheet("bare")
    rows = 0
    with db.read_tx(engine) as conn:
        q = ledger_xlsx.ledger_query(result["plan_id"])
        for r in conn.execution_options(stream_results=True, yield_per=1000).execute(q):
            light, _level = workdays.light(r.state, r.deadline, today, workdays.ladder(r.ladder))
            ws.write_row(rows, 0, [f"{r.problem_no}.{r.seq}", r.part_title, r.cat_title, r.problem_text, r.text,
                                   r.leader, r.unit, r.owner, r.deadline, r.kind, r.state, light, r.account,
                                   r.problem_account, r.amount_involved, r.amount_recovered])
            rows += 1
    wb.close()
    bare_s = time.perf_counter() - t
    return {"export_rows": result["rows"], "export_rows_per_s": result["rows"] / export_s,
            "bare_rows_per_s": rows / bare_s}


def run(json: bool = False, small: int = 100_000, large: int = 1_000_000, n: int | None = None, **_ignored) -> dict:
    """Build both ledgers, measure each; return the ratios (large ÷ small) and the figures behind them."""
    if n is not None:  # ``--n`` scales the large ledger, the small one a tenth of it
        large, small = n, max(10, n // 10)
    workdir = Path(tempfile.mkdtemp(prefix="rectify-bench-scale-"))
    load_start = os.getloadavg()
    try:
        s = measure(small, workdir, export=True)
        g = measure(large, workdir, export=False)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    def ratio(key: str) -> float:
        return round(g[key] / s[key], 3)

    return {
        "small": small, "large": large,
        "dashboard_ratio": ratio("dashboard_s"),
        "ledger_filtered_ratio": ratio("ledger_filtered_s"),
        "ledger_last_page_ratio": ratio("ledger_last_page_s"),
        "items_json_rss_ratio": ratio("items_json_rss_mb"),
        "audit_verify_rss_ratio": ratio("audit_verify_rss_mb"),
        "export_ratio_vs_baseline": round(s["export_rows_per_s"] / s["bare_rows_per_s"], 3),
        "ledger_first_page_ratio": ratio("ledger_first_page_s"),
        "small_figures": {k: round(v, 6) for k, v in s.items()},
        "large_figures": {k: round(v, 6) for k, v in g.items()},
        "load_avg_start": [round(x, 2) for x in load_start],
        "load_avg_end": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
