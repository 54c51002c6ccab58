"""The ``rectify`` command line.

Core commands live here. More commands come from the modules of this package and from the
``rectify.commands`` entry-point group (the web app and the scheduler register theirs there, so
the engine imports nothing from them). Errors are one line on stderr and a non-zero exit:
3 a refused trigger or input, 4 a conflict, 5 not found, 1 anything else.
"""
from __future__ import annotations

import datetime as dt
import importlib
import json
import pkgutil
import sys
from pathlib import Path

import click
from sqlalchemy import insert, select
from sqlalchemy.exc import OperationalError, ProgrammingError

from .. import (
    audit, commands, db, evidence as ev, outfile, publication, readmodels, records, security_log, settings, spec,
    workdays,
)
from ..clock import utcnow
from ..errors import Conflict, NotFound
from ..models import User

EXIT_REFUSED, EXIT_CONFLICT, EXIT_NOT_FOUND = 3, 4, 5
MAX_ID = 2**31 - 1  # ids, versions and numbers the databases can hold (INTEGER on PostgreSQL)


class _Whole(click.IntRange):
    """A whole number within what the databases hold: a mistake is one line naming the bounds."""

    name = "whole number"


ID = _Whole(1, MAX_ID)  # an id or a plan number
COUNT = _Whole(0, MAX_ID)  # a version or a limit
YEAR = _Whole(1900, 2200)


class CliError(click.ClickException):
    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.exit_code = code  # type: ignore[misc]  # click declares it on the class; each error has its own

    def show(self, file=None):
        click.echo(f"rectify: {self.format_message()}", err=True)


