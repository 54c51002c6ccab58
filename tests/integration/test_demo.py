"""The demo: every state and every light today, a real audit chain, and the command line."""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import case, func, select

from workflow import audit, db, demo, passwords, readmodels, spec, workdays
from workflow.models import Event, Extension, Measure, MeasureEvidence, OrgUnit, Plan, Problem, User

NOW = dt.datetime(2026, 11, 30, 2, 0)  # Monday 10:00 in China
ROOT = Path(__file__).resolve().parents[2]


def lights(items) -> Counter:
    return Counter((it["light"], it["level"]) for it in items)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """The demo loaded once into a SQLite file for this module's read-only checks."""
    folder = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RECTIFY_INSTANCE", str(folder))
        mp.delenv("RECTIFY_EVIDENCE_DIR", raising=False)
        url = f"sqlite:///{folder / 'rectify.db'}"
        mp.setenv("RECTIFY_DATABASE_URL", url)
        db.init_db(url)
        engine = db.get_engine(url)
        summary = demo.load(now=NOW, engine=engine)
        yield engine, summary
    db.reset_engines()


def check_every_state_and_light(engine) -> list[dict]:
    items = list(readmodels.iter_items(now=NOW, engine=engine))
    assert len(items) == 45
    assert set(Counter(it["state"] for it in items)) == {"assigned", "in_progress", "submitted", "verified", "closed"}
    seen = lights(items)
    for light in [("green", -1), ("yellow", 0), ("red", 1), ("red", 2), ("red", 3), ("done", -1)]:
        assert seen[light] >= 1, light
    return items


def test_demo_shows_every_state_and_every_light_today(loaded):
    engine, summary = loaded
    items = check_every_state_and_light(engine)
    assert {it["light"] for it in items if it["state"] == "closed"} == {"done"}
    # a measure is yellow when due within three working days, and red levels are exact
    today = workdays.local_today(NOW)
    for it in items:
        if it["state"] in ("assigned", "in_progress"):
            due = dt.date.fromisoformat(it["deadline"])
            if it["light"] == "yellow":
                assert 0 <= workdays.workdays_between(today, due) <= 3
            if it["light"] == "red":
                late = workdays.workdays_between(due, today)
                assert it["level"] == (3 if late >= 10 else 2 if late >= 5 else 1)
    assert "45 measures" in summary and "closed 28" in summary


def test_demo_history_is_a_real_audit_chain(loaded):
    engine, _ = loaded
    assert audit.verify(engine) is None
    with db.read_tx(engine) as conn:
        by_kind = Counter(dict(conn.execute(select(Event.kind, func.count()).group_by(Event.kind)).all()))
        assert by_kind["import"] == 45
        for kind in ("start", "submit", "approve", "sign_off", "return", "reopen", "reject", "recheck", "urge",
                     "progress_update", "request_extension", "grant_extension", "deny_extension"):
            assert by_kind[kind] >= 1, kind
        # every event happened in the past, in order, per measure
        rows = conn.execute(select(Event.measure_id, Event.seq, Event.at).order_by(Event.measure_id, Event.seq)).all()
        assert all(r.at < NOW for r in rows)
        last: dict[int, dt.datetime] = {}
        for r in rows:
            assert r.at >= last.get(r.measure_id, dt.datetime.min)
            last[r.measure_id] = r.at
        plan = conn.execute(select(Plan.__table__)).one()
        assert plan.evidence_waived is False and plan.preamble["title"] == "关于巡察整改情况的通报"


