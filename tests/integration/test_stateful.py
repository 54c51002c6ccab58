"""Random triggers by random people, checked after every step (Hypothesis stateful testing).

The machine fires any public trigger, as any person of the factory, with or without a comment,
a reason, evidence, a reopen category, a new deadline or a reassignment target. Whatever
happens, after each step:

* a measure's state moved only along an edge of ``spec.edges()`` (or stayed put);
* versions only grow, by exactly one per accepted command, and a refused command writes nothing;
* ``audit.verify`` holds;
* no measure is closed without an approval, by someone other than its submitter, of its last
  submission (and the sign-off is not by the submitter either).
"""
from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import func, select

from tests import factory, pg
from tests.conftest import png_bytes
from workflow import audit, commands, db, evidence, planwriter, spec
from workflow.errors import Conflict, NotFound
from workflow.models import Event, Measure

USERS = ["owner1", "owner2", "owner3", "head1", "leader1", "leader2", "office1", "super1", "insp1", "admin1"]
EDGES = set(spec.edges())
# who would normally fire a trigger: lets the walk get deep as well as wide
LIKELY = {
    "start": ["owner1", "owner2", "leader1"], "submit": ["owner1", "leader1"], "approve": ["leader1"],
    "return": ["leader1"], "sign_off": ["office1"], "reject": ["office1"], "reopen": ["office1", "insp1"],
    "recheck": ["office1"], "reassign": ["office1"], "comment": ["super1", "owner3"],
    "progress_update": ["owner1"], "urge": ["super1", "leader2"], "request_extension": ["owner1", "leader1"],
    "grant_extension": ["leader1"], "deny_extension": ["leader1"], "reply_order": ["owner1", "leader1"],
    "report_finding": ["owner1"],
}


def _seed(engine) -> list[int]:
    """The factory's people; two time-bound measures, one owned by its own leader, one long-term."""
    ids = factory.build(engine, measures=2)
    long_term = factory.build(engine, measures=1, kind="long_term")
    with db.write_tx(engine) as conn:  # leader1 may also own work: the four-eyes trap
        planwriter.user(conn, "leader1", "分管领导甲", ["owner"], "水利局")
    mid = ids["measures"][1]
    commands.fire(mid, "reassign", "office1", params={"owner": "leader1"}, now=factory.NOW, engine=engine)
    return ids["measures"] + long_term["measures"]


