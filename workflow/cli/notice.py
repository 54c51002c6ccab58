"""``rectify notice publish|list|show``: freeze the computed notice; read what was published."""
from __future__ import annotations

import click

from .. import publication, render
from . import ID, emit_json, emit_rows, parse_now, write_doc


@click.group("notice")
def notice_group():
    """The public notice: publish it (the office), list and show published versions."""


@notice_group.command("publish")
@click.argument("plan_id", type=ID)
@click.option("--as", "as_user", required=True, help="who publishes (the rectification office)")
@click.option("--now", "now_", help="the instant of publication (ISO 8601; default now)")
@click.option("--json", "as_json", is_flag=True)
def publish_cmd(plan_id, as_user, now_, as_json):
    """Freeze PLAN's notice as computed now; the public page then serves this version."""
    out = publication.publish(plan_id, as_user, now=parse_now(now_))
    if as_json:
        emit_json(out)
    else:
        click.echo(f"plan {out['plan_id']}: notice version {out['version']} published ({out['sha256'][:12]})",
                   err=True)


@notice_group.command("list")
@click.option("--plan", "plan_id", type=ID)
@click.option("--json", "as_json", is_flag=True)
def list_cmd(plan_id, as_json):
    """Published versions, newest first."""
    emit_rows(publication.published(plan_id), as_json,
              lambda r: f"plan {r['plan_id']} v{r['version']}  {r['published_at']:%Y-%m-%d %H:%M}  {r['title']}")


@notice_group.command("show")
@click.argument("plan_id", type=ID)
@click.option("--version", type=ID, help="default: the newest")
@click.option("--format", "fmt", type=click.Choice(render.FORMATS), default="md")
@click.option("-o", "--output", type=click.Path(dir_okay=False))
def show_cmd(plan_id, version, fmt, output):
    """A published version as Markdown, HTML or .docx (exactly as it was published)."""
    _meta, doc = publication.published_doc(plan_id, version)
    write_doc(doc, fmt, output, "notice")


COMMANDS = [notice_group]
