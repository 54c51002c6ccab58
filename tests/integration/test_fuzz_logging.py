"""Fuzzing the JSON log format: whatever a record holds, it is one line of valid JSON.

A log collector splits on newlines and parses each line, so a message with newlines, control
characters, lone surrogates or odd ``extra`` values must never break a line or the JSON. The
settings are checked the same way: a bad ``RECTIFY_LOG_FORMAT`` or level is refused by name.
"""
from __future__ import annotations

import io
import json
import logging

import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st

from workflow import logging as rlog

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

VALUES = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(), st.binary(max_size=20),
                   st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=3))
EXTRA_KEYS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12).filter(
    lambda k: k not in rlog._STANDARD and k not in rlog._OWN and not k.startswith("_"))


def emit(fmt: str, message, args=(), extra=None, exc: bool = False) -> list[str]:
    stream = io.StringIO()
    logger = logging.getLogger("rectify.fuzz")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(rlog.formatter(fmt))
    logger.addHandler(handler)
    logger.propagate = False
    try:
        if exc:
            try:
                raise ValueError("坏了\nline two")
            except ValueError:
                logger.exception(message, *args, extra=extra)
        else:
            logger.warning(message, *args, extra=extra)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue().splitlines()


@FAST
@given(st.text(), st.dictionaries(EXTRA_KEYS, VALUES, max_size=4), st.booleans())
def test_any_message_and_extra_fields_make_one_line_of_json(message, extra, exc):
    lines = emit("json", "%s", (message,), extra, exc)
    assert len(lines) == 1, lines
    record = json.loads(lines[0])
    assert record["message"] == message
    assert record["level"] in ("WARNING", "ERROR") and record["logger"] == "rectify.fuzz"
    assert record["ts"].endswith("Z") and isinstance(record["pid"], int)
    assert set(extra) <= set(record)
    assert ("exc" in record) == exc


@FAST
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30))
@example("-")
@example("/measures/1")
def test_a_gunicorn_access_record_becomes_fields(path):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(rlog.JsonFormatter())
    access = logging.getLogger("gunicorn.access")
    saved = access.handlers, access.propagate, access.level
    access.handlers, access.propagate = [handler], False
    access.setLevel(logging.INFO)
    try:
        atoms = {"h": "127.0.0.1", "m": "GET", "U": path, "q": "", "s": "200", "B": 17, "M": 3, "a": "curl",
                 "{authorization}i": "Bearer secret-token"}
        access.info('%(h)s "%(r)s" %(s)s', atoms)
    finally:
        access.handlers, access.propagate, _ = saved
        access.setLevel(saved[2])
    (line,) = stream.getvalue().splitlines()
    record = json.loads(line)
    # gunicorn writes "-" for an absent atom, so "-" and "" both mean no path
    assert record["path"] == path if path not in ("", "-") else "path" not in record
    assert (record["method"], record["status"], record["bytes"], record["duration_ms"]) == ("GET", 200, 17, 3)
    assert "secret-token" not in line


def test_text_is_the_default_and_bad_settings_are_refused_by_name(monkeypatch):
    monkeypatch.delenv("RECTIFY_LOG_FORMAT", raising=False)
    monkeypatch.delenv("RECTIFY_LOG_LEVEL", raising=False)
    assert rlog.log_format() == "text" and rlog.log_level() == "INFO"
    assert emit("text", "普通 %s", ("文本",))[0].endswith("WARNING rectify.fuzz: 普通 文本")
    monkeypatch.setenv("RECTIFY_LOG_FORMAT", "xml")
    with pytest.raises(ValueError, match="RECTIFY_LOG_FORMAT"):
        rlog.configure()
    monkeypatch.setenv("RECTIFY_LOG_FORMAT", "json")
    monkeypatch.setenv("RECTIFY_LOG_LEVEL", "loud")
    with pytest.raises(ValueError, match="RECTIFY_LOG_LEVEL"):
        rlog.configure()


def test_configure_replaces_its_own_handler_and_leaves_others(monkeypatch):
    root = logging.getLogger()
    before = list(root.handlers)
    level = root.level
    try:
        rlog.configure("json", "DEBUG")
        rlog.configure("text", "WARNING")
        ours = [h for h in root.handlers if getattr(h, rlog._HANDLER_MARK, False)]
        assert len(ours) == 1 and root.level == logging.WARNING
        assert all(h in root.handlers for h in before)
    finally:
        for h in list(root.handlers):
            if getattr(h, rlog._HANDLER_MARK, False):
                root.removeHandler(h)
        root.setLevel(level)


def test_an_extra_field_named_like_the_formatters_own_keys_never_poses_as_an_exception():
    lines = emit("json", "%s", ("hello",), {"exc": "not an exception", "stack": "nor a stack"}, False)
    record = json.loads(lines[0])
    assert "exc" not in record and "stack" not in record
    assert record["message"] == "hello"
