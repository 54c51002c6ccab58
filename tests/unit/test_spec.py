"""The lifecycle spec on its own: edges, who may fire what, every guard, the one machine."""
from __future__ import annotations

import gc

import pytest

from workflow import spec
from workflow.spec import Actor, Ctx, MeasureView, Refused

# --- people around one measure ---------------------------------------------------

OWNER_ID, MEMBER_ID, STRANGER_ID, LEADER_ID, OTHER_LEADER_ID = 1, 2, 3, 4, 5
DELEGATE_ID, OFFICE_ID, INSPECTOR_ID, SUPERVISOR_ID, ADMIN_ID, SYSTEM_ID = 6, 7, 8, 9, 10, 11
UNIT, OTHER_UNIT = 100, 200

ACTORS = {
    "owner": Actor(OWNER_ID, "owner1", frozenset({"owner"}), frozenset({UNIT})),
    "unit_member": Actor(MEMBER_ID, "owner2", frozenset({"owner"}), frozenset({UNIT})),
    "other_unit_owner": Actor(STRANGER_ID, "owner3", frozenset({"owner"}), frozenset({OTHER_UNIT})),
    "leader": Actor(LEADER_ID, "leader1", frozenset({"leader"})),
    "other_leader": Actor(OTHER_LEADER_ID, "leader2", frozenset({"leader"})),
    "delegate": Actor(DELEGATE_ID, "deputy1", frozenset({"leader"}), delegate_for=frozenset({LEADER_ID})),
    "office": Actor(OFFICE_ID, "office1", frozenset({"office"})),
    "inspector": Actor(INSPECTOR_ID, "insp1", frozenset({"inspector"})),
    "supervisor": Actor(SUPERVISOR_ID, "super1", frozenset({"supervisor"})),
    "admin": Actor(ADMIN_ID, "admin1", frozenset({"admin"})),
    "system": Actor(SYSTEM_ID, "system"),
}

# Written out from DESIGN.md's table, not derived from the code under test.
DESIGN_EDGES = {
    ("assigned", "start", "in_progress"),
    ("in_progress", "submit", "submitted"),
    ("submitted", "approve", "verified"),
    ("submitted", "return", "in_progress"),
    ("verified", "sign_off", "closed"),
    ("verified", "reject", "in_progress"),
    ("closed", "reopen", "in_progress"),
    ("closed", "recheck", "closed"),
    ("assigned", "reassign", "assigned"),
    ("in_progress", "reassign", "in_progress"),
}

# Who may fire each trigger; everyone else in ACTORS is refused with not_permitted.
MAY_FIRE = {
    "start": {"owner", "unit_member"},
    "submit": {"owner"},
    "approve": {"leader", "delegate"},
    "return": {"leader", "delegate"},
    "sign_off": {"office"},
    "reject": {"office"},
    "reopen": {"office", "inspector"},
    "recheck": {"office"},
    "reassign": {"office"},
    "comment": {"owner", "unit_member", "leader", "delegate", "office", "inspector", "supervisor", "admin"},
    "progress_update": {"owner", "unit_member"},
    "urge": {"leader", "delegate", "office", "supervisor"},
    "request_extension": {"owner"},
    "grant_extension": {"leader", "delegate"},
    "deny_extension": {"leader", "delegate"},
    "reply_order": {"owner", "unit_member", "leader", "delegate"},
    "report_finding": {"owner", "unit_member"},
    "escalate": {"system"},
}


def measure(state: str = "assigned", **kw) -> MeasureView:
    base = dict(id=1, state=state, owner_id=OWNER_ID, unit_id=UNIT, leader_id=LEADER_ID, kind="time_bound",
                submitter_id=None, evidence_count=0, evidence_waived=False, pending_extension=False)
    base.update(kw)
    return MeasureView(**base)


def satisfied_ctx(trigger: str, actor: Actor, state: str | None = None) -> Ctx:
    """A context in which every guard of ``trigger`` passes, so only state and role decide."""
    t = spec.TRIGGERS[trigger]
    state = state or t.sources[0]
    m = measure(state, kind="self_check" if trigger == "report_finding" else "long_term", submitter_id=OWNER_ID,
                evidence_count=1, level=3,
                pending_extension=trigger in ("grant_extension", "deny_extension"))
    return Ctx(actor, m, comment="已按要求完成整改", reason="理由充分",
               params={"category": "rebound", "new_deadline": "2027-01-31", "owner": "owner2", "finding": "exists"})


def refusal(trigger: str, ctx: Ctx) -> str:
    with pytest.raises(Refused) as info:
        spec.check(trigger, ctx)
    return info.value.rule


