"""The work pages: 我的待办, 待我审核, 销号, a measure's page, its commands and its evidence.

Routes are thin: parse the form, call one ``workflow`` service, render or redirect. Every form
answers with a redirect (post-redirect-get): a refusal is one plain sentence in the person's
language, shown where they were with the form open and what they typed kept; a stale form (the
version changed meanwhile) is a conflict that never overwrites.
"""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext

from web.auth import current_user, login_required, roles_required
from workflow import commands, evidence as ev, readmodels, spec
from workflow.commands import evidence as evidence_commands, stash
from workflow.errors import Conflict, NotFound

from . import labels
from .common import (
    STASH_KEY, actor, bp, conflict_text, engine, evidence_text, next_url, now, refusal_text, send_back, serve_evidence,
    stashed,
)
from .diagram import lifecycle_svg

# what each role starts on
HOME_BY_ROLE = (
    ("owner", "pages.todo"),
    ("leader", "pages.review"),
    ("office", "pages.signoff"),
    ("supervisor", "pages.supervise"),
    ("inspector", "pages.ledger"),
    ("inspection_office", "pages.rounds_page"),
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


def _picks(values) -> list[tuple[int, int]]:
    picks = []
    for value in values:
        mid, _, version = value.partition(":")
        try:
            picks.append((int(mid), int(version)))
        except ValueError:
            continue
    # ids and versions beyond what the databases hold are not picks; at most 200 at once
    return [(mid, version) for mid, version in picks if 0 < mid < 2**31 and 0 <= version < 2**31][:200]


@bp.get("/review/confirm")
@roles_required("leader")
def review_confirm():
    """Bulk approval, step two: what was ticked, a comment for all, and one button to confirm."""
    picks = dict(_picks(request.args.getlist("pick")))
    if not picks:
        flash(gettext("请先勾选要审核通过的整改措施。"), "error")
        return redirect(url_for("pages.review"))
    queue = readmodels.review_queue(actor(), now=now(), engine=engine())["submitted"]
    chosen = [{**m, "picked_version": picks[m["id"]]} for m in queue if m["id"] in picks]
    gone = sorted(set(picks) - {m["id"] for m in chosen})
    return render_template("pages/bulk_confirm.html", items=chosen, gone=gone)


@bp.post("/review/bulk")
@roles_required("leader")
def review_bulk():
    """Approve several submissions at once; each gets its own result (done, refused or conflict)."""
    picks = _picks(request.form.getlist("pick"))
    if not picks:
        flash(gettext("请先勾选要审核通过的整改措施。"), "error")
        return redirect(url_for("pages.review"), 303)
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
            results.append({"id": mid, "ok": False, "message": refusal_text(e.rule, "approve", e.message)})
        except Conflict as e:
            results.append({"id": mid, "ok": False, "message": conflict_text(e.expected, e.actual)})
        except NotFound:
            results.append({"id": mid, "ok": False, "message": refusal_text("not_found", "approve")})
    session[STASH_KEY] = stash.put(current_user.id, {"form": "bulk", "values": {"results": results}},
                                   now=now(), engine=engine())
    return redirect(url_for("pages.review_result"), 303)


@bp.get("/review/result")
@roles_required("leader")
def review_result():
    kept = stashed("bulk")
    if not kept:
        return redirect(url_for("pages.review"))
    results = kept["values"]["results"]
    done = sum(1 for r in results if r["ok"])
    return render_template("pages/bulk_result.html", results=results, done=done, failed=len(results) - done)


@bp.get("/signoff")
@roles_required("office")
def signoff():
    return render_template("pages/signoff.html", items=readmodels.signoff_queue(actor(), now=now(), engine=engine()))


# --- a measure ----------------------------------------------------------------

@bp.get("/measures/<int:measure_id>")
@login_required
def measure(measure_id: int):
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
        people=people, units=units, T=spec.TRIGGERS, EVIDENCE_STATES=spec.EVIDENCE_STATES, L=labels,
    )


def _back_to(measure_id: int, trigger: str) -> str:
    """Where a refused form sends the person: the page the form was on, at that form."""
    here = url_for("pages.measure", measure_id=measure_id)
    target = next_url(here)
    return target + (f"#act-{trigger}" if target == here else f"#m-{measure_id}")


@bp.post("/measures/<int:measure_id>/fire/<trigger>")
@login_required
def fire(measure_id: int, trigger: str):
    """Fire one trigger from a form; the form's ``version`` is the expected version.

    Done or refused, the answer is a redirect: a refusal goes back where the person was, with the
    form open and what they typed kept (files are not kept: they are chosen again).
    """
    if trigger not in spec.PUBLIC_TRIGGERS:
        abort(404)
    f = request.form
    taken = {p.name: f.get(p.name, "").strip() for p in spec.TRIGGERS[trigger].params}
    files = [fs for fs in request.files.getlist("evidence") if fs and fs.filename]
    version = f.get("version", type=int)
    form = f"{measure_id}:{trigger}"
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
        result = commands.fire_with_files(
            measure_id, trigger, current_user.username, [(fs.read(), fs.filename) for fs in files], comment=comment,
            reason=reason, params=params, expected_version=version, now=now(), engine=engine())
    except NotFound:
        abort(404)
    except Conflict as e:
        return send_back(_back_to(measure_id, trigger), form, conflict_text(e.expected, e.actual), values=taken,
                         category="conflict")
    except spec.Refused as e:
        return send_back(_back_to(measure_id, trigger), form, refusal_text(e.rule, trigger, e.message), values=taken)
    except ev.EvidenceUnavailable:
        raise  # the store, not the person: the error page (503)
    except ev.EvidenceRefused as e:
        return send_back(_back_to(measure_id, trigger), form, evidence_text(e.rule, e.name or ""), values=taken)
    flash(gettext("已完成「%(action)s」：整改措施 #%(id)s", action=labels.label(labels.TRIGGERS, trigger),
                  id=measure_id), "success")
    if result.repeated:
        flash(gettext("以下文件此前已上传过，没有重复保存：%(names)s", names="、".join(result.repeated)), "info")
    return redirect(next_url(url_for("pages.measure", measure_id=measure_id)), 303)


def _split(taken: dict) -> dict:
    """Form fields as :func:`workflow.spec.inputs` takes them: comment, reason and the parameters."""
    rest = {k: v for k, v in taken.items() if k not in ("comment", "reason")}
    return {"comment": taken.get("comment", ""), "reason": taken.get("reason", ""), "params": rest}


@bp.post("/measures/<int:measure_id>/evidence/<sha256>/remove")
@login_required
def evidence_remove(measure_id: int, sha256: str):
    """Take a wrong file off a measure before it is submitted (the removal is on the audit chain)."""
    here = url_for("pages.measure", measure_id=measure_id) + "#evidence"
    try:
        readmodels.version_of(actor(), measure_id, engine=engine())  # not seen: not found
        done = evidence_commands.remove_evidence(measure_id, sha256, current_user.username,
                                                 expected_version=request.form.get("version", type=int),
                                                 now=now(), engine=engine())
    except NotFound:
        abort(404)
    except Conflict as e:
        flash(conflict_text(e.expected, e.actual), "conflict")
    except spec.Refused as e:
        flash(refusal_text(e.rule, None, e.message), "error")
    else:
        flash(gettext("已删除佐证材料「%(name)s」", name=done["name"]), "success")
    return redirect(here, 303)


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
