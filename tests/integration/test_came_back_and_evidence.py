"""What came back, evidence kept once and removable before submission, and what is new since a return.

On SQLite and PostgreSQL (the ``engine`` fixture), through the engine's own commands.
"""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from tests import factory
from tests.conftest import png_bytes
from workflow import audit, commands, db, evidence as ev, readmodels, spec
from workflow.commands import evidence as evidence_commands, stash
from workflow.errors import Conflict, NotFound
from workflow.models import Event, Measure, MeasureEvidence
from workflow.readmodels import history

T0 = factory.NOW


@pytest.fixture
def world(engine):
    return engine, factory.build(engine, measures=3)


def fire(engine, mid, trigger, actor, minutes=0, **kw):
    return commands.fire(mid, trigger, actor, now=T0 + dt.timedelta(minutes=minutes), engine=engine, **kw)


def photo(seed, name="现场.png"):
    return ev.store(png_bytes(seed), name)


def live(engine, mid):
    with db.read_tx(engine) as conn:
        return [r.name for r in conn.execute(select(MeasureEvidence.name).where(
            MeasureEvidence.measure_id == mid, MeasureEvidence.removed_seq.is_(None)).order_by(MeasureEvidence.id))]


def count(engine, mid):
    with db.read_tx(engine) as conn:
        return conn.execute(select(Measure.evidence_count).where(Measure.id == mid)).scalar_one()


def test_a_returned_measure_is_first_on_the_to_do_with_who_why_and_since_when(world):
    engine, ids = world
    a, b, c = ids["measures"]
    for m in (a, b, c):
        fire(engine, m, "start", "owner1")
    fire(engine, c, "submit", "owner1", 1, comment="已完成。", evidence=[photo(1)])
    fire(engine, c, "return", "leader1", 2, reason="照片看不清。")
    owner = readmodels.load_actor("owner1", engine=engine)
    todo = readmodels.todo(owner, now=T0, engine=engine)
    assert [m["id"] for m in todo] == [c, a, b]
    back = todo[0]["came_back"]
    assert (back["kind"], back["reason"], back["by_name"], back["at"]) == ("return", "照片看不清。", "分管领导甲",
                                                                          T0 + dt.timedelta(minutes=2))
    assert todo[1]["came_back"] is None
    # resubmitted, it is no longer "back": it waits, and the leader sees it was returned before
    fire(engine, c, "submit", "owner1", 3, comment="已补拍。", evidence=[photo(2)])
    assert [m["id"] for m in readmodels.todo(owner, now=T0, engine=engine)] == [a, b]
    leader = readmodels.load_actor("leader1", engine=engine)
    queued = readmodels.review_queue(leader, now=T0, engine=engine)["submitted"]
    assert [(m["id"], m["last_sent_back"]["kind"], m["new_evidence"]) for m in queued] == [(c, "return", 1)]


def test_a_refused_sign_off_and_a_reopening_come_back_too(world):
    engine, ids = world
    a, b, _ = ids["measures"]
    for m in (a, b):
        for n, (t, who, kw) in enumerate((("start", "owner1", {}), ("submit", "owner1", {"comment": "完成",
                                          "evidence": [photo(m)]}), ("approve", "leader1", {}))):
            fire(engine, m, t, who, n, **kw)
    fire(engine, a, "reject", "office1", 5, reason="与台账不符。")
    fire(engine, b, "sign_off", "office1", 5)
    fire(engine, b, "reopen", "insp1", 9, reason="回访发现问题仍在。", params={"category": "rebound"})
    with db.read_tx(engine) as conn:
        back = history.sent_back(conn, [a, b])
    assert (back[a]["kind"], back[a]["reason"]) == ("reject", "与台账不符。")
    assert (back[b]["kind"], back[b]["category"], back[b]["by_name"]) == ("reopen", "rebound", "巡察组联络员")
    assert history.SENT_BACK == ("return", "reject", "reopen")


def test_the_same_file_uploaded_twice_is_kept_once(world):
    engine, ids = world
    m = ids["measures"][0]
    fire(engine, m, "start", "owner1")
    r = fire(engine, m, "progress_update", "owner1", 1, comment="进展", evidence=[photo(5, "a.png"), photo(5, "b.png")])
    assert len(r.evidence) == 1
    r = fire(engine, m, "submit", "owner1", 2, comment="完成", evidence=[photo(5, "c.png"), photo(6, "d.png")])
    assert r.evidence == [photo(6).sha256]
    assert live(engine, m) == ["a.png", "d.png"] and count(engine, m) == 2
    assert audit.verify(engine) is None