# --- edges --------------------------------------------------------------------------

def test_edges_are_exactly_the_design_table():
    assert set(spec.edges()) == DESIGN_EDGES
    assert len(spec.edges()) == len(DESIGN_EDGES)


@pytest.mark.parametrize("source,trigger,dest", sorted(DESIGN_EDGES))
def test_every_edge_of_the_table_fires_to_its_destination(source, trigger, dest):
    actor = ACTORS[sorted(MAY_FIRE[trigger])[0]]
    assert spec.check(trigger, satisfied_ctx(trigger, actor, state=source)) == dest
    assert spec.destination(trigger, source) == dest


@pytest.mark.parametrize("trigger", spec.STATE_TRIGGERS)
def test_a_state_trigger_is_refused_from_every_state_outside_the_table(trigger):
    allowed_from = {s for s, t, _ in DESIGN_EDGES if t == trigger}
    actor = ACTORS[sorted(MAY_FIRE[trigger])[0]]
    for state in spec.STATES:
        if state in allowed_from:
            continue
        assert refusal(trigger, satisfied_ctx(trigger, actor, state=state)) == "wrong_state"
        with pytest.raises(Refused) as info:
            spec.destination(trigger, state)
        assert info.value.rule == "wrong_state"


@pytest.mark.parametrize("trigger", spec.EVENT_TRIGGERS)
def test_recorded_events_never_change_the_state(trigger):
    actor = ACTORS[sorted(MAY_FIRE[trigger])[0]]
    for state in spec.TRIGGERS[trigger].sources:
        assert spec.check(trigger, satisfied_ctx(trigger, actor, state=state)) == state


def test_recorded_events_are_allowed_only_from_their_states():
    assert set(spec.TRIGGERS["comment"].sources) == set(spec.STATES)
    assert set(spec.TRIGGERS["urge"].sources) == set(spec.OPEN_STATES)
    assert set(spec.TRIGGERS["progress_update"].sources) == {"assigned", "in_progress"}
    for name in ("request_extension", "grant_extension", "deny_extension"):
        assert set(spec.TRIGGERS[name].sources) == {"assigned", "in_progress"}
    ctx = satisfied_ctx("urge", ACTORS["office"], state="closed")
    assert refusal("urge", ctx) == "wrong_state"


def test_escalate_belongs_to_the_scheduler_and_is_not_public():
    assert "escalate" not in spec.PUBLIC_TRIGGERS
    assert set(spec.PUBLIC_TRIGGERS) | {"escalate"} == set(spec.TRIGGERS)


def test_an_unknown_trigger_is_refused_by_name():
    ctx = satisfied_ctx("start", ACTORS["owner"])
    assert refusal("finish", ctx) == "unknown_trigger"
    with pytest.raises(Refused) as info:
        spec.destination("finish", "assigned")
    assert info.value.rule == "unknown_trigger"


# --- who -------------------------------------------------------------------------------

WHO_CASES = [(t, a) for t in spec.TRIGGERS for a in ACTORS]


@pytest.mark.parametrize("trigger,who", WHO_CASES, ids=[f"{t}-{a}" for t, a in WHO_CASES])
def test_only_the_listed_roles_may_fire_each_trigger(trigger, who):
    ctx = satisfied_ctx(trigger, ACTORS[who])
    if who in MAY_FIRE[trigger]:
        spec.check(trigger, ctx)
    else:
        assert refusal(trigger, ctx) == "not_permitted"


def test_a_leader_of_another_measure_cannot_approve_it():
    ctx = satisfied_ctx("approve", ACTORS["other_leader"])
    assert refusal("approve", ctx) == "not_permitted"


def test_a_delegate_without_the_leader_role_cannot_approve():
    deputy = Actor(DELEGATE_ID, "deputy1", frozenset({"owner"}), delegate_for=frozenset({LEADER_ID}))
    assert refusal("approve", satisfied_ctx("approve", deputy)) == "not_permitted"


def test_the_owner_needs_the_owner_role_to_submit():
    no_role = Actor(OWNER_ID, "owner1", frozenset({"supervisor"}), frozenset({UNIT}))
    assert refusal("submit", satisfied_ctx("submit", no_role)) == "not_permitted"


def test_a_unit_member_may_start_but_not_submit():
    member = ACTORS["unit_member"]
    assert spec.check("start", satisfied_ctx("start", member)) == "in_progress"
    assert refusal("submit", satisfied_ctx("submit", member)) == "not_permitted"


