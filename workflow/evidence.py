"""Evidence files: checked by size and magic bytes, stored content-addressed (sha256).

- :func:`store` checks one upload and writes it under ``<root>/<ab>/<sha256>``; the name kept
  for it ends in the extension of the type its bytes are (a GIF named ``evil.html`` is kept as
  ``evil.gif``, a Word file named ``setup.exe`` as ``setup.docx``), so no download is ever
  opened as something it is not. A store that cannot be written (read-only, full) is
  :class:`EvidenceUnavailable`, not a crash.
- Files are written before the command that links them runs; :func:`discard` removes the ones a
  refused or conflicting command brought in and nothing else refers to, and :func:`claim_on` (called
  by the command when it first links a file) makes sure the file it links is still there. Both
  hold a lock on the file's hash for the length of their transaction, so a cleanup and a command
  linking the same bytes never cross.
- :func:`read_verified` reads a file for serving and refuses one whose bytes no longer match its
  sha256.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import filetype
from sqlalchemy import select, text
from sqlalchemy.engine import Connection, Engine

from . import db, settings
from .effects import Refused

# the accepted kinds, by the mime type their bytes show, with the extension they are kept under
EXTENSIONS = {
    "image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif", "image/webp": ".webp", "image/heic": ".heic",
    "application/pdf": ".pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
}
ALLOWED = set(EXTENSIONS)
SAME_KIND = {".jpeg": ".jpg", ".jpe": ".jpg", ".heif": ".heic"}  # other names for a kept extension


def max_bytes() -> int:
    """The largest evidence file accepted (``RECTIFY_MAX_UPLOAD_MB``)."""
    return settings.get().max_upload_mb * 1024 * 1024


class EvidenceRefused(ValueError):
    """An upload was refused: too large, empty, or not the kind of file it claims to be."""

    def __init__(self, rule: str, message: str, name: str | None = None):
        super().__init__(message)
        self.rule = rule
        self.message = message
        self.name = name  # the file refused, as the person named it (shown back to them)


class EvidenceUnavailable(EvidenceRefused):
    """The evidence store cannot be written or read right now (read-only, full, damaged file)."""


@dataclass(frozen=True)
class Stored:
    sha256: str
    size: int
    mime: str
    name: str
    fresh: bool = field(default=False, compare=False)  # this call wrote the file (it was not there)


def safe_name(name: str) -> str:
    """Keep only the last path component and printable characters."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip().lstrip(".")
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '<>:"|?*')
    return name[:200] or "evidence"


def kept_name(name: str, mime: str) -> str:
    """``name`` made safe and ending in the extension of ``mime`` (the type the bytes are).

    A matching extension is kept (``.jpeg`` for a JPEG too); any other is replaced, so the name
    never claims another type: ``evil.html`` holding a GIF is ``evil.gif``.
    """
    name = safe_name(name)
    ext = EXTENSIONS.get(mime)
    if ext is None:
        return name
    stem, suffix = os.path.splitext(name)
    if SAME_KIND.get(suffix.lower(), suffix.lower()) == ext:
        return name
    stem = stem.rstrip(". ") or "evidence"
    return stem[:200 - len(ext)] + ext


def sniff(data: bytes) -> str | None:
    kind = filetype.guess(data)
    return kind.mime if kind else None


def store(data: bytes, name: str, root: Path | None = None) -> Stored:
    """Check and store one file; return its content address. Idempotent."""
    if not data:
        raise EvidenceRefused("evidence_empty", f"{safe_name(name)}: the file is empty", safe_name(name))
    if len(data) > max_bytes():
        raise EvidenceRefused("evidence_too_large",
                              f"{safe_name(name)}: larger than {max_bytes() // (1024 * 1024)} MB", safe_name(name))
    mime = sniff(data)
    if mime not in ALLOWED:
        raise EvidenceRefused("evidence_type",
                              f"{safe_name(name)}: not an accepted image, PDF, Word or Excel file", safe_name(name))
    sha = hashlib.sha256(data).hexdigest()
    try:
        root = root or db.evidence_dir()
        folder = root / sha[:2]
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / sha
        fresh = not path.exists()
        if fresh:
            fd, tmp = tempfile.mkstemp(dir=folder)
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
    except OSError as e:
        raise EvidenceUnavailable("evidence_store_unavailable",
                                  f"the evidence store cannot be written: {e.strerror or e}") from None
    return Stored(sha, len(data), mime, kept_name(name, mime), fresh)


def path_of(sha: str, root: Path | None = None) -> Path:
    if not isinstance(sha, str) or len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise EvidenceRefused("evidence_unknown", "no such evidence")
    return (root or db.evidence_dir()) / sha[:2] / sha


def read_verified(sha: str, root: Path | None = None) -> bytes:
    """The bytes of evidence ``sha``, refused (``evidence_damaged``) unless they still hash to it."""
    path = path_of(sha, root)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise EvidenceUnavailable("evidence_missing", f"evidence {sha[:12]}… is missing from the store") from None
    except OSError as e:
        raise EvidenceUnavailable("evidence_store_unavailable",
                                  f"the evidence store cannot be read: {e.strerror or e}") from None
    if hashlib.sha256(data).hexdigest() != sha:
        raise EvidenceUnavailable("evidence_damaged",
                                  f"evidence {sha[:12]}… no longer matches its sha256: it is not served")
    return data


# --- files written for a command that did not happen -------------------------------------------------

def _lock(conn: Connection, sha: str) -> None:
    """Hold the file's lock until the transaction ends (SQLite: the write lock already serialises)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key(sha)})


def claim_on(cur, sha: str, root: Path | None = None) -> None:
    """Inside the command that first links ``sha``, on its :class:`workflow.precompiled.Cursor`: hold the
    file's lock (as :func:`discard` does) and make sure the file is still in the store."""
    if cur.dialect.name == "postgresql":
        cur.cur.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key(sha),))
    _still_stored(sha, root)


def lock_key(sha: str) -> int:
    """The advisory lock number of a file (the first 60 bits of its sha256)."""
    return int(sha[:15], 16)


def _still_stored(sha: str, root: Path | None) -> None:
    if not path_of(sha, root).is_file():
        raise Refused("evidence_missing", f"evidence {sha[:12]}… is no longer in the store: upload it again")


def discard(stored: list[Stored], engine: Engine | None = None, root: Path | None = None) -> int:
    """Remove the files this request wrote (``fresh``) that no evidence row refers to; return how many."""
    from .models import Evidence

    removed = 0
    fresh = sorted({s.sha256 for s in stored if s.fresh})
    if not fresh:
        return 0
    with db.write_tx(engine) as conn:
        for sha in fresh:
            _lock(conn, sha)
            if conn.execute(select(Evidence.sha256).where(Evidence.sha256 == sha)).first() is None:
                try:
                    path_of(sha, root).unlink()
                    removed += 1
                except FileNotFoundError:
                    pass
    return removed
