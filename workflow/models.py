"""The schema: SQLAlchemy 2 typed models. Migrations in ``migrations/`` create it."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import ClassVar

from sqlalchemy import (
    JSON, Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, MetaData, Numeric, String, Table, Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    __table__: ClassVar[Table]  # every model here maps one table (SQLAlchemy types it as any FromClause)


# --- organisation -------------------------------------------------------

class OrgUnit(Base):
    __tablename__ = "org_units"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40), default="department")  # district, subdistrict, community, department
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    webhook_url: Mapped[str | None] = mapped_column(String(500))  # the unit's group robot, if any
    webhook_format: Mapped[str] = mapped_column(String(20), default="json")  # json wecom dingtalk


class UnitAlias(Base):
    """Another name a unit goes by (简称, an old name, how one office writes it): maps to the unit."""

    __tablename__ = "unit_aliases"
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    alias: Mapped[str] = mapped_column(String(200), unique=True)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    superior_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str] = mapped_column(String(10), default="zh")
    # the target whose plans this person works on; None: every target (one office, or the 巡察办)
    target_id: Mapped[int | None] = mapped_column(ForeignKey("targets.id"))


class UserRole(Base):
    __tablename__ = "user_roles"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), primary_key=True)


class Membership(Base):
    __tablename__ = "memberships"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), primary_key=True)
    is_head: Mapped[bool] = mapped_column(Boolean, default=False)


class Delegation(Base):
    """A leader lets a delegate approve in their name."""

    __tablename__ = "delegations"
    leader_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    delegate_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime)  # migration 0005; None: never (none made so)


# --- the plan -----------------------------------------------------------

class Target(Base):
    """An inspected organisation (东城区, 某县教育局): every round of inspection of it, and its plans."""

    __tablename__ = "targets"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class Inspection(Base):
    """One round (轮) of inspection of a target: who inspected, when, and what kind."""

    __tablename__ = "inspections"
    id: Mapped[int] = mapped_column(primary_key=True)
    body: Mapped[str] = mapped_column(String(200))  # 市委第八巡察组
    target: Mapped[str] = mapped_column(String(200))  # 东城区, as the notice names it
    kind: Mapped[str] = mapped_column(String(20), default="special")  # routine / special / look_back
    target_id: Mapped[int | None] = mapped_column(ForeignKey("targets.id"), index=True)
    genre: Mapped[str] = mapped_column(String(20), default="xuncha")  # xuncha xunshi audit ducha
    round_no: Mapped[int | None] = mapped_column(Integer)  # the target's 1st, 2nd … round
    onsite_start: Mapped[dt.date | None] = mapped_column(Date)
    onsite_end: Mapped[dt.date | None] = mapped_column(Date)
    feedback_date: Mapped[dt.date | None] = mapped_column(Date)
    rect_start: Mapped[dt.date | None] = mapped_column(Date)
    rect_end: Mapped[dt.date | None] = mapped_column(Date)


class Plan(Base):
    __tablename__ = "plans"
    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspections.id"))
    target_id: Mapped[int | None] = mapped_column(ForeignKey("targets.id"), index=True)  # the inspection's
    title: Mapped[str] = mapped_column(String(300))
    issuer: Mapped[str | None] = mapped_column(String(200))  # 中共许昌市东城区工作委员会
    evidence_waived: Mapped[bool] = mapped_column(Boolean, default=False)
    ladder: Mapped[dict | None] = mapped_column(JSON)  # overrides of the escalation defaults
    preamble: Mapped[dict | None] = mapped_column(JSON)  # report paragraphs: intro, organisation, next steps, contact
    # the office's own ledger headers: {header: field}, applied to every later import into the plan
    column_map: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))


class Part(Base):
    __tablename__ = "parts"
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    no: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    __table_args__ = (UniqueConstraint("plan_id", "no"),)


class Category(Base):
    __tablename__ = "categories"
    id: Mapped[int] = mapped_column(primary_key=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"), index=True)
    no: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    __table_args__ = (UniqueConstraint("part_id", "no"),)


class Problem(Base):
    __tablename__ = "problems"
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    no: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    account: Mapped[str | None] = mapped_column(Text)  # the published 落实情况
    amount_involved: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    amount_recovered: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    recovered_on: Mapped[dt.date | None] = mapped_column(Date)
    __table_args__ = (UniqueConstraint("plan_id", "no"),)


class Measure(Base):
    __tablename__ = "measures"
    id: Mapped[int] = mapped_column(primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("problems.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer, default=1)  # number within the problem
    text: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(20), default="time_bound")
    leader_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    deadline_original: Mapped[dt.date | None] = mapped_column(Date)
    deadline: Mapped[dt.date | None] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(20), default="assigned")
    version: Mapped[int] = mapped_column(Integer, default=1)
    account: Mapped[str | None] = mapped_column(Text)
    submitter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approver_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # who approved the current submission
    submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    evidence_count: Mapped[int] = mapped_column(Integer, default=0)
    pending_extension: Mapped[bool] = mapped_column(Boolean, default=False)
    light: Mapped[str] = mapped_column(String(10), default="green")  # last recorded light
    level: Mapped[int] = mapped_column(Integer, default=-1)  # -1 none, 0 yellow, 1..3 red
    head_seq: Mapped[int] = mapped_column(Integer, default=0)
    head_hash: Mapped[str] = mapped_column(String(64), default="0" * 64)
    created_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # cells of an imported ledger with no column of their own: {header: text}, in the file's column order
    extra: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))
    # 举一反三: a self-check task belongs to a spread; its finding (exists / none); a measure a finding started
    spread_id: Mapped[int | None] = mapped_column(ForeignKey("spreads.id"), index=True)
    finding: Mapped[str | None] = mapped_column(String(10))
    found_by: Mapped[int | None] = mapped_column(ForeignKey("measures.id"))
    __table_args__ = (
        UniqueConstraint("problem_id", "seq"),
        # the sweep reads only open measures near or past their deadline
        Index("ix_measures_open_deadline", "state", "deadline"),
    )


class Extension(Base):
    __tablename__ = "extensions"
    id: Mapped[int] = mapped_column(primary_key=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("measures.id"), index=True)
    requested_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    old_deadline: Mapped[dt.date | None] = mapped_column(Date)
    new_deadline: Mapped[dt.date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending granted denied
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class RecurrenceLink(Base):
    """A problem of a later round that may be an earlier round's problem found again."""

    __tablename__ = "recurrence_links"
    id: Mapped[int] = mapped_column(primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("problems.id"), index=True)
    earlier_problem_id: Mapped[int] = mapped_column(ForeignKey("problems.id"), index=True)
    score: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(12), default="candidate")  # candidate confirmed dismissed
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    __table_args__ = (UniqueConstraint("problem_id", "earlier_problem_id"),)


