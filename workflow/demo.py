"""The demo: the published notice in ``workflow/data/`` as a live plan, with fictional people.

:func:`load` creates role-holders (水利局责任人, 水利局局长, 分管水利副主任, 整改办工作人员, 纪工委监督员,
巡察组联络员, 系统管理员; every password ``rectify-demo``), imports the notice with every measure
``assigned``, then plays a history through :func:`workflow.commands.fire` at past instants, so the
audit chains are real. Dates are shifted so that the concentrated rectification period is under
way today: problems 1–10 are signed off (one measure reopened by the inspectors and closed again,
one refused at sign-off and redone, two long-term ones re-checked), problems 11–16 are in every
other state and at every traffic light — green, yellow (due within 3 working days), red at
levels 1, 2 and 3 — with one extension pending and one granted (its original deadline kept), one
measure returned to its owner with the leader's reason and one returned and resubmitted.
Deadlines are counted in Chinese working days from ``now``, so the lights are exact.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import struct
import zlib
from collections import Counter
from pathlib import Path

from sqlalchemy import select, update

from . import commands, db, evidence, passwords, planwriter, publication, readmodels, workdays
from .commands import units as unit_commands
from .importing import notice as notice_mod
from .models import Inspection, Measure, OrgUnit, Plan, Problem, User

UNITS_PATH = Path(__file__).resolve().parent / "data" / "demo_units.json"
PASSWORD = "rectify-demo"
EMAIL_DOMAIN = "demo.invalid"

# (username, name, roles, unit)
STAFF = (
    ("admin", "系统管理员", ("admin",), "整改办"),
    ("office", "整改办工作人员", ("office",), "整改办"),
    ("office2", "整改办副主任", ("office",), "整改办"),
    ("supervisor", "纪工委监督员", ("supervisor",), "纪工委"),
    ("inspector", "巡察组联络员", ("inspector",), "市委第八巡察组"),
    ("xuncha_office", "巡察办工作人员", ("inspection_office",), "巡察办"),
)
# (username, name, units they are responsible for)
LEADERS = (
    ("leader_water", "分管水利副主任", ("水利局", "区防办", "应急管理局")),
    ("leader_urban", "分管城建副主任", ("住建局", "发改局", "产业集聚区", "财政局")),
    ("leader_street", "分管街道副主任", ("祖师街道办事处", "永昌街道办事处", "天宝路街道办事处", "半截河街道办事处")),
    ("leader_party", "分管党群副书记", ("党工委办公室", "纪工委", "整改办")),
)
LEADER_UNIT = "管委会"

# what the measures of the last problems are doing today, in measure order
OPEN_SCENARIOS = (
    "verified", "verified", "submitted", "submitted", "returned_resubmitted",
    "in_progress_green", "returned", "in_progress_yellow", "in_progress_yellow",
    "red_l1", "red_l2", "red_l3", "extension_pending", "extension_granted",
    "assigned_green", "assigned_yellow", "assigned_red",
)


def _png(seed: int, width: int = 96, height: int = 64) -> bytes:
    """A small real PNG (RGB, a coloured band pattern that differs with ``seed``)."""
    r, g, b = (seed * 97) % 256, (seed * 57 + 80) % 256, (seed * 31 + 160) % 256
    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter: none
        for x in range(width):
            if (x // 8 + y // 8 + seed) % 3 == 0:
                rows += bytes((r, g, b))
            else:
                rows += bytes((255 - r // 2, 255 - g // 2, 255 - b // 2))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(bytes(rows), 9)) + \
        chunk(b"IEND", b"")


def _back_workdays(day: dt.date, n: int) -> dt.date:
    """The latest working day d with ``workdays_between(d, day) == n``: on ``day`` a measure due on
    d is n working days overdue."""
    d = day - dt.timedelta(days=1)
    while not (workdays.is_workday(d) and workdays.workdays_between(d, day) >= n):
        d -= dt.timedelta(days=1)
    return d


def _scenarios(measures: list[tuple[int, int, str]]) -> dict[tuple[int, int], str]:
    """Give every (problem_no, seq) a scenario: the last ones open, the rest closed."""
    order = sorted(measures)
    n_open = min(len(OPEN_SCENARIOS), len(order))
    out: dict[tuple[int, int], str] = {}
    closed = order[:len(order) - n_open]
    for (pno, seq, _kind), name in zip(order[len(order) - n_open:], OPEN_SCENARIOS[-n_open:] if n_open else ()):
        out[(pno, seq)] = name
    for pno, seq, _ in closed:
        out[(pno, seq)] = "closed"
    long_term = [(p, s) for p, s, k in closed if k == "long_term"]
    for key in long_term[:2]:
        out[key] = "closed_rechecked"
    others = [(p, s) for p, s, _ in closed if out[(p, s)] == "closed"]
    if others:
        out[others[len(others) * 3 // 4]] = "closed_reopened"
    if len(others) > 2:
        out[others[len(others) // 2]] = "closed_after_reject"
    return out


def _deadlines(today: dt.date, default: dt.date) -> dict[str, dt.date]:
    add = workdays.add_workdays
    return {
        "in_progress_green": add(today, 12),
        "returned": add(today, 10),
        "in_progress_yellow": add(today, 2),
        "red_l1": _back_workdays(today, 2),
        "red_l2": _back_workdays(today, 7),
        "red_l3": _back_workdays(today, 12),
        "extension_pending": _back_workdays(today, 1),
        "extension_granted": _back_workdays(today, 3),
        "assigned_green": add(today, 15),
        "assigned_yellow": add(today, 3),
        "assigned_red": _back_workdays(today, 4),
        "default": default,
    }


def demo_units() -> dict:
    """The demo's org chart (``workflow/data/demo_units.json``): units with kind, aliases, a username
    slug and the head's title, and topic hints."""
    return json.loads(UNITS_PATH.read_text(encoding="utf-8"))


