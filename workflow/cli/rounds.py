"""``rectify recurrence``, ``rectify spread`` and ``rectify rounds``: problems that come back, one problem
checked everywhere, and every target's rounds."""
from __future__ import annotations

import click

from .. import readmodels, recurrence, rounds
from ..commands import spread as spread_cmd
from . import EXIT_REFUSED, CliError, emit_json, emit_rows, parse_now


@click.group("recurrence", invoke_without_command=True)
@click.option("--plan", "plan_id", type=int, help="links of this plan's problems (default: every plan)")
@click.option("--status", type=click.Choice(["candidate", "confirmed", "dismissed"]))
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def recurrence_group(ctx, plan_id, status, as_json):
    """Links between a round's problems and earlier rounds': list them, scan, confirm or dismiss."""
    if ctx.invoked_subcommand is not None:
        return
    emit_rows(recurrence.links(plan_id, status), as_json,
              lambda r: f"#{r['id']:<4} plan {r['plan']} 问题{r['problem_no']:<3} ← plan {r['earlier_plan']} "
                        f"问题{r['earlier_problem_no']:<3} {r['score']:.3f} {r['status']}")


@recurrence_group.command("scan")
@click.option("--plan", "plan_id", type=int, required=True)
@click.option("--all-targets", "across", is_flag=True, help="compare with every other plan, not only earlier rounds")
def scan_cmd(plan_id, across):
    """Look again for the plan's problems in earlier rounds (imports do this by themselves)."""
    n = recurrence.scan_plan(plan_id, across=across)
    click.echo(f"{n} new candidate link(s)", err=True)


def _decide(fn, link_id, as_user, now_, as_json):
    out = fn(link_id, as_user, now=parse_now(now_))
    if as_json:
        emit_json(out)
    else:
        reopened = f"; reopened measures {out['reopened']}" if out["reopened"] else ""
        click.echo(f"link {link_id}: {out['status']}{reopened}", err=True)


def _decision(name: str, fn, doc: str) -> None:
    @recurrence_group.command(name, help=doc)
    @click.argument("link_id", type=int)
    @click.option("--as", "as_user", required=True)
    @click.option("--now", "now_")
    @click.option("--json", "as_json", is_flag=True)
    def command(link_id, as_user, now_, as_json):
        _decide(fn, link_id, as_user, now_, as_json)


_decision("confirm", recurrence.confirm,
          "The same problem, found again: recorded, counted, earlier long-term measures reopened (rebound).")
_decision("dismiss", recurrence.dismiss, "Not the same problem.")


@click.command("spread")
@click.argument("problem_id", type=int)
@click.option("--as", "as_user", required=True, help="who starts it (the rectification office)")
@click.option("--unit", "units", multiple=True, help="a unit to check itself (repeatable)")
@click.option("--unit-kind", help="every unit of this kind (subdistrict, community, department …)")
@click.option("--deadline", required=True, help="when the self-checks are due (YYYY-MM-DD)")
@click.option("--fix-days", type=int, default=30, show_default=True, help="a finding's measure is due this many days later")
@click.option("--now", "now_")
@click.option("--json", "as_json", is_flag=True)
def spread_cli(problem_id, as_user, units, unit_kind, deadline, fix_days, now_, as_json):
    """举一反三: a self-check (自查) of PROBLEM_ID for each chosen unit."""
    import datetime as dt

    try:
        due = dt.date.fromisoformat(deadline)
    except ValueError:
        raise CliError(f"refused (invalid_input): not a date (YYYY-MM-DD): {deadline}", EXIT_REFUSED) from None
    out = spread_cmd.start(problem_id, as_user, deadline=due, units=list(units), unit_kind=unit_kind,
                           fix_days=fix_days, now=parse_now(now_))
    if as_json:
        emit_json(out)
    else:
        click.echo(f"spread {out['spread_id']}: {len(out['measures'])} self-check(s): "
                   + "、".join(m["unit"] for m in out["measures"]), err=True)


@click.command("rounds")
@click.option("--as", "as_user", default=None, help="as seen by this person (default: every target)")
@click.option("--now", "now_")
@click.option("--json", "as_json", is_flag=True)
def rounds_cmd(as_user, now_, as_json):
    """Every target's rounds: problems, rate, measures, overdue, recurrences, last published notice."""
    from .. import spec

    actor = readmodels.load_actor(as_user) if as_user else spec.Actor(0, "system", frozenset({"inspection_office"}))
    emit_rows(rounds.overview(actor, now=parse_now(now_)), as_json,
              lambda r: f"{r['target']:<16} 第{r['round'] or '—'}轮 {r['genre_label']} plan {r['plan_id']:<4} "
                        f"问题 {r['problems_done']}/{r['problems']} ({r['rate']}%)  措施 {r['closed']}/{r['measures']}  "
                        f"逾期 {r['overdue']}  反弹 {r['recurred']}")


COMMANDS = [recurrence_group, spread_cli, rounds_cmd]
