"""Keyword search in the ledger: SQLite FTS5 with the trigram tokenizer, PostgreSQL pg_trgm (migration 0016).

Both databases through the ``engine`` fixture. The texts are written here (a made-up county's river
and roads), so what must be found and what must not is known.
"""
from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
from sqlalchemy import update

from tests import factory
from workflow import commands, db, evidence, jobs, planwriter, readmodels
from workflow.models import Problem
from workflow.readmodels import search

TEXTS = (
    # (problem text, measure text)
    ("测试县小洪河河道治理不到位，沿岸垃圾清理不及时。", "对小洪河沿岸垃圾开展集中清理，建立河长巡查台账。"),
    ("测试县小洪河河道治理不到位，沿岸垃圾清理不及时。", "完善河道保洁长效机制，明确保洁责任单位。"),
    ("城区道路积水点改造进度缓慢。", "对东风路积水点实施雨污分流改造（100% 完成）。"),
)


@pytest.fixture
def world(engine):
    ids = factory.build(engine, measures=1)
    made = []
    with db.write_tx(engine) as conn:
        part = conn.execute(Problem.__table__.select().where(Problem.id == ids["problem"])).one().part_id
        problems: dict[str, int] = {}
        for n, (problem, text) in enumerate(TEXTS):
            if problem not in problems:
                problems[problem] = planwriter.problem(conn, ids["plan"], part, 10 + len(problems), problem)
            made.append(planwriter.measure(conn, problems[problem], n + 1, text, leader_id=ids["leader"],
                                           unit_id=ids["unit"], owner_id=ids["owner"],
                                           deadline=dt.date(2026, 12, 31), now=factory.NOW))
    return engine, ids, made


def found(engine, q, who="office1"):
    actor = readmodels.load_actor(who, engine=engine)
    return readmodels.ledger_ids(actor, now=factory.NOW, q=q, engine=engine)


def test_a_keyword_finds_the_measures_whose_problem_or_own_text_holds_it(world):
    engine, ids, made = world
    assert found(engine, "小洪河") == made[:2]  # one by its own text, both by their problem's
    assert found(engine, "积水点改造") == [made[2]]
    assert found(engine, "黄河") == []


def test_every_word_of_a_search_must_occur(world):
    engine, ids, made = world
    assert found(engine, "小洪河 台账") == [made[0]]
    assert found(engine, "小洪河　保洁") == [made[1]]  # a full-width space separates words too
    assert found(engine, "小洪河 积水") == []


def test_a_word_shorter_than_a_trigram_is_still_found(world):
    engine, ids, made = world
    assert found(engine, "河道") == made[:2]
    assert found(engine, "雨") == [made[2]]


def test_the_characters_of_a_like_pattern_are_taken_literally(world):
    engine, ids, made = world
    assert found(engine, "%") == [made[2]]  # only the text that holds a per cent sign
    assert found(engine, "_") == []
    assert found(engine, '"') == []


def test_an_account_submitted_later_is_found(world):
    engine, ids, made = world
    m = made[2]
    commands.fire(m, "start", "owner1", now=factory.NOW, engine=engine)
    commands.fire(m, "submit", "owner1", comment="已完成东风路排水管网疏浚。", now=factory.NOW, engine=engine,
                  evidence=[evidence.store(b"\x89PNG\r\n\x1a\n" + bytes(range(40)), "x.png")])
    assert found(engine, "排水管网疏浚") == [m]


def test_a_problem_rewritten_is_found_by_its_new_words_only(world):
    engine, ids, made = world
    with db.write_tx(engine) as conn:
        pid = conn.execute(Problem.__table__.select().where(Problem.text == TEXTS[2][0])).one().id
        conn.execute(update(Problem.__table__).where(Problem.id == pid).values(text="城区易涝路段排查不彻底。"))
    assert found(engine, "易涝路段") == [made[2]]
    assert found(engine, "进度缓慢") == []


def test_a_search_stays_within_what_the_person_may_see(world):
    engine, ids, made = world
    assert found(engine, "小洪河", who="owner3") == []  # another unit's owner
    assert found(engine, "小洪河", who="owner1") == made[:2]


def test_the_ledger_pages_a_search_with_its_total(world):
    engine, ids, made = world
    actor = readmodels.load_actor("office1", engine=engine)
    page = readmodels.ledger(actor, now=factory.NOW, q="小洪河", per_page=1, engine=engine)
    assert page.total == 2 and [m["id"] for m in page.items] == [made[0]]


def test_search_terms_are_bounded():
    assert search.terms("  a  b ") == ["a", "b"]
    assert len(search.terms(" ".join("词" * 3 for _ in range(20)))) == search.MAX_TERMS
    assert search.terms("长" * 500) == ["长" * search.MAX_LENGTH]
    assert search.terms(None) == []


def test_the_export_of_a_search_holds_only_what_matched(world):
    engine, ids, made = world
    job = jobs.enqueue_ledger_export(ids["office"], ids["plan"], now=factory.NOW, engine=engine, actor="office1",
                                     filters={"q": "小洪河"})
    assert jobs.status(job, ids["office"], engine)["total"] == 2
    assert jobs.status(job, ids["office"], engine)["name"].endswith("-筛选.xlsx")
    jobs.work(engine=engine)
    path, _name, _mime = jobs.ready_file(job, ids["office"], engine)
    wb = openpyxl.load_workbook(io.BytesIO(path.read_bytes()))
    texts = {c for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for c in row if isinstance(c, str)}
    assert TEXTS[0][1] in texts and TEXTS[1][1] in texts
    assert TEXTS[2][1] not in texts and "整改措施 1" not in texts