class Spread(Base):
    """举一反三: one problem checked in other units, each given a self-check task."""

    __tablename__ = "spreads"
    id: Mapped[int] = mapped_column(primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("problems.id"), index=True)
    deadline: Mapped[dt.date] = mapped_column(Date)  # of the self-checks
    fix_days: Mapped[int] = mapped_column(Integer)  # a finding's measure is due this many days after it
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class Record(Base):
    """A fact that belongs to no one measure (a confirmed recurrence, a spread), in one hash chain."""

    __tablename__ = "records"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(120))  # what it is about: "problem:12", "link:3"
    body: Mapped[str] = mapped_column(Text)  # canonical JSON
    actor: Mapped[str] = mapped_column(String(80))
    at: Mapped[dt.datetime] = mapped_column(DateTime)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class NoticeVersion(Base):
    """A published notice: frozen text, in a hash chain per plan (``hash = sha256(prev_hash + sha256)``)."""

    __tablename__ = "notice_versions"
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    document: Mapped[str] = mapped_column(Text)  # canonical JSON of the document's blocks
    sha256: Mapped[str] = mapped_column(String(64))  # of ``document``
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    published_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[dt.datetime] = mapped_column(DateTime)
    __table_args__ = (UniqueConstraint("plan_id", "version"),)


# --- audit --------------------------------------------------------------

