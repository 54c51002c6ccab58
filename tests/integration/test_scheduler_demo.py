"""The demo, then one tick: the scheduler escalates at every rung of the ladder."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from sqlalchemy import select

from workflow import db
from workflow.clock import utcnow
from workflow.models import Escalation, Event, Outbox, User, UserRole

ROOT = Path(__file__).resolve().parents[2]


def rectify(*args) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("RECTIFY_SMTP_HOST", None)
    return subprocess.run([sys.executable, "-m", "workflow.cli", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)


def test_demo_load_then_tick_escalates_at_every_level(instance):
    loaded = rectify("demo", "--load-only")
    assert loaded.returncode == 0, loaded.stderr
    now = utcnow().replace(microsecond=0).isoformat() + "+00:00"
    first = rectify("tick", "--now", now, "--json")
    assert first.returncode == 0, first.stderr
    sweep = json.loads(first.stdout)["jobs"]["escalation_sweep"]
    assert {0, 1, 2, 3} <= {int(k) for k in sweep["by_level"]}, sweep
    assert sweep["orders"] and all(o.startswith("DB-") for o in sweep["orders"])

    engine = db.get_engine()
    with db.read_tx(engine) as conn:
        levels = Counter(r[0] for r in conn.execute(select(Escalation.level)))
        events = Counter(r[0] for r in conn.execute(select(Event.measure_id).where(Event.kind == "escalate")))
        l3 = {r[0] for r in conn.execute(select(User.username).join(Outbox, Outbox.recipient_id == User.id)
                                         .where(Outbox.kind == "escalation", Outbox.level == 3))}
        told = {r[0] for r in conn.execute(select(User.username).join(UserRole, UserRole.user_id == User.id)
                                           .where(UserRole.role.in_(("office", "supervisor"))))}
    assert all(levels[lv] >= 1 for lv in (0, 1, 2, 3))
    assert set(events.values()) == {1}
    assert l3 == told

    again = rectify("tick", "--now", now, "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["jobs"]["escalation_sweep"]["escalated"] == 0
    verified = rectify("audit", "verify")
    assert verified.returncode == 0, verified.stderr
