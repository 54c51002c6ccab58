"""``rectify import``, ``rectify export`` and ``rectify report``: files in and out of the ledger."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from . import EXIT_REFUSED, ID, CliError, emit_json, parse_now, require_user, warn_calendar, write_doc

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar


def _print_summary(s: dict) -> None:
    c, u, same = s["create"], s["update"], s["unchanged"]
    head = "预览（未写入）" if s["dry_run"] else "已导入"
    plan = f"plan {s['plan_id']}" if s["plan_id"] else "new plan"
    click.echo(f"{head}: {s['file']} → {plan} 「{s['plan_title']}」")
    click.echo(f"  新建 create: {c['parts']} parts, {c['categories']} categories, {c['problems']} problems, "
               f"{c['measures']} measures, {c['units']} units, {c['users']} users")
    click.echo(f"  更新 update: {u['parts']} parts, {u['categories']} categories, {u['problems']} problems, "
               f"{u['measures']} measures; 不变 unchanged: {same['problems']} problems, {same['measures']} measures")
    if s["closed_by_import"]:
        click.echo(f"  按台账记为已销号 closed by import (outside the lifecycle): {s['closed_by_import']}")
    if s["skipped_sheets"]:
        click.echo(f"  跳过的工作表 skipped sheets: {', '.join(s['skipped_sheets'])}")
    for g in s["roles_granted"]:
        click.echo(f"  授予角色 role granted: {g['username']} {g['role']}" + (f" @ {g['unit']}" if g["unit"] else ""))
    for w in s["warnings"][:20]:
        click.echo(f"  注意 warning: {w}")
    if s["preview"]:
        click.echo("  前几行 first rows:")
        for r in s["preview"]:
            click.echo(f"    {r['action']:<6} {r['sheet']}!{r['row']:<4} 问题{r['problem_no']}.{r['seq']} "
                       f"{r['state']:<11} {r['deadline'] or '':<10} {r['unit'] or '':<10} {r['measure'][:30]}")


def _print_notice(s: dict) -> None:
    head = "预览（未写入）" if s.get("dry_run") else "已导入"
    plan = f"plan {s['plan_id']}" if s.get("plan_id") else "new plan"
    click.echo(f"{head}: {plan}: {s['parts']} parts, {s['problems']} problems, {s['measures']} measures")
    for w in s["warnings"][:20]:
        click.echo(f"  注意 warning: {w}")


def _print_report(s: dict) -> None:
    if s["kind"] == "ledger":
        _print_summary(s)
    else:
        _print_notice(s)
    if s["units_created"]:
        click.echo(f"  新建单位 units created: {'、'.join(s['units_created'])}")
    if s["unmapped_columns"]:
        click.echo(f"  保留的其他列 columns kept as they are (其他信息): {'、'.join(s['unmapped_columns'])}")
    if s.get("recurrence_candidates"):
        click.echo(f"  疑似重复问题 likely found again in an earlier round: {s['recurrence_candidates']} "
                   f"(rectify recurrence --plan {s.get('plan_id')})")
    if s.get("column_map"):
        pairs = ", ".join(f"{h}={f}" for h, f in s["column_map"].items())
        click.echo(f"  表头映射 header map (remembered on the plan): {pairs}")


@click.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--plan", "plan_id", type=ID, help="import into this plan (ledgers)")
@click.option("--title", help="import into the plan with this title, created if missing (ledgers)")
@click.option("--dry-run", is_flag=True, help="show what would be created or updated; write nothing")
@click.option("--map", "maps", multiple=True, metavar="HEADER=FIELD",
              help="read the column HEADER as FIELD (e.g. '整改反馈=account'); remembered on the plan (ledgers)")
@click.option("--target", help="the inspected organisation, for a ledger that starts a new round of it")
@click.option("--as", "as_user", default="system", show_default=True, help="who the audit events name")
@click.option("--now", "now_", help="the import's time (ISO 8601; default now)")
@click.option("--json", "as_json", is_flag=True)
def import_cmd(file, plan_id, title, dry_run, maps, target, as_user, now_, as_json):
    """Import an .xlsx ledger, or a notice (.txt/.docx); print one report for both."""

    from .. import importing
    from ..importing import notice
    from ..importing.ledger_vocab import parse_map_option

    path = Path(file)
    if not path.is_file():
        raise CliError(f"no such file: {file}", EXIT_REFUSED)
    if plan_id is not None and title:
        raise CliError("give --plan or --title, not both", EXIT_REFUSED)
    try:
        mapping = parse_map_option(maps)
    except ValueError as e:
        raise CliError(f"refused (bad_map): {e}", EXIT_REFUSED) from None
    now = parse_now(now_)
    require_user(as_user)
    try:
        report = importing.import_file(path, dry_run=dry_run, mapping=mapping, plan_id=plan_id, title=title,
                                       actor=as_user, now=now, target=target)
    except importing.ImportRefused as e:
        raise CliError(f"refused ({e.rule}): {e}", EXIT_REFUSED) from None
    except notice.NoticeError as e:
        raise CliError(f"refused (notice): {e}", EXIT_REFUSED) from None
    except importing.LedgerImportError as e:
        n = len(e.issues)
        if as_json:
            emit_json({"error": "ledger_import", "issues": [i.as_dict() for i in e.issues]})
        lines = "".join(f"\n  {line}" for line in e.summary(10).splitlines())
        raise CliError(f"refused (ledger_import): {path.name}: {n} 处问题，未写入任何数据 "
                       f"({n} problem(s); nothing was written){lines}", EXIT_REFUSED) from None
    if as_json:
        emit_json(report)
    else:
        _print_report(report)


@click.command("export")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--plan", "plan_id", type=ID, help="the plan (default: the only plan)")
@click.option("--now", "now_", help="evaluate lights at this instant (ISO 8601)")
@click.option("--json", "as_json", is_flag=True)
@click.option("--quiet", "-q", is_flag=True, help="no progress bar")
def export_cmd(file, plan_id, now_, as_json, quiet):
    """Write the ledger as .xlsx (a summary sheet and one sheet per part)."""
    from ..exporting.ledger_xlsx import export_ledger

    path = Path(file)
    if path.suffix.lower() != ".xlsx":
        raise CliError(f"refused (bad_name): {path.name}: the file name must end in .xlsx", EXIT_REFUSED)
    state: dict[str, ProgressBar[int] | None] = {"bar": None}

    def progress(done, total):
        if quiet or total == 0:
            return
        bar = state["bar"]
        if bar is None:
            bar = state["bar"] = click.progressbar(length=total, label="导出 exporting", file=sys.stderr,
                                                   show_pos=True)
            bar.__enter__()
        bar.update(done - bar.pos)

    now = parse_now(now_)
    warn_calendar(now)
    try:
        result = export_ledger(path, plan_id=plan_id, now=now, progress=progress)
    finally:
        if state["bar"] is not None:
            state["bar"].__exit__(None, None, None)
    if as_json:
        emit_json(result)
    else:
        click.echo(f"exported {result['rows']} measures of {result['problems']} problems to {path} "
                   f"({len(result['sheets'])} sheets)", err=True)


@click.command("report")
@click.option("--format", "fmt", type=click.Choice(["md", "html", "docx"]), required=True)
@click.option("-o", "--output", help="the file to write (md and html: '-' or omitted for stdout)")
@click.option("--plan", "plan_id", type=ID, help="the plan (default: the only plan)")
@click.option("--now", "now_", help="the report's date (ISO 8601; default now)")
def report_cmd(fmt, output, plan_id, now_):
    """Render the public notice (通报) of a plan as Markdown, HTML or .docx."""
    from .. import report

    if fmt == "docx" and (not output or output == "-"):
        raise CliError("refused (output_required): a .docx report needs -o FILE", EXIT_REFUSED)
    write_doc(report.notice_doc(plan_id, parse_now(now_)), fmt, output, "report")


COMMANDS = [import_cmd, export_cmd, report_cmd]
