"""``rectify token create|list|revoke``: API bearer tokens, which expire and can be revoked."""
from __future__ import annotations

import getpass

import click

from ..commands import tokens
from . import ID, emit_rows


def cli_actor() -> str:
    """Who acts from the command line, as the security log names them."""
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no user name for this process (a container without one)
        return "cli"


@click.group("token")
def token_group():
    """API bearer tokens (expire after RECTIFY_TOKEN_DAYS, 90 by default)."""


@token_group.command("create")
@click.argument("username")
@click.option("--days", type=click.IntRange(1, 3650), default=None,
              help="days until it expires (default RECTIFY_TOKEN_DAYS, 90)")
def token_create_cmd(username, days):
    """Print a new API bearer token for USER (shown once; only its hash is kept)."""
    click.echo(tokens.create(username, days=days, by=cli_actor(), ip="cli"))


@token_group.command("list")
@click.argument("username", required=False)
@click.option("--json", "as_json", is_flag=True)
def token_list_cmd(username, as_json):
    """Every token (or USER's): id, user, made, expires, state (live, expired, revoked)."""
    rows = tokens.listing(username)
    if as_json:  # instants as ISO 8601 in UTC
        rows = [{**r, "created_at": r["created_at"].isoformat() + "Z",
                 "expires_at": r["expires_at"].isoformat() + "Z" if r["expires_at"] else None} for r in rows]
    emit_rows(rows, as_json, lambda r: (
        f"{r['id']:>6} {r['user']:<20} {r['created_at']:%Y-%m-%d %H:%M}  "
        f"{format(r['expires_at'], '%Y-%m-%d %H:%M') if r['expires_at'] else '—'}  {r['state']}"))


@token_group.command("revoke")
@click.argument("token_id", type=ID)
def token_revoke_cmd(token_id):
    """Revoke the token TOKEN_ID (see `rectify token list`): it stops working at once."""
    out = tokens.revoke(token_id, by=cli_actor(), ip="cli")
    click.echo(f"token {out['id']} of {out['user']} revoked", err=True)


COMMANDS = [token_group]
