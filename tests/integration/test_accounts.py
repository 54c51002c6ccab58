"""Accounts (issue 12, cases 9-11): a new password ends every session and token, tokens expire and can be
listed and revoked, a password policy with a list of common passwords, and the security event log."""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import subprocess
import sys

import pytest
from sqlalchemy import select

from tests import factory
from workflow import db, passwords, readmodels, security_log, spec
from workflow.commands import people, sessions, tokens
from workflow.errors import NotFound
from workflow.logging import JsonFormatter
from workflow.models import ApiToken, SecurityEvent

NOW = factory.NOW
IDLE, ABSOLUTE = dt.timedelta(minutes=30), dt.timedelta(hours=12)


@pytest.fixture
def world(engine):
    return factory.build(engine, measures=1)


def events(engine, kind=None):
    q = select(SecurityEvent.kind, SecurityEvent.outcome, SecurityEvent.actor, SecurityEvent.subject, SecurityEvent.ip)
    if kind:
        q = q.where(SecurityEvent.kind == kind)
    with db.read_tx(engine) as conn:
        return [tuple(r) for r in conn.execute(q.order_by(SecurityEvent.id))]


def signed_in(engine, user_id):
    return sessions.start(user_id, now=NOW, idle=IDLE, absolute=ABSOLUTE, engine=engine)


def alive(engine, session_token):
    return sessions.resolve(session_token, now=NOW + dt.timedelta(minutes=1), idle=IDLE, absolute=ABSOLUTE,
                            engine=engine) is not None


# --- 9: a new password ends sessions and tokens; tokens expire, are listed and revoked -----------------

def test_an_admin_password_reset_ends_the_persons_sessions_and_tokens_and_no_one_elses(engine, world):
    mine, theirs = signed_in(engine, world["owner"]), signed_in(engine, world["leader"])
    token, other = tokens.create("owner1", engine=engine), tokens.create("leader1", engine=engine)
    people.update_user("owner1", name="水利局责任人", roles=["owner"], unit="水利局", email=None, active=True,
                       head=False, password="a-fresh-Passphrase", by="admin1", ip="203.0.113.9", engine=engine)
    assert not alive(engine, mine) and tokens.resolve(token, engine=engine) is None
    assert alive(engine, theirs) and tokens.resolve(other, engine=engine) is not None
    assert sessions.check_credentials("owner1", "a-fresh-Passphrase", engine=engine) == world["owner"]
    assert ("password_change", "success", "admin1", "owner1", "203.0.113.9") in events(engine, "password_change")


def test_a_self_service_change_needs_the_current_password_and_ends_every_session_and_token(engine, world):
    session_token, token = signed_in(engine, world["owner"]), tokens.create("owner1", engine=engine)
    with pytest.raises(spec.Refused) as info:
        people.change_own_password("owner1", "not-my-password", "another-Passphrase", ip="198.51.100.2", engine=engine)
    assert info.value.rule == "password_wrong" and alive(engine, session_token)
    ended = people.change_own_password("owner1", "pw-owner1", "another-Passphrase", ip="198.51.100.2", engine=engine)
    assert ended == {"sessions": 1, "tokens": 1}
    assert not alive(engine, session_token) and tokens.resolve(token, engine=engine) is None
    assert [e[:3] for e in events(engine, "password_change")] == [
        ("password_change", "failure", "owner1"), ("password_change", "success", "owner1")]
    with pytest.raises(spec.Refused) as info:
        people.change_own_password("owner1", "another-Passphrase", "another-Passphrase", engine=engine)
    assert info.value.rule == "password_unchanged"


def test_a_token_expires_after_its_days(engine, world):
    token = tokens.create("leader1", now=NOW, days=30, engine=engine)
    assert tokens.resolve(token, now=NOW + dt.timedelta(days=29, hours=23), engine=engine) is not None
    assert tokens.resolve(token, now=NOW + dt.timedelta(days=30), engine=engine) is None
    with db.read_tx(engine) as conn:
        assert conn.execute(select(ApiToken.expires_at)).scalar_one() == NOW + dt.timedelta(days=30)


def test_the_default_expiry_is_90_days_and_settable(engine, world, monkeypatch):
    tokens.create("leader1", now=NOW, engine=engine)
    monkeypatch.setenv("RECTIFY_TOKEN_DAYS", "7")
    tokens.create("owner1", now=NOW, engine=engine)
    rows = {r["user"]: r for r in tokens.listing(now=NOW, engine=engine)}
    assert rows["leader1"]["expires_at"] == NOW + dt.timedelta(days=90)
    assert rows["owner1"]["expires_at"] == NOW + dt.timedelta(days=7)


def test_tokens_are_listed_with_their_state_and_revoked_by_id(engine, world):
    a = tokens.create("owner1", now=NOW, days=1, engine=engine)
    b = tokens.create("owner1", now=NOW, engine=engine)
    tokens.create("leader1", now=NOW, engine=engine)
    listed = tokens.listing("owner1", now=NOW + dt.timedelta(days=2), engine=engine)
    assert [(r["user"], r["state"]) for r in listed] == [("owner1", "live"), ("owner1", "expired")]
    assert all(a not in json.dumps(r, default=str) and b not in json.dumps(r, default=str) for r in listed)
    out = tokens.revoke(listed[0]["id"], by="cli:ops", ip="cli", engine=engine)
    assert out == {"id": listed[0]["id"], "user": "owner1", "state": "revoked"}
    assert tokens.resolve(b, engine=engine) is None
    assert tokens.revoke(listed[0]["id"], engine=engine)["state"] == "revoked"  # idempotent
    with pytest.raises(NotFound):
        tokens.revoke(999999, engine=engine)
    with pytest.raises(NotFound):
        tokens.listing("ghost", engine=engine)
    assert [e[:4] for e in events(engine, "token_revoke")] == [("token_revoke", "success", "cli:ops", "owner1")]


