"""Logging set-up for every Rectify process: plain text for people, JSON lines for collectors.

``RECTIFY_LOG_FORMAT`` is ``text`` (default) or ``json``; ``RECTIFY_LOG_LEVEL`` is a level name
(default ``INFO``). :func:`configure` applies them to the root logger of a process (the CLI, the
scheduler); :func:`gunicorn_logconfig` gives gunicorn the same handlers for its own loggers, so
the web workers, gunicorn's error log and its access log all write one format to stderr.

In JSON each record is one line: ``ts`` (UTC, ISO 8601 with milliseconds), ``level``,
``logger``, ``message``, ``pid``, then any ``extra={...}`` fields of the call and ``exc`` (the
formatted traceback) when there is one. gunicorn's access records become structured fields
(``remote``, ``method``, ``path``, ``query``, ``status``, ``bytes``, ``duration_ms``,
``user_agent``); request headers such as ``Authorization`` and cookies are never logged.

The formatter is a few lines of the standard library's ``json``; a dependency would add nothing
but the access-log fields, which it does not know about anyway.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import sys

from . import settings

FORMATS = settings.LOG_FORMATS
TEXT_FORMAT = "%(asctime)s [%(process)d] %(levelname)s %(name)s: %(message)s"

# attributes every LogRecord has; anything else on a record came from ``extra=``
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}

# characters some readers take for line ends; JSON leaves them raw unless asked (they only
# occur inside strings, where the escape is valid)
_LINE_BREAKS = str.maketrans({c: f"\\u{ord(c):04x}" for c in "\x1c\x1d\x1e\x85\u2028\u2029"})

# gunicorn access-log atoms kept as fields (see gunicorn.glogging.Logger.atoms)
# keys the formatter writes itself (exc and stack only when there is one): an extra field never takes them
_OWN = frozenset({"ts", "level", "logger", "message", "pid", "exc", "stack"})
_ACCESS_FIELDS = {"h": "remote", "m": "method", "U": "path", "q": "query", "s": "status", "B": "bytes",
                  "M": "duration_ms", "a": "user_agent"}


def log_format(value: str | None = None) -> str:
    """``value`` checked, or the configured format (``RECTIFY_LOG_FORMAT``)."""
    return settings.check("log_format", value) if value else settings.get().log_format


def log_level(value: str | None = None) -> str:
    """``value`` checked, or the configured level name (``RECTIFY_LOG_LEVEL``)."""
    return settings.check("log_level", value) if value else settings.get().log_level


class JsonFormatter(logging.Formatter):
    """One JSON object per record, one record per line."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
        }
        args = record.args
        if record.name == "gunicorn.access" and isinstance(args, dict):
            out["message"] = _access_line(args)
            for atom, name in _ACCESS_FIELDS.items():
                value = _atom(args, atom)
                if value not in (None, "-", ""):
                    out[name] = _number(value) if name in ("status", "bytes", "duration_ms") else value
        else:
            out["message"] = record.getMessage()
        out["pid"] = record.process
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in _OWN and key not in out and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            out["exc"] = record.exc_text
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        return json.dumps(out, ensure_ascii=False, default=str).translate(_LINE_BREAKS)


def _atom(args, key: str):
    try:
        return args[key]
    except (KeyError, TypeError):
        return None


def _number(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


def _access_line(args) -> str:
    return f"{_atom(args, 'm') or '-'} {_atom(args, 'U') or '-'} {_atom(args, 's') or '-'}"


def formatter(fmt: str | None = None) -> logging.Formatter:
    """The formatter for ``fmt`` (default: from the environment)."""
    if log_format(fmt) == "json":
        return JsonFormatter()
    return logging.Formatter(TEXT_FORMAT)


_HANDLER_MARK = "_rectify_handler"
# libraries that narrate every step at INFO (transitions: each state callback); only their warnings are kept
QUIET = ("transitions",)


def configure(fmt: str | None = None, level: str | None = None, stream=None) -> logging.Logger:
    """Send the root logger to stderr in the configured format and level; idempotent.

    A handler installed by an earlier call is replaced, other handlers are left alone.
    """
    fmt, level = log_format(fmt), log_level(level)  # refuse bad settings before changing anything
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, _HANDLER_MARK, False):
            root.removeHandler(h)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter(fmt))
    setattr(handler, _HANDLER_MARK, True)
    root.addHandler(handler)
    root.setLevel(level)
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.captureWarnings(True)
    return root


def gunicorn_logconfig(fmt: str | None = None, level: str | None = None) -> dict:
    """A ``logconfig_dict`` for gunicorn: its error and access logs and the app's loggers, one format."""
    fmt, level = log_format(fmt), log_level(level)
    formatter_cfg = ({"()": "workflow.logging.JsonFormatter"} if fmt == "json"
                     else {"format": TEXT_FORMAT, "class": "logging.Formatter"})
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"rectify": formatter_cfg},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "rectify",
                                "stream": "ext://sys.stderr"}},
        "root": {"level": level, "handlers": ["stderr"]},
        "loggers": {
            "gunicorn.error": {"level": level, "handlers": ["stderr"], "propagate": False,
                               "qualname": "gunicorn.error"},
            "gunicorn.access": {"level": "INFO", "handlers": ["stderr"], "propagate": False,
                                "qualname": "gunicorn.access"},
            **{name: {"level": "WARNING"} for name in QUIET},
        },
    }