def unit_directory() -> notice_mod.UnitDirectory:
    """The demo's units as the notice reader's directory (with the topic hints)."""
    data = demo_units()
    return notice_mod.UnitDirectory.of(((u["name"], u["kind"], u["aliases"]) for u in data["units"]),
                                       topics=[(t["unit"], t["keywords"]) for t in data["topics"]])


def load_units(conn) -> None:
    """Write the demo's org chart (units and aliases) into ``org_units`` and ``unit_aliases``."""
    unit_commands.write_org_chart(conn, [{"name": u["name"], "kind": u["kind"], "parent": None,
                                          "aliases": u["aliases"]} for u in demo_units()["units"]])


def _find_plan(conn, parsed: notice_mod.Notice) -> int | None:
    info = parsed.inspection
    return conn.execute(
        select(Plan.id).join(Inspection, Inspection.id == Plan.inspection_id)
        .where(Inspection.body == info.body, Inspection.target == info.target, Plan.title == parsed.title)
    ).scalar()


def _people(conn, units: list[str]) -> dict[str, tuple[str, str]]:
    """Create the role-holders; return the owner map {unit: (owner, leader)}."""
    pw = passwords.hash_password(PASSWORD)

    def person(username, name, roles, unit_name, head=False):
        return planwriter.user(conn, username, name, roles, unit_name, email=f"{username}@{EMAIL_DOMAIN}",
                           password_hash=pw, head=head)

    planwriter.unit(conn, "市委第八巡察组", "inspection_group")
    planwriter.unit(conn, LEADER_UNIT, "district")
    for username, name, roles, unit_name in STAFF:
        person(username, name, roles, unit_name)
    leader_of: dict[str, str] = {}
    for username, name, unit_names in LEADERS:
        person(username, name, ("leader",), LEADER_UNIT)
        for u in unit_names:
            leader_of[u] = username
    owner_map: dict[str, tuple[str, str]] = {}
    known = {u["name"]: u for u in demo_units()["units"]}
    for name in units:
        d = known.get(name, {})
        slug = d.get("slug") or f"unit{len(owner_map) + 1}"
        planwriter.unit(conn, name, d.get("kind", "department"))
        head = f"{slug}_head"
        owner = f"{slug}_owner"
        person(head, f"{name}{d.get('head_title', '负责人')}", ("owner",), name, head=True)
        person(owner, f"{name}责任人", ("owner",), name)
        planwriter.set_superior(conn, owner, head)
        leader = leader_of.get(name, LEADERS[-1][0])
        planwriter.set_superior(conn, head, leader)
        owner_map[name] = (owner, leader)
    # delivery of webhooks is configured by each unit later; the demo sets none
    conn.execute(update(OrgUnit.__table__).values(webhook_url=None))
    return owner_map


