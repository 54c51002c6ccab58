"""The notice tells the truth of the ledger now: no imported claim reprinted, numbers recomputed."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from sqlalchemy import text

from tests.data import ledgers
from workflow import commands, db, importing, planwriter, report, stats
from workflow.importing import notice

SIGNED = dt.datetime(2023, 3, 30, 2, 0)
LATER = dt.datetime(2023, 4, 20, 2, 0)


def markdown(plan_id, when) -> str:
    return report.render(report.notice_doc(plan_id, when), "md").decode("utf-8")


def reopen_problem(engine, no: int, when=SIGNED) -> None:
    with db.write_tx(engine) as conn:
        planwriter.user(conn, "office9", "整改办工作人员", ["office"], "整改办")
        mids = conn.execute(text("SELECT m.id FROM measures m JOIN problems p ON p.id = m.problem_id "
                                 "WHERE p.no = :no ORDER BY m.seq"), {"no": no}).scalars().all()
    commands.fire(mids[0], "reopen", "office9", reason="群众反映问题仍在", params={"category": "public_dissatisfaction"},
                  now=when, engine=engine)


def test_an_imported_claim_of_completion_is_never_reprinted_as_current(sqlite_engine):
    s = notice.import_notice(notice.read(notice.SEED_PATH), SIGNED, engine=sqlite_engine)
    reopen_problem(sqlite_engine, 16)
    md = markdown(s["plan_id"], LATER)
    assert "已全部整改完毕" not in md and "截止目前" not in md
    # problem 16 is open again: its progress says so and its account no longer claims it is finished
    block = md[md.index("**问题16：**"):]
    account = re.search(r"\*\*落实情况：\*\*(.+)", block).group(1)
    progress = re.search(r"\*\*整改进度：\*\*(.+)", block).group(1)
    assert progress.startswith("未完成") or progress.startswith("正在整改")
    assert "整改完毕" not in account


def test_the_summary_states_the_ledger_at_the_moment_of_generation(sqlite_engine):
    s = notice.import_notice(notice.read(notice.SEED_PATH), SIGNED, engine=sqlite_engine)
    reopen_problem(sqlite_engine, 16)
    st = stats.compute(s["plan_id"], LATER, engine=sqlite_engine)
    md = markdown(s["plan_id"], LATER)
    para = next(ln for ln in md.splitlines() if ln.startswith("截至"))
    assert st.problems_completed == 15 and st.problems == 16
    assert f"3个方面16个问题，已整改完成15个，整改完成率{st.problems_rate}%" in para
    assert st.problems_rate == Decimal("93.8")
    assert f"细化整改措施45项，已完成{st.completed}项" in para
    assert md.rstrip().endswith("2023年4月20日")  # signed the day it was made, not with the imported date


def test_a_problem_that_numbers_itself_is_not_numbered_twice(sqlite_engine, tmp_path):
    rows = [ledgers.CN_HEADER,
            ["1", "一、责任落实方面", "问题1：学习不主动。", "制定学习计划", "分管领导甲", "区党政办", "党政办责任人",
             "2023-06-30", "限期整改", None, None]]
    s = importing.import_ledger(ledgers.write_xlsx(tmp_path / "a.xlsx", rows), now=SIGNED, engine=sqlite_engine)
    md = markdown(s["plan_id"], SIGNED)
    assert "**问题1：**学习不主动。" in md and "问题1：问题1" not in md


def test_a_notice_from_a_ledger_takes_no_other_plans_headings_and_says_audit_for_an_audit(sqlite_engine, tmp_path):
    rows = [["某县审计发现问题整改台账"] + [None] * 10, ledgers.CN_HEADER,
            ["1", "一、预算执行方面", "部分专项资金未及时拨付。", "加快资金拨付", "分管领导甲", "财政局", "财政局责任人",
             "2023-06-30", "限期整改", "已完成", "已全部拨付。"]]
    s = importing.import_ledger(ledgers.write_xlsx(tmp_path / "audit.xlsx", rows, merges=["A1:K1"]), now=SIGNED,
                            engine=sqlite_engine)
    md = markdown(s["plan_id"], SIGNED)
    assert "坚持问题导向" not in md and "扛起主体责任" not in md
    assert "## 二、审计发现问题整改落实情况" in md
    assert "审计发现的1个方面1个问题，已整改完成1个，整改完成率100%" in md
    assert "巡察反馈" not in md


def test_a_submitted_account_is_not_published_until_a_leader_approves_it(sqlite_engine):
    from tests import factory

    ids = factory.build(sqlite_engine, measures=1, evidence_waived=True)
    m, now = ids["measures"][0], factory.NOW
    commands.fire(m, "start", "owner1", now=now, engine=sqlite_engine)
    commands.fire(m, "submit", "owner1", comment="已清理河道垃圾三处", now=now, engine=sqlite_engine)
    assert "已清理河道垃圾三处" not in markdown(ids["plan"], now)
    commands.fire(m, "approve", "leader1", now=now, engine=sqlite_engine)
    assert "已清理河道垃圾三处" in markdown(ids["plan"], now)


def test_a_remark_in_brackets_left_alone_after_a_claim_is_taken_out_is_not_an_account():
    assert report._history_free(["该问题已于2022年9月23日前整改完毕。（已补充现场照片）。"]) == []
    assert report._history_free(["已制定制度。（附件2）"]) == ["已制定制度。（附件2）"]
