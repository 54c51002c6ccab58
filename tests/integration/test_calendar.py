"""The working-day calendar the office keeps, on SQLite and PostgreSQL.

The 2027 schedule used here is made up (``tests/data/calendar.py``), written in the State Council
notice's format; the escalation dates below were counted by hand from it.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import func, select, update

from schedules import jobs, wiring
from tests import factory
from tests.data.calendar import CSV_2027, HOLIDAYS_2027, MAKE_UP_2027, NOTICE_2027
from workflow import db, digests, holidays, workdays
from workflow.cli import parse_now
from workflow.leader_lock import LeaderLock
from workflow.models import CalendarDay, CalendarImport, Escalation, Measure, Outbox, User

D = dt.date
MISSING = "2027年节假日安排尚未录入"


@pytest.fixture(autouse=True)
def _calendar_forgotten():
    """Imported schedules belong to one database: after each test, count with the package alone again."""
    yield
    holidays.forget()


def rectify(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    env.pop("RECTIFY_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "workflow.cli", *args], capture_output=True, text=True,
                          encoding="utf-8", env=env, timeout=120)


def ledger(engine, *deadlines: dt.date) -> list[int]:
    """The test ledger with one open measure per deadline."""
    ids = factory.build(engine, measures=len(deadlines))["measures"]
    with db.write_tx(engine) as conn:
        for mid, deadline in zip(ids, deadlines):
            conn.execute(update(Measure.__table__).where(Measure.id == mid).values(
                deadline=deadline, deadline_original=deadline))
    return ids


def import_notice(engine, text: str = NOTICE_2027, actor: str = "office1", when: str = "2026-11-21T09:00"):
    return holidays.import_text(text, actor, parse_now(when), filename="通知.txt", engine=engine)


# --- stored, replaced, shown ---------------------------------------------------------------------------

def test_an_imported_year_is_stored_with_where_it_came_from_and_shown_as_counting_sees_it(engine):
    factory.build(engine, measures=1)
    before = holidays.show(2027, engine)
    assert before == {"year": 2027, "covered": False, "source": None, "holidays": [], "workdays": [], "import": None}
    summary = import_notice(engine)
    assert summary["years"] == [2027] and summary["holidays"] == {2027: HOLIDAYS_2027}
    shown = holidays.show(2027, engine)
    assert (shown["covered"], shown["source"]) == (True, "imported")
    assert len(shown["holidays"]) == HOLIDAYS_2027 and shown["workdays"] == MAKE_UP_2027
    assert shown["import"]["by"] == "office1" and shown["import"]["filename"] == "通知.txt"
    assert shown["import"]["sha256"] == hashlib.sha256(NOTICE_2027.encode()).hexdigest()
    assert shown["import"]["at"] == "2026-11-21T01:00:00"
    assert holidays.show(2025, engine)["source"] == "package"
    assert not workdays.is_workday(D(2027, 2, 8)) and workdays.is_workday(D(2027, 2, 20))


def test_importing_a_year_again_replaces_it_and_keeps_the_earlier_import_as_history(engine):
    factory.build(engine, measures=1)
    import_notice(engine)
    holidays.import_text(CSV_2027, "admin1", parse_now("2026-11-25T09:00"), filename="2027.csv", engine=engine)
    shown = holidays.show(2027, engine)
    assert len(shown["holidays"]) == 12 and shown["workdays"] == ["2027-02-14", "2027-02-20"]
    assert shown["import"]["by"] == "admin1" and shown["import"]["filename"] == "2027.csv"
    assert workdays.is_workday(D(2027, 10, 1))  # 国庆 is not in the CSV: an ordinary Friday now
    with db.read_tx(engine) as conn:
        history = conn.execute(select(CalendarImport.source, CalendarImport.imported_by)
                               .order_by(CalendarImport.id)).all()
        days = conn.execute(select(func.count()).select_from(CalendarDay)).scalar_one()
    assert [tuple(r) for r in history] == [("notice", "office1"), ("csv", "admin1")]
    assert days == 14


def test_a_schedule_with_a_bad_line_writes_nothing(engine):
    factory.build(engine, measures=1)
    bad = NOTICE_2027.replace("共7天", "共8天")
    with pytest.raises(holidays.ScheduleError) as e:
        import_notice(engine, bad)
    assert e.value.line == 11
    with db.read_tx(engine) as conn:
        assert conn.execute(select(func.count()).select_from(CalendarImport)).scalar_one() == 0
    assert not holidays.show(2027, engine)["covered"]


def test_an_import_by_another_process_is_noticed_at_the_next_check(sqlite_engine, tmp_path):
    factory.build(sqlite_engine, measures=1)
    holidays.refresh(sqlite_engine)
    assert not workdays.covered(2027)
    (tmp_path / "2027.txt").write_text(NOTICE_2027, encoding="utf-8")
    proc = rectify("calendar", "import", str(tmp_path / "2027.txt"))
    assert proc.returncode == 0, proc.stderr
    holidays.refresh(sqlite_engine, max_age=60)  # checked a moment ago: not again yet
    assert not workdays.covered(2027)
    holidays.refresh(sqlite_engine)  # the start of a command or a job
    assert workdays.covered(2027) and not workdays.is_workday(D(2027, 1, 1))


# --- the escalation ladder before and after the schedule -------------------------------------------------

DUE_BEFORE_NEW_YEAR, DUE_BEFORE_SPRING, DUE_AFTER_SPRING = D(2026, 12, 31), D(2027, 2, 4), D(2027, 2, 15)

# Counted by hand. Without a schedule 2027 counts weekends only: from 12-31, L2 is the 5th working day
# (1/1, 4, 5, 6, 7) and L3 the 10th (8, 11, 12, 13, 14). With the made-up schedule 1–3 January are off:
# L2 on 1/8, L3 on 1/15. From 2/4, the break 2/5–2/13 is off, Sunday 2/14 and Saturday 2/20 are worked:
# 14, 15, 16, 17, 18 → L2 on 2/18; 19, 20, 22, 23, 24 → L3 on 2/24 (2/25 if the Saturday were not counted).
# Yellow for 2/15 (3 working days or fewer to go): weekends only from 2/10 (11, 12, 15); with the
# schedule from 2/3 (4, 14, 15).
WITHOUT = {("new_year", 1): D(2027, 1, 1), ("new_year", 2): D(2027, 1, 7), ("new_year", 3): D(2027, 1, 14),
           ("spring", 1): D(2027, 2, 5), ("spring", 2): D(2027, 2, 11), ("spring", 3): D(2027, 2, 18),
           ("after", 0): D(2027, 2, 10)}
WITH = {("new_year", 1): D(2027, 1, 1), ("new_year", 2): D(2027, 1, 8), ("new_year", 3): D(2027, 1, 15),
        ("spring", 1): D(2027, 2, 5), ("spring", 2): D(2027, 2, 18), ("spring", 3): D(2027, 2, 24),
        ("after", 0): D(2027, 2, 3)}


def _escalation_days(engine, imported: bool) -> dict:
    names = dict(zip(ledger(engine, DUE_BEFORE_NEW_YEAR, DUE_BEFORE_SPRING, DUE_AFTER_SPRING),
                     ("new_year", "spring", "after")))
    if imported:
        import_notice(engine)
        holidays.forget()  # the sweeps must load it themselves, as a scheduler process would
    day = D(2026, 12, 28)
    while day <= D(2027, 3, 1):
        jobs.run_due(parse_now(f"{day.isoformat()}T10:00"), engine, only={"escalation_sweep"})
        day += dt.timedelta(days=1)
    with db.read_tx(engine) as conn:
        rows = conn.execute(select(Escalation.measure_id, Escalation.level, Escalation.created_at)).all()
    return {(names[r.measure_id], r.level): workdays.local_today(r.created_at) for r in rows}


@pytest.mark.parametrize("imported", [False, True], ids=["weekends-only", "imported"])
def test_escalations_reach_each_level_on_the_days_counted_by_hand(engine, imported):
    got = _escalation_days(engine, imported)
    want = WITH if imported else WITHOUT
    assert {k: got.get(k) for k in want} == want


# --- every place that counts 2027 says when nobody covers it ------------------------------------------------

def _warnings(proc: subprocess.CompletedProcess) -> list[str]:
    assert proc.returncode == 0, proc.stderr
    return [line for line in proc.stderr.splitlines() if MISSING in line]


def test_every_command_that_counts_2027_warns_until_the_schedule_is_imported(sqlite_engine, tmp_path):
    ledger(sqlite_engine, DUE_BEFORE_SPRING, DUE_AFTER_SPRING)
    commands = [("items", "--json"), ("tick", "--now", "2027-01-04T10:00", "--job", "escalation_sweep"),
                ("export", str(tmp_path / "ledger.xlsx"), "-q"), ("digest", "weekly", "--now", "2027-01-04T10:00")]
    for args in commands:
        found = _warnings(rectify(*args))
        assert len(found) == 1 and "2027" in found[0] and "weekends only" in found[0], (args, found)
    proc = rectify("items", "--json")
    assert json.loads(proc.stdout)  # the warning is on stderr only: stdout stays one JSON document
    assert rectify("tick", "--now", "2027-01-04T10:00", "--job", "delivery").stderr.count(MISSING) == 0
    (tmp_path / "2027.txt").write_text(NOTICE_2027, encoding="utf-8")
    assert rectify("calendar", "import", str(tmp_path / "2027.txt"), "--as", "office1").returncode == 0
    for args in commands:
        assert _warnings(rectify(*args)) == [], args


def test_only_the_years_counted_warn_and_a_year_in_the_package_never_does(sqlite_engine):
    ledger(sqlite_engine, D(2026, 12, 20))
    assert holidays.warning(parse_now("2026-12-02T10:00"), sqlite_engine) is None
    line = holidays.warning(parse_now("2027-01-04T10:00"), sqlite_engine)  # today is in 2027
    assert line.startswith("警告：" + MISSING)
    with db.write_tx(sqlite_engine) as conn:
        conn.execute(update(Measure.__table__).values(deadline=D(2028, 3, 1)))
    assert MISSING.replace("2027年", "2027年、2028年") in holidays.warning(parse_now("2026-12-02T10:00"),
                                                                          sqlite_engine)
    with db.write_tx(sqlite_engine) as conn:
        conn.execute(update(Measure.__table__).values(state="closed"))  # nothing open: only today counts
    assert holidays.warning(parse_now("2026-12-02T10:00"), sqlite_engine) is None


def test_the_weekly_digest_to_the_office_names_the_missing_year(engine):
    ledger(engine, DUE_BEFORE_NEW_YEAR, DUE_BEFORE_SPRING)
    digests.run_weekly(parse_now("2027-01-04T10:00"), engine)
    import_notice(engine)
    digests.run_weekly(parse_now("2027-01-11T10:00"), engine)
    with db.read_tx(engine) as conn:
        rows = conn.execute(select(User.username, Outbox.key, Outbox.body).join(User, User.id == Outbox.recipient_id)
                            .where(Outbox.kind == "weekly_report")).all()
    office = {r.key.split(":office:")[0]: r.body for r in rows if r.username == "office1"}
    assert MISSING in office["weekly:2027-W01"]
    assert MISSING not in office["weekly:2027-W02"]
    assert all(MISSING not in r.body for r in rows if r.username == "head1")  # the units' reports do not nag


def test_the_scheduler_logs_the_missing_year_each_time_a_counting_job_runs(sqlite_engine, monkeypatch, capsys):
    ledger(sqlite_engine, DUE_BEFORE_SPRING)
    monkeypatch.setenv("RECTIFY_CLOCK_START", "2027-01-04T10:00")
    monkeypatch.setenv("RECTIFY_LOG_FORMAT", "text")
    lock = LeaderLock(sqlite_engine)
    assert lock.try_acquire()
    try:
        sched = wiring.build(sqlite_engine, lock, start_now=False)
        for _ in range(2):
            sched.get_job("escalation_sweep").func()
        sched.get_job("delivery").func()
        err = capsys.readouterr().err
        assert err.count(MISSING) == 2 and "calendar (escalation_sweep): 警告" in err
        import_notice(sqlite_engine)
        sched.get_job("escalation_sweep").func()
        assert MISSING not in capsys.readouterr().err
    finally:
        lock.release()


# --- the command line: import and show ------------------------------------------------------------------------

def test_calendar_show_json_has_the_promised_keys_for_each_kind_of_year(engine, tmp_path):
    factory.build(engine, measures=1)
    csv = tmp_path / "2027.csv"
    csv.write_text(CSV_2027, encoding="utf-8")
    proc = rectify("calendar", "import", str(csv), "--as", "admin1", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["years"] == [2027]
    docs = {y: json.loads(rectify("calendar", "show", str(y), "--json").stdout) for y in (2025, 2027, 2099)}
    for doc in docs.values():
        assert {"year", "covered", "source", "holidays", "workdays"} <= set(doc)
    assert (docs[2025]["source"], docs[2027]["source"], docs[2099]["source"]) == ("package", "imported", None)
    assert docs[2099]["covered"] is False and docs[2099]["holidays"] == []
    assert docs[2027]["workdays"] == ["2027-02-14", "2027-02-20"] and docs[2027]["import"]["by"] == "admin1"
    assert "2025-10-04" in docs[2025]["holidays"] and "2025-09-28" in docs[2025]["workdays"]


def test_calendar_import_refuses_a_bad_line_in_one_line_naming_it_and_writes_nothing(sqlite_engine, tmp_path):
    factory.build(sqlite_engine, measures=1)
    bad = tmp_path / "2027.txt"
    bad.write_text(NOTICE_2027.replace("1月1日（周五）", "1月1日（周四）"), encoding="utf-8")
    proc = rectify("calendar", "import", str(bad))
    assert proc.returncode == 3 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "2027.txt: 第5行" in lines[0] and "line 5" in lines[0] and "未写入" in lines[0]
    with db.read_tx(sqlite_engine) as conn:
        assert conn.execute(select(func.count()).select_from(CalendarImport)).scalar_one() == 0
    assert rectify("calendar", "import", str(tmp_path / "missing.txt")).returncode == 3
    nobody = tmp_path / "ok.txt"
    nobody.write_text(NOTICE_2027, encoding="utf-8")
    assert rectify("calendar", "import", str(nobody), "--as", "nobody").returncode == 5