def _cli(*args):
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    env.pop("RECTIFY_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "workflow.cli", *args], capture_output=True, text=True, env=env,
                          timeout=120)


def test_token_list_and_revoke_on_the_command_line(engine, world):
    made = _cli("token", "create", "leader1", "--days", "5")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    listed = json.loads(_cli("token", "list", "leader1", "--json").stdout)
    assert [(r["user"], r["state"]) for r in listed] == [("leader1", "live")]
    expires = dt.datetime.fromisoformat(listed[0]["expires_at"].replace("Z", "+00:00"))
    created = dt.datetime.fromisoformat(listed[0]["created_at"].replace("Z", "+00:00"))
    assert expires - created == dt.timedelta(days=5)
    assert token not in _cli("token", "list").stdout
    revoked = _cli("token", "revoke", str(listed[0]["id"]))
    assert revoked.returncode == 0 and "revoked" in revoked.stderr
    assert tokens.resolve(token, engine=engine) is None
    missing = _cli("token", "revoke", "999999")
    assert missing.returncode == 5 and len(missing.stderr.strip().splitlines()) == 1
    assert _cli("token", "list", "ghost").returncode == 5
    assert {e[0] for e in events(engine)} >= {"token_create", "token_revoke"}


# --- 10: the password policy ----------------------------------------------------------------------------

@pytest.mark.parametrize("password,rule", [
    ("short-pw", "password_too_short"),
    ("12345678", "password_too_short"),
    ("password", "password_too_short"),
    ("1234567890", "password_common"),
    ("Password123", "password_common"),
    ("qwertyuiop", "password_common"),
    ("woaini1314", "password_common"),
    ("Leader1-long-name", None),
    ("leaderone1", None),
])
def test_the_password_policy_says_why_a_password_is_refused(password, rule):
    got = passwords.problem(password, "leaderone2")
    assert (got[0] if got else None) == rule


def test_a_password_that_is_the_username_is_refused(engine, world):
    with pytest.raises(spec.Refused) as info:
        people.create_user("inspector42", "巡察组联络员乙", "Inspector42", ["inspector"], engine=engine)
    assert info.value.rule == "password_is_username"


def test_the_common_password_list_ships_with_the_engine():
    listed = passwords.common_passwords()
    assert {"123456", "password", "qwerty", "12345678"} <= listed and len(listed) >= 100


# --- 11: the security event log -----------------------------------------------------------------------

def test_role_changes_are_logged_with_who_from_where_and_what(engine, world):
    people.update_user("owner2", name="水利局科员", roles=["owner", "leader"], unit="水利局", email=None, active=True,
                       head=False, by="admin1", ip="203.0.113.5", engine=engine)
    people.update_user("owner2", name="水利局科员（改名）", roles=["leader", "owner"], unit="水利局", email=None,
                       active=True, head=False, by="admin1", ip="203.0.113.5", engine=engine)  # same roles
    page = readmodels.security_events(kind="role_change", engine=engine)
    assert page.total == 1
    e = page.items[0]
    assert (e["actor"], e["subject"], e["ip"], e["outcome"]) == ("admin1", "owner2", "203.0.113.5", "success")
    assert json.loads(e["detail"]) == {"from": ["owner"], "to": ["leader", "owner"]}


def test_each_event_is_also_one_json_log_line_without_secrets(engine, world, caplog):
    caplog.set_level(logging.INFO, logger="rectify.security")
    token = tokens.create("owner1", by="cli:ops", ip="cli", engine=engine)
    [record] = [r for r in caplog.records if r.name == "rectify.security"]
    line = json.loads(JsonFormatter().format(record))
    assert (line["security_event"], line["outcome"], line["actor"], line["subject"], line["ip"]) == (
        "token_create", "success", "cli:ops", "owner1", "cli")
    assert line["at"].endswith("Z") and token not in json.dumps(line)


def test_an_unknown_kind_of_event_is_a_programming_error(engine):
    with pytest.raises(ValueError):
        security_log.record("logged_in", "success", engine=engine)


def test_security_events_page_newest_first_and_filter_by_user(engine, world):
    for i in range(3):
        security_log.record("login", "failure", actor="owner1", ip=f"192.0.2.{i}", now=NOW + dt.timedelta(minutes=i),
                            engine=engine)
    security_log.record("login", "success", actor="leader1", ip="192.0.2.9", now=NOW, engine=engine)
    page = readmodels.security_events(user="owner1", per_page=2, engine=engine)
    assert (page.total, page.pages) == (3, 2)
    assert [e["ip"] for e in page.items] == ["192.0.2.2", "192.0.2.1"]
    assert readmodels.security_events(outcome="success", engine=engine).total == 1


def test_a_refusal_on_the_command_line_is_logged_and_still_one_line(engine, world):
    proc = _cli("fire", str(world["measures"][0]), "start", "--as", "owner3")
    assert proc.returncode == 3 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert events(engine, "not_permitted") == [("not_permitted", "refused", "owner3", None, "cli")]
