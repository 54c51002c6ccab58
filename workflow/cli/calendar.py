"""``rectify calendar import FILE`` and ``rectify calendar show YEAR``: the holiday schedule the office keeps."""
from __future__ import annotations

from pathlib import Path

import click

from .. import holidays
from . import EXIT_REFUSED, YEAR, CliError, emit_json, parse_now, require_user


@click.group("calendar")
def calendar_group():
    """Holidays and make-up working days (调休), per year."""


@calendar_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--year", type=YEAR, help="the year (a notice without its title; a CSV covering one year)")
@click.option("--as", "as_user", default="system", show_default=True, help="who the import record names")
@click.option("--now", "now_", help="the import's time (ISO 8601; default now)")
@click.option("--json", "as_json", is_flag=True)
def calendar_import_cmd(file, year, as_user, now_, as_json):
    """Import a year's schedule: the State Council notice text (.txt/.docx) or a CSV of date,kind.

    All or nothing: a line that cannot be read is refused, naming it, and nothing is written.
    Importing a year again replaces it.
    """
    path = Path(file)
    if not path.is_file():
        raise CliError(f"no such file: {file}", EXIT_REFUSED)
    now = parse_now(now_)
    require_user(as_user)
    try:
        schedule = holidays.read_file(path, year)
    except holidays.ScheduleError as e:
        where = (f"第{e.line}行：", f"line {e.line}: ") if e.line else ("", "")
        raise CliError(f"refused (calendar): {e.source or path.name}: {where[0]}{e.zh}，未写入任何数据 "
                       f"({where[1]}{e.en}; nothing was written)", EXIT_REFUSED) from None
    summary = holidays.import_schedule(schedule, as_user, now, path.name)
    if as_json:
        emit_json(summary)
        return
    for y in summary["years"]:
        click.echo(f"已录入 {y} 年节假日安排 imported {y}: 放假 {summary['holidays'][y]} 天 days off, "
                   f"调休上班 {summary['workdays'][y]} 天 make-up working days ({summary['source']}, "
                   f"sha256 {summary['sha256'][:12]})")


@calendar_group.command("show")
@click.argument("year", type=YEAR)
@click.option("--json", "as_json", is_flag=True)
def calendar_show_cmd(year, as_json):
    """That year's holidays and make-up working days, and where they come from."""
    data = holidays.show(year)
    if as_json:
        emit_json(data)
        return
    source = {"imported": "已录入 imported", "package": "内置 package (chinese-calendar)"}.get(
        data["source"], "未录入，按周末计算 not covered: weekends only")
    click.echo(f"{year} 年 {source}")
    if data["import"]:
        imp = data["import"]
        click.echo(f"  录入 imported by {imp['by']} at {imp['at']} from {imp['filename'] or imp['source']} "
                   f"(sha256 {imp['sha256'][:12]})")
    click.echo(f"  放假 days off ({len(data['holidays'])}): {' '.join(data['holidays']) or '—'}")
    click.echo(f"  调休上班 make-up working days ({len(data['workdays'])}): {' '.join(data['workdays']) or '—'}")


COMMANDS = [calendar_group]
