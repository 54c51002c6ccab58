"""Files that take a while to make (the ledger's .xlsx, the notice): a background thread writes
the file, a status file tells how far it got, and the page's ``<progress>`` polls that status.

Jobs live in ``<instance>/exports/<id>.json`` (status) and ``<id>.<ext>`` (the file), so any worker
process of the app can answer a status or a download, and nothing is kept in memory between
requests. Only the person who started a job may see or download it. Finished jobs older than a
day are removed when a new job starts.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import secrets
import tempfile
import threading
import time
from pathlib import Path

from workflow import db

log = logging.getLogger(__name__)

KEEP = dt.timedelta(days=1)
_ID = re.compile(r"^[0-9a-f]{32}$")


def folder() -> Path:
    path = db.instance_dir() / "exports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _status_path(job_id: str) -> Path:
    if not _ID.match(job_id or ""):
        raise KeyError(job_id)
    return folder() / f"{job_id}.json"


MIMETYPES = {
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".html": "text/html; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
}


def file_path(job_id: str, name: str = "x.xlsx") -> Path:
    """Where the job's file is kept: its id with the suffix of the download ``name``."""
    suffix = Path(name).suffix.lower()
    if suffix not in MIMETYPES:
        raise KeyError(name)
    return _status_path(job_id).with_suffix(suffix)


def _write(job_id: str, status: dict) -> None:
    path = _status_path(job_id)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".job.")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(status, fh, ensure_ascii=False)
    os.replace(tmp, path)


def status(job_id: str, user_id: int) -> dict:
    """The job's status; KeyError if there is no such job or it is someone else's."""
    try:
        data = json.loads(_status_path(job_id).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise KeyError(job_id) from None
    if data.get("user_id") != user_id:
        raise KeyError(job_id)
    return data


def _cleanup() -> None:
    cutoff = time.time() - KEEP.total_seconds()
    for p in folder().glob("*"):
        try:
            if p.stat().st_mtime < cutoff:
                p.unlink()
        except OSError:
            pass


def start(user_id: int, total: int, work, *, name: str = "ledger.xlsx") -> str:
    """Run ``work(path, progress)`` in a thread; ``progress(done)`` reports rows written.

    Returns the job id at once. ``work`` must write the finished file at ``path``. With
    ``total`` 0 the progress is unknown until the end (the page shows an indeterminate bar).
    """
    _cleanup()
    job_id = secrets.token_hex(16)
    state = {"id": job_id, "user_id": user_id, "state": "running", "done": 0, "total": total, "name": name,
             "error": None, "started": time.time()}
    _write(job_id, state)
    target = file_path(job_id, name)

    def progress(done: int) -> None:
        now = time.monotonic()
        if done < total and now - progress.last < 0.2:  # a status write at most 5 times a second
            return
        progress.last = now
        _write(job_id, {**state, "done": min(int(done), total)})

    progress.last = 0.0

    def run() -> None:
        tmp = target.with_suffix(".part")
        try:
            work(tmp, progress)
            os.replace(tmp, target)
            _write(job_id, {**state, "state": "done", "done": total, "finished": time.time()})
        except Exception as e:  # the person sees that it failed; the log has why
            log.exception("ledger export %s failed", job_id)
            _write(job_id, {**state, "state": "failed", "error": str(e)[:300]})
            try:
                tmp.unlink()
            except OSError:
                pass

    threading.Thread(target=run, name=f"export-{job_id[:8]}", daemon=True).start()
    return job_id


def wait(job_id: str, user_id: int, timeout: float = 30.0) -> dict:
    """Block until the job is no longer running (tests and the no-script fallback)."""
    end = time.monotonic() + timeout
    while True:
        s = status(job_id, user_id)
        if s["state"] != "running" or time.monotonic() > end:
            return s
        time.sleep(0.05)