class LifecycleMachine(RuleBasedStateMachine):
    """Configured by the test: ``make_url`` returns a fresh database URL seeded like ``_seed``."""

    make_url = None
    measures: list[int] = []

    def __init__(self):
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="rectify-sm-"))
        self.evidence_root = self.tmp / "evidence"
        self.url = type(self).make_url(self.tmp)
        self.engine = db.make_engine(self.url)
        self.clock = factory.NOW
        self.files = 0
        self.seen = {mid: self._row(mid) for mid in self.measures}

    def teardown(self):
        self.engine.dispose()
        if self.url.startswith("postgresql"):
            type(self).drop(self.url)
        shutil.rmtree(self.tmp, ignore_errors=True)

    # --- reading ------------------------------------------------------------------------
    def _row(self, mid):
        with db.read_tx(self.engine) as conn:
            return tuple(conn.execute(select(Measure.state, Measure.version).where(Measure.id == mid)).one())

    def _event_count(self):
        with db.read_tx(self.engine) as conn:
            return conn.execute(select(func.count()).select_from(Event.__table__)).scalar_one()

    # --- the step -------------------------------------------------------------------------
    def _fire(self, mid, trigger, actor, comment, reason, files, category, new_deadline, target):
        self.clock += dt.timedelta(minutes=7)
        before_state, before_version = self._row(mid)
        before_events = self._event_count()
        stored = []
        for _ in range(files):
            self.files += 1
            stored.append(evidence.store(png_bytes(self.files), f"佐证{self.files}.png", root=self.evidence_root))
        params = {}
        if category:
            params["category"] = category
        if new_deadline:
            params["new_deadline"] = new_deadline
        if target:
            params[target[0]] = target[1]
        try:
            res = commands.fire(mid, trigger, actor, comment=comment, reason=reason, evidence=stored, params=params,
                           now=self.clock, engine=self.engine)
        except (spec.Refused, Conflict, NotFound) as e:
            event(f"refused {trigger}: {getattr(e, 'rule', type(e).__name__)}")
            assert self._row(mid) == (before_state, before_version), "a refused command changed the measure"
            assert self._event_count() == before_events, "a refused command wrote an event"
            return
        event(f"accepted {trigger}")
        after_state, after_version = self._row(mid)
        assert (res.from_state, res.state, res.version) == (before_state, after_state, after_version)
        assert after_version == before_version + 1
        assert self._event_count() == before_events + 1
        if spec.TRIGGERS[trigger].changes_state:
            assert (before_state, trigger, after_state) in EDGES
        else:
            assert after_state == before_state

    @rule(data=st.data(), m=st.integers(0, 2), trigger=st.sampled_from(spec.PUBLIC_TRIGGERS),
          actor=st.sampled_from(USERS))
    def anyone_fires_anything(self, data, m, trigger, actor):
        self._fire(self.measures[m], trigger, actor, *self._inputs(data))

    @rule(data=st.data(), m=st.integers(0, 2), trigger=st.sampled_from(spec.PUBLIC_TRIGGERS))
    def a_likely_person_fires(self, data, m, trigger):
        actor = data.draw(st.sampled_from(LIKELY[trigger]), label="actor")
        self._fire(self.measures[m], trigger, actor, *self._inputs(data))

    @rule(data=st.data(), m=st.integers(0, 2))
    def the_lifecycle_moves_on(self, data, m):
        """A trigger that the measure's state allows, by a likely person, with proper inputs."""
        mid = self.measures[m]
        state = self.seen[mid][0]
        trigger = data.draw(st.sampled_from([n for n in spec.PUBLIC_TRIGGERS if state in spec.TRIGGERS[n].sources]),
                            label="trigger")
        actor = data.draw(st.sampled_from(LIKELY[trigger]), label="actor")
        category = data.draw(st.sampled_from(spec.REOPEN_CATEGORIES), label="category")
        target = data.draw(st.sampled_from([("owner", "owner1"), ("owner", "leader1"), ("leader", "leader1")]),
                           label="target")
        self._fire(mid, trigger, actor, "已按要求完成整改", "请补充材料", 1, category, "2027-03-31", target)

    @staticmethod
    def _inputs(data):
        comment = data.draw(st.sampled_from(["已按要求完成整改", "", "  "]), label="comment")
        reason = data.draw(st.sampled_from(["材料不全", "", "群众仍有意见"]), label="reason")
        files = data.draw(st.integers(0, 2), label="files")
        category = data.draw(st.sampled_from([None, *spec.REOPEN_CATEGORIES, "bogus"]), label="category")
        new_deadline = data.draw(st.sampled_from([None, "2027-03-31", "2026-01-01", "不是日期"]), label="deadline")
        target = data.draw(st.sampled_from([None, ("owner", "owner2"), ("owner", "leader1"), ("leader", "leader2"),
                                            ("leader", "leader1"), ("owner", "ghost"), ("unit", "住建局")]),
                           label="target")
        return comment, reason, files, category, new_deadline, target

    # --- invariants -------------------------------------------------------------------------
    @invariant()
    def versions_only_grow(self):
        for mid in self.measures:
            state, version = self._row(mid)
            old_state, old_version = self.seen[mid]
            assert version >= old_version
            if version == old_version:
                assert state == old_state
            self.seen[mid] = (state, version)

    @invariant()
    def the_audit_chain_verifies(self):
        broken = audit.verify(self.engine, evidence_root=self.evidence_root)
        assert broken is None, str(broken)

    @invariant()
    def nothing_is_closed_without_four_eyes(self):
        with db.read_tx(self.engine) as conn:
            for mid in self.measures:
                events = conn.execute(select(Event.kind, Event.actor, Event.from_state, Event.to_state)
                                      .where(Event.measure_id == mid).order_by(Event.seq)).all()
                submitter = approver = None
                for kind, actor, from_state, to_state in events:
                    if kind == "submit":
                        submitter, approver = actor, None
                    elif kind == "approve":
                        assert actor != submitter, f"measure {mid}: {actor} approved their own submission"
                        approver = actor
                    elif kind == "sign_off":
                        assert submitter is not None and approver is not None, f"measure {mid} closed unapproved"
                        assert actor != submitter, f"measure {mid}: {actor} signed off their own submission"
                    elif kind in ("return", "reject", "reopen"):
                        approver = None
                state = conn.execute(select(Measure.state).where(Measure.id == mid)).scalar_one()
                if state == "closed":
                    assert "sign_off" in [e.kind for e in events]


SETTINGS = dict(deadline=None, database=None, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])


def test_random_triggers_by_random_people_keep_every_invariant_on_sqlite(tmp_path):
    template = tmp_path / "template.db"
    url = f"sqlite:///{template}"
    db.init_db(url)
    measures = _seed(db.get_engine(url))
    db.reset_engines()  # closes the template cleanly (no WAL left behind)

    def make_url(folder: Path) -> str:
        shutil.copyfile(template, folder / "rectify.db")
        return f"sqlite:///{folder / 'rectify.db'}"

    class OnSqlite(LifecycleMachine):
        pass

    OnSqlite.make_url = staticmethod(make_url)
    OnSqlite.measures = measures
    run_state_machine_as_test(OnSqlite, settings=settings(max_examples=25, stateful_step_count=30, **SETTINGS))


@pytest.mark.postgres
def test_random_triggers_by_random_people_keep_every_invariant_on_postgres(pg_server, pg_template):
    seeded = pg.create_database(pg_server, prefix="rectify_smtpl", template=pg_template)
    try:
        db.init_db(seeded)
        measures = _seed(db.get_engine(seeded))
        db.reset_engines()
        name = seeded.rsplit("/", 1)[1]

        class OnPostgres(LifecycleMachine):
            pass

        OnPostgres.make_url = staticmethod(lambda _folder: pg.create_database(pg_server, template=name))
        OnPostgres.drop = staticmethod(lambda url: pg.drop_database(pg_server, url))
        OnPostgres.measures = measures
        run_state_machine_as_test(OnPostgres, settings=settings(max_examples=6, stateful_step_count=20, **SETTINGS))
    finally:
        db.reset_engines()
        pg.drop_database(pg_server, seeded)