def test_reopened_returned_and_extended_measures_are_in_the_demo(loaded):
    engine, _ = loaded
    with db.read_tx(engine) as conn:
        def kinds(mid):
            return [k for k, in conn.execute(select(Event.kind).where(Event.measure_id == mid).order_by(Event.seq))]

        reopened = conn.execute(select(Measure.id, Measure.state, Measure.reopen_count)
                                .where(Measure.reopen_count > 0)).all()
        assert len(reopened) == 1 and reopened[0].state == "closed"
        assert kinds(reopened[0].id)[-4:] == ["reopen", "submit", "approve", "sign_off"]
        returned = sorted(kinds(mid)[-3:] for mid, in conn.execute(select(Event.measure_id).where(Event.kind == "return")))
        assert returned == [["start", "submit", "return"], ["submit", "return", "submit"]]
        ext = {e.status: e for e in conn.execute(select(Extension.__table__))}
        assert set(ext) == {"pending", "granted", "denied"}
        granted = conn.execute(select(Measure.__table__).where(Measure.id == ext["granted"].measure_id)).one()
        assert granted.deadline == ext["granted"].new_deadline
        assert granted.deadline_original == ext["granted"].old_deadline < granted.deadline
        pending = conn.execute(select(Measure.__table__).where(Measure.id == ext["pending"].measure_id)).one()
        assert pending.pending_extension is True and pending.deadline == pending.deadline_original


def test_closed_measures_carry_the_notices_account_and_a_png(loaded):
    engine, _ = loaded
    with db.read_tx(engine) as conn:
        closed = conn.execute(select(Measure.id, Measure.text, Measure.account).where(Measure.state == "closed")).all()
        assert len(closed) == 28
        for m in closed:
            assert m.account == m.text
            shas = [s for s, in conn.execute(select(MeasureEvidence.sha256).where(MeasureEvidence.measure_id == m.id))]
            assert shas, m.id
        p1 = conn.execute(select(Problem.account).where(Problem.no == 1)).scalar_one()
        first = conn.execute(select(Measure.account).join(Problem, Problem.id == Measure.problem_id)
                             .where(Problem.no == 1, Measure.seq == 1)).scalar_one()
        assert p1.startswith(first)
        sha = conn.execute(select(MeasureEvidence.sha256)).scalars().first()
    data = (db.evidence_dir() / sha[:2] / sha).read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and data.endswith(b"IEND\xaeB`\x82")


def test_demo_people_are_fictional_role_holders(loaded):
    engine, _ = loaded
    users = {u["username"]: u for u in readmodels.list_users(engine)}
    assert all(name.isascii() for name in users)
    roles = Counter(r for u in users.values() for r in u["roles"])
    assert set(roles) == {"admin", "office", "leader", "owner", "supervisor", "inspector", "inspection_office"}
    assert 2 <= roles["leader"] <= 4
    assert users["water_owner"]["name"] == "水利局责任人" and users["water_head"]["name"] == "水利局局长"
    assert users["water_head"]["unit_head"] is True
    assert users["leader_water"]["name"] == "分管水利副主任"
    assert users["office"]["name"] == "整改办工作人员" and users["supervisor"]["name"] == "纪工委监督员"
    assert users["inspector"]["name"] == "巡察组联络员" and users["admin"]["name"] == "系统管理员"
    assert all(u["email"] == f"{u['username']}@demo.invalid" for u in users.values())
    with db.read_tx(engine) as conn:
        stored = conn.execute(select(User.password_hash).where(User.username == "water_owner")).scalar_one()
        assert passwords.check_password(stored, "rectify-demo")
        assert conn.execute(select(func.count()).select_from(OrgUnit).where(OrgUnit.webhook_url.is_not(None))
                            ).scalar_one() == 0
        # one owner per unit that has measures
        owners = conn.execute(select(Measure.unit_id, func.count(func.distinct(Measure.owner_id)))
                              .group_by(Measure.unit_id)).all()
        assert all(n == 1 for _, n in owners)


def test_loading_the_demo_twice_does_nothing_the_second_time(loaded):
    engine, _ = loaded
    with db.read_tx(engine) as conn:
        before = conn.execute(select(func.count()).select_from(Event)).scalar_one()
    again = demo.load(now=NOW + dt.timedelta(hours=1), engine=engine)
    assert "already loaded" in again
    with db.read_tx(engine) as conn:
        assert conn.execute(select(func.count()).select_from(Event)).scalar_one() == before


@pytest.mark.postgres
def test_demo_loads_the_same_on_postgresql(pg_engine):
    demo.load(now=NOW, engine=pg_engine)
    check_every_state_and_light(pg_engine)
    assert audit.verify(pg_engine) is None