def test_a_wrong_file_can_be_removed_until_it_is_submitted(world):
    engine, ids = world
    m = ids["measures"][0]
    fire(engine, m, "start", "owner1")
    fire(engine, m, "progress_update", "owner1", 1, comment="进展", evidence=[photo(1, "错的.png"), photo(2, "对的.png")])
    wrong = photo(1).sha256
    with pytest.raises(spec.Refused) as e:
        evidence_commands.remove_evidence(m, wrong, "leader1", now=T0, engine=engine)
    assert e.value.rule == "not_permitted"
    with pytest.raises(Conflict):
        evidence_commands.remove_evidence(m, wrong, "owner2", expected_version=1, now=T0, engine=engine)
    done = evidence_commands.remove_evidence(m, wrong, "owner2", now=T0, engine=engine)  # a colleague of the unit
    assert done["name"] == "错的.png"
    assert live(engine, m) == ["对的.png"] and count(engine, m) == 1
    with pytest.raises(spec.Refused) as e:
        evidence_commands.remove_evidence(m, wrong, "owner1", now=T0, engine=engine)
    assert e.value.rule == "evidence_unknown"
    office = readmodels.load_actor("office1", engine=engine)
    with pytest.raises(NotFound):
        readmodels.evidence_file(office, wrong, engine=engine)  # no longer served
    # submitted, the file stays: the approver has it on record
    fire(engine, m, "submit", "owner1", 2, comment="完成")
    fire(engine, m, "return", "leader1", 3, reason="补充")
    with pytest.raises(spec.Refused) as e:
        evidence_commands.remove_evidence(m, photo(2).sha256, "owner1", now=T0, engine=engine)
    assert e.value.rule == "evidence_submitted"
    # the removal is on the chain, and the chain still holds
    with db.read_tx(engine) as conn:
        kinds = [k for k, in conn.execute(select(Event.kind).where(Event.measure_id == m).order_by(Event.seq))]
    assert kinds == ["create", "start", "progress_update", "remove_evidence", "submit", "return"]
    assert audit.verify(engine) is None


def test_removing_the_only_file_brings_the_evidence_rule_back(world):
    engine, ids = world
    m = ids["measures"][0]
    fire(engine, m, "start", "owner1")
    fire(engine, m, "progress_update", "owner1", 1, comment="进展", evidence=[photo(3)])
    evidence_commands.remove_evidence(m, photo(3).sha256, "owner1", now=T0, engine=engine)
    with pytest.raises(spec.Refused) as e:
        fire(engine, m, "submit", "owner1", 2, comment="完成")
    assert e.value.rule == "evidence_required"
    # uploaded again, it is attached again
    fire(engine, m, "submit", "owner1", 3, comment="完成", evidence=[photo(3, "重传.png")])
    assert live(engine, m) == ["重传.png"]
    assert audit.verify(engine) is None


def test_the_approver_sees_which_files_are_new_since_the_return(world):
    engine, ids = world
    m = ids["measures"][0]
    fire(engine, m, "start", "owner1")
    fire(engine, m, "submit", "owner1", 1, comment="完成", evidence=[photo(1, "旧.png")])
    fire(engine, m, "return", "leader1", 2, reason="补充照片")
    owner = readmodels.load_actor("owner1", engine=engine)
    back = readmodels.measure_detail(owner, m, now=T0, engine=engine)
    assert back["came_back"]["kind"] == "return" and back["new_evidence"] == 0
    assert [e["removable"] for e in back["evidence"]] == [False]
    fire(engine, m, "submit", "owner1", 3, comment="已补充", evidence=[photo(2, "新.png")])
    leader = readmodels.load_actor("leader1", engine=engine)
    seen = readmodels.measure_detail(leader, m, now=T0, engine=engine)
    assert [(e["name"], e["new"]) for e in seen["evidence"]] == [("旧.png", False), ("新.png", True)]
    assert seen["came_back"] is None and seen["last_sent_back"]["reason"] == "补充照片"
    r = fire(engine, m, "approve", "leader1", 4)
    with db.read_tx(engine) as conn:
        body = conn.execute(select(Event.body).where(Event.measure_id == m, Event.seq == r.seq)).scalar_one()
    assert photo(1).sha256 in body and photo(2).sha256 in body


def test_a_stash_is_taken_once_by_its_owner_and_not_after_an_hour(world):
    engine, ids = world
    data = {"form": "3:return", "values": {"reason": "理" * 30000}, "message": "未能退回：请填写理由。"}
    token = stash.put(ids["leader"], data, now=T0, engine=engine)
    assert stash.take(token, ids["owner"], now=T0, engine=engine) is None  # someone else's
    kept = stash.take(token, ids["leader"], now=T0, engine=engine)
    assert kept["form"] == "3:return" and len(kept["values"]["reason"]) == stash.MAX_TEXT
    assert stash.take(token, ids["leader"], now=T0, engine=engine) is None  # once
    old = stash.put(None, {"form": "feedback", "values": {}}, now=T0, engine=engine)
    assert stash.take(old, None, now=T0 + stash.KEEP + dt.timedelta(seconds=1), engine=engine) is None
    assert stash.take("../etc", None, now=T0, engine=engine) is None
