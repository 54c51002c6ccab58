"""``rectify units import FILE`` and ``rectify units list``: the org chart."""
from __future__ import annotations

import click

from .. import readmodels
from ..commands import units as unit_commands
from . import emit_json


@click.group("units")
def units_group():
    """The org chart: units, their kinds, parents and aliases."""


@units_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="check and report; write nothing")
@click.option("--json", "as_json", is_flag=True)
def units_import(file, dry_run, as_json):
    """Import an org chart (.xlsx or .csv with columns name, kind, parent, aliases), all or nothing."""
    result = unit_commands.import_org_chart(file, dry_run=dry_run)
    if as_json:
        emit_json(result)
        return
    head = "预览（未写入）" if dry_run else "已导入"
    click.echo(f"{head}: {result['file']}: {len(result['units_created'])} units created, "
               f"{len(result['units_updated'])} updated, {result['aliases_added']} aliases added")


@units_group.command("list")
@click.option("--json", "as_json", is_flag=True)
def units_list(as_json):
    """Every unit: name, kind, parent, aliases, heads."""
    rows = [{"name": u["name"], "kind": u["kind"], "parent": u["parent"], "aliases": u["aliases"],
             "heads": u["heads"], "members": u["members"]} for u in readmodels.units()]
    if as_json:
        emit_json(rows)
        return
    for u in rows:
        extra = f"  ({'、'.join(u['aliases'])})" if u["aliases"] else ""
        parent = f" ← {u['parent']}" if u["parent"] else ""
        click.echo(f"{u['name']}\t{u['kind']}{parent}{extra}")


COMMANDS = [units_group]
