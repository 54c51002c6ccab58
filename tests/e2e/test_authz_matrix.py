"""Who may do what over the API: one table, every role × every route and every trigger.

Columns are the people of ``tests/factory.py`` seen from one measure of 水利局 owned by owner1
and led by leader1: its owner, a colleague in the same unit, an owner of another unit, its
leader, another leader, the office, a supervisor, an inspector, an admin, and nobody.

200 allowed · 403 may see it but may not do it · 404 may not even see it (never revealed)
· 401 not signed in. Every denied trigger must leave the measure untouched.
"""
from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from tests.conftest import png_bytes
from workflow import loading, planwriter, readmodels
from workflow.models import Measure

ROLES = ("owner", "colleague", "other_owner", "leader", "other_leader", "office", "supervisor", "inspector",
         "admin", "anonymous")
WHO = {"owner": "owner1", "colleague": "owner2", "other_owner": "owner3", "leader": "leader1",
       "other_leader": "leader2", "office": "office1", "supervisor": "super1", "inspector": "insp1",
       "admin": "admin1", "anonymous": None}

#                      owner coll  other lead  olead offi  supe  insp  admi  anon
SEE = (200, 200, 404, 200, 404, 200, 200, 200, 200, 401)
EVERYONE = (200, 200, 200, 200, 200, 200, 200, 200, 200, 401)
LEADER_ONLY = (403, 403, 404, 200, 404, 403, 403, 403, 403, 401)
OFFICE_ONLY = (403, 403, 404, 403, 404, 200, 403, 403, 403, 401)

# route → expected status per role; "{m}" is a measure with evidence, "{sha}" that evidence
READS = {
    ("GET", "/api/v1/me"): EVERYONE,
    ("GET", "/api/v1/measures"): EVERYONE,
    ("GET", "/api/v1/measures/{m}"): SEE,
    ("GET", "/api/v1/measures/{m}/events"): SEE,
    ("GET", "/api/v1/evidence/{sha}"): SEE,
    ("GET", "/api/v1/problems"): EVERYONE,
    ("GET", "/api/v1/stats"): EVERYONE,
    ("GET", "/api/v1/notifications"): EVERYONE,
    ("POST", "/api/v1/notifications/read-all"): EVERYONE,
    ("GET", "/api/v1/openapi.json"): (200,) * 10,
    ("GET", "/healthz"): (200,) * 10,
}
# how many of the ledger's measures each role finds in GET /api/v1/measures (None: 401)
VISIBLE = {"owner": "all", "colleague": "all", "other_owner": 0, "leader": "all", "other_leader": 0,
           "office": "all", "supervisor": "all", "inspector": "all", "admin": "all", "anonymous": None}

# trigger → (scene the measure is put in, body, expected status per role)
TRIGGERS = {
    "start": ("assigned", {}, (200, 200, 404, 403, 404, 403, 403, 403, 403, 401)),
    "submit": ("in_progress", "evidence", (200, 403, 404, 403, 404, 403, 403, 403, 403, 401)),
    "approve": ("submitted", {}, LEADER_ONLY),
    "return": ("submitted", {"reason": "佐证不足"}, LEADER_ONLY),
    "sign_off": ("verified", {}, OFFICE_ONLY),
    "reject": ("verified", {"reason": "与台账不符"}, OFFICE_ONLY),
    "reopen": ("closed", {"reason": "群众反映问题仍在", "category": "public_dissatisfaction"},
               (403, 403, 404, 403, 404, 200, 403, 200, 403, 401)),
    "recheck": ("closed", {"comment": "复查情况良好"}, OFFICE_ONLY),
    "reassign": ("in_progress", {"owner": "owner2"}, OFFICE_ONLY),
    "comment": ("in_progress", {"comment": "请抓紧"}, SEE),
    "progress_update": ("in_progress", {"comment": "本周完成排查"},
                        (200, 200, 404, 403, 404, 403, 403, 403, 403, 401)),
    "urge": ("in_progress", {"comment": "请加快进度"}, (403, 403, 404, 200, 404, 200, 200, 403, 403, 401)),
    "request_extension": ("in_progress", {"reason": "汛期施工受限", "new_deadline": "2027-03-31"},
                          (200, 403, 404, 403, 404, 403, 403, 403, 403, 401)),
    "grant_extension": ("extension_pending", {}, LEADER_ONLY),
    "deny_extension": ("extension_pending", {"reason": "理由不充分"}, LEADER_ONLY),
    # the scheduler's trigger is no route at all
    "escalate": ("in_progress", {}, (404,) * 10),
}

# the right person at the wrong moment, or without what a guard needs: refused with the rule
REFUSALS = [
    ("approve", "assigned", "leader", {}, 422, "wrong_state"),
    ("sign_off", "submitted", "office", {}, 422, "wrong_state"),
    ("start", "closed", "owner", {}, 422, "wrong_state"),
    ("submit", "in_progress", "owner", {"comment": "做完了"}, 422, "evidence_required"),
    ("submit", "in_progress", "owner", "evidence-no-account", 422, "account_required"),
    ("return", "submitted", "leader", {}, 422, "reason_required"),
    ("reopen", "closed", "office", {"reason": "复查未过"}, 422, "category_required"),
    ("grant_extension", "in_progress", "leader", {}, 422, "no_pending_extension"),
    ("not_permitted_is_403", "submitted", "owner", {}, 403, "not_permitted"),
]