def load(now: dt.datetime, engine=None) -> str:
    """Load the demo as of ``now`` (naive UTC); if it is already there, say so and do nothing."""
    now = now.replace(tzinfo=None)
    engine = engine or db.get_engine()
    parsed = notice_mod.read(notice_mod.SEED_PATH, units=unit_directory())
    with db.read_tx(engine) as conn:
        existing = _find_plan(conn, parsed)
    if existing is not None:
        return f"the demo plan is already loaded (plan {existing}); nothing done"

    today = workdays.local_today(now)
    info = parsed.inspection
    if info.rect_start is None or info.rect_end is None:
        raise ValueError(f"{notice_mod.SEED_PATH.name}: the demo notice names no rectification period")
    # shift the notice's dates: the rectification period ends three weeks from today
    shift = (today + dt.timedelta(days=21)) - info.rect_end
    rect_start, rect_end = info.rect_start + shift, info.rect_end + shift
    parsed.inspection = dataclasses.replace(info, **{
        f.name: getattr(info, f.name) + shift for f in dataclasses.fields(info)
        if isinstance(getattr(info, f.name), dt.date)})
    for p in parsed.problems:
        if p.money.recovered_on is not None:
            p.money.recovered_on += shift
    start = now - dt.timedelta(days=(today - rect_start).days)
    units = sorted({m.unit for p in parsed.problems for m in p.measures if m.unit})
    with db.write_tx(engine) as conn:
        load_units(conn)
        if conn.execute(select(User.id).where(User.username == "system")).first() is None:
            planwriter.user(conn, "system", "系统")
        owner_map = _people(conn, units)

    plan_measures = [(p.no, m.seq, m.kind) for p in parsed.problems for m in p.measures]
    scenario = _scenarios(plan_measures)
    due = _deadlines(today, rect_end)

    def deadline_for(problem_no: int, seq: int, kind: str) -> dt.date:
        return due.get(scenario[(problem_no, seq)], due["default"])

    summary = notice_mod.import_notice(parsed, start, engine=engine, owner_map=owner_map,
                                       initial_state="assigned", deadline_for=deadline_for)
    plan_id = summary["plan_id"]
    with db.read_tx(engine) as conn:
        rows = conn.execute(
            select(Measure.id, Measure.seq, Measure.text, Measure.deadline, Problem.no,
                   Measure.owner_id, Measure.leader_id)
            .join(Problem, Problem.id == Measure.problem_id).where(Problem.plan_id == plan_id)
            .order_by(Problem.no, Measure.seq)).all()
        names = dict(conn.execute(select(User.id, User.username)).all())
    history = _History(now, start, engine)
    for i, r in enumerate(rows):
        history.play(i, r, scenario[(r.no, r.seq)], names[r.owner_id], names[r.leader_id], today)
    # the office published the notice a week ago, computed from the ledger as it stood then
    publication.publish(plan_id, "office", now=now - dt.timedelta(days=7), engine=engine)
    counts = Counter(it["state"] for it in readmodels.iter_items(now=now, engine=engine, plan_id=plan_id))
    lights = Counter(f"{it['light']}{'' if it['level'] < 1 else it['level']}"
                     for it in readmodels.iter_items(now=now, engine=engine, plan_id=plan_id))
    return (f"plan {plan_id}: {summary['problems']} problems, {len(rows)} measures, {len(owner_map)} units, "
            f"{history.fired} events; states " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
            + "; lights " + ", ".join(f"{k} {v}" for k, v in sorted(lights.items()))
            + f"; every password: {PASSWORD}")


