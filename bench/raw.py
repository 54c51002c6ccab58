"""The hand-written baselines of ``rectify bench transitions``: the driver alone, no engine.

- :func:`raw_runner` does the engine's writes per transaction and nothing else: the
  version-checked ``UPDATE``, the chained event, the outbox rows (and the light on sign-off).
  It knows the chain heads and recipients in advance (read once per slice, outside the timing).
- :func:`raw_full_runner` is the like-for-like baseline: per transaction it also does the reads
  the engine must do (the actor with roles, units and delegations; the measure with its plan and
  the owner's and leader's channels, locked on PostgreSQL; the evidence seen and the office's
  channels on approval) and the same rule checks (state, who, four eyes, the account), then the
  same writes.

Both run on ``sqlite3`` or ``psycopg`` connections in autocommit mode, issuing BEGIN/COMMIT.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json as jsonlib
import time

from workflow.spec import TRIGGERS

STATES = {"start": ("assigned", "in_progress"), "submit": ("in_progress", "submitted"),
          "approve": ("submitted", "verified"), "sign_off": ("verified", "closed")}
UPDATES = {
    "start": "UPDATE measures SET state=?, version=?, head_seq=?, head_hash=? WHERE id=? AND version=?",
    "submit": "UPDATE measures SET account=?, submitter_id=?, submitted_at=?, state=?, version=?, "
              "head_seq=?, head_hash=? WHERE id=? AND version=?",
    "approve": "UPDATE measures SET approver_id=?, state=?, version=?, head_seq=?, head_hash=? WHERE id=? AND version=?",
    "sign_off": "UPDATE measures SET closed_at=?, light='done', level=-1, state=?, version=?, head_seq=?, "
                "head_hash=? WHERE id=? AND version=?",
}
INSERT_EVENT = ("INSERT INTO events (measure_id, seq, kind, actor, from_state, to_state, body, at, prev_hash, hash) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
INSERT_OUTBOX = ("INSERT INTO outbox (key, recipient_id, channel, kind, measure_id, level, subject, body, "
                 "created_at, attempts, dead, next_attempt_at) VALUES (NULL, ?, ?, ?, ?, NULL, ?, ?, ?, 0, FALSE, ?)")
INSERT_LIGHT = "INSERT INTO light_history (measure_id, light, level, at) VALUES (?, 'done', -1, ?)"
ACTOR = ("SELECT u.id, u.active, r.role, CAST(NULL AS INTEGER), CAST(NULL AS INTEGER) FROM users u "
         "LEFT JOIN user_roles r ON r.user_id = u.id WHERE u.username = ? UNION ALL "
         "SELECT u.id, u.active, CAST(NULL AS VARCHAR(20)), m.unit_id, CAST(NULL AS INTEGER) FROM users u "
         "JOIN memberships m ON m.user_id = u.id WHERE u.username = ? UNION ALL "
         "SELECT u.id, u.active, CAST(NULL AS VARCHAR(20)), CAST(NULL AS INTEGER), d.leader_id FROM users u "
         "JOIN delegations d ON d.delegate_id = u.id WHERE u.username = ?")
MEASURE = ("SELECT m.state, m.version, m.head_seq, m.head_hash, m.owner_id, m.leader_id, m.unit_id, m.submitter_id, "
           "m.approver_id, m.evidence_count, m.account, m.light, p.evidence_waived, o.email, ou.webhook_url, "
           "l.email, lu.webhook_url FROM measures m JOIN problems pr ON pr.id = m.problem_id "
           "JOIN plans p ON p.id = pr.plan_id LEFT JOIN users o ON o.id = m.owner_id "
           "LEFT JOIN org_units ou ON ou.id = o.unit_id LEFT JOIN users l ON l.id = m.leader_id "
           "LEFT JOIN org_units lu ON lu.id = l.unit_id WHERE m.id = ?")
EVIDENCE_SEEN = "SELECT sha256 FROM measure_evidence WHERE measure_id = ?"
ROLE_CHANNELS = ("SELECT u.id, u.email, ou.webhook_url FROM users u JOIN user_roles r ON r.user_id = u.id "
                 "LEFT JOIN org_units ou ON ou.id = u.unit_id WHERE r.role = ? AND u.active ORDER BY u.id")
LINK = "http://127.0.0.1:5000/measures/"
ACCOUNT = "已按整改方案完成整改，相关制度已印发。"


class Driver:
    """A DB-API connection in autocommit mode and how to speak to it (placeholders, BEGIN)."""

    def __init__(self, con, postgres: bool):
        self.con, self.postgres = con, postgres
        self.cur = con.cursor()
        self.begin = "BEGIN" if postgres else "BEGIN IMMEDIATE"
        self._sql: dict[str, str] = {}

    def sql(self, text: str) -> str:
        out = self._sql.get(text)
        if out is None:
            out = self._sql[text] = text.replace("?", "%s") if self.postgres else text
        return out

    def execute(self, text: str, params=()):
        self.cur.execute(self.sql(text), params)
        return self.cur

    def executemany(self, text: str, rows) -> None:
        self.cur.executemany(self.sql(text), rows)


def _ts(at: dt.datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S.%f")


def _hash(m, seq, trigger, actor, src, dst, now, body, prev) -> str:
    doc = jsonlib.dumps({"m": m, "seq": seq, "kind": trigger, "actor": actor, "from": src, "to": dst,
                         "at": now.strftime("%Y-%m-%dT%H:%M:%S.%f"), "body": body},
                        sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((prev + doc).encode("utf-8")).hexdigest()


def _body(data: dict) -> str:
    return jsonlib.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _write(d: Driver, trigger: str, m: int, version: int, seq: int, prev: str, h: str, actor: str, body: str,
           now: dt.datetime, update: tuple, outbox: list) -> None:
    """The writes of one trigger, inside the caller's transaction."""
    src, dst = STATES[trigger]
    at = now if d.postgres else _ts(now)
    if d.execute(UPDATES[trigger], (*update, dst, version + 1, seq, h, m, version)).rowcount != 1:
        raise RuntimeError(f"raw: stale version of measure {m}")
    d.execute(INSERT_EVENT, (m, seq, trigger, actor, src, dst, body, at, prev, h))
    if outbox:
        notice = TRIGGERS[trigger].notice
        assert notice is not None
        fmt = {"id": m, "actor": actor}
        subject, text = notice.subject.format(**fmt), f"{notice.text.format(**fmt)}\n{LINK}{m}"
        d.executemany(INSERT_OUTBOX, [(uid, channel, notice.kind, m, subject, text, at, at)
                                      for uid, channel in outbox])
    if trigger == "sign_off":
        d.execute(INSERT_LIGHT, (m, at))