MATRIX_MEASURES = len(ROLES) * len(TRIGGERS) + len(REFUSALS) + 4


def _call(site, measure_id, trigger, user, body):
    path = f"/api/v1/measures/{measure_id}/triggers/{trigger}"
    if body == "evidence":
        data = {"comment": "已完成整改，附现场照片。", "evidence": (io.BytesIO(png_bytes(measure_id)), "现场.png")}
        return site.api("POST", path, user, data=data, content_type="multipart/form-data")
    if body == "evidence-no-account":
        data = {"evidence": (io.BytesIO(png_bytes(measure_id)), "现场.png")}
        return site.api("POST", path, user, data=data, content_type="multipart/form-data")
    return site.api("POST", path, user, json=body)


def _version(site, measure_id):
    with site.engine.connect() as conn:
        return conn.execute(select(Measure.version, Measure.state).where(Measure.id == measure_id)).one()


@pytest.fixture
def matrix_site(make_site):
    return make_site(measures=MATRIX_MEASURES, kind="long_term")


def test_every_role_reads_exactly_what_the_table_says(matrix_site):
    site = matrix_site
    m = site.ids["measures"][0]
    site.drive(m, "submitted")
    sha = site.api("GET", f"/api/v1/measures/{m}", "office1").get_json()["evidence"][0]["sha256"]
    total = len(site.ids["measures"])
    wrong = []
    for (method, route), expected in READS.items():
        path = route.format(m=m, sha=sha)
        for role, want in zip(ROLES, expected):
            r = site.api(method, path, WHO[role])
            if r.status_code != want:
                wrong.append(f"{role:<12} {method} {route}: {r.status_code}, expected {want}")
            if want == 401:
                assert r.get_json() == {"code": "unauthorized", "message": r.get_json()["message"]}
    for role in ROLES:
        r = site.api("GET", "/api/v1/measures?per_page=1", WHO[role])
        want = VISIBLE[role]
        got = r.get_json()["total"] if r.status_code == 200 else None
        if got != (total if want == "all" else want):
            wrong.append(f"{role:<12} sees {got} measures, expected {want}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("trigger", list(TRIGGERS))
def test_every_role_may_fire_exactly_what_the_table_says(matrix_site, trigger):
    site = matrix_site
    scene, body, expected = TRIGGERS[trigger]
    pool = iter(site.ids["measures"])
    wrong = []
    for role, want in zip(ROLES, expected):
        m = next(pool)
        site.drive(m, scene)
        before = _version(site, m)
        r = _call(site, m, trigger, WHO[role], body)
        after = _version(site, m)
        if r.status_code != want:
            wrong.append(f"{role:<12} {trigger}: {r.status_code} {r.get_data(as_text=True)[:160]}, expected {want}")
        if want == 200:
            assert r.get_json()["version"] == after.version == before.version + 1
            assert r.headers["ETag"] == f'"{after.version}"'
        else:
            assert after == before, f"{role} {trigger} was refused but the measure changed"
            if r.status_code in (401, 403, 404):
                code = r.get_json()["code"]
                assert code in ("unauthorized", "not_permitted", "not_found"), code
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("trigger,scene,role,body,status,rule", REFUSALS,
                         ids=[f"{r[0]}-{r[5]}" for r in REFUSALS])
def test_a_refused_rule_answers_with_its_name_and_writes_nothing(matrix_site, trigger, scene, role, body,
                                                                 status, rule):
    site = matrix_site
    m = site.ids["measures"][-1]
    site.drive(m, scene)
    before = _version(site, m)
    if trigger == "not_permitted_is_403":
        trigger = "approve"  # the owner may see the measure but is not its leader
    r = _call(site, m, trigger, WHO[role], body)
    assert (r.status_code, r.get_json()["code"]) == (status, rule), r.get_data(as_text=True)
    assert r.get_json()["message"]
    assert _version(site, m) == before


def test_the_sql_visibility_rule_is_the_engines_rule_for_everyone(site):
    """``workflow.readmodels.scope`` (SQL, used for lists) picks exactly what ``spec.can_see`` allows."""
    from workflow import db

    with db.write_tx(site.engine) as conn:
        planwriter.delegate(conn, "leader1", "leader2")  # leader2 now approves in leader1's name
        # a measure nobody owns yet: only the leader and the global roles see it
        conn.execute(Measure.__table__.update().where(Measure.id == site.ids["measures"][-1])
                     .values(unit_id=None, owner_id=None))
    with site.engine.connect() as conn:
        rows = [loading.load_measure(conn, m) for m in site.ids["measures"]]
    for username in WHO.values():
        if username is None:
            continue
        actor = readmodels.load_actor(username, engine=site.engine)
        by_sql = readmodels.visible_measure_ids(actor, engine=site.engine)
        by_rule = [r.id for r in rows if readmodels.may_see(actor, r)]
        assert by_sql == by_rule, username
    delegate = readmodels.load_actor("leader2", engine=site.engine)
    assert readmodels.visible_measure_ids(delegate, engine=site.engine) == site.ids["measures"]
    m = site.ids["measures"][0]
    site.drive(m, "submitted")
    r = site.api("POST", f"/api/v1/measures/{m}/triggers/approve", "leader2", json={})
    assert r.status_code == 200 and r.get_json()["state"] == "verified"
