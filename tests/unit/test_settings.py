"""One settings object: every variable read once, defaults in one place, bad values refused by name."""
from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from workflow import delivery, settings
from workflow.settings import Settings, SettingsError

ROOT = Path(__file__).resolve().parents[2]


def test_an_empty_environment_gives_the_documented_defaults():
    s = Settings.from_env({})
    assert (s.database_url, s.instance, s.evidence_dir, s.max_upload_mb) == (None, None, None, 20)
    assert (s.base_url, s.https, s.proxy_fix, s.idle_minutes, s.absolute_hours) == (
        "http://127.0.0.1:5000", False, 0, 30.0, 12.0)
    assert (s.sweep_minutes, s.sla_minutes, s.delivery_seconds, s.jobs_seconds, s.leader_poll) == (10, 30, 30, 2.0, 15.0)
    assert (s.max_attempts, s.retry_base_seconds, s.smtp_host, s.log_format, s.log_level) == (
        6, 120.0, None, "text", "INFO")
    assert s.instance_dir == Path.cwd() / "instance"
    documented = {env: (default, doc) for env, default, doc in settings.documented()}
    assert documented["RECTIFY_SWEEP_MINUTES"][0] == "10" and documented["RECTIFY_DATABASE_URL"][0] == ""
    assert all(doc for _default, doc in documented.values())


def test_values_are_parsed_and_empty_ones_count_as_unset():
    s = Settings.from_env({"RECTIFY_INSTANCE": "/srv/r", "RECTIFY_BASE_URL": "https://r.example.org/",
                           "RECTIFY_HTTPS": "yes", "RECTIFY_SMTP_STARTTLS": "0", "RECTIFY_SMTP_HOST": "",
                           "RECTIFY_CLOCK_START": "2027-01-04T09:00", "RECTIFY_LOG_FORMAT": " JSON ",
                           "RECTIFY_LOG_LEVEL": "debug", "RECTIFY_MAX_ATTEMPTS": "3"})
    assert s.instance_dir == Path("/srv/r") and s.base_url == "https://r.example.org"
    assert (s.https, s.smtp_starttls, s.smtp_host, s.max_attempts) == (True, False, None, 3)
    assert s.clock_start == dt.datetime(2027, 1, 4, 1, 0)  # China time, kept as naive UTC
    assert (s.log_format, s.log_level) == ("json", "DEBUG")


@pytest.mark.parametrize(("env", "value", "says"), [
    ("RECTIFY_MAX_UPLOAD_MB", "20MB", "a whole number"),
    ("RECTIFY_MAX_ATTEMPTS", "0", "at least 1"),
    ("RECTIFY_SMTP_TIMEOUT", "-1", "above 0"),
    ("RECTIFY_HTTPS", "maybe", "1/true/yes"),
    ("RECTIFY_CLOCK_START", "next monday", "ISO 8601"),
    ("RECTIFY_LOG_FORMAT", "xml", "text, json"),
    ("RECTIFY_LOG_LEVEL", "loud", "level name"),
])
def test_a_bad_value_is_refused_naming_the_variable_and_the_value(env, value, says):
    with pytest.raises(SettingsError) as e:
        Settings.from_env({env: value})
    assert str(e.value).startswith(f"{env} must be ") and says in str(e.value) and repr(value) in str(e.value)


def test_the_settings_are_read_once_until_reset(monkeypatch):
    monkeypatch.setenv("RECTIFY_MAX_ATTEMPTS", "4")
    assert delivery.max_attempts() == 4
    os.environ["RECTIFY_MAX_ATTEMPTS"] = "5"  # behind the process's back: not seen
    try:
        assert settings.get() is settings.get() and delivery.max_attempts() == 4
        settings.reset()
        assert delivery.max_attempts() == 5
    finally:
        monkeypatch.setenv("RECTIFY_MAX_ATTEMPTS", "4")


def test_the_command_line_names_a_bad_setting_in_one_line(tmp_path):
    env = dict(os.environ, RECTIFY_INSTANCE=str(tmp_path), RECTIFY_DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}",
               RECTIFY_SWEEP_MINUTES="often")
    p = subprocess.run([sys.executable, "-m", "workflow.cli", "users"], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 1
    assert p.stderr.strip() == "rectify: bad setting: RECTIFY_SWEEP_MINUTES must be a whole number, not 'often'"


def test_no_module_but_settings_reads_the_environment_for_a_setting():
    readers = []
    for folder in ("workflow", "web", "schedules"):
        for path in (ROOT / folder).rglob("*.py"):
            for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if re.search(r"os\.environ|os\.getenv", line):
                    readers.append(f"{path.relative_to(ROOT)}:{no}")
    # settings reads them; backup hands the whole environment to pg_dump/psql with a password added
    assert sorted({r.split(":")[0] for r in readers}) == ["workflow/backup.py", "workflow/settings.py"], readers
