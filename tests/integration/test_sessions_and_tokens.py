"""Sign-in state as commands, on SQLite and PostgreSQL: web sessions, failed sign-ins, the
credential check and API tokens. Only hashes of tokens are ever stored."""
from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import func, select, update

from tests import factory
from workflow import db
from workflow.commands import sessions, tokens
from workflow.errors import NotFound
from workflow.models import ApiToken, LoginFailure, User, WebSession

NOW = factory.NOW
IDLE, ABSOLUTE = dt.timedelta(minutes=30), dt.timedelta(hours=12)
WINDOW = dt.timedelta(minutes=5)
T = dt.timedelta


@pytest.fixture
def world(engine):
    return factory.build(engine, measures=1)


def start(engine, user_id, at=NOW, replaces=None):
    return sessions.start(user_id, now=at, idle=IDLE, absolute=ABSOLUTE, replaces=replaces, engine=engine)


def resolve(engine, token, at):
    return sessions.resolve(token, now=at, idle=IDLE, absolute=ABSOLUTE, engine=engine)


def session_rows(engine):
    with db.read_tx(engine) as conn:
        return conn.execute(select(WebSession.__table__).order_by(WebSession.created_at)).all()


def deactivate(engine, username):
    with db.write_tx(engine) as conn:
        conn.execute(update(User.__table__).where(User.username == username).values(active=False))


# --- sessions -------------------------------------------------------------------------------

def test_a_started_session_resolves_to_its_user_and_stores_only_the_tokens_hash(engine, world):
    token = start(engine, world["owner"])
    who = resolve(engine, token, NOW + T(minutes=1))
    assert (who.actor.username, who.name, who.unit) == ("owner1", "水利局责任人", "水利局")
    assert who.actor.roles == frozenset({"owner"}) and world["unit"] in who.actor.unit_ids
    [row] = session_rows(engine)
    assert row.id == sessions.token_hash(token) and token not in row.id
    assert resolve(engine, "not-a-token", NOW) is None


def test_a_session_ends_after_idle_time_and_its_row_is_deleted(engine, world):
    token = start(engine, world["owner"])
    assert resolve(engine, token, NOW + IDLE) is not None
    assert resolve(engine, token, NOW + IDLE + IDLE + T(seconds=1)) is None
    assert session_rows(engine) == []


def test_a_session_ends_after_its_absolute_lifetime_however_busy(engine, world):
    token = start(engine, world["owner"])
    at = NOW
    while at + T(minutes=20) <= NOW + ABSOLUTE:
        at += T(minutes=20)
        assert resolve(engine, token, at) is not None
    assert resolve(engine, token, NOW + ABSOLUTE + T(minutes=1)) is None
    assert session_rows(engine) == []


def test_use_is_recorded_at_most_once_a_minute(engine, world):
    token = start(engine, world["owner"])
    resolve(engine, token, NOW + T(seconds=30))
    assert session_rows(engine)[0].last_seen_at == NOW
    resolve(engine, token, NOW + sessions.TOUCH_EVERY)
    assert session_rows(engine)[0].last_seen_at == NOW + sessions.TOUCH_EVERY
    sessions.touch(token, now=NOW + T(minutes=5), engine=engine)
    assert session_rows(engine)[0].last_seen_at == NOW + T(minutes=5)


def test_signing_in_again_voids_the_previous_token(engine, world):
    old = start(engine, world["owner"])
    new = start(engine, world["owner"], NOW + T(minutes=1), replaces=old)
    assert new != old
    assert resolve(engine, old, NOW + T(minutes=2)) is None
    assert resolve(engine, new, NOW + T(minutes=2)).actor.username == "owner1"


def test_ending_a_session_voids_its_token_and_no_other(engine, world):
    mine, theirs = start(engine, world["owner"]), start(engine, world["leader"])
    sessions.end(mine, engine=engine)
    assert resolve(engine, mine, NOW) is None
    assert resolve(engine, theirs, NOW).actor.username == "leader1"


def test_a_deactivated_persons_session_stops_working_and_is_deleted(engine, world):
    token = start(engine, world["owner2"])
    deactivate(engine, "owner2")
    assert resolve(engine, token, NOW + T(minutes=1)) is None
    assert session_rows(engine) == []


def test_expire_deletes_exactly_the_stale_sessions(engine, world):
    old = start(engine, world["leader"], NOW - ABSOLUTE + T(minutes=20))
    sessions.touch(old, now=NOW, engine=engine)
    idle = start(engine, world["owner"])
    live = start(engine, world["office"], NOW + T(minutes=5))
    for token in (old, live):  # both busy, but one is too old
        sessions.touch(token, now=NOW + IDLE, engine=engine)
    assert sessions.expire(now=NOW + IDLE + T(minutes=1), idle=IDLE, absolute=ABSOLUTE, engine=engine) == 2
    assert [r.id for r in session_rows(engine)] == [sessions.token_hash(live)]
    assert resolve(engine, idle, NOW + IDLE) is None


def test_starting_a_session_clears_the_stale_ones(engine, world):
    start(engine, world["owner"])
    start(engine, world["leader"], NOW + IDLE + T(minutes=1))
    assert [r.user_id for r in session_rows(engine)] == [world["leader"]]


# --- failed sign-ins -----------------------------------------------------------------------

def attempt(engine, address, username, at, limit=3, address_limit=5):
    return sessions.attempt(address, username, now=at, window=WINDOW, limit=limit, address_limit=address_limit,
                            engine=engine)