def test_the_state_is_checked_before_the_role():
    ctx = satisfied_ctx("approve", ACTORS["admin"], state="in_progress")
    assert refusal("approve", ctx) == "wrong_state"


def test_the_role_is_checked_before_the_guards():
    ctx = Ctx(ACTORS["admin"], measure("submitted"), reason="")
    assert refusal("return", ctx) == "not_permitted"


def test_allowed_triggers_lists_what_the_owner_may_do_when_in_progress():
    m = measure("in_progress")
    names = spec.allowed_triggers(lambda _name: Ctx(ACTORS["owner"], m))
    assert set(names) == {"submit", "comment", "progress_update", "request_extension"}


# --- guards --------------------------------------------------------------------------

@pytest.mark.parametrize("trigger,who,state", [
    ("return", "leader", "submitted"),
    ("reject", "office", "verified"),
    ("reopen", "office", "closed"),
    ("request_extension", "owner", "in_progress"),
    ("deny_extension", "leader", "in_progress"),
])
@pytest.mark.parametrize("reason", ["", "   \n\t"])
def test_a_blank_reason_is_refused_as_reason_required(trigger, who, state, reason):
    ctx = satisfied_ctx(trigger, ACTORS[who], state=state)
    ctx = Ctx(ctx.actor, ctx.measure, comment=ctx.comment, reason=reason, params=ctx.params)
    assert refusal(trigger, ctx) == "reason_required"


@pytest.mark.parametrize("comment", ["", "  "])
def test_submitting_a_blank_account_is_refused_as_account_required(comment):
    ctx = Ctx(ACTORS["owner"], measure("in_progress", evidence_count=1), comment=comment)
    assert refusal("submit", ctx) == "account_required"


def test_submitting_without_evidence_is_refused_as_evidence_required():
    ctx = Ctx(ACTORS["owner"], measure("in_progress"), comment="已整改")
    assert refusal("submit", ctx) == "evidence_required"


def test_evidence_attached_now_or_earlier_satisfies_the_evidence_rule():
    now = Ctx(ACTORS["owner"], measure("in_progress"), comment="已整改", new_evidence=1)
    earlier = Ctx(ACTORS["owner"], measure("in_progress", evidence_count=2), comment="已整改")
    assert spec.check("submit", now) == "submitted"
    assert spec.check("submit", earlier) == "submitted"


def test_a_plan_that_waives_evidence_lets_the_owner_submit_without_it():
    ctx = Ctx(ACTORS["owner"], measure("in_progress", evidence_waived=True), comment="已整改")
    assert spec.check("submit", ctx) == "submitted"


def test_the_account_rule_comes_before_the_evidence_rule():
    ctx = Ctx(ACTORS["owner"], measure("in_progress"), comment="")
    assert refusal("submit", ctx) == "account_required"


def test_leader_cannot_approve_own_submission():
    leader_owner = Actor(LEADER_ID, "leader1", frozenset({"leader", "owner"}), frozenset({UNIT}))
    ctx = Ctx(leader_owner, measure("submitted", owner_id=LEADER_ID, submitter_id=LEADER_ID))
    assert refusal("approve", ctx) == "four_eyes"


def test_a_delegate_cannot_approve_what_they_submitted():
    deputy = Actor(DELEGATE_ID, "deputy1", frozenset({"leader", "owner"}), frozenset({UNIT}),
                   delegate_for=frozenset({LEADER_ID}))
    ctx = Ctx(deputy, measure("submitted", submitter_id=DELEGATE_ID))
    assert refusal("approve", ctx) == "four_eyes"


def test_office_cannot_sign_off_its_own_submission():
    ctx = Ctx(ACTORS["office"], measure("verified", submitter_id=OFFICE_ID))
    assert refusal("sign_off", ctx) == "four_eyes"


def test_another_leader_delegate_may_approve_someone_elses_submission():
    ctx = Ctx(ACTORS["delegate"], measure("submitted", submitter_id=OWNER_ID))
    assert spec.check("approve", ctx) == "verified"


@pytest.mark.parametrize("kind", ["immediate", "time_bound"])
def test_recheck_of_a_measure_that_is_not_long_term_is_refused_as_long_term_only(kind):
    ctx = Ctx(ACTORS["office"], measure("closed", kind=kind))
    assert refusal("recheck", ctx) == "long_term_only"


def test_recheck_of_a_long_term_measure_keeps_it_closed():
    assert spec.check("recheck", Ctx(ACTORS["office"], measure("closed", kind="long_term"))) == "closed"