@pytest.mark.parametrize("now", [
    dt.datetime(2026, 10, 1, 4, 0),  # National Day holiday
    dt.datetime(2027, 2, 6, 20, 0),  # a Sunday morning in China
    dt.datetime(2026, 12, 31, 15, 30),  # just before midnight UTC+8 rolls into New Year's Day
])
def test_every_light_is_shown_whatever_the_day(sqlite_engine, now):
    demo.load(now=now, engine=sqlite_engine)
    seen = lights(readmodels.iter_items(now=now, engine=sqlite_engine))
    for light in [("green", -1), ("yellow", 0), ("red", 1), ("red", 2), ("red", 3), ("done", -1)]:
        assert seen[light] >= 1, (now, light)
    assert audit.verify(sqlite_engine) is None


def test_cli_loads_the_demo_then_lists_items_and_users_as_json(tmp_path):
    env = {**os.environ, "RECTIFY_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
           "RECTIFY_INSTANCE": str(tmp_path)}
    env.pop("RECTIFY_EVIDENCE_DIR", None)

    def rectify(*args):
        return subprocess.run([sys.executable, "-m", "workflow.cli", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300)

    loaded = rectify("demo", "--load-only")
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout == "" and "demo loaded" in loaded.stderr
    items = rectify("items", "--json")
    assert items.returncode == 0, items.stderr
    rows = json.loads(items.stdout)
    assert len(rows) == 45
    keys = {"id", "problem_no", "part", "state", "light", "owner", "leader", "unit", "deadline", "version"}
    assert keys <= set(rows[0])
    assert {r["state"] for r in rows} == {"assigned", "in_progress", "submitted", "verified", "closed"}
    assert {r["light"] for r in rows} == {"green", "yellow", "red", "done"}
    assert {r["problem_no"] for r in rows} == set(range(1, 17))
    users = rectify("users", "--json")
    assert users.returncode == 0, users.stderr
    people = json.loads(users.stdout)
    assert set(spec.ROLES) == {r for u in people for r in u["roles"]}  # every role, the 巡察办 included
    assert {u["username"] for u in people} >= {r["owner"] for r in rows} | {r["leader"] for r in rows}


def test_the_demo_notice_states_the_ledger_and_reprints_no_imported_claim(loaded):
    from workflow import publication, report, stats

    engine, _ = loaded
    with db.read_tx(engine) as conn:
        plan_id = conn.execute(select(Plan.id)).scalar_one()
        is_closed = func.sum(case((Measure.state == "closed", 1), else_=0))
        measures, closed = conn.execute(select(func.count(), is_closed).select_from(Measure)).one()
        per_problem = conn.execute(select(Problem.no, func.count(Measure.id), is_closed)
                                   .join(Measure, Measure.problem_id == Problem.id).group_by(Problem.no)).all()
    done = sum(1 for _no, n, c in per_problem if n == c)
    md = report.render(report.notice_doc(plan_id, NOW, engine=engine), "md").decode()
    para = next(line for line in md.splitlines() if line.startswith("截至"))
    rate = stats._pct(stats._rate(done, len(per_problem)))
    assert f"3个方面16个问题，已整改完成{done}个，整改完成率{rate}%" in para
    assert f"细化整改措施{measures}项，已完成{closed}项" in para
    assert "已全部整改完毕" not in md and "截止目前" not in md
    # the public reads the version the office published, signed the day it was published
    versions = publication.published(plan_id, engine=engine)
    assert len(versions) == 1
    _meta, doc = publication.published_doc(plan_id, engine=engine)
    assert doc.blocks[-1].lines[-1] == stats.cn_date(workdays.local_today(NOW - dt.timedelta(days=7)))


def test_the_leaders_the_readme_sends_to_the_review_queue_have_something_waiting(loaded):
    """README's 'The demo' names who to sign in as to approve or return: each has a submission waiting."""
    import re

    engine, _ = loaded
    line = next(x for x in (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
                if x.startswith("- **a leader**"))
    named = re.findall(r"`(leader_\w+)`", line.split("待我审核")[0])
    assert named
    with db.read_tx(engine) as conn:
        waiting = set(conn.execute(select(User.username).join(Measure, Measure.leader_id == User.id)
                                   .where(Measure.state == "submitted")).scalars())
    assert set(named) <= waiting, (named, waiting)
