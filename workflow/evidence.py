"""Evidence files: checked by size and magic bytes, stored content-addressed (sha256)."""
from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import filetype

from . import db, settings

ALLOWED = {
    "image/jpeg", "image/png", "image/gif", "image/webp", "image/heic",
    "application/pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def max_bytes() -> int:
    """The largest evidence file accepted (``RECTIFY_MAX_UPLOAD_MB``)."""
    return settings.get().max_upload_mb * 1024 * 1024


class EvidenceRefused(ValueError):
    """An upload was refused: too large, empty, or not the kind of file it claims to be."""

    def __init__(self, rule: str, message: str):
        super().__init__(message)
        self.rule = rule
        self.message = message


@dataclass(frozen=True)
class Stored:
    sha256: str
    size: int
    mime: str
    name: str


def safe_name(name: str) -> str:
    """Keep only the last path component and printable characters."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip().lstrip(".")
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '<>:"|?*')
    return name[:200] or "evidence"


def sniff(data: bytes) -> str | None:
    kind = filetype.guess(data)
    return kind.mime if kind else None


def store(data: bytes, name: str, root: Path | None = None) -> Stored:
    """Check and store one file; return its content address. Idempotent."""
    if not data:
        raise EvidenceRefused("evidence_empty", f"{safe_name(name)}: the file is empty")
    if len(data) > max_bytes():
        raise EvidenceRefused("evidence_too_large",
                              f"{safe_name(name)}: larger than {max_bytes() // (1024 * 1024)} MB")
    mime = sniff(data)
    if mime not in ALLOWED:
        raise EvidenceRefused("evidence_type",
                              f"{safe_name(name)}: not an accepted image, PDF, Word or Excel file")
    sha = hashlib.sha256(data).hexdigest()
    root = root or db.evidence_dir()
    folder = root / sha[:2]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / sha
    if not path.exists():
        fd, tmp = tempfile.mkstemp(dir=folder)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    return Stored(sha, len(data), mime, safe_name(name))


def path_of(sha: str, root: Path | None = None) -> Path:
    if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise EvidenceRefused("evidence_unknown", "no such evidence")
    return (root or db.evidence_dir()) / sha[:2] / sha