@pytest.mark.parametrize("params", [{}, {"category": ""}, {"category": "unhappy"}])
def test_reopen_without_a_known_category_is_refused_as_category_required(params):
    ctx = Ctx(ACTORS["inspector"], measure("closed"), reason="群众反映问题反弹", params=params)
    assert refusal("reopen", ctx) == "category_required"


@pytest.mark.parametrize("category", spec.REOPEN_CATEGORIES)
def test_reopen_with_each_category_goes_back_to_in_progress(category):
    ctx = Ctx(ACTORS["inspector"], measure("closed"), reason="复查发现反弹", params={"category": category})
    assert spec.check("reopen", ctx) == "in_progress"


def test_reassign_without_a_target_is_refused():
    assert refusal("reassign", Ctx(ACTORS["office"], measure("assigned"))) == "reassign_target"


def test_a_blank_comment_is_refused():
    assert refusal("comment", Ctx(ACTORS["owner"], measure("assigned"), comment=" ")) == "comment_required"
    assert refusal("progress_update", Ctx(ACTORS["owner"], measure("in_progress"))) == "comment_required"


def test_an_extension_request_needs_a_new_deadline_and_no_pending_request():
    base = dict(reason="汛期施工受阻")
    assert refusal("request_extension", Ctx(ACTORS["owner"], measure("in_progress"), **base)) == "deadline_required"
    pending = Ctx(ACTORS["owner"], measure("in_progress", pending_extension=True), params={"new_deadline": "2027-02-01"},
                  **base)
    assert refusal("request_extension", pending) == "extension_pending"


def test_granting_or_denying_needs_a_pending_request():
    ctx = Ctx(ACTORS["leader"], measure("in_progress"), reason="不同意")
    assert refusal("grant_extension", ctx) == "no_pending_extension"
    assert refusal("deny_extension", ctx) == "no_pending_extension"


def test_a_refusal_names_its_rule_in_its_text():
    with pytest.raises(Refused) as info:
        spec.check("approve", Ctx(ACTORS["office"], measure("submitted")))
    assert str(info.value).startswith("not_permitted: ")
    assert info.value.message


# --- the machine ---------------------------------------------------------------------

def test_the_machine_has_no_automatic_transitions():
    assert spec.MACHINE.auto_transitions is False
    assert set(spec.MACHINE.events) == set(spec.STATE_TRIGGERS)
    for state in spec.STATES:
        assert f"to_{state}" not in spec.MACHINE.events
        with pytest.raises(Refused) as info:
            spec.destination(f"to_{state}", "assigned")
        assert info.value.rule == "unknown_trigger"


def test_the_machine_has_no_per_row_models_after_many_calls(monkeypatch):
    models_before = list(spec.MACHINE.models)

    def forbidden(*_a, **_k):
        raise AssertionError("add_model was called")

    monkeypatch.setattr(spec.MACHINE, "add_model", forbidden)
    for i in range(2000):
        for source, trigger, _dest in DESIGN_EDGES:
            spec.destination(trigger, source)
        spec.check("start", Ctx(ACTORS["owner"], measure("assigned", id=i)))
    assert list(spec.MACHINE.models) == models_before
    assert models_before == []  # the module-level machine carries no model at all
    gc.collect()
    assert not [o for o in gc.get_objects() if type(o) is spec._Cursor]


# --- the trigger as one object -------------------------------------------------------

def test_every_public_trigger_declares_a_label_its_parameters_and_how_it_shows():
    for t in spec.TRIGGERS.values():
        assert t.label and t.tone in ("primary", "good", "danger")
        for p in t.params:
            assert p.kind in ("text", "choice", "date", "user", "unit") and p.label
            assert p.kind != "choice" or p.choices
        if t.notice is not None:
            assert set(t.notice.audience) <= {"owner", "leader", "office", "unit_heads", "supervisors"}


def test_a_required_input_has_its_input_guard():
    required = {(t.name, p.name) for t in spec.TRIGGERS.values() for p in t.params if p.required}
    for trigger, name in required:
        ctx = satisfied_ctx(trigger, ACTORS[sorted(MAY_FIRE[trigger])[0]])
        blank = Ctx(ctx.actor, ctx.measure, comment="" if name == "comment" else ctx.comment,
                    reason="" if name == "reason" else ctx.reason,
                    params={k: v for k, v in ctx.params.items() if k != name})
        assert refusal(trigger, blank).endswith("_required"), (trigger, name)


