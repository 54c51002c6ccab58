"""``rectify backup FILE`` and ``rectify restore FILE``."""
from __future__ import annotations

from collections.abc import Callable

import click

from .. import audit, publication, records
from ..backup import BackupError, backup, restore
from . import EXIT_REFUSED, CliError


def _run(action: Callable[[str], dict], file: str) -> dict:
    """The manifest of ``action(file)``; a BackupError becomes the command's one-line error."""
    try:
        return action(file)
    except BackupError as e:
        raise CliError(f"refused (backup): {e}" if e.exit_code == EXIT_REFUSED else str(e), e.exit_code) from None


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False))
def backup_cmd(file):
    """Write a consistent snapshot (database and evidence files) to FILE."""
    m = _run(backup, file)
    click.echo(f"backup written: {file} ({m['chains']} chains, {m['events']} events, "
               f"{len(m['evidence'])} evidence files)", err=True)


@click.command("restore")
@click.argument("file", type=click.Path(dir_okay=False))
def restore_cmd(file):
    """Restore FILE over the configured database: checked whole in a scratch database first."""
    m = _run(restore, file)
    broken = audit.verify() or audit.check_checkpoints() or publication.verify() or records.verify()
    if broken:
        raise CliError(f"restored, but the audit chain is broken: {broken}")
    click.echo(f"restored {file}: {m['chains']} chains, {m['events']} events; audit chain verified", err=True)


COMMANDS = [backup_cmd, restore_cmd]
