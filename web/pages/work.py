"""The work pages: 我的待办, 待我审核, 销号, a measure's page, its commands and its evidence.

Routes are thin: parse the form, call one ``workflow`` service, render. A refused rule is shown
in the person's language naming the rule; a stale form (the version changed meanwhile) is a
conflict that never overwrites.
"""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext

from web.auth import current_user, login_required, roles_required
from workflow import commands, evidence as ev, readmodels, spec
from workflow.errors import Conflict, NotFound

from . import labels
from .common import actor, bp, conflict_text, engine, next_url, now, refusal_text, serve_evidence
from .diagram import lifecycle_svg

# what each role starts on
HOME_BY_ROLE = (
    ("owner", "pages.todo"),
    ("leader", "pages.review"),
    ("office", "pages.signoff"),
    ("supervisor", "pages.supervise"),
    ("inspector", "pages.ledger"),
    ("admin", "pages.admin_people"),
)


@bp.get("/")
@login_required
def home():
    """Each person lands on their own queue."""
    for role, endpoint in HOME_BY_ROLE:
        if current_user.has_role(role):
            return redirect(url_for(endpoint))
    return redirect(url_for("pages.dashboard"))


@bp.get("/todo")
@roles_required("owner")
def todo():
    a = actor()
    return render_template("pages/todo.html", items=readmodels.todo(a, now=now(), engine=engine()),
                           waiting=readmodels.waiting(a, now=now(), engine=engine()))


@bp.get("/review")
@roles_required("leader")
def review():
    q = readmodels.review_queue(actor(), now=now(), engine=engine())
    return render_template("pages/review.html", items=q["submitted"], extensions=q["extensions"])


@bp.post("/review/bulk")
@roles_required("leader")
def review_bulk():
    """Approve several submissions at once; each gets its own result (done, refused or conflict)."""
    picks = []
    for value in request.form.getlist("pick"):
        mid, _, version = value.partition(":")
        try:
            picks.append((int(mid), int(version)))
        except ValueError:
            continue
    picks = [(mid, version) for mid, version in picks if 0 < mid < 2**31 and 0 <= version < 2**31][:200]
    if not picks:
        flash(gettext("请先勾选要审核通过的整改措施。"), "error")
        return redirect(url_for("pages.review"))
    comment = request.form.get("comment", "").strip()
    visible = set(readmodels.visible_measure_ids(actor(), engine(), among=[mid for mid, _ in picks]))
    results = []
    for mid, version in picks:
        if mid not in visible:  # answered like a missing one: no version, no rule, nothing about it
            results.append({"id": mid, "ok": False, "message": refusal_text("not_found", "approve")})
            continue
        try:
            commands.fire(mid, "approve", current_user.username, comment=comment, expected_version=version,
                     now=now(), engine=engine())
            results.append({"id": mid, "ok": True, "message": gettext("已审核通过")})
        except spec.Refused as e:
            results.append({"id": mid, "ok": False, "message": refusal_text(e.rule, "approve")})
        except Conflict as e:
            results.append({"id": mid, "ok": False, "message": conflict_text(e.expected, e.actual)})
        except NotFound:
            results.append({"id": mid, "ok": False, "message": refusal_text("not_found", "approve")})
    done = sum(1 for r in results if r["ok"])
    return render_template("pages/bulk_result.html", results=results, done=done, failed=len(results) - done)


@bp.get("/signoff")
@roles_required("office")
def signoff():
    return render_template("pages/signoff.html", items=readmodels.signoff_queue(actor(), now=now(), engine=engine()))


# --- a measure ----------------------------------------------------------------

