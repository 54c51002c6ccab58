"""One paginate for every list, on SQLite and PostgreSQL: the pages, walked by offset or by key,
are the whole ordered list cut into pieces."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests import factory
from workflow import db, readmodels
from workflow.models import Measure
from workflow.paging import paginate

M = Measure.__table__


@pytest.fixture
def world(engine):
    return factory.build(engine, measures=7)


@pytest.mark.parametrize("per_page", [1, 2, 3, 7, 8])
@pytest.mark.parametrize("by_key", [False, True])
def test_the_pages_of_a_list_are_the_ordered_list_cut_into_pieces(engine, world, per_page, by_key):
    order = [M.c.deadline, M.c.id.desc()]
    q = select(M.c.id, M.c.text)
    with db.read_tx(engine) as conn:
        whole = [r.id for r in conn.execute(q.order_by(*order))]
        pages = [paginate(conn, q, order, n, per_page, key=M.c.id if by_key else None) for n in range(1, 10)]
    assert whole == sorted(world["measures"], reverse=True)
    assert {(p.total, p.pages) for p in pages} == {(7, -(-7 // per_page))}
    walked = [r.id for p in pages[: pages[0].pages] for r in p.items]
    assert walked == whole
    assert all(p.items == [] for p in pages[pages[0].pages:])


def test_every_list_answers_a_page_clamped_the_same_way(engine, world):
    office = readmodels.load_actor("office1", engine=engine)
    lists = [
        readmodels.list_measures(office, now=factory.NOW, page=0, per_page=10**6, engine=engine),
        readmodels.ledger(office, now=factory.NOW, page=0, per_page=10**6, engine=engine),
        readmodels.list_problems(office, now=factory.NOW, page=0, per_page=10**6, engine=engine),
        readmodels.escalations(office, now=factory.NOW, page=0, per_page=10**6, engine=engine),
        readmodels.notifications(world["office"], page=0, per_page=10**6, engine=engine),
        readmodels.feedback_list(page=0, per_page=10**6, engine=engine),
    ]
    assert [(p.page, p.per_page, p.pages) for p in lists] == [(1, readmodels.MAX_PER_PAGE, 1)] * 6
    assert [p.total for p in lists] == [7, 7, 1, 0, 0, 0]
    assert [m["id"] for m in lists[0].items] == world["measures"]
