"""The supervision order (督办单) at L3: a printable document, answered by a recorded reply."""
from __future__ import annotations

import datetime as dt
import io

import docx
import pytest

from tests import factory
from workflow import commands, db, escalation, orders, render, spec
from workflow.cli import parse_now
from workflow.models import Outbox, User
from sqlalchemy import select


def sweep(at: str, engine):
    return escalation.sweep(parse_now(at), engine)


@pytest.fixture
def ordered(engine):
    ids = factory.build(engine, measures=1, deadline=dt.date(2026, 12, 8), evidence_waived=True)
    mid = ids["measures"][0]
    for at in ("2026-12-03T10:00", "2026-12-09T10:00", "2026-12-15T10:00", "2026-12-22T10:00"):
        sweep(at, engine)
    return mid


def test_an_order_prints_its_number_measure_people_lateness_and_reply_date(engine, ordered):
    o = orders.order("DB-2026-0001", now=parse_now("2026-12-24T10:00"), engine=engine)
    assert o["measure_id"] == ordered and o["issued"] == dt.date(2026, 12, 22)
    assert o["late_at_issue"] == 10 and o["late_now"] == 12
    assert o["reply_by"] == dt.date(2026, 12, 25)  # three working days after Tuesday the 22nd
    assert (o["unit"], o["owner"], o["leader"]) == ("水利局", "水利局责任人", "分管领导甲")
    page = render.render(orders.order_doc(o), "html").decode()
    for text in ("督办单", "DB-2026-0001", "水利局责任人", "分管领导甲", "逾期10个工作日", "2026年12月25日前", "尚未回复"):
        assert text in page, text
    d = docx.Document(io.BytesIO(render.render(orders.order_doc(o), "docx")))
    assert d.tables[0].cell(1, 1).text == "DB-2026-0001"  # row 0 is the header


def test_the_owner_replies_to_the_order_and_the_office_and_supervisors_are_told(engine, ordered):
    r = commands.fire(ordered, "reply_order", "owner1", comment="已加派人手，预计本月底完成。",
                      now=parse_now("2026-12-23T10:00"), engine=engine)
    assert r.state == "assigned" and r.notified >= 2
    o = orders.order("DB-2026-0001", engine=engine)
    assert [(x["by"], x["text"]) for x in o["replies"]] == [("水利局责任人", "已加派人手，预计本月底完成。")]
    assert "已加派人手" in render.render(orders.order_doc(o), "md").decode()
    with db.read_tx(engine) as conn:
        told = set(conn.execute(select(User.username).join(Outbox, Outbox.recipient_id == User.id)
                                .where(Outbox.kind == "order_replied")).scalars())
    assert told == {"office1", "super1"}
    assert orders.orders(engine)[0]["replied"] is True


def test_a_reply_without_an_order_or_from_a_stranger_is_refused(engine):
    ids = factory.build(engine, measures=1, deadline=dt.date(2026, 12, 8))
    with pytest.raises(spec.Refused) as info:
        commands.fire(ids["measures"][0], "reply_order", "owner1", comment="x", engine=engine)
    assert info.value.rule == "no_order"


def test_an_unknown_order_is_not_found(engine):
    from workflow.errors import NotFound

    with pytest.raises(NotFound):
        orders.order("DB-2026-9999", engine=engine)