class Event(Base):
    """One link of a measure's hash chain: every state change and recorded event."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(primary_key=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("measures.id"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(30))
    actor: Mapped[str] = mapped_column(String(80))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str | None] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)  # canonical JSON of the event's data
    at: Mapped[dt.datetime] = mapped_column(DateTime)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    __table_args__ = (UniqueConstraint("measure_id", "seq"),)


class Evidence(Base):
    """An evidence file, content-addressed; the bytes live under the instance folder."""

    __tablename__ = "evidence"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    mime: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class MeasureEvidence(Base):
    __tablename__ = "measure_evidence"
    id: Mapped[int] = mapped_column(primary_key=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("measures.id"), index=True)
    sha256: Mapped[str] = mapped_column(ForeignKey("evidence.sha256"))
    name: Mapped[str] = mapped_column(String(255))
    event_seq: Mapped[int] = mapped_column(Integer)
    # migration 0005: the event that removed the file before it was submitted (the link stays for the chain)
    removed_seq: Mapped[int | None] = mapped_column(Integer)


class Checkpoint(Base):
    """A digest over every chain head, recorded daily; publishable."""

    __tablename__ = "checkpoints"
    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, unique=True)
    digest: Mapped[str] = mapped_column(String(64))
    chains: Mapped[int] = mapped_column(Integer)
    events: Mapped[int] = mapped_column(Integer)
    heads: Mapped[str] = mapped_column(Text)  # JSON {measure_id: [seq, hash]}
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


# --- notifications and the scheduler -------------------------------------

class Outbox(Base):
    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str | None] = mapped_column(String(200), unique=True)  # exactly-once key, when there is one
    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))  # inbox email webhook
    kind: Mapped[str] = mapped_column(String(40))
    measure_id: Mapped[int | None] = mapped_column(ForeignKey("measures.id"), index=True)
    level: Mapped[int | None] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    read_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    dead: Mapped[bool] = mapped_column(Boolean, default=False)
    __table_args__ = (Index("ix_outbox_pending", "sent_at", "dead", "next_attempt_at"),)


class MeasureTally(Base):
    """How many measures share a dashboard key, kept by database triggers on ``measures`` (migration 0007).

    The key: part, unit (0: none), state, the deadline that sets the light (open work only; else
    :data:`workflow.readmodels.tallies.NO_DEADLINE`) and whether a closed measure was closed late."""

    __tablename__ = "measure_tallies"
    part_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    unit_key: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    state: Mapped[str] = mapped_column(String(20), primary_key=True)
    deadline_key: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    late: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(Integer)
    # the lights that need a deadline (red, yellow) are a range of deadlines: read through this
    __table_args__ = (Index("ix_measure_tallies_state_deadline", "state", "deadline_key"),)


class UnitTally(Base):
    """How many measures share a part, unit, state and lateness: :class:`MeasureTally` without the deadline,
    a few rows per unit, for the counts that need no light (0007)."""

    __tablename__ = "unit_tallies"
    part_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    unit_key: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    state: Mapped[str] = mapped_column(String(20), primary_key=True)
    late: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(Integer)


class EventTally(Base):
    """How many submit, sign_off and reopen events fell on a China day, kept by triggers on ``events`` (0007)."""

    __tablename__ = "event_tallies"
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


class OrderCounter(Base):
    """The last supervision order number (督办单) issued in a year: the next is one more (migration 0005)."""

    __tablename__ = "order_counters"
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer)


class Escalation(Base):
    """One (measure, level, deadline) escalation; the unique key makes it happen once."""

    __tablename__ = "escalations"
    id: Mapped[int] = mapped_column(primary_key=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("measures.id"))
    level: Mapped[int] = mapped_column(Integer)  # 0 yellow, 1..3 red; 10/11 approval SLA
    deadline: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    order_no: Mapped[str | None] = mapped_column(String(40))  # supervision order number at L3
    __table_args__ = (
        UniqueConstraint("measure_id", "level", "deadline"),
        Index("ix_escalations_order_no", "order_no", unique=True),  # migration 0003
    )


class LightChange(Base):
    __tablename__ = "light_history"
    id: Mapped[int] = mapped_column(primary_key=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("measures.id"), index=True)
    light: Mapped[str] = mapped_column(String(10))
    level: Mapped[int] = mapped_column(Integer)
    at: Mapped[dt.datetime] = mapped_column(DateTime)


class JobRun(Base):
    """A digest period or daily job done once: the key is unique."""

    __tablename__ = "job_runs"
    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime)
    result: Mapped[str | None] = mapped_column(Text)


class Job(Base):
    """Long work (a ledger export, a notice) done by a worker, not by a web request.

    Queued by the web app, claimed under a lease by ``rectify worker`` or the scheduler
    (:mod:`workflow.jobs`); the finished file is kept in the instance folder for a day.
    """

    __tablename__ = "jobs"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # random hex: also the address of its page
    kind: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict] = mapped_column(JSON)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    state: Mapped[str] = mapped_column(String(10), default="queued")  # queued running done failed
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)  # 0: unknown until the end
    name: Mapped[str] = mapped_column(String(300))  # the result file's download name
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(120))
    lease_expires: Mapped[dt.datetime | None] = mapped_column(DateTime)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    __table_args__ = (Index("ix_jobs_state_created", "state", "created_at"),)


# --- accountability, rules, feedback ------------------------------------

class Accountability(Base):
    __tablename__ = "accountability"
    id: Mapped[int] = mapped_column(primary_key=True)
    problem_id: Mapped[int | None] = mapped_column(ForeignKey("problems.id"), index=True)
    measure_id: Mapped[int | None] = mapped_column(ForeignKey("measures.id"))
    kind: Mapped[str] = mapped_column(String(30))  # admonition reminder_talk veto sanction
    subject: Mapped[str] = mapped_column(String(300))
    note: Mapped[str | None] = mapped_column(Text)
    on: Mapped[dt.date | None] = mapped_column(Date)


class RuleMade(Base):
    __tablename__ = "rules_made"
    id: Mapped[int] = mapped_column(primary_key=True)
    problem_id: Mapped[int | None] = mapped_column(ForeignKey("problems.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    doc_no: Mapped[str | None] = mapped_column(String(100))
    on: Mapped[dt.date | None] = mapped_column(Date)


class Feedback(Base):
    __tablename__ = "feedback"
    id: Mapped[int] = mapped_column(primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("problems.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    contact: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="new")  # new reopened dismissed
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    # migration 0004: keyed hash of the sender's address (rate limit), the measure it reopened
    source_hash: Mapped[str | None] = mapped_column(String(64))
    measure_id: Mapped[int | None] = mapped_column(ForeignKey("measures.id"))
    __table_args__ = (Index("ix_feedback_source_created", "source_hash", "created_at"),)


# --- the web app's sign-in state ----------------------------------------

class WebSession(Base):
    """A signed-in browser. The cookie carries a random token; only its sha256 is stored, so
    deleting the row (logout, timeout) invalidates the cookie everywhere at once."""

    __tablename__ = "web_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the token
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime)


class FormStash(Base):
    """What a refused form held (the typed values and the message), kept a short while for the page the
    person is sent back to, so a refusal is a redirect and a refresh never resubmits (migration 0015)."""

    __tablename__ = "form_stash"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the token in the session
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    data: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)


class SecurityEvent(Base):
    """One security-relevant event (migration 0011): sign-ins, lockouts, CSRF failures, refusals,
    role and password changes, tokens made and revoked. Also written as a JSON log line."""

    __tablename__ = "security_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime)
    kind: Mapped[str] = mapped_column(String(40))
    outcome: Mapped[str] = mapped_column(String(20))  # success failure refused
    actor: Mapped[str | None] = mapped_column(String(80))  # who acted (at sign-in: the name typed)
    subject: Mapped[str | None] = mapped_column(String(80))  # whom it concerns, when not the actor
    ip: Mapped[str | None] = mapped_column(String(64))  # the client address; "cli" for the command line
    detail: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (Index("ix_security_events_at", "at"), Index("ix_security_events_kind_at", "kind", "at"))


class LoginFailure(Base):
    """One failed sign-in, keyed ``ip:<addr>`` and ``user:<name>``: a counter every worker shares."""

    __tablename__ = "login_failures"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200))
    at: Mapped[dt.datetime] = mapped_column(DateTime)
    __table_args__ = (Index("ix_login_failures_key_at", "key", "at"),)


# --- the working-day calendar the office keeps ----------------------------------

class CalendarImport(Base):
    """One import of a year's holiday schedule: where the year came from (migration 0009).

    The newest import of a year is in force; older ones stay as history (their days are removed).
    """

    __tablename__ = "calendar_imports"
    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    source: Mapped[str] = mapped_column(String(10))  # notice csv
    filename: Mapped[str | None] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))  # of the source text (UTF-8)
    text: Mapped[str] = mapped_column(Text)
    imported_by: Mapped[str] = mapped_column(String(80))
    imported_at: Mapped[dt.datetime] = mapped_column(DateTime)
    holidays: Mapped[int] = mapped_column(Integer)  # days off in the year
    workdays: Mapped[int] = mapped_column(Integer)  # make-up working days in the year


class CalendarDay(Base):
    """A holiday or make-up working day (调休) of the import in force for a year."""

    __tablename__ = "calendar_days"
    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("calendar_imports.id"), index=True)
    day: Mapped[dt.date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(10))  # holiday workday
    __table_args__ = (UniqueConstraint("import_id", "day"),)