def emit_json(data) -> None:
    """One JSON document on stdout, UTF-8."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str))
    sys.stdout.write("\n")


def emit_rows(rows: list, as_json: bool, line) -> None:
    """``rows`` as one JSON document, or one line each (``line(row) -> str``)."""
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        click.echo(line(r))


def write_doc(doc, fmt: str, output: str | None, what: str = "document") -> None:
    """A rendered :class:`workflow.render.Doc` to ``output`` (atomically), or to stdout; a .docx needs a file."""
    from .. import render

    if output and output != "-":
        render.write(doc, output, fmt)
        click.echo(f"{what} written: {output}", err=True)
    elif fmt == "docx":
        raise CliError("refused (output_required): a .docx needs -o FILE", EXIT_REFUSED)
    else:
        sys.stdout.buffer.write(render.render(doc, fmt))
        sys.stdout.flush()


def require_user(username: str) -> None:
    """NotFound unless ``username`` exists (``system`` always does)."""
    if username == "system":
        return
    with db.read_tx() as conn:
        if conn.execute(select(User.id).where(User.username == username)).first() is None:
            raise NotFound(f"no such user: {username}")
def emit_json_rows(rows) -> None:
    """One JSON list on stdout, written row by row as the rows come (memory stays flat)."""
    out = sys.stdout
    out.write("[")
    for i, row in enumerate(rows):
        if i:
            out.write(",")
        out.write(json.dumps(row, ensure_ascii=False, default=str))
    out.write("]\n")


def parse_now(value: str | None) -> dt.datetime:
    """An ISO 8601 instant as naive UTC; naive input is taken as China time. No option given: now;
    an empty or unreadable one is refused."""
    if value is None:
        return utcnow()
    if not value.strip():
        raise CliError("--now is empty: give an ISO 8601 time", EXIT_REFUSED)
    try:
        t = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise CliError(f"not an ISO 8601 time: {value}", EXIT_REFUSED) from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=workdays.TZ)
    return t.astimezone(dt.UTC).replace(tzinfo=None)


def warn_calendar(now: dt.datetime) -> None:
    """One line on stderr if the days this command counts fall in a year no schedule covers."""
    from .. import holidays

    line = holidays.warning(now)
    if line:
        click.echo(f"rectify: {line}", err=True)


class LazyGroup(click.Group):
    """Loads plugin commands (web, scheduler, bench) only when they are asked for."""

    _eps: dict | None = None

    def _entry_points(self) -> dict:
        """The declared plugin commands, read from the installed metadata once per process."""
        if self._eps is None:
            from importlib.metadata import entry_points

            try:
                self._eps = {ep.name: ep for ep in entry_points(group="rectify.commands")}
            except Exception:  # pragma: no cover - broken metadata must not break the core CLI
                self._eps = {}
        return self._eps

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | set(self._entry_points()))

    def get_command(self, ctx, name):
        cmd = super().get_command(ctx, name)
        if cmd is None:
            ep = self._entry_points().get(name)
            if ep is not None:
                try:
                    cmd = ep.load()
                except ImportError:
                    return None
                self.add_command(cmd, name)
        return cmd


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
def main_group():
    """Rectify: rectification after an inspection (巡察整改)."""


@main_group.command("init-db")
def init_db_cmd():
    """Create or upgrade the schema (idempotent)."""
    db.init_db()
    ensure_system_user()
    click.echo(f"database ready: {_safe_url(db.database_url())}", err=True)


def ensure_system_user(engine=None) -> None:
    """The scheduler acts as the user ``system``, which has no password and cannot log in."""
    with db.write_tx(engine) as conn:
        if conn.execute(select(User.id).where(User.username == "system")).first() is None:
            conn.execute(insert(User.__table__), {"username": "system", "name": "系统", "active": True,
                                                  "locale": "zh"})


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@main_group.command("demo")
@click.option("--load-only", is_flag=True, help="load the demo and exit, do not serve")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=click.IntRange(1, 65535))
def demo_cmd(load_only, host, port):
    """Load the demo (the seed notice, fictional people); without --load-only also serve."""
    from .. import demo, holidays

    db.init_db()
    ensure_system_user()
    now = utcnow()
    holidays.refresh()
    summary = demo.load(now=now)
    warn_calendar(now)
    click.echo(f"demo loaded: {summary}", err=True)
    if load_only:
        return
    serve = _plugin("serve")
    scheduler = _plugin("scheduler")
    if serve is None:
        raise CliError("the web app is not installed")
    proc = None
    if scheduler is not None:
        import subprocess

        proc = subprocess.Popen([sys.executable, "-m", "workflow.cli", "scheduler"])
    try:
        ctx = click.get_current_context()
        ctx.invoke(serve, host=host, port=port)
    finally:
        if proc is not None:
            proc.terminate()


@main_group.command("users")
@click.option("--json", "as_json", is_flag=True)
def users_cmd(as_json):
    """People: username, display name, roles, unit."""
    from ..readmodels import list_users

    emit_rows(list_users(), as_json,
              lambda r: f"{r['username']:<24} {r['name']:<20} {','.join(r['roles']):<24} {r['unit'] or ''}")


@main_group.command("items")
@click.option("--state", type=click.Choice(spec.STATES))
@click.option("--unit", help="unit name")
@click.option("--light", type=click.Choice(["green", "yellow", "red", "done"]))
@click.option("--now", "now_", help="evaluate lights at this instant (ISO 8601)")
@click.option("--json", "as_json", is_flag=True)
def items_cmd(state, unit, light, now_, as_json):
    """Measures: id, problem no., state, light, owner, leader, unit, deadline, version."""
    from ..readmodels import iter_items

    now = parse_now(now_)
    warn_calendar(now)
    rows = iter_items(state=state, unit=unit, light=light, now=now)
    if as_json:
        emit_json_rows(rows)
        return
    for r in rows:
        click.echo(f"{r['id']:>5} 问题{r['problem_no']:<3} {r['state']:<12} {r['light']:<6} "
                   f"{r['owner'] or '':<20} {r['leader'] or '':<20} {r['unit'] or '':<16} "
                   f"{r['deadline'] or '':<10} v{r['version']}")


def _param_options(command):
    """One option per parameter a trigger may take, from the trigger table (``--new-deadline`` …)."""
    for name, p in reversed(list(spec.PARAMS.items())):
        if name in ("comment", "reason"):
            continue
        takers = ", ".join(t.name for t in spec.TRIGGERS.values() if t.public and t.param(name) is not None)
        kind = click.Choice(p.choices) if p.choices else None
        command = click.option(f"--{name.replace('_', '-')}", name, type=kind, default=None,
                               help=f"for {takers}")(command)
    return command


@main_group.command("fire", help="Fire a trigger or record an event on a measure.\n\nTRIGGER is one of: "
                   + ", ".join(spec.PUBLIC_TRIGGERS) + ".")
@click.argument("measure_id", type=ID)
@click.argument("trigger", metavar="TRIGGER")
@click.option("--as", "as_user", required=True, help="the acting user's username")
@click.option("--comment", default="", help="account (for submit), or the text of a comment or update")
@click.option("--reason", default="")
@click.option("--evidence", multiple=True, type=click.Path(dir_okay=False), help="an evidence file (repeatable)")
@_param_options
@click.option("--if-version", type=COUNT, help="refuse if the measure is no longer at this version")
@click.option("--json", "as_json", is_flag=True)
def fire_cmd(measure_id, trigger, as_user, comment, reason, evidence, if_version, as_json, **params):
    """Fire a trigger or record an event on a measure (TRIGGER checked here: one line, exit 3)."""
    if trigger not in spec.PUBLIC_TRIGGERS:
        raise spec.Refused("unknown_trigger", f"unknown trigger {trigger!r}: one of {', '.join(spec.PUBLIC_TRIGGERS)}")
    given = spec.inputs(trigger, comment, reason, params)
    paths = []
    for path in evidence:
        p = Path(path)
        if not p.is_file():
            raise CliError(f"no such file: {path}", EXIT_REFUSED)
        if p.stat().st_size > ev.max_bytes():
            raise CliError(f"refused (evidence_too_large): {p.name}: larger than the upload limit", EXIT_REFUSED)
        paths.append(p)
    try:
        if paths:  # every rule first, so a refused command leaves no file behind
            readmodels.preflight(readmodels.load_actor(as_user), measure_id, trigger, comment=given["comment"],
                                 reason=given["reason"], new_evidence=len(paths), params=given["params"],
                                 expected_version=if_version, now=utcnow())
        res = commands.fire_with_files(measure_id, trigger, as_user, [(p.read_bytes(), p.name) for p in paths],
                                       comment=given["comment"], reason=given["reason"], params=given["params"],
                                       expected_version=if_version)
    except spec.Refused as e:
        if e.rule == "not_permitted":
            security_log.record("not_permitted", "refused", actor=as_user, ip="cli",
                                detail=f"fire {measure_id} {trigger}")
        raise
    if as_json:
        emit_json(res.__dict__)
    else:
        click.echo(f"measure {res.measure_id}: {res.trigger} {res.from_state} -> {res.state} "
                   f"(version {res.version}, event #{res.seq})")


@main_group.group("audit")
def audit_group():
    """The audit chain."""


@audit_group.command("verify")
def audit_verify_cmd():
    """Exit 0 if every chain and checkpoint holds; else name the first broken event."""
    broken = audit.verify() or audit.check_checkpoints() or publication.verify() or records.verify()
    if broken:
        raise CliError(f"audit chain broken: {broken}", 1)
    click.echo("audit chain verified", err=True)


@audit_group.command("checkpoint")
@click.option("--now", "now_", help="ISO 8601 instant (default: now)")
def audit_checkpoint_cmd(now_):
    """Record today's checkpoint over all chain heads (once a day)."""
    now = parse_now(now_)
    made = audit.record_checkpoint(workdays.local_today(now), now)
    click.echo("checkpoint recorded" if made else "checkpoint already recorded today", err=True)


