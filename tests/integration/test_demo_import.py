"""Importing a published notice into the ledger, on SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from workflow import audit, db, demo, planwriter
from workflow.importing import notice as N
from workflow.models import (
    Accountability, Category, Event, Inspection, Measure, OrgUnit, Part, Plan, Problem, RuleMade, User,
)

NOW = dt.datetime(2023, 4, 3, 2, 0)
SEED = N.SEED_PATH.read_text(encoding="utf-8")


@pytest.fixture(autouse=True)
def org_chart(engine):
    """The demo's units and aliases in the database, where the importer finds them."""
    with db.write_tx(engine) as conn:
        demo.load_units(conn)


def counts(engine) -> dict:
    with db.read_tx(engine) as conn:
        return {m.__tablename__: conn.execute(select(func.count()).select_from(m)).scalar_one()
                for m in (Inspection, Plan, Part, Category, Problem, Measure, Event, Accountability, RuleMade)}


def test_import_writes_the_whole_plan(engine):
    summary = N.import_notice(N.parse(SEED), NOW, engine=engine)
    assert summary["created"]["measures"] == 45 and summary["created"]["problems"] == 16
    assert counts(engine) == {"inspections": 1, "plans": 1, "parts": 3, "categories": 7, "problems": 16,
                              "measures": 45, "events": 45, "accountability": 3, "rules_made": 2}
    with db.read_tx(engine) as conn:
        insp = conn.execute(select(Inspection.__table__)).one()
        assert (insp.body, insp.target, insp.kind) == ("市委第八巡察组", "东城区", "special")
        assert (insp.onsite_start, insp.onsite_end) == (dt.date(2022, 7, 11), dt.date(2022, 8, 19))
        assert (insp.feedback_date, insp.rect_start, insp.rect_end) == (
            dt.date(2022, 10, 11), dt.date(2022, 10, 11), dt.date(2023, 1, 11))
        plan = conn.execute(select(Plan.__table__)).one()
        assert plan.title == "关于巡察整改情况的通报" and plan.issuer == "中共许昌市东城区工作委员会"
        assert plan.preamble["signed_on"] == "2023-03-30" and len(plan.preamble["org_paragraphs"]) == 5
        assert plan.evidence_waived is False
        parts = conn.execute(select(Part.no, Part.title).order_by(Part.no)).all()
        assert parts[0] == (1, "责任意识不够强，落实上级决策部署有差距方面")
        p15 = conn.execute(select(Problem.__table__).where(Problem.no == 15)).one()
        assert Decimal(p15.amount_involved) == Decimal("140400.00")
        assert Decimal(p15.amount_recovered) == Decimal("90000.00") and p15.recovered_on == dt.date(2022, 9, 15)
        p16 = conn.execute(select(Problem.__table__).where(Problem.no == 16)).one()
        assert Decimal(p16.amount_recovered) == Decimal("97000.00") and p16.recovered_on == dt.date(2022, 6, 21)
        assert p16.account.startswith("由区纪工委成立专班")
        # 已完成 → closed, through an import event; the account is the notice's text
        rows = conn.execute(select(Measure.state, Measure.light, Measure.account, Measure.text, Measure.deadline,
                                   Measure.closed_at)).all()
        assert {r.state for r in rows} == {"closed"} and {r.light for r in rows} == {"done"}
        assert all(r.account == r.text and r.deadline == dt.date(2023, 1, 11) and r.closed_at for r in rows)
        kinds = conn.execute(select(Event.kind, Event.actor, Event.to_state).distinct()).all()
        assert kinds == [("import", "system", "closed")]
        units = set(conn.execute(select(OrgUnit.name)).scalars())
        assert {"水利局", "区防办", "发改局", "住建局", "纪工委", "祖师街道办事处", "永昌街道办事处", "产业集聚区",
                "党工委办公室"} <= units
        used = set(conn.execute(select(OrgUnit.name).join(Measure, Measure.unit_id == OrgUnit.id)).scalars())
        assert {"水利局", "区防办", "发改局", "纪工委", "祖师街道办事处", "永昌街道办事处", "产业集聚区"} <= used
    assert summary["units_created"] == [] and summary["kind"] == "notice"
    assert (summary["parts"], summary["problems"], summary["measures"]) == (3, 16, 45)
    assert audit.verify(engine) is None