def test_inputs_refuse_a_parameter_the_trigger_does_not_take():
    with pytest.raises(Refused) as info:
        spec.inputs("start", params={"new_deadline": "2027-01-01"})
    assert info.value.rule == "invalid_input" and "new_deadline" in info.value.message
    with pytest.raises(Refused):
        spec.inputs("approve", reason="no reason is taken here")
    with pytest.raises(Refused):
        spec.inputs("reopen", reason="x", params={"category": "not-a-category"})
    assert spec.inputs("reopen", reason="反弹", params={"category": "rebound", "owner": ""}) == {
        "comment": "", "reason": "反弹", "params": {"category": "rebound"}}


def test_state_guards_hide_a_trigger_that_cannot_pass_whatever_is_typed():
    submitter_leader = Actor(LEADER_ID, "leader1", frozenset({"leader"}))
    m = measure("submitted", submitter_id=LEADER_ID)
    assert "approve" not in spec.allowed_triggers(lambda _n: Ctx(submitter_leader, m))
    assert "return" in spec.allowed_triggers(lambda _n: Ctx(submitter_leader, m))
    short = measure("closed", kind="time_bound")
    assert "recheck" not in spec.allowed_triggers(lambda _n: Ctx(ACTORS["office"], short))
    pending = measure("in_progress", pending_extension=True)
    names = spec.allowed_triggers(lambda _n: Ctx(ACTORS["owner"], pending))
    assert "request_extension" not in names
    assert {"grant_extension", "deny_extension"} <= set(spec.allowed_triggers(lambda _n: Ctx(ACTORS["leader"], pending)))


def test_the_approver_is_refused_at_sign_off_and_evidence_after_approval():
    both = Actor(LEADER_ID, "leader1", frozenset({"leader", "office"}))
    assert refusal("sign_off", Ctx(both, measure("verified", submitter_id=OWNER_ID, approver_id=LEADER_ID))) \
        == "four_eyes"
    ctx = Ctx(ACTORS["owner"], measure("verified"), comment="补充", new_evidence=1)
    assert refusal("comment", ctx) == "evidence_not_accepted"
    ctx = Ctx(ACTORS["owner"], measure("in_progress"), new_evidence=1)
    assert refusal("start", Ctx(ACTORS["owner"], measure("assigned"), new_evidence=1)) == "evidence_not_accepted"
    assert refusal("progress_update", ctx) == "comment_required"  # evidence is fine there, the text is not


def test_the_hot_path_destination_table_is_what_the_machine_says():
    for source, trigger, dest in DESIGN_EDGES:
        assert spec._machine_destination(trigger, source) == dest == spec.destination(trigger, source)


def test_a_supervision_order_is_answered_only_while_the_measure_is_under_it():
    under = measure("in_progress", level=3)
    assert "reply_order" in spec.allowed_triggers(lambda _n: Ctx(ACTORS["owner"], under))
    assert "reply_order" not in spec.allowed_triggers(lambda _n: Ctx(ACTORS["owner"], measure("in_progress", level=2)))
    assert refusal("reply_order", Ctx(ACTORS["owner"], measure("in_progress", level=1), comment="已整改")) == "no_order"
    assert refusal("reply_order", Ctx(ACTORS["owner"], under)) == "comment_required"


def test_a_self_check_reports_its_finding_once_and_only_then_is_submitted():
    check = measure("in_progress", kind="self_check", evidence_count=1)
    assert refusal("submit", Ctx(ACTORS["owner"], check, comment="已自查")) == "finding_required"
    ctx = Ctx(ACTORS["owner"], check, comment="已自查，未发现同类问题", params={"finding": "none"})
    assert spec.check("report_finding", ctx) == "in_progress"
    assert refusal("report_finding", Ctx(ACTORS["owner"], check, comment="x", params={"finding": "maybe"})) \
        == "finding_required"
    answered = measure("in_progress", kind="self_check", evidence_count=1, finding="none")
    assert spec.check("submit", Ctx(ACTORS["owner"], answered, comment="已自查")) == "submitted"
    assert refusal("report_finding", Ctx(ACTORS["owner"], answered, comment="x", params={"finding": "none"})) \
        == "finding_reported"
    assert refusal("report_finding", Ctx(ACTORS["owner"], measure("in_progress"), comment="x",
                                         params={"finding": "none"})) == "self_check_only"


def test_an_office_tied_to_one_target_sees_only_that_targets_measures():
    tied = Actor(OFFICE_ID, "office1", frozenset({"office"}), target_id=1)
    assert spec.can_see(Ctx(tied, measure(target_id=1)))
    assert not spec.can_see(Ctx(tied, measure(target_id=2)))
    assert spec.can_see(Ctx(ACTORS["office"], measure(target_id=2)))