@audit_group.command("checkpoints")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="write to FILE instead of stdout")
def audit_checkpoints_cmd(output):
    """Export every checkpoint (day, digest, chains, events) for publication."""
    rows = audit.list_checkpoints()
    if output:
        outfile.write_bytes(output, (json.dumps(rows, ensure_ascii=False, indent=1) + "\n").encode("utf-8"))
        click.echo(f"{len(rows)} checkpoints written to {output}", err=True)
    else:
        emit_json(rows)


@audit_group.command("check-published")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def audit_check_published_cmd(file):
    """Check that a published checkpoint file still matches the stored history."""
    try:
        published = json.loads(Path(file).read_text(encoding="utf-8"))
    except ValueError:
        raise CliError(f"{file}: not a JSON checkpoint export", EXIT_REFUSED) from None
    problem = audit.check_published(published)
    if problem:
        raise CliError(f"published checkpoint does not match: {problem}", 1)
    click.echo(f"{len(published)} published checkpoints match the stored history", err=True)


def create_token(username: str, engine=None) -> str:
    """A new API bearer token for ``username`` (see :func:`workflow.commands.tokens.create`)."""
    from ..commands import tokens

    return tokens.create(username, engine=engine)


@main_group.command("notifications")
@click.option("--json", "as_json", is_flag=True)
@click.option("--limit", type=COUNT, default=None)
def notifications_cmd(as_json, limit):
    """The outbox: recipient, channel, kind, measure, level, created, sent."""
    from ..readmodels import list_notifications

    rows = list_notifications(limit=limit)
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        click.echo(f"{r['created_at']} {r['recipient']:<20} {r['channel']:<8} {r['kind']:<20} "
                   f"m{r['measure_id']} L{r['level']} sent={r['sent_at']}")


