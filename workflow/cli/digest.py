"""``rectify digest weekly|monthly``: the scheduled digests on demand, through the notice renderer."""
from __future__ import annotations


import click

from .. import db, digests, report, workdays
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
    today = workdays.local_today(now)
    with db.read_tx() as conn:
        if kind == "weekly":
            monday = digests.week_period(now)
            _subject, body = digests.render_weekly(digests.weekly_data(conn, monday, today), monday,
                                                   notes=digests.calendar_notes(conn, today))
        else:
            year, month = digests.month_period(now)
            _subject, body = digests.render_monthly(digests.monthly_data(conn, year, month, today))
    write_doc(report.from_markdown(body), fmt, output, f"{kind} digest")


COMMANDS = [digest_cmd]
