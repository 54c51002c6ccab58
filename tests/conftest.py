"""Shared fixtures: a fresh SQLite file per test (and PostgreSQL where marked)."""
from __future__ import annotations

import os

import pytest

from workflow import db


@pytest.fixture
def instance(tmp_path, monkeypatch):
    """A private instance folder: its own database file and evidence store."""
    monkeypatch.setenv("RECTIFY_INSTANCE", str(tmp_path))
    monkeypatch.delenv("RECTIFY_EVIDENCE_DIR", raising=False)
    url = f"sqlite:///{tmp_path / 'rectify.db'}"
    monkeypatch.setenv("RECTIFY_DATABASE_URL", url)
    yield tmp_path
    db.reset_engines()


@pytest.fixture
def sqlite_engine(instance):
    db.init_db()
    return db.get_engine()