def _update_values(trigger: str, d: Driver, now: dt.datetime, owner: int, leader: int) -> tuple:
    at = now if d.postgres else _ts(now)
    return {"start": (), "submit": (ACCOUNT, owner, at), "approve": (leader,), "sign_off": (at,)}[trigger]


def raw_runner(run, d: Driver, ids: dict, first: int, outbox_plan: dict, slices: list[int], steps, actors: dict,
               rss):
    """The writes alone, per transaction, the chain heads read once per slice outside the timing."""
    bodies = {"start": {}, "submit": {"comment": ACCOUNT}, "approve": {"evidence_seen": [], "account_seen": ACCOUNT},
              "sign_off": {}}
    perf, cpu = time.perf_counter, time.process_time
    mid = first
    for count in slices:
        heads = d.execute("SELECT id, version, head_seq, head_hash FROM measures WHERE id BETWEEN ? AND ? "
                          "ORDER BY id", (mid, mid + count - 1)).fetchall()
        t0, c0 = perf(), cpu()
        for m, version, seq, prev in heads:
            for trigger, who in steps:
                now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
                src, dst = STATES[trigger]
                body = _body(bodies[trigger])
                seq += 1
                h = _hash(m, seq, trigger, actors[who], src, dst, now, body, prev)
                d.execute(d.begin)
                try:
                    _write(d, trigger, m, version, seq, prev, h, actors[who], body, now,
                           _update_values(trigger, d, now, ids["owner"], ids["leader"]), outbox_plan[trigger])
                    d.execute("COMMIT")
                except BaseException:
                    d.execute("ROLLBACK")
                    raise
                prev, version = h, version + 1
        run.add(t0, c0, 4 * len(heads))
        mid += count
        rss.sample()
        yield


