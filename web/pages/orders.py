"""督办单: the supervision orders issued at L3, each a print-ready page with its replies, and as .docx
or standalone .html to send. Reached from 督办; a person reads the orders of the measures they see
(the office and supervisors every one, the responsible leader, unit and person their own)."""
from __future__ import annotations

from flask import abort, render_template

from web.auth import login_required
from workflow import orders as supervision, readmodels
from workflow.errors import NotFound

from .common import actor, bp, engine, now
from .docs import DOWNLOADS, send_document, shown


@bp.get("/orders")
@login_required
def orders():
    return render_template("pages/orders/list.html", orders=readmodels.supervision_orders(actor(), engine()))


def _order(order_no: str) -> dict:
    try:
        return readmodels.supervision_order(actor(), order_no, now=now(), engine=engine())
    except NotFound:
        abort(404)


@bp.get("/orders/<order_no>")
@login_required
def order(order_no: str):
    o = _order(order_no)
    return render_template("pages/orders/order.html", o=o, doc=shown(supervision.order_doc(o)), downloads=DOWNLOADS)


@bp.get("/orders/<order_no>/<any(docx, html):fmt>")
@login_required
def order_file(order_no: str, fmt: str):
    o = _order(order_no)
    return send_document(supervision.order_doc(o), fmt, f"督办单-{o['order_no']}")