# --- plugins ----------------------------------------------------------------

def _plugin(name: str):
    return main_group.get_command(click.get_current_context(), name)


def _load_plugins() -> None:
    """Add the commands of the modules of this package (entry-point commands load on demand)."""
    
    for mod in pkgutil.iter_modules(__path__):
        if mod.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{mod.name}")
        for cmd in getattr(module, "COMMANDS", ()):
            main_group.add_command(cmd)


def _debug() -> bool:
    try:
        return settings.get().debug
    except settings.SettingsError:
        return False


def _bad_argument(argv: list[str]) -> str | None:
    """The first argument that is not text (invalid UTF-8 arrives as lone surrogates), named."""
    for i, arg in enumerate(argv):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            shown = arg.encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")[:60]
            return f"argument {i + 1} is not valid UTF-8 text: {shown}"
    return None


def main(argv=None) -> int:
    """Console entry point: run the CLI, turn every mistake and domain error into one line and an
    exit code (a usage mistake is bad input: exit 3, as a refusal, never click's usage block)."""
    _load_plugins()
    args = list(sys.argv[1:] if argv is None else argv)
    bad = _bad_argument(args)
    if bad:
        click.echo(f"rectify: refused (invalid_input): {bad}", err=True)
        return EXIT_REFUSED
    try:
        main_group.main(args=args, prog_name="rectify", standalone_mode=False)
        return 0
    except click.exceptions.Exit as e:
        return e.exit_code
    except click.Abort:
        click.echo("rectify: aborted", err=True)
        return 1
    except click.UsageError as e:
        hint = f" (see `{e.ctx.command_path} --help`)" if e.ctx is not None else ""
        message = " ".join(e.format_message().split())
        click.echo(f"rectify: refused (usage): {message}{hint}", err=True)
        return EXIT_REFUSED
    except click.ClickException as e:
        e.show()
        return e.exit_code
    except spec.Refused as e:
        click.echo(f"rectify: refused ({e.rule}): {e.message}", err=True)
        return EXIT_REFUSED
    except outfile.OutputError as e:
        click.echo(f"rectify: refused (output): {e}", err=True)
        return EXIT_REFUSED
    except ev.EvidenceUnavailable as e:
        click.echo(f"rectify: {e.rule}: {e.message}", err=True)
        return 1
    except ev.EvidenceRefused as e:
        click.echo(f"rectify: refused ({e.rule}): {e.message}", err=True)
        return EXIT_REFUSED
    except Conflict as e:
        click.echo(f"rectify: conflict: {e}", err=True)
        return EXIT_CONFLICT
    except NotFound as e:
        click.echo(f"rectify: not found: {e}", err=True)
        return EXIT_NOT_FOUND
    except (OperationalError, ProgrammingError) as e:
        if _debug():
            raise
        msg = str(e.orig).splitlines()[0] if e.orig else str(e).splitlines()[0]
        if "no such table" in msg or "does not exist" in msg:
            msg += " (run `rectify init-db` first)"
        click.echo(f"rectify: database error: {msg}", err=True)
        return 1
    except settings.SettingsError as e:
        click.echo(f"rectify: bad setting: {e}", err=True)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # one line, never a traceback
        if _debug():
            raise
        click.echo(f"rectify: error: {type(e).__name__}: {e}", err=True)
        return 1
