"""The web app over HTTP (Flask's test client) against a real SQLite file, or PostgreSQL.

``site`` gives each test its own copy of a ledger built once per session (people in every role
from ``tests/factory.py``, bearer tokens for each), its own instance folder and an injectable
clock. ``site.login(client, "owner1")`` signs a browser client in through the real form.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import threading
from pathlib import Path
from dataclasses import dataclass, field

import pytest
from sqlalchemy import update

from tests import factory
from tests.conftest import png_bytes
from workflow import commands, db, escalation, evidence as ev, publication
from workflow.cli import create_token, parse_now
from workflow.models import Measure

USERS = ("owner1", "owner2", "owner3", "head1", "leader1", "leader2", "office1", "super1", "insp1", "admin1")
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|<meta name="csrf-token" content="([^"]+)"')


class Clock:
    """A clock the test moves by hand; naive UTC like the database."""

    def __init__(self, start: dt.datetime):
        self.t = start

    def __call__(self) -> dt.datetime:
        return self.t

    def advance(self, **delta) -> dt.datetime:
        self.t += dt.timedelta(**delta)
        return self.t


@dataclass
class Site:
    app: object
    engine: object
    ids: dict
    tokens: dict
    clock: Clock
    folder: object
    client: object = field(default=None)

    def auth(self, user: str | None) -> dict:
        return {"Authorization": f"Bearer {self.tokens[user]}"} if user else {}

    def api(self, method: str, path: str, user: str | None = None, headers: dict | None = None, **kw):
        """Call the API as ``user`` (bearer token) or anonymously (``user=None``)."""
        h = {**self.auth(user), **(headers or {})}
        return self.client.open(path, method=method, headers=h, **kw)

    def csrf(self, client, path: str = "/login") -> str:
        """The CSRF token of ``client``'s session, read from a page (signed in: any page)."""
        page = client.get(path, follow_redirects=True)
        match = CSRF_RE.search(page.get_data(as_text=True))
        assert match, f"no CSRF token on {path}"
        return match.group(1) or match.group(2)

    def login(self, client, username: str, password: str | None = None):
        token = self.csrf(client)
        return client.post("/login", data={"username": username, "password": password or f"pw-{username}",
                                           "csrf_token": token})

    def fire(self, measure_id: int, trigger: str, actor: str, **kw):
        """Fire through the engine directly (to set a scene), at the site's clock."""
        return commands.fire(measure_id, trigger, actor, now=self.clock(), engine=self.engine, **kw)

    def publish(self, actor: str = "office1") -> dict:
        """Publish the plan's notice as computed now (the public reads only published versions)."""
        return publication.publish(self.ids["plan"], actor, now=self.clock(), engine=self.engine)

    def evidence(self, seed: int = 0, name: str = "photo.png"):
        return ev.store(png_bytes(seed), name)

    def drive(self, measure_id: int, scene: str) -> None:
        """Bring a fresh (assigned) measure to ``scene`` by the lifecycle's own triggers."""
        steps = SCENES[scene]
        for trigger, actor, kw in steps:
            kw = dict(kw)
            if kw.pop("with_evidence", False):
                kw["evidence"] = [self.evidence(measure_id)]
            self.fire(measure_id, trigger, actor, **kw)


_START = ("start", "owner1", {})
_SUBMIT = ("submit", "owner1", {"comment": "已完成整改，附照片。", "with_evidence": True})
_APPROVE = ("approve", "leader1", {})
_SIGN_OFF = ("sign_off", "office1", {})
SCENES = {
    "assigned": [],
    "in_progress": [_START],
    "submitted": [_START, _SUBMIT],
    "verified": [_START, _SUBMIT, _APPROVE],
    "closed": [_START, _SUBMIT, _APPROVE, _SIGN_OFF],
    "extension_pending": [_START, ("request_extension", "owner1",
                                   {"reason": "汛期施工受限", "params": {"new_deadline": "2027-03-31"}})],
}


@pytest.fixture(scope="session")
def ledger_templates(tmp_path_factory):
    """Ledgers built once per session, by (measures, kind): a folder with rectify.db, ids, tokens."""
    made: dict = {}

    def get(measures: int = 8, kind: str = "time_bound"):
        key = (measures, kind)
        if key not in made:
            folder = tmp_path_factory.mktemp(f"ledger-{measures}-{kind}")
            url = f"sqlite:///{folder / 'rectify.db'}"
            db.init_db(url)
            engine = db.get_engine(url)
            ids = factory.build(engine, measures=measures, kind=kind)
            tokens = {u: create_token(u, engine) for u in USERS}
            engine.dispose()  # checkpoint the WAL into the file before it is copied
            db.reset_engines()
            made[key] = (folder, ids, tokens)
        return made[key]

    return get


