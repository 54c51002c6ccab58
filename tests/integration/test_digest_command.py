"""The weekly report and monthly summary render through the notice renderer, in every format."""
import datetime as dt
import subprocess
import sys

import docx

from tests import factory
from workflow import commands


def run(*args):
    return subprocess.run([sys.executable, "-m", "workflow.cli", *args], capture_output=True)


def test_weekly_digest_lists_an_overdue_measure_in_markdown_html_and_word(sqlite_engine, tmp_path):
    ids = factory.build(sqlite_engine, measures=2, deadline=dt.date(2026, 11, 20), evidence_waived=True)
    commands.fire(ids["measures"][1], "start", "owner1", engine=sqlite_engine)
    md = run("digest", "weekly", "--now", "2026-11-30T10:00")
    assert md.returncode == 0, md.stderr
    text = md.stdout.decode()
    assert text.startswith("# 整改周报告")
    assert "已逾期（2 项）" in text and "措施 2（问题1）" in text
    html = run("digest", "weekly", "--now", "2026-11-30T10:00", "--format", "html").stdout.decode()
    assert "<h1" in html and "措施 2（问题1）" in html
    out = tmp_path / "weekly.docx"
    r = run("digest", "weekly", "--now", "2026-11-30T10:00", "--format", "docx", "-o", str(out))
    assert r.returncode == 0, r.stderr
    body = "\n".join(p.text for p in docx.Document(str(out)).paragraphs)
    assert "整改周报告" in body and "措施 2（问题1）" in body


def test_monthly_digest_without_output_file_refuses_word(sqlite_engine):
    factory.build(sqlite_engine, measures=1)
    r = run("digest", "monthly", "--format", "docx")
    assert r.returncode != 0 and b"-o FILE" in r.stderr and b"Traceback" not in r.stderr