def _actor(d: Driver, username: str) -> tuple[int, set]:
    rows = d.execute(ACTOR, (username, username, username)).fetchall()
    if not rows or not rows[0][1]:
        raise RuntimeError(f"raw_full: no such user {username}")
    return rows[0][0], {r[2] for r in rows if r[2] is not None}


def _check(trigger: str, actor_id: int, roles: set, row) -> None:
    """The rules of the four steps, by hand: state, who, four eyes, the account."""
    state, _v, _s, _h, owner, leader, _u, submitter, approver = row[:9]
    if state != STATES[trigger][0]:
        raise RuntimeError(f"raw_full: {trigger} from {state}")
    allowed = {"start": "owner" in roles and actor_id == owner, "submit": "owner" in roles and actor_id == owner,
               "approve": "leader" in roles and actor_id == leader, "sign_off": "office" in roles}[trigger]
    if not allowed or (trigger in ("approve", "sign_off") and actor_id in (submitter, approver)):
        raise RuntimeError(f"raw_full: {trigger} refused")


def _full_trigger(d: Driver, m: int, trigger: str, actor: str) -> None:
    """One trigger with the engine's reads and checks, then its writes, in one transaction."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    d.execute(d.begin)
    try:
        actor_id, roles = _actor(d, actor)
        row = d.execute(MEASURE + (" FOR UPDATE OF m" if d.postgres else ""), (m,)).fetchone()
        _check(trigger, actor_id, roles, row)
        state, version, seq, prev, owner, leader = row[:6]
        body: dict = {}
        outbox: list = []
        if trigger == "submit":
            body = {"comment": ACCOUNT}
            outbox = [(leader, c) for c in ("inbox", "email" if row[15] else None, "webhook" if row[16] else None) if c]
        elif trigger == "approve":
            seen = sorted(r[0] for r in d.execute(EVIDENCE_SEEN, (m,)).fetchall())
            body = {"evidence_seen": seen, "account_seen": row[10] or ""}
            for uid, email, hook in d.execute(ROLE_CHANNELS, ("office",)).fetchall():
                outbox += [(uid, c) for c in ("inbox", "email" if email else None, "webhook" if hook else None) if c]
        elif trigger == "sign_off":
            outbox = [(owner, c) for c in ("inbox", "email" if row[13] else None, "webhook" if row[14] else None) if c]
        text = _body(body)
        h = _hash(m, seq + 1, trigger, actor, state, STATES[trigger][1], now, text, prev)
        _write(d, trigger, m, version, seq + 1, prev, h, actor, text, now,
               _update_values(trigger, d, now, actor_id, actor_id), outbox)
        d.execute("COMMIT")
    except BaseException:
        d.execute("ROLLBACK")
        raise


def raw_full_runner(run, d: Driver, first: int, slices: list[int], steps, actors: dict, rss):
    """The like-for-like baseline: the engine's reads, rule checks and writes, by hand on the driver."""
    perf, cpu = time.perf_counter, time.process_time
    mid = first
    for count in slices:
        t0, c0 = perf(), cpu()
        for m in range(mid, mid + count):
            for trigger, who in steps:
                _full_trigger(d, m, trigger, actors[who])
        run.add(t0, c0, 4 * count)
        mid += count
        rss.sample()
        yield
