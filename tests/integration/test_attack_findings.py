"""Bugs found by attacking the hot path, the tallies, the export and the migrations (each with its fix)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from tests import factory
from workflow import commands, db, escalation, planwriter
from workflow.errors import NotFound


def _tie_office_to_another_target(engine) -> None:
    with db.write_tx(engine) as conn:
        planwriter.inspection(conn, "另一巡察组", "西城区", "special", feedback_date=dt.date(2026, 10, 11),
                              rect_start=dt.date(2026, 10, 11), rect_end=dt.date(2027, 1, 11))
        tid = conn.execute(text("SELECT id FROM targets WHERE name = '西城区'")).scalar_one()
        conn.execute(text("UPDATE users SET target_id = :t WHERE username = 'office1'"), {"t": tid})


@pytest.mark.parametrize("joined", [False, True])
def test_an_office_tied_to_another_target_cannot_fire_on_a_measure_it_may_not_see(engine, joined):
    ids = factory.build(engine, measures=1)
    mid = ids["measures"][0]
    commands.fire(mid, "start", "owner1", now=factory.NOW, engine=engine)
    _tie_office_to_another_target(engine)
    with pytest.raises(NotFound):
        if joined:
            with db.write_tx(engine) as conn:
                commands.fire(mid, "urge", "office1", now=factory.NOW, conn=conn)
        else:
            commands.fire(mid, "urge", "office1", now=factory.NOW, engine=engine)
    with db.read_tx(engine) as conn:
        assert conn.execute(text("SELECT count(*) FROM events WHERE kind = 'urge'")).scalar_one() == 0


def _dashboards_from_tallies_and_from_a_scan(engine, monkeypatch, now):
    from workflow.readmodels import dashboard
    from workflow.readmodels.scope import load_actor

    actor = load_actor("office1", engine)
    kept = (dashboard.stats(actor, now=now, engine=engine), dashboard.by_part(actor, engine=engine),
            dashboard.timeline(actor, now=now, engine=engine))
    with monkeypatch.context() as m:
        m.setattr(dashboard, "sees_all", lambda _actor: False)  # the scan every other reader gets
        scanned = (dashboard.stats(actor, now=now, engine=engine), dashboard.by_part(actor, engine=engine),
                   dashboard.timeline(actor, now=now, engine=engine))
    return kept, scanned


def test_the_tallies_follow_a_problem_that_a_reimported_ledger_files_under_another_part(engine, tmp_path,
                                                                                       monkeypatch):
    import openpyxl

    from tests.data import ledgers
    from workflow import importing

    now = dt.datetime(2023, 1, 20, 2, 0)
    factory.build(engine, measures=1)
    first = ledgers.customary(tmp_path / "a.xlsx")
    importing.import_ledger(first, now=now, engine=engine)
    wb = openpyxl.load_workbook(first)
    ws = wb.active
    ws.unmerge_cells("B7:B8")
    ws["B7"] = ws["B8"] = "一、责任意识不够强方面"  # problem 3 moves from part 二 to part 一
    wb.save(tmp_path / "b.xlsx")
    s = importing.import_ledger(tmp_path / "b.xlsx", now=now, engine=engine)
    assert s["update"]["problems"] == 1
    kept, scanned = _dashboards_from_tallies_and_from_a_scan(engine, monkeypatch, now)
    assert kept == scanned


def test_an_export_that_fails_half_way_leaves_no_rows_behind_in_the_temporary_folder(sqlite_engine, tmp_path,
                                                                                      monkeypatch):
    import tempfile

    from workflow.exporting.ledger_xlsx import export_ledger

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    ids = factory.build(sqlite_engine, measures=3)

    def fail_after_the_first_row(done, total):
        if done:
            raise RuntimeError("stopped")

    with pytest.raises(RuntimeError):
        export_ledger(tmp_path / "out.xlsx", plan_id=ids["plan"], engine=sqlite_engine,
                      progress=fail_after_the_first_row, batch=1)
    assert list(scratch.iterdir()) == []
    assert not (tmp_path / "out.xlsx").exists() and not list(tmp_path.glob(".out.xlsx*"))


def test_the_dashboard_from_the_tallies_shows_no_unit_whose_late_measures_all_moved_away(engine, monkeypatch):
    ids = factory.build(engine, measures=2, deadline=dt.date(2026, 11, 20))  # late on factory.NOW
    mid = ids["measures"][1]
    with db.write_tx(engine) as conn:  # a measure without a unit (an imported row that named none)
        conn.execute(text("UPDATE measures SET unit_id = NULL WHERE id = :m"), {"m": mid})
    commands.fire(mid, "reassign", "office1", params={"unit": "住建局"}, now=factory.NOW, engine=engine)
    kept, scanned = _dashboards_from_tallies_and_from_a_scan(engine, monkeypatch, factory.NOW)
    assert kept == scanned


@pytest.mark.postgres
def test_two_commands_attaching_the_same_new_file_to_two_measures_at_once_both_succeed(pg_engine):
    from tests.conftest import png_bytes
    import threading
    import time

    from workflow import evidence as ev

    engine = pg_engine
    ids = factory.build(engine, measures=2)
    a, b = ids["measures"]
    for mid in (a, b):
        commands.fire(mid, "start", "owner1", now=factory.NOW, engine=engine)
    stored = ev.store(png_bytes(77), "same.png")
    outcome: dict = {}

    def second():
        try:
            outcome["b"] = commands.fire(b, "comment", "owner1", comment="b", evidence=[stored], now=factory.NOW,
                                         engine=engine)
        except Exception as e:
            outcome["b"] = e

    with db.write_tx(engine) as conn:  # the first holds the file's lock, not yet committed
        commands.fire(a, "comment", "owner1", comment="a", evidence=[stored], now=factory.NOW, conn=conn)
        t = threading.Thread(target=second)
        t.start()
        time.sleep(1.0)  # the second has found no evidence row and waits for the file's lock
    t.join(30)
    assert not isinstance(outcome["b"], Exception), repr(outcome["b"])
    with db.read_tx(engine) as conn:
        assert conn.execute(text("SELECT count(*) FROM measure_evidence")).scalar_one() == 2


@pytest.mark.postgres
def test_two_self_checks_of_one_problem_reporting_a_finding_at_once_both_start_their_measure(pg_engine):
    import threading
    import time

    engine = pg_engine
    ids = factory.build(engine, measures=2, kind="self_check")
    a, b = ids["measures"]
    for mid in (a, b):
        commands.fire(mid, "start", "owner1", now=factory.NOW, engine=engine)
    outcome: dict = {}

    def second():
        try:
            outcome["b"] = commands.fire(b, "report_finding", "owner1", comment="也存在", params={"finding": "exists"},
                                         now=factory.NOW, engine=engine)
        except Exception as e:
            outcome["b"] = e

    with db.write_tx(engine) as conn:  # the first has numbered its new measure, not yet committed
        commands.fire(a, "report_finding", "owner1", comment="存在", params={"finding": "exists"}, now=factory.NOW,
                      conn=conn)
        t = threading.Thread(target=second)
        t.start()
        time.sleep(1.0)
    t.join(30)
    assert not isinstance(outcome["b"], Exception), repr(outcome["b"])
    with db.read_tx(engine) as conn:
        seqs = conn.execute(text("SELECT seq FROM measures WHERE problem_id = :p ORDER BY seq"),
                            {"p": ids["problem"]}).scalars().all()
    assert seqs == [1, 2, 3, 4]


@pytest.mark.postgres
def test_two_commands_attaching_the_same_two_new_files_in_opposite_orders_do_not_deadlock(pg_engine, monkeypatch):
    import threading

    from tests.conftest import png_bytes
    from workflow import evidence as ev

    engine = pg_engine
    ids = factory.build(engine, measures=2)
    a, b = ids["measures"]
    for mid in (a, b):
        commands.fire(mid, "start", "owner1", now=factory.NOW, engine=engine)
    x, y = ev.store(png_bytes(91), "x.png"), ev.store(png_bytes(92), "y.png")
    barrier = threading.Barrier(2)
    claimed = threading.local()
    real_claim = ev.claim_on

    def claim_then_meet(cur, sha, root=None):  # each command holds its first file's lock when the other starts
        real_claim(cur, sha, root)
        if not getattr(claimed, "once", False):
            claimed.once = True
            try:
                barrier.wait(timeout=3)
            except threading.BrokenBarrierError:
                pass

    monkeypatch.setattr(ev, "claim_on", claim_then_meet)
    outcome: dict = {}

    def run(name, mid, files):
        try:
            outcome[name] = commands.fire(mid, "comment", "owner1", comment=name, evidence=files, now=factory.NOW,
                                          engine=engine)
        except Exception as e:
            outcome[name] = e

    threads = [threading.Thread(target=run, args=("a", a, [x, y])), threading.Thread(target=run, args=("b", b, [y, x]))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert [type(outcome[k]).__name__ for k in ("a", "b")] == ["Result", "Result"], outcome


def test_an_office_tied_to_another_target_hears_nothing_of_a_measure_it_may_not_see(engine):
    ids = factory.build(engine, measures=2, evidence_waived=True, deadline=dt.date(2026, 11, 2))
    with db.write_tx(engine) as conn:
        planwriter.user(conn, "office2", "整改办工作人员乙", ["office"], "整改办")
    _tie_office_to_another_target(engine)
    mid = ids["measures"][0]
    commands.fire(mid, "start", "owner1", now=factory.NOW, engine=engine)
    commands.fire(mid, "submit", "owner1", comment="已完成", now=factory.NOW, engine=engine)
    commands.fire(mid, "approve", "leader1", now=factory.NOW, engine=engine)  # the office is told to sign off
    escalation.sweep(dt.datetime(2026, 12, 28, 2), engine)  # the other measure is late enough for level 3
    with db.read_tx(engine) as conn:
        told = dict(conn.execute(text(
            "SELECT u.username, count(*) FROM outbox o JOIN users u ON u.id = o.recipient_id "
            "WHERE u.username IN ('office1', 'office2') GROUP BY u.username")).all())
    assert told.get("office1", 0) == 0 and told.get("office2", 0) >= 2
