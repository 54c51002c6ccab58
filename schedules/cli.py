"""``rectify scheduler`` and ``rectify tick`` (registered through the ``rectify.commands`` entry points)."""
from __future__ import annotations

import click

from .jobs import JOB_IDS


def _parse_now(value: str):
    from workflow.cli import parse_now

    return parse_now(value)


@click.command("tick")
@click.option("--now", "now_", required=True, help="the instant, ISO 8601 (naive = China time)")
@click.option("--job", "only", multiple=True, type=click.Choice(JOB_IDS), help="run only this job (repeatable)")
@click.option("--json", "as_json", is_flag=True, help="one JSON document on stdout")
def tick(now_, only, as_json):
    """Run every job due at that instant once, and exit (for tests and operators).

    The sweeps always run; a digest or the checkpoint runs only if the period containing the
    instant has not been done yet. Counts go to stderr, or with --json to stdout. It does not
    wait for the scheduler's leadership (an operator's tick must not hang behind a running
    scheduler): the unique keys make a tick beside a scheduler, or two ticks at once, harmless.
    """
    from workflow import db, holidays
    from workflow.cli import CliError, emit_json

    from .jobs import BY_ID, run_due

    from workflow import periods
    from workflow.cli import EXIT_REFUSED
    from workflow.clock import utcnow

    now = _parse_now(now_)
    engine = db.get_engine()
    if not db.has_schema(engine):
        raise CliError("the database has no schema (run `rectify init-db` first)")
    holidays.refresh(engine)
    try:  # before any job runs: a key written for a wrong instant stands for good
        periods.check_instant(now, utcnow())
    except periods.InstantRefused as e:
        raise CliError(f"refused ({e.rule}): {e}", EXIT_REFUSED) from None
    if any(BY_ID[j].counts_days for j in (only or BY_ID)):
        warning = holidays.warning(now, engine)
        if warning:
            click.echo(f"rectify: {warning}", err=True)
    results = run_due(now, engine, only=set(only) or None)
    failed = {k: v["error"] for k, v in results.items() if "error" in v}
    if as_json:
        emit_json({"now": now.isoformat() + "Z", "jobs": results})
    else:
        for job_id, result in results.items():
            if result.get("done_before"):
                click.echo(f"{job_id}: already done for {result.get('period')}", err=True)
                continue
            text = " ".join(f"{k}={v}" for k, v in result.items() if k != "done_before")
            click.echo(f"{job_id}: {text}", err=True)
    if failed:
        raise CliError("; ".join(f"{k} failed: {v}" for k, v in failed.items()))


@click.command("scheduler")
@click.option("--poll", type=float, default=None,
              help="seconds between leadership attempts while standby (default 15, env RECTIFY_LEADER_POLL)")
def scheduler(poll):
    """The dedicated scheduler process (APScheduler, Asia/Shanghai); one leader at a time."""
    import logging

    from workflow import db, settings
    from workflow.cli import CliError
    from workflow.logging import configure

    from . import wiring

    configure()
    if logging.getLogger().level > logging.DEBUG:
        # APScheduler logs every run at INFO; our own status lines say what each job did
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
    poll = poll if poll is not None else settings.get().leader_poll
    engine = db.get_engine()
    if not db.has_schema(engine):
        raise CliError("the database has no schema (run `rectify init-db` first)")
    wiring.run(engine, poll=poll)
