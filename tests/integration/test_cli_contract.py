"""The ``rectify`` command line as other tools see it: a subprocess, its stdout, stderr and exit code.

Runs on SQLite and PostgreSQL; the ledger is seeded in-process with ``tests/factory.py`` against
the same ``RECTIFY_DATABASE_URL`` the subprocess reads.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update

from tests import factory, pg
from tests.conftest import png_bytes
from workflow import commands, db, spec
from workflow.models import ApiToken, Event, Measure, User

EXIT_REFUSED, EXIT_CONFLICT, EXIT_NOT_FOUND = 3, 4, 5


def rectify_cmd() -> list[str]:
    script = Path(sys.executable).parent / "rectify"
    return [str(script)] if script.exists() else [sys.executable, "-m", "workflow.cli"]


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    full_env.pop("RECTIFY_DEBUG", None)
    full_env["PYTHONIOENCODING"] = "utf-8"
    return subprocess.run([*rectify_cmd(), *args], capture_output=True, text=True, encoding="utf-8",
                          env=full_env, timeout=120)


def ok(*args: str, **kw) -> subprocess.CompletedProcess:
    proc = run(*args, **kw)
    assert proc.returncode == 0, (args, proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr
    return proc


def json_out(*args: str):
    proc = ok(*args, "--json")
    return json.loads(proc.stdout)  # the whole of stdout is one JSON document


def one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> str:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert proc.stdout.strip() == ""
    return lines[0]


@pytest.fixture
def world(engine):
    return factory.build(engine, measures=3)


def state_of(engine, mid):
    with db.read_tx(engine) as conn:
        return conn.execute(select(Measure.state, Measure.version).where(Measure.id == mid)).first()


def event_count(engine):
    with db.read_tx(engine) as conn:
        return conn.execute(select(func.count()).select_from(Event.__table__)).scalar_one()


# --- init-db -------------------------------------------------------------------------

def test_init_db_creates_the_schema_and_is_idempotent(engine, request, tmp_path):
    if engine.dialect.name == "sqlite":
        url = f"sqlite:///{tmp_path / 'fresh.db'}"
    else:
        url = pg.create_database(request.getfixturevalue("pg_server"), prefix="rectify_fresh")
    try:
        env = {"RECTIFY_DATABASE_URL": url}
        first = ok("init-db", env=env)
        assert first.stdout == ""
        ok("init-db", env=env)
        fresh = db.make_engine(url)
        try:
            with fresh.connect() as conn:
                versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
                systems = conn.execute(text("SELECT count(*) FROM users WHERE username = 'system'")).scalar_one()
                measures = conn.execute(text("SELECT count(*) FROM measures")).scalar_one()
        finally:
            fresh.dispose()
        assert len(versions) == 1 and systems == 1 and measures == 0
    finally:
        if engine.dialect.name != "sqlite":
            pg.drop_database(request.getfixturevalue("pg_server"), url)


# --- users, items, notifications --------------------------------------------------------

def test_users_json_lists_every_person_with_the_contract_keys(engine, world):
    users = json_out("users")
    assert isinstance(users, list)
    by_name = {u["username"]: u for u in users}
    assert set(by_name) == {"owner1", "owner2", "owner3", "head1", "leader1", "leader2", "office1", "super1",
                            "insp1", "admin1"}
    for u in users:
        assert {"username", "name", "roles", "unit"} <= set(u)
        assert set(u["roles"]) <= set(spec.ROLES) and u["roles"]
    assert by_name["leader1"] == {**by_name["leader1"], "name": "分管领导甲", "roles": ["leader"], "unit": "管委会"}
    assert by_name["owner1"]["unit"] == "水利局"


def test_items_json_lists_measures_with_the_contract_keys(engine, world):
    items = json_out("items", "--now", "2026-12-01T10:00:00")
    assert [i["id"] for i in items] == world["measures"]
    for i in items:
        assert {"id", "problem_no", "part", "state", "light", "owner", "leader", "unit", "deadline",
                "version"} <= set(i)
        assert (i["problem_no"], i["part"], i["state"], i["light"], i["owner"], i["leader"], i["unit"],
                i["deadline"], i["version"]) == (1, 1, "assigned", "green", "owner1", "leader1", "水利局",
                                                 "2026-12-31", 1)
    late = json_out("items", "--now", "2027-01-20T10:00:00")
    assert {i["light"] for i in late} == {"red"}


def test_a_measure_fired_through_the_cli_closes_with_notifications_and_an_intact_chain(engine, world, tmp_path):
    mid = world["measures"][0]
    res = json.loads(ok("fire", str(mid), "start", "--as", "owner1", "--json").stdout)
    assert (res["measure_id"], res["trigger"], res["from_state"], res["state"], res["version"], res["seq"]) == (
        mid, "start", "assigned", "in_progress", 2, 2)
    photo = tmp_path / "整改现场.png"
    photo.write_bytes(png_bytes(1))
    proc = ok("fire", str(mid), "submit", "--as", "owner1", "--comment", "已完成", "--evidence", str(photo))
    assert "in_progress -> submitted" in proc.stdout
    sha = hashlib.sha256(png_bytes(1)).hexdigest()
    assert (Path(os.environ["RECTIFY_INSTANCE"]) / "evidence" / sha[:2] / sha).read_bytes() == png_bytes(1)

    rows = json_out("notifications")
    assert len(rows) == 1
    row = rows[0]
    assert {"recipient", "channel", "kind", "measure_id", "level", "created_at", "sent_at"} <= set(row)
    assert (row["recipient"], row["channel"], row["kind"], row["measure_id"], row["level"], row["sent_at"]) == (
        "leader1", "inbox", "awaiting_approval", mid, None, None)
    dt.datetime.fromisoformat(row["created_at"])

    ok("fire", str(mid), "approve", "--as", "leader1")
    ok("fire", str(mid), "sign_off", "--as", "office1")
    assert tuple(state_of(engine, mid)) == ("closed", 5)
    closed = json_out("items", "--state", "closed")
    assert [(i["id"], i["light"], i["version"]) for i in closed] == [(mid, "done", 5)]
    assert ok("audit", "verify").returncode == 0


# --- fire ---------------------------------------------------------------------------

@pytest.mark.parametrize("args,rule", [
    (["approve", "--as", "leader1"], "wrong_state"),
    (["start", "--as", "office1"], "not_permitted"),
    (["start", "--as", "owner3"], "not_permitted"),
    (["reassign", "--as", "office1", "--owner", "ghost"], "invalid_input"),
    (["request_extension", "--as", "owner1", "--new-deadline", "2027-02-01"], "reason_required"),
])
def test_a_refused_trigger_exits_non_zero_with_one_line_naming_the_rule(engine, world, args, rule):
    mid = world["measures"][0]
    before = event_count(engine)
    proc = run("fire", str(mid), *args)
    assert proc.returncode == EXIT_REFUSED
    one_line_error(proc, rule)
    assert event_count(engine) == before
    assert tuple(state_of(engine, mid)) == ("assigned", 1)


def test_submitting_without_evidence_is_refused_as_evidence_required(engine, world):
    mid = world["measures"][0]
    commands.fire(mid, "start", "owner1", engine=engine)
    proc = run("fire", str(mid), "submit", "--as", "owner1", "--comment", "已完成")
    assert proc.returncode == EXIT_REFUSED
    one_line_error(proc, "evidence_required")


def test_evidence_that_is_not_an_accepted_file_is_refused_before_anything_is_written(engine, world, tmp_path):
    mid = world["measures"][0]
    commands.fire(mid, "start", "owner1", engine=engine)
    fake = tmp_path / "报告.pdf"
    fake.write_text("this is not a pdf", encoding="utf-8")
    before = event_count(engine)
    proc = run("fire", str(mid), "submit", "--as", "owner1", "--comment", "已完成", "--evidence", str(fake))
    assert proc.returncode == EXIT_REFUSED
    one_line_error(proc, "evidence_type")
    missing = run("fire", str(mid), "submit", "--as", "owner1", "--comment", "x", "--evidence",
                  str(tmp_path / "nope.png"))
    assert missing.returncode != 0 and "Traceback" not in missing.stderr
    assert event_count(engine) == before


def test_a_stale_if_version_is_a_conflict_exit(engine, world):
    mid = world["measures"][0]
    proc = run("fire", str(mid), "start", "--as", "owner1", "--if-version", "7")
    assert proc.returncode == EXIT_CONFLICT
    one_line_error(proc, "conflict")
    assert tuple(state_of(engine, mid)) == ("assigned", 1)


def test_an_unknown_measure_or_user_is_a_not_found_exit(engine, world):
    proc = run("fire", "999999", "start", "--as", "owner1")
    assert proc.returncode == EXIT_NOT_FOUND
    one_line_error(proc, "999999")
    proc = run("fire", str(world["measures"][0]), "start", "--as", "nobody")
    assert proc.returncode == EXIT_NOT_FOUND
    one_line_error(proc, "nobody")


def test_the_scheduler_only_trigger_cannot_be_fired_from_the_command_line(engine, world):
    proc = run("fire", str(world["measures"][0]), "escalate", "--as", "system")
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert event_count(engine) == 3


# --- audit verify ---------------------------------------------------------------------

def test_audit_verify_exits_zero_on_an_intact_ledger_and_non_zero_naming_the_broken_event(engine, world):
    mid = world["measures"][1]
    commands.fire(mid, "start", "owner1", engine=engine)
    assert ok("audit", "verify").returncode == 0
    with db.write_tx(engine) as conn:
        conn.execute(update(Event.__table__).where(Event.measure_id == mid, Event.seq == 2)
                     .values(actor="owner2"))
    proc = run("audit", "verify")
    line = one_line_error(proc, f"measure {mid}", "#2")
    assert proc.returncode == 1, line


# --- token create -------------------------------------------------------------------

def test_token_create_prints_a_token_whose_hash_is_stored(engine, world):
    proc = ok("token", "create", "leader1")
    token = proc.stdout.strip()
    assert len(proc.stdout.strip().splitlines()) == 1 and len(token) >= 32
    with db.read_tx(engine) as conn:
        row = conn.execute(select(User.username, ApiToken.revoked).join(User, User.id == ApiToken.user_id)
                           .where(ApiToken.token_hash == hashlib.sha256(token.encode()).hexdigest())).first()
    assert tuple(row) == ("leader1", False)


def test_token_create_for_an_unknown_user_prints_no_token(engine, world):
    proc = run("token", "create", "ghost")
    assert proc.returncode == EXIT_NOT_FOUND
    one_line_error(proc, "ghost")
    proc = run("token", "create", "system")
    assert proc.returncode == EXIT_NOT_FOUND and proc.stdout == ""


def test_a_bad_now_is_one_line_and_no_traceback(engine, world):
    proc = run("items", "--now", "下周一")
    assert proc.returncode == EXIT_REFUSED
    one_line_error(proc, "ISO 8601")


# --- every mistake is one line and exit 3 (issue 12, case 16) ----------------------------------------

@pytest.mark.parametrize("args,needle", [
    (["fire", "1", "no_such_trigger", "--as", "owner1"], "unknown_trigger"),
    (["fire", "abc", "start", "--as", "owner1"], "MEASURE_ID"),
    (["fire", "99999999999999999999", "start", "--as", "owner1"], "2147483647"),
    (["fire", "1", "start"], "--as"),
    (["fire", "1", "start", "--as", "owner1", "--if-version", "-1"], "--if-version"),
    (["items", "--now", "2026-13-45"], "ISO 8601"),
    (["items", "--state", "nope"], "--state"),
    (["notice", "publish", "99999999999999999999", "--as", "office1"], "PLAN_ID"),
    (["calendar", "show", "99999999999"], "YEAR"),
    (["tick", "--now", ""], "--now is empty"),
    (["nosuchcommand"], "nosuchcommand"),
    (["fire", "1", "comment", "--as", "owner1", "--comment", "\udcff\udcfe"], "not valid UTF-8"),
    (["fire", "1", "comment", "--as", "\udcff", "--comment", "x"], "not valid UTF-8"),
    (["fire", "1", "request_extension", "--as", "owner1", "--new-deadline", "2027-02-30", "--reason", "r"],
     "invalid_input"),
])
def test_a_cli_mistake_is_one_line_on_stderr_and_exit_3(engine, world, args, needle):
    before = event_count(engine)
    proc = run(*args)
    assert proc.returncode == EXIT_REFUSED, proc.stderr
    one_line_error(proc, needle)
    assert "Usage:" not in proc.stderr and "Error:" not in proc.stderr
    assert event_count(engine) == before


@pytest.mark.parametrize("text,rule", [
    ("x" * 120_000, "at most"),
    ("\u200b\u200b", "no visible text"),
    ("\u200b \ufeff", "no visible text"),
    ("已完成\u202egnp.exe", "direction-changing"),
    ("已完成\u2066隔离\u2069", "direction-changing"),
    ("bell\x07", "control characters"),
])
def test_free_text_that_no_person_means_is_refused_as_bad_input(engine, world, text, rule):
    mid = world["measures"][0]
    commands.fire(mid, "start", "owner1", engine=engine)
    before = event_count(engine)
    for trigger, option in (("comment", "--comment"), ("request_extension", "--reason")):
        extra = ["--new-deadline", "2027-03-31"] if trigger == "request_extension" else []
        proc = run("fire", str(mid), trigger, "--as", "owner1", option, text, *extra)
        assert proc.returncode == EXIT_REFUSED
        one_line_error(proc, "invalid_input", rule)
    assert event_count(engine) == before


@pytest.mark.parametrize("target", ["missing", "full"])
def test_an_export_to_a_missing_or_full_folder_is_one_line_and_leaves_no_part_file(engine, world, tmp_path, target):
    import resource
    import signal

    folder = tmp_path / "out"
    limit = None
    if target == "missing":
        out = folder / "nested" / "ledger.docx"
    else:
        folder.mkdir()
        out = folder / "notice.docx"
        limit = 6_000  # the notice and the ledger of 3 measures are bigger; the database is only read

    def small_files():
        if limit:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    env.pop("RECTIFY_DEBUG", None)
    for args in (["report", "--format", "docx", "-o", str(out)], ["export", str(out.with_suffix(".xlsx"))]):
        proc = subprocess.run([*rectify_cmd(), *args], capture_output=True, text=True, env=env, timeout=120,
                              preexec_fn=small_files)
        assert proc.returncode == EXIT_REFUSED, proc.stderr
        line = [x for x in proc.stderr.splitlines() if x.startswith("rectify:")]
        assert len(line) == 1 and "Exception ignored" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
        assert "refused (output)" in line[0] and str(out.parent) in line[0]
    leftovers = [p.name for p in folder.rglob("*")] if folder.exists() else []
    assert leftovers == []