def render_measure(measure_id: int, *, error: str | None = None, conflict: str | None = None,
                   values: dict | None = None, trigger: str | None = None, status: int = 200):
    a = actor()
    try:
        m = readmodels.measure_detail(a, measure_id, now=now(), engine=engine())
        events = readmodels.measure_events(a, measure_id, engine=engine())
    except NotFound:
        abort(404)
    allowed = m["allowed_triggers"]
    kinds = {p.kind for t in allowed for p in spec.TRIGGERS[t].params}
    people = [p for p in readmodels.people(engine()) if p["active"]] if "user" in kinds else []
    units = readmodels.units(engine()) if "unit" in kinds else []
    return render_template(
        "pages/measure.html", m=m, events=events, allowed=allowed, diagram=lifecycle_svg(m["state"], allowed),
        error=error, conflict=conflict, values=values or {}, failed_trigger=trigger, people=people, units=units,
        T=spec.TRIGGERS, EVIDENCE_STATES=spec.EVIDENCE_STATES, L=labels,
    ), status


@bp.get("/measures/<int:measure_id>")
@login_required
def measure(measure_id: int):
    return render_measure(measure_id)


@bp.post("/measures/<int:measure_id>/fire/<trigger>")
@login_required
def fire(measure_id: int, trigger: str):
    """Fire one trigger from a form; the form's ``version`` is the expected version."""
    if trigger not in spec.PUBLIC_TRIGGERS:
        abort(404)
    f = request.form
    taken = {p.name: f.get(p.name, "").strip() for p in spec.TRIGGERS[trigger].params}
    files = [fs for fs in request.files.getlist("evidence") if fs and fs.filename]
    version = f.get("version", type=int)
    values = dict(taken)
    a = actor()
    try:
        given = spec.inputs(trigger, **_split(taken))
        comment, reason, params = given["comment"], given["reason"], given["params"]
        current = readmodels.version_of(a, measure_id, engine=engine())
        if version is not None and version != current:
            raise Conflict(measure_id, version, current)
        # check every rule before keeping any uploaded file
        readmodels.preflight(a, measure_id, trigger, comment=comment, reason=reason, new_evidence=len(files),
                             params=params, now=now(), engine=engine())
        commands.fire_with_files(measure_id, trigger, current_user.username, [(fs.read(), fs.filename) for fs in files],
                                 comment=comment, reason=reason, params=params, expected_version=version, now=now(),
                                 engine=engine())
    except NotFound:
        abort(404)
    except Conflict as e:
        return render_measure(measure_id, conflict=conflict_text(e.expected, e.actual), values=values,
                              trigger=trigger, status=409)
    except ev.EvidenceUnavailable:
        raise  # the store, not the person: the error page (503)
    except (spec.Refused, ev.EvidenceRefused) as e:
        text = refusal_text(e.rule, trigger)
        if isinstance(e, ev.EvidenceRefused):
            text = f"{text} — {e.message}"
        return render_measure(measure_id, error=text, values=values, trigger=trigger,
                              status=403 if e.rule == "not_permitted" else 422)
    flash(gettext("已完成「%(action)s」：整改措施 #%(id)s", action=labels.label(labels.TRIGGERS, trigger),
                  id=measure_id), "success")
    return redirect(next_url(url_for("pages.measure", measure_id=measure_id)))


def _split(taken: dict) -> dict:
    """Form fields as :func:`workflow.spec.inputs` takes them: comment, reason and the parameters."""
    rest = {k: v for k, v in taken.items() if k not in ("comment", "reason")}
    return {"comment": taken.get("comment", ""), "reason": taken.get("reason", ""), "params": rest}


@bp.get("/evidence/<sha256>")
@login_required
def evidence(sha256: str):
    """An evidence file, for those who may see a measure it belongs to: images inline, others as files."""
    try:
        info = readmodels.evidence_file(actor(), sha256, engine=engine())
        data = ev.read_verified(info["sha256"])  # bytes that no longer match their hash are not served
    except (NotFound, ev.EvidenceRefused) as e:
        if isinstance(e, ev.EvidenceUnavailable) and e.rule != "evidence_missing":
            raise
        abort(404)
    inline = info["mime"].startswith("image/") and request.args.get("download") is None
    return serve_evidence(data, info, inline=inline)
