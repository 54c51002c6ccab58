"""Publishing the notice: the office freezes it, the chain of versions holds, drafts stay private."""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import pytest
from sqlalchemy import text, update

from workflow import audit, db, planwriter, publication, render, report, spec
from workflow.importing import notice
from workflow.models import NoticeVersion

SIGNED = dt.datetime(2023, 3, 30, 2, 0)


@pytest.fixture
def plan(engine):
    s = notice.import_notice(notice.read(notice.SEED_PATH), SIGNED, engine=engine)
    with db.write_tx(engine) as conn:
        planwriter.user(conn, "office1", "整改办工作人员", ["office"], "整改办")
        planwriter.user(conn, "owner1", "水利局责任人", ["owner"], "水利局")
    return s["plan_id"]


def test_the_office_publishes_a_frozen_version_that_reads_back_exactly(engine, plan):
    out = publication.publish(plan, "office1", now=SIGNED, engine=engine)
    assert (out["plan_id"], out["version"]) == (plan, 1)
    meta, doc = publication.published_doc(plan, engine=engine)
    assert meta["sha256"] == out["sha256"]
    again = report.notice_doc(plan, SIGNED, engine=engine)
    assert render.render(doc, "md") == render.render(again, "md")
    assert publication.to_json(doc) == publication.to_json(again)


def test_only_the_office_publishes(engine, plan):
    with pytest.raises(spec.Refused) as info:
        publication.publish(plan, "owner1", now=SIGNED, engine=engine)
    assert info.value.rule == "not_permitted"
    assert publication.published(engine=engine) == []


def test_versions_are_listed_newest_first_with_their_dates(engine, plan):
    publication.publish(plan, "office1", now=SIGNED, engine=engine)
    publication.publish(plan, "office1", now=SIGNED + dt.timedelta(days=30), engine=engine)
    rows = publication.published(plan, engine=engine)
    assert [r["version"] for r in rows] == [2, 1]
    assert rows[0]["published_at"] == SIGNED + dt.timedelta(days=30) and rows[0]["by"] == "整改办工作人员"
    _meta, doc = publication.published_doc(plan, 1, engine=engine)
    assert doc.blocks[-1].lines[-1] == "2023年3月30日"  # each version signed the day it was published
    assert publication.published_doc(plan, 2, engine=engine)[1].blocks[-1].lines[-1] == "2023年4月29日"


def test_a_published_text_changed_afterwards_is_named_by_verify(engine, plan):
    publication.publish(plan, "office1", now=SIGNED, engine=engine)
    publication.publish(plan, "office1", now=SIGNED + dt.timedelta(days=1), engine=engine)
    assert publication.verify(engine) is None
    with db.write_tx(engine) as conn:
        doc = json.loads(conn.execute(text("SELECT document FROM notice_versions WHERE version = 1")).scalar())
        doc["title"] = "改过的标题"
        conn.execute(update(NoticeVersion.__table__).where(NoticeVersion.version == 1)
                     .values(document=json.dumps(doc, ensure_ascii=False)))
    broken = publication.verify(engine)
    assert broken and f"plan {plan} version 1" in broken
    assert audit.verify(engine) is None  # the measures' chains are untouched


def test_a_removed_version_is_named_by_verify(engine, plan):
    for day in range(3):
        publication.publish(plan, "office1", now=SIGNED + dt.timedelta(days=day), engine=engine)
    with db.write_tx(engine) as conn:
        conn.execute(text("DELETE FROM notice_versions WHERE version = 2"))
    assert "version 2 is missing" in publication.verify(engine)


def test_the_command_line_publishes_lists_and_shows(engine, plan, tmp_path):
    def run(*args):
        return subprocess.run([sys.executable, "-m", "workflow.cli", *args], capture_output=True, text=True)

    proc = run("notice", "publish", str(plan), "--as", "office1", "--now", "2023-03-30T10:00:00+08:00", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["version"] == 1
    assert run("notice", "publish", str(plan), "--as", "owner1").returncode == 3
    listed = json.loads(run("notice", "list", "--json").stdout)
    assert [(r["plan_id"], r["version"]) for r in listed] == [(plan, 1)]
    shown = run("notice", "show", str(plan), "--format", "md")
    assert shown.returncode == 0 and "## 一、整改工作总体情况" in shown.stdout
    assert run("audit", "verify").returncode == 0