class _History:
    """Plays one measure's past through the engine, at increasing past instants."""

    def __init__(self, now: dt.datetime, start: dt.datetime, engine):
        self.now, self.start, self.engine = now, start, engine
        self.fired = 0

    def _at(self, days: float, i: int) -> dt.datetime:
        t = self.start + dt.timedelta(days=days, minutes=7 * i)
        return min(t, self.now - dt.timedelta(minutes=60 - i % 50))

    def _ago(self, days: float, i: int) -> dt.datetime:
        return self.now - dt.timedelta(days=days, minutes=60 - i % 50)

    def fire(self, mid: int, trigger: str, actor: str, at: dt.datetime, **kw):
        commands.fire(mid, trigger, actor, now=at, engine=self.engine, **kw)
        self.fired += 1

    def _evidence(self, i: int, r, round_: int = 1) -> list:
        name = f"问题{r.no}-措施{r.seq}-佐证{round_}.png"
        return [evidence.store(_png(i * 7 + round_), name)]

    def _close(self, i: int, r, owner: str, leader: str, day0: float, round_: int = 1) -> float:
        """submit, approve, sign off from ``day0``; returns the day after."""
        self.fire(r.id, "submit", owner, self._at(day0, i), comment=r.text, evidence=self._evidence(i, r, round_))
        self.fire(r.id, "approve", leader, self._at(day0 + 1, i), comment="材料齐全，同意。")
        self.fire(r.id, "sign_off", "office", self._at(day0 + 2, i), comment="对账销号。")
        return day0 + 3

    def play(self, i: int, r, name: str, owner: str, leader: str, today: dt.date) -> None:
        mid = r.id
        if name.startswith("assigned"):
            return
        self.fire(mid, "start", owner, self._at(1 + (i % 3), i))
        if name.startswith("closed"):
            d: float = 6 + (i % 12)
            if name == "closed_after_reject":
                self.fire(mid, "submit", owner, self._at(d, i), comment=r.text, evidence=self._evidence(i, r))
                self.fire(mid, "approve", leader, self._at(d + 1, i))
                self.fire(mid, "reject", "office", self._at(d + 2, i),
                          reason="台账记录与佐证材料不一致，请核实后重新提交。")
                self._close(i, r, owner, leader, d + 5, round_=2)
                return
            d = self._close(i, r, owner, leader, d)
            if name == "closed_rechecked":
                self.fire(mid, "recheck", "office", self._ago(3, i), comment="巩固复查：整改成效保持，未见反弹。")
            elif name == "closed_reopened":
                self.fire(mid, "reopen", "inspector", self._at(d + 10, i), reason="回访发现整改成效不明显，群众反映仍有问题。",
                          params={"category": "inspector_dissatisfaction"})
                self._close(i, r, owner, leader, d + 20, round_=2)
            return
        if name in ("verified", "submitted"):
            self.fire(mid, "submit", owner, self._ago(5, i), comment=r.text, evidence=self._evidence(i, r))
            if name == "verified":
                self.fire(mid, "approve", leader, self._ago(2, i), comment="同意，请整改办对账销号。")
            return
        if name == "returned":  # back with the owner: what the leader said is on their to-do
            self.fire(mid, "submit", owner, self._ago(6, i), comment=r.text, evidence=self._evidence(i, r))
            self.fire(mid, "return", leader, self._ago(2, i), reason="落实情况写得过于笼统，请写明已完成的具体事项，并补充整改后的现场照片。")
            return
        if name == "returned_resubmitted":
            self.fire(mid, "submit", owner, self._ago(6, i), comment=r.text, evidence=self._evidence(i, r))
            self.fire(mid, "return", leader, self._ago(5, i), reason="佐证材料不完整，请补充现场照片。")
            self.fire(mid, "submit", owner, self._ago(1, i), comment=r.text + "（已补充现场照片）",
                      evidence=self._evidence(i, r, 2))
            return
        # open and with the owner
        self.fire(mid, "progress_update", owner, self._ago(4, i), comment="本周进展：已制定工作方案，正在推进。")
        if name == "red_l2":
            self.fire(mid, "request_extension", owner, self._ago(3, i), reason="涉及多个部门协调，需延长时限。",
                      params={"new_deadline": workdays.add_workdays(today, 20).isoformat()})
            self.fire(mid, "deny_extension", leader, self._ago(2, i), reason="集中整改期内必须完成，不同意延期。")
        elif name == "red_l3":
            self.fire(mid, "urge", "supervisor", self._ago(1, i), comment="已逾期，请立即整改并报告进展。")
        elif name == "extension_pending":
            self.fire(mid, "request_extension", owner, self._ago(1, i), reason="工程受天气影响，申请延期。",
                      params={"new_deadline": workdays.add_workdays(today, 10).isoformat()})
        elif name == "extension_granted":
            self.fire(mid, "request_extension", owner, self._ago(4, i), reason="需等待上级资金下达，申请延期。",
                      params={"new_deadline": workdays.add_workdays(today, 8).isoformat()})
            self.fire(mid, "grant_extension", leader, self._ago(3, i), comment="同意延期。")
