"""``rectify bench [NAME] [--json] [--n N]``: the benchmarks.

``transitions`` compares the engine's hot path with raw sqlite3 and SpiffWorkflow
(:mod:`bench.transitions`; ``--database-url`` runs it on an empty PostgreSQL database); ``sweep``
times the escalation sweep (:mod:`bench.sweep`); ``scale`` compares reads, memory and the export
at two ledger sizes (:mod:`bench.scale`, ``--small``/``--large``); ``all`` runs transitions and sweep. With ``--json`` the figures are one JSON document on stdout (for ``all``:
``{"transitions": {...}, "sweep": {...}}``); progress goes to stderr.
"""
from __future__ import annotations

import importlib

import click

NAMES = ("transitions", "sweep", "scale", "all", "web", "recurrence")

LABELS = {
    "engine_per_s": "引擎 engine (次/秒 triggers/s)",
    "raw_sqlite_per_s": "原生 raw sqlite3 (次/秒)",
    "spiff_per_s": "SpiffWorkflow (次/秒)",
    "spiff_reload_per_s": "SpiffWorkflow 每步重载 reload (次/秒)",
    "ratio_vs_raw": "引擎/原生 engine ÷ raw",
    "ratio_vs_spiff": "引擎/Spiff engine ÷ spiff",
    "peak_rss_mb": "内存峰值 peak RSS (MiB)",
    "rss_start_mb": "内存起始 RSS start (MiB)",
    "rss_end_mb": "内存结束 RSS end (MiB)",
    "n": "引擎触发次数 engine triggers",
    "total_s": "总耗时 total (s)",
}


def _module(name: str):
    """Import ``bench.<name>`` lazily; a missing module is a one-line error."""
    from workflow.cli import CliError

    try:
        return importlib.import_module(f"bench.{name}")
    except ModuleNotFoundError as e:
        if e.name in (f"bench.{name}", "bench"):
            raise CliError(f"基准测试 {name!r} 尚未实现 (benchmark not available yet: bench/{name}.py)", 1) from None
        raise


def _print_human(name: str, result: dict) -> None:
    click.echo(f"[{name}]")
    for key, value in result.items():
        if isinstance(value, (dict, list)):
            value = ", ".join(f"{k}={v}" for k, v in value.items()) if isinstance(value, dict) else value
        click.echo(f"  {LABELS.get(key, key)}: {value}")


@click.command("bench")
@click.argument("name", required=False, default="all", metavar="[transitions|sweep|scale|all|web|recurrence]")
@click.option("--json", "as_json", is_flag=True, help="one JSON document on stdout")
@click.option("--n", "n", type=int, default=None,
              help="size: engine triggers for transitions (default 100000); passed on to sweep as n")
@click.option("--measures", type=int, default=None, help="web: measures in the database (default 100000)")
@click.option("--seconds", type=float, default=None, help="web: length of the measured run (default 20)")
@click.option("--database-url", default=None, help="transitions: an empty PostgreSQL database to run on")
@click.option("--small", type=int, default=None, help="scale: measures in the small ledger (default 100000)")
@click.option("--large", type=int, default=None, help="scale: measures in the large ledger (default 1000000)")
def bench(name, as_json, n, measures=None, seconds=None, database_url=None, small=None, large=None):
    """Run the benchmarks (transitions, sweep, or all); they measure, never assert a time."""
    from workflow.cli import CliError, emit_json

    if name not in NAMES:
        raise CliError(f"未知的基准测试 {name!r}，可选 {'/'.join(NAMES)} (unknown benchmark)", 2)
    if n is not None and n < 4:
        raise CliError(f"--n 至少为 4（一条措施四步）(--n must be at least 4), got {n}", 2)
    names = ["transitions", "sweep"] if name == "all" else [name]
    modules = {nm: _module(nm) for nm in names}  # fail fast, before minutes of work
    results = {}
    for nm, module in modules.items():
        kw = {"json": as_json}
        if n is not None:
            kw["n"] = n
        if nm == "web":
            kw.update(measures=measures, seconds=seconds)
        if nm == "transitions" and database_url:
            kw["database_url"] = database_url
        if nm == "scale":
            kw.update({k: v for k, v in (("small", small), ("large", large)) if v is not None})
        results[nm] = module.run(**kw)
    if as_json:
        emit_json(results[name] if name != "all" else results)
        return
    for nm, result in results.items():
        _print_human(nm, result)
