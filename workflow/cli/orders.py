"""``rectify order list|show``: supervision orders (督办单), printable."""
from __future__ import annotations

import click

from .. import orders, render
from . import emit_rows, parse_now, write_doc


@click.group("order")
def order_group():
    """Supervision orders issued at escalation level 3."""


@order_group.command("list")
@click.option("--json", "as_json", is_flag=True)
def list_cmd(as_json):
    """Every order, newest first, and whether it has been answered."""
    emit_rows(orders.orders(), as_json,
              lambda r: f"{r['order_no']}  {r['issued']}  #{r['measure_id']} 问题{r['problem_no']}-{r['seq']}  "
                        f"{r['unit'] or ''}  {'已回复' if r['replied'] else '未回复'}")


@order_group.command("show")
@click.argument("order_no")
@click.option("--format", "fmt", type=click.Choice(render.FORMATS), default="md")
@click.option("-o", "--output", type=click.Path(dir_okay=False))
@click.option("--now", "now_", help="count days overdue at this instant (ISO 8601)")
def show_cmd(order_no, fmt, output, now_):
    """The order as Markdown, print-ready HTML or .docx."""
    write_doc(orders.order_doc(orders.order(order_no, now=parse_now(now_))), fmt, output, "supervision order")


COMMANDS = [order_group]
