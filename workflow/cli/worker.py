"""``rectify worker``: do the queued exports and notices (:mod:`workflow.jobs`) outside the web app."""
from __future__ import annotations

import json
import signal
import threading

import click

from .. import db, jobs, settings
from . import CliError, emit_json


@click.command("worker")
@click.option("--once", is_flag=True, help="do what is queued now, then exit")
@click.option("--poll", type=float, default=None,
              help="seconds between looks at the queue (default 2, env RECTIFY_JOBS_SECONDS)")
@click.option("--json", "as_json", is_flag=True, help="with --once: the counts as one JSON document")
def worker_cmd(once, poll, as_json):
    """Claim queued jobs (ledger exports, notices) and do them; until stopped, or with --once until none is left.

    Any number of workers (and the scheduler, which does the same) may run at once: each job is
    claimed by one of them under a lease, and a killed worker's job is taken up again once its
    lease runs out. SIGTERM or Ctrl-C stops after the job in hand.
    """
    from ..logging import configure

    engine = db.get_engine()
    if not db.has_schema(engine):
        raise CliError("the database has no schema (run `rectify init-db` first)")
    if once:
        result = jobs.work(engine=engine)
        if as_json:
            emit_json(result.as_dict())
        else:
            click.echo(f"worker: {json.dumps(result.as_dict())}", err=True)
        return
    configure()
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            # not stop.set() here: the main thread may hold the event's lock inside wait()
            signal.signal(sig, lambda *_: threading.Thread(target=stop.set, daemon=True).start())
    poll = poll if poll is not None else settings.get().jobs_seconds
    click.echo(f"rectify worker: polling every {poll:g}s", err=True)
    jobs.serve(stop, poll=poll, engine=engine,
               on_result=lambda r: click.echo(f"rectify worker: {json.dumps(r.as_dict())}", err=True))
    click.echo("rectify worker: stopped", err=True)


COMMANDS = [worker_cmd]