def _make_site(request, tmp_path, monkeypatch, ledger_templates, measures=8, kind="time_bound", config=None):
    folder, ids, tokens = ledger_templates(measures, kind)
    for name in ("rectify.db", "rectify.db-wal", "rectify.db-shm"):
        if (folder / name).exists():
            shutil.copy(folder / name, tmp_path / name)
    url = f"sqlite:///{tmp_path / 'rectify.db'}"
    monkeypatch.setenv("RECTIFY_INSTANCE", str(tmp_path))
    monkeypatch.setenv("RECTIFY_DATABASE_URL", url)
    monkeypatch.delenv("RECTIFY_EVIDENCE_DIR", raising=False)
    monkeypatch.delenv("RECTIFY_SECRET_KEY", raising=False)
    from web import create_app

    clock = Clock(factory.NOW)
    app = create_app({"TESTING": True, "RECTIFY_CLOCK": clock, **(config or {})})
    site = Site(app, db.get_engine(url), dict(ids), dict(tokens), clock, tmp_path)
    site.client = app.test_client()
    request.addfinalizer(db.reset_engines)
    return site


@pytest.fixture
def site(request, tmp_path, monkeypatch, ledger_templates):
    """The app on a private copy of an 8-measure ledger; clock at ``factory.NOW``."""
    return _make_site(request, tmp_path, monkeypatch, ledger_templates)


@pytest.fixture
def make_site(request, tmp_path, monkeypatch, ledger_templates):
    """Build a site with other sizes, kinds or config: ``make_site(measures=, kind=, config=)``."""

    def make(measures=8, kind="time_bound", config=None):
        return _make_site(request, tmp_path, monkeypatch, ledger_templates, measures, kind, config)

    return make


@pytest.fixture
def pg_site(pg_url):
    """The app on a fresh PostgreSQL database holding the same ledger."""
    from web import create_app

    engine = db.get_engine(pg_url)
    ids = factory.build(engine, measures=8)
    tokens = {u: create_token(u, engine) for u in USERS}
    clock = Clock(factory.NOW)
    app = create_app({"TESTING": True, "RECTIFY_CLOCK": clock, "RECTIFY_DATABASE_URL": pg_url})
    site = Site(app, engine, ids, tokens, clock, None)
    site.client = app.test_client()
    return site


# --- a real browser (Debian's Chromium through Playwright) on the site served on a port ----------------

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        reason = f"{CHROMIUM} is not installed (Debian package 'chromium')"
        if _in_ci():
            pytest.fail(f"the browser tests need Chromium in CI: {reason}", pytrace=False)
        pytest.skip(reason)
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def live(site):
    """The site's app served by werkzeug on a free port of 127.0.0.1, with a worker for its exports
    beside it (as the scheduler process is beside gunicorn)."""
    from werkzeug.serving import make_server

    from workflow import jobs

    server = make_server("127.0.0.1", 0, site.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-app", daemon=True)
    thread.start()
    stop = threading.Event()
    worker = threading.Thread(target=jobs.serve, args=(stop,), kwargs={"poll": 0.2, "engine": site.engine},
                              name="live-worker", daemon=True)
    worker.start()
    site.url = f"http://127.0.0.1:{server.server_port}"
    yield site
    stop.set()
    server.shutdown()
    thread.join(timeout=10)
    worker.join(timeout=10)


@pytest.fixture
def ordered(site):
    """The first measure overdue past L3 (deadline 8 December 2026): supervision order DB-2026-0001."""
    m = site.ids["measures"][0]
    with site.engine.begin() as conn:
        conn.execute(update(Measure.__table__).where(Measure.id == m)
                     .values(deadline=dt.date(2026, 12, 8), deadline_original=dt.date(2026, 12, 8)))
    for at in ("2026-12-03T10:00", "2026-12-09T10:00", "2026-12-15T10:00", "2026-12-22T10:00"):
        escalation.sweep(parse_now(at), site.engine)
    site.clock.t = parse_now("2026-12-24T10:00")
    return m
