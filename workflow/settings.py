"""Every setting Rectify takes from the environment, with its default, in one place.

:func:`get` builds one frozen :class:`Settings` from the environment the first time it is asked
for and keeps it for the life of the process; nothing else reads ``os.environ`` for a setting.
An empty variable counts as unset. A value that does not parse is refused by its variable's name
(:class:`SettingsError`, a ``ValueError``) the first time the settings are read, so a mistyped
number stops the process at start-up instead of failing later in a job. :func:`reset` forgets
the settings so the next :func:`get` reads the environment again (the tests' fixtures use it
after changing a variable).

Only ``deploy/gunicorn.conf.py`` reads its own variables (``RECTIFY_BIND``, ``RECTIFY_THREADS``,
``RECTIFY_TIMEOUT``, ``RECTIFY_MAX_REQUESTS``, ...): those are gunicorn's, read before the app exists.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import Field, dataclass, field, fields
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

LOG_FORMATS = ("text", "json")
CHINA = ZoneInfo("Asia/Shanghai")


class SettingsError(ValueError):
    """A variable of the environment holds a value its setting cannot take."""


# --- parsers: raw text (never empty) to a value; ValueError says what was expected -------------

def _text(raw: str) -> str:
    return raw


def _url(raw: str) -> str:
    return raw.rstrip("/")


def _path(raw: str) -> Path:
    return Path(raw)


def _whole(minimum: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ValueError("a whole number") from None
        if value < minimum:
            raise ValueError(f"a whole number of at least {minimum}")
        return value
    return parse


def _positive(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError("a number") from None
    if not value > 0:
        raise ValueError("a number above 0")
    return value


def _flag(raw: str) -> bool:
    low = raw.lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise ValueError("1/true/yes or 0/false/no")


def _instant(raw: str) -> dt.datetime:
    """ISO 8601; naive means China time. Kept as naive UTC, like every time in the database."""
    try:
        t = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError("an ISO 8601 time such as 2027-01-04T09:00") from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=CHINA)
    return t.astimezone(dt.UTC).replace(tzinfo=None)


def log_format(raw: str) -> str:
    """A log format name, checked: ``text`` or ``json``."""
    value = raw.strip().lower()
    if value not in LOG_FORMATS:
        raise ValueError(f"one of {', '.join(LOG_FORMATS)}")
    return value


def log_level(raw: str) -> str:
    """A log level name, checked (DEBUG, INFO, WARNING, ERROR, CRITICAL)."""
    value = raw.strip().upper()
    if not isinstance(logging.getLevelName(value), int):
        raise ValueError("a level name (DEBUG, INFO, WARNING, ERROR)")
    return value


def _setting(env: str, default: Any, parse: Callable[[str], Any], doc: str) -> Any:
    return field(default=default, metadata={"env": env, "parse": parse, "doc": doc})


@dataclass(frozen=True)
class Settings:
    """The process's settings; each field names its variable, its default and what it does."""

    # --- where things are ----------------------------------------------------------------------
    instance: Path | None = _setting(
        "RECTIFY_INSTANCE", None, _path,
        "the instance folder: the default database, evidence, generated files, the secret key "
        "(default ./instance of the working directory)")
    database_url: str | None = _setting(
        "RECTIFY_DATABASE_URL", None, _text,
        "the database (default a SQLite file rectify.db in the instance folder)")
    evidence_dir: Path | None = _setting(
        "RECTIFY_EVIDENCE_DIR", None, _path, "evidence files (default evidence/ in the instance folder)")
    max_upload_mb: int = _setting("RECTIFY_MAX_UPLOAD_MB", 20, _whole(1), "the largest evidence file, MB")

    # --- the web app ---------------------------------------------------------------------------
    base_url: str = _setting("RECTIFY_BASE_URL", "http://127.0.0.1:5000", _url,
                             "the address people use; links in emails and webhooks point here")
    secret_key: str | None = _setting("RECTIFY_SECRET_KEY", None, _text,
                                      "the session key (default generated once into the instance folder)")
    https: bool = _setting("RECTIFY_HTTPS", False, _flag, "served over TLS: secure cookies, HSTS")
    proxy_fix: int = _setting("RECTIFY_PROXY_FIX", 0, _whole(0), "reverse proxies trusted for the client address")
    idle_minutes: float = _setting("RECTIFY_IDLE_MINUTES", 30.0, _positive, "a session ends after this idle time")
    absolute_hours: float = _setting("RECTIFY_ABSOLUTE_HOURS", 12.0, _positive, "a session ends after this long")
    token_days: int = _setting("RECTIFY_TOKEN_DAYS", 90, _whole(1), "an API token expires this many days after it "
                               "is made (`rectify token create --days` for another)")

    # --- logs ----------------------------------------------------------------------------------
    log_format: str = _setting("RECTIFY_LOG_FORMAT", "text", log_format, "text, or json (one object per line)")
    log_level: str = _setting("RECTIFY_LOG_LEVEL", "INFO", log_level, "DEBUG, INFO, WARNING, ERROR")
    debug: bool = _setting("RECTIFY_DEBUG", False, _flag, "the CLI shows tracebacks instead of one line")

    # --- the scheduler and the workers ---------------------------------------------------------
    leader_poll: float = _setting("RECTIFY_LEADER_POLL", 15.0, _positive,
                                  "seconds between a standby scheduler's tries to lead")
    sweep_minutes: int = _setting("RECTIFY_SWEEP_MINUTES", 10, _whole(1), "how often the escalation sweep runs")
    sla_minutes: int = _setting("RECTIFY_SLA_MINUTES", 30, _whole(1), "how often approval SLAs are checked")
    delivery_seconds: int = _setting("RECTIFY_DELIVERY_SECONDS", 30, _whole(1), "how often the outbox is delivered")
    jobs_seconds: float = _setting("RECTIFY_JOBS_SECONDS", 2.0, _positive,
                                   "how often the scheduler and `rectify worker` look for queued exports")
    clock_start: dt.datetime | None = _setting(
        "RECTIFY_CLOCK_START", None, _instant,
        "a simulated scheduler clock starts here (ISO 8601, naive = China time); unset: the wall clock")
    clock_rate: float = _setting("RECTIFY_CLOCK_RATE", 1.0, _positive, "the simulated clock runs this much faster")

    # --- delivery ------------------------------------------------------------------------------
    smtp_host: str | None = _setting("RECTIFY_SMTP_HOST", None, _text, "mail server; unset: email waits in the outbox")
    smtp_port: int = _setting("RECTIFY_SMTP_PORT", 25, _whole(1), "mail server port")
    smtp_user: str | None = _setting("RECTIFY_SMTP_USER", None, _text, "mail server login")
    smtp_password: str | None = _setting("RECTIFY_SMTP_PASSWORD", None, _text, "mail server password")
    smtp_starttls: bool = _setting("RECTIFY_SMTP_STARTTLS", False, _flag, "STARTTLS before logging in")
    smtp_timeout: float = _setting("RECTIFY_SMTP_TIMEOUT", 15.0, _positive, "seconds to wait for the mail server")
    mail_from: str = _setting("RECTIFY_MAIL_FROM", "rectify@localhost", _text, "the sender of every email")
    webhook_timeout: float = _setting("RECTIFY_WEBHOOK_TIMEOUT", 10.0, _positive, "seconds to wait for a webhook")
    max_attempts: int = _setting("RECTIFY_MAX_ATTEMPTS", 6, _whole(1),
                                 "delivery tries before a message is a dead letter")
    retry_base_seconds: float = _setting("RECTIFY_RETRY_BASE_SECONDS", 120.0, _positive,
                                         "the first retry's wait; each next one waits twice as long (at most 6 h)")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``env`` (default ``os.environ``); SettingsError names a bad variable."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = (env.get(f.metadata["env"]) or "").strip()
            if raw:
                values[f.name] = _parse(f, raw)
        return cls(**values)

    @property
    def instance_dir(self) -> Path:
        """The instance folder (not created here)."""
        return self.instance or Path.cwd() / "instance"


def _parse(f: Field, raw: str) -> Any:
    try:
        return f.metadata["parse"](raw)
    except ValueError as e:
        raise SettingsError(f"{f.metadata['env']} must be {e}, not {raw!r}") from None


def check(name: str, raw: str) -> Any:
    """``raw`` parsed as the setting ``name`` (a field of :class:`Settings`); SettingsError if it cannot be."""
    return _parse(next(f for f in fields(Settings) if f.name == name), raw.strip())


def documented() -> list[tuple[str, str, str]]:
    """(variable, default, what it does) for every setting, in declaration order."""
    return [(f.metadata["env"], "" if f.default is None else str(f.default), f.metadata["doc"])
            for f in fields(Settings)]


_current: Settings | None = None


def get() -> Settings:
    """The settings of this process, read from the environment on first use."""
    global _current
    if _current is None:
        _current = Settings.from_env()
    return _current


def reset() -> None:
    """Forget the settings: the next :func:`get` reads the environment again."""
    global _current
    _current = None