def test_importing_the_same_notice_twice_updates_and_never_duplicates(engine):
    first = N.import_notice(N.parse(SEED), NOW, engine=engine)
    before = counts(engine)
    again = N.import_notice(N.parse(SEED), NOW + dt.timedelta(days=1), engine=engine)
    assert counts(engine) == before
    assert again["plan_id"] == first["plan_id"]
    assert again["created"] == {k: 0 for k in again["created"]}
    assert again["updated"] == {"problems": 0, "parts": 0, "categories": 0}
    assert again["unchanged_measures"] == 45
    edited = SEED.replace("超范围使用资金。区水利局将慈善总会救助资金 9 万元", "超范围使用资金。区水利局将慈善总会救助资金 10 万元")
    third = N.import_notice(N.parse(edited), NOW + dt.timedelta(days=2), engine=engine)
    assert third["updated"]["problems"] == 1 and counts(engine) == before
    with db.read_tx(engine) as conn:
        assert Decimal(conn.execute(select(Problem.amount_involved).where(Problem.no == 15)).scalar_one()) == \
            Decimal("150400.00")
    assert audit.verify(engine) is None


def test_progress_decides_the_initial_state(engine):
    text = SEED.replace("整改进度：已完成，长期坚持。\n\n问题 2", "整改进度：正在整改。\n\n问题 2", 1)
    text = text.replace("整改进度：已完成，长期坚持。\n\n问题3", "问题3", 1)
    N.import_notice(N.parse(text), NOW, engine=engine)
    with db.read_tx(engine) as conn:
        states = dict(conn.execute(select(Problem.no, Measure.state).join(Problem, Problem.id == Measure.problem_id)
                                   .where(Measure.seq == 1)).all())
    assert states[1] == "in_progress" and states[2] == "assigned" and states[3] == "closed"


def test_owner_map_assigns_owners_and_leaders(engine):
    with db.write_tx(engine) as conn:
        planwriter.user(conn, "water_owner", "水利局责任人", ["owner"], "水利局")
        planwriter.user(conn, "water_head", "水利局局长", ["owner"], "水利局", head=True)
        planwriter.user(conn, "leader_water", "分管水利副主任", ["leader"], "管委会")
        planwriter.user(conn, "flood_head", "区防办主任", ["owner"], "区防办", head=True)
    N.import_notice(N.parse(SEED), NOW, engine=engine, owner_map={"水利局": ("water_owner", "leader_water")},
                    initial_state="assigned", deadline_for=lambda no, seq, kind: dt.date(2023, 1, no))
    with db.read_tx(engine) as conn:
        rows = conn.execute(
            select(Problem.no, Measure.seq, Measure.state, Measure.deadline, Measure.owner_id, Measure.leader_id,
                   OrgUnit.name).join(Problem, Problem.id == Measure.problem_id)
            .join(OrgUnit, OrgUnit.id == Measure.unit_id)).all()
        ids = dict(conn.execute(select(User.username, User.id)).all())
    assert {r.state for r in rows} == {"assigned"}
    water = [r for r in rows if r.name == "水利局"]
    assert water and all(r.owner_id == ids["water_owner"] and r.leader_id == ids["leader_water"] for r in water)
    flood = [r for r in rows if r.name == "区防办"]
    assert flood and all(r.owner_id == ids["flood_head"] and r.leader_id is None for r in flood)  # the unit head
    assert all(r.deadline == dt.date(2023, 1, r.no) for r in rows)


def test_a_failed_import_writes_nothing(engine):
    with pytest.raises(N.NoticeError, match="unknown user: nobody"):
        N.import_notice(N.parse(SEED), NOW, engine=engine, owner_map={"区防办": ("nobody", None)})
    assert all(v == 0 for v in counts(engine).values())


def test_a_notice_that_does_not_name_the_inspection_imports_with_a_warning_and_empty_fields(engine):
    text = SEED.replace("市委第八巡察组对东城区进行了专项巡察", "开展了巡察", 1)
    report = N.import_notice(N.parse(text), NOW, engine=engine)
    assert any("inspecting body" in w for w in report["warnings"])
    assert counts(engine)["plans"] == 1 and report["problems"] == 16
    with db.read_tx(engine) as conn:
        assert conn.execute(select(Inspection.body, Inspection.target)).one() == ("", "")
