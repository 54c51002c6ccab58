"""``rectify digest weekly|monthly``: the scheduled digests on demand, through the notice renderer."""
from __future__ import annotations


import click

from .. import digests
from . import parse_now, warn_calendar, write_doc


@click.command("digest")
@click.argument("kind", type=click.Choice(["weekly", "monthly"]))
@click.option("--now", "now_", help="the instant whose period to render (ISO 8601; default now)")
@click.option("--format", "fmt", type=click.Choice(["md", "html", "docx"]), default="md")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="write to FILE (required for docx)")
def digest_cmd(kind, now_, fmt, output):
    """Render the weekly report (周报告) or monthly summary (月总结) as Markdown, HTML or Word.

    The same data the scheduler sends, laid out by the same renderer as the public notice; nothing is
    recorded or sent.
    """
    now = parse_now(now_)
    warn_calendar(now)
    write_doc(digests.digest_doc(kind, now), fmt, output, f"{kind} digest")


COMMANDS = [digest_cmd]