def test_failures_for_one_name_from_one_address_block_only_that_pair_until_the_window_passes(engine, world):
    for n in range(3):
        assert attempt(engine, "192.0.2.1", "owner1", NOW + T(seconds=n)).wait == 0  # counted, then wrong
    # the oldest of the last three fell at NOW: allowed again at NOW + WINDOW
    blocked = attempt(engine, "192.0.2.1", "OWNER1", NOW + T(seconds=10))
    assert (blocked.wait, blocked.locked) == (290, "pair")
    assert attempt(engine, "192.0.2.99", "owner1", NOW + T(seconds=10)).wait == 0  # the person elsewhere: not locked
    assert attempt(engine, "192.0.2.1", "leader1", NOW + T(seconds=10)).wait == 0
    assert attempt(engine, "192.0.2.1", "owner1", NOW + WINDOW + T(seconds=1)).wait == 0


def test_failures_from_one_address_block_it_whatever_the_name_at_a_looser_limit(engine, world):
    for n, name in enumerate(("a1", "b2", "c3", "d4", "e5")):
        assert attempt(engine, "192.0.2.5", name, NOW + T(seconds=n)).wait == 0
    blocked = attempt(engine, "192.0.2.5", "owner1", NOW + T(seconds=5))
    assert (blocked.wait, blocked.locked) == (295, "address")
    assert attempt(engine, "192.0.2.6", "owner1", NOW + T(seconds=5)).wait == 0


def test_a_right_password_forgives_the_attempt_and_the_pairs_failures_but_not_the_addresss(engine, world):
    for n in range(2):
        attempt(engine, "192.0.2.1", "owner1", NOW + T(seconds=n))
    right = attempt(engine, "192.0.2.1", "owner1", NOW + T(seconds=2))
    sessions.forgive(right, "192.0.2.1", "Owner1", engine=engine)
    with db.read_tx(engine) as conn:
        keys = sorted(r[0] for r in conn.execute(select(LoginFailure.key)))
    assert keys == ["ip:192.0.2.1", "ip:192.0.2.1"]
    for n in range(3):
        assert attempt(engine, "192.0.2.1", "owner1", NOW + T(seconds=3 + n)).wait == 0


def test_attempts_past_the_window_are_forgotten(engine, world):
    attempt(engine, "192.0.2.1", "owner1", NOW)
    attempt(engine, "192.0.2.1", "owner1", NOW + WINDOW + T(seconds=1))
    with db.read_tx(engine) as conn:
        ats = [r[0] for r in conn.execute(select(LoginFailure.at).order_by(LoginFailure.id))]
    assert ats == [NOW + WINDOW + T(seconds=1)] * 2  # one row for the pair, one for the address


def test_forty_parallel_attempts_get_exactly_the_limit_and_no_more(engine, world):
    from concurrent.futures import ThreadPoolExecutor

    go = threading.Barrier(40)

    def one(_):
        go.wait()
        return attempt(engine, "198.51.100.7", "admin1", NOW, limit=5, address_limit=20).wait

    with ThreadPoolExecutor(40) as pool:
        waits = list(pool.map(one, range(40)))
    assert waits.count(0) == 5 and all(w > 0 for w in waits if w)
    with db.read_tx(engine) as conn:
        assert conn.execute(select(func.count()).select_from(LoginFailure)).scalar_one() == 10


def test_credentials_are_checked_against_active_people_only(engine, world):
    assert sessions.check_credentials("owner1", "pw-owner1", engine=engine) == world["owner"]
    assert sessions.check_credentials("owner1", "pw-owner2", engine=engine) is None
    assert sessions.check_credentials("nobody", "pw-owner1", engine=engine) is None
    assert sessions.check_credentials("system", "", engine=engine) is None
    deactivate(engine, "owner2")
    assert sessions.check_credentials("owner2", "pw-owner2", engine=engine) is None


# --- API tokens -----------------------------------------------------------------------------

def token_rows(engine):
    with db.read_tx(engine) as conn:
        return conn.execute(select(ApiToken.__table__)).all()


def test_a_created_token_resolves_to_its_user_and_only_its_hash_is_stored(engine, world):
    token = tokens.create("leader1", now=NOW, engine=engine)
    who = tokens.resolve(token, engine=engine)
    assert (who.actor.username, who.name, who.actor.roles) == ("leader1", "分管领导甲", frozenset({"leader"}))
    [row] = token_rows(engine)
    assert (row.user_id, row.token_hash, row.created_at, row.revoked) == (
        world["leader"], sessions.token_hash(token), NOW, False)
    assert tokens.create("leader1", engine=engine) != token


@pytest.mark.parametrize("username", ["nobody", "system", "owner2"])
def test_no_token_is_made_for_an_unknown_inactive_or_system_user(engine, world, username):
    deactivate(engine, "owner2")
    with pytest.raises(NotFound):
        tokens.create(username, engine=engine)
    assert token_rows(engine) == []


def test_a_revoked_token_or_one_of_a_deactivated_person_resolves_to_nobody(engine, world):
    revoked, kept = tokens.create("owner1", engine=engine), tokens.create("owner2", engine=engine)
    with db.write_tx(engine) as conn:
        conn.execute(update(ApiToken.__table__).where(ApiToken.token_hash == sessions.token_hash(revoked))
                     .values(revoked=True))
    assert tokens.resolve(revoked, engine=engine) is None
    assert tokens.resolve(kept, engine=engine).actor.username == "owner2"
    deactivate(engine, "owner2")
    assert tokens.resolve(kept, engine=engine) is None
    for junk in ("", "x" * 201, "\udcff"):
        assert tokens.resolve(junk, engine=engine) is None
    with db.read_tx(engine) as conn:
        assert conn.execute(select(func.count()).select_from(ApiToken)).scalar_one() == 2
