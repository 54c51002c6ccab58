"""Uploads waiting for the office's review: a file is kept on the server between the steps of an import.

The import page (upload → the detected mapping and the dry run → confirm) must not carry the file
in the session, so :func:`stage` checks it and keeps it under ``<instance>/imports/<token>/``
(the file under its own safe name, so the import report names it, and ``meta.json`` with whose it
is and the choices made so far). A staged file belongs to the person who uploaded it; it is
removed after the import, or a day after the upload (:func:`clean`). Like the jobs' files, uploads
age by the wall clock: a worker on another process cleans them up.

Checks on the way in: the name's suffix (.xlsx/.xlsm ledger, .txt/.docx notice), the size
(:data:`MAX_BYTES`), and the content: an Office file must pass the archive checks of
:mod:`.archive`, a text must decode and must not be a known binary type.

:func:`check` (detected mapping and dry run) and :func:`run` (the real import) do the work; a web
request calls them for a small file (:func:`inline`), a worker for a large one (jobs ``import_check``
and ``import_run`` in :mod:`workflow.jobs`). Both answer plain JSON-ready dicts, and a file the
importer refuses is an answer (``error``), not an exception, so a worker records it the same way.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import shutil
import tempfile
from pathlib import Path

from sqlalchemy.engine import Engine

from .. import db
from ..errors import NotFound
from ..clock import utcnow
from . import ImportRefused, LEDGER_SUFFIXES, NOTICE_SUFFIXES, LedgerImportError, detect, import_file
from .archive import DOCX, MAX_FILE_BYTES, XLSX, ArchiveError, check_archive
from .notice_text import NoticeError, read_text

KEEP = dt.timedelta(days=1)  # an upload nobody imported is removed after this
MAX_BYTES = MAX_FILE_BYTES
INLINE_BYTES = 256 * 1024  # up to this size a web request checks and imports; larger files go to a worker
META = "meta.json"


def folder() -> Path:
    """Where uploads wait: ``<instance>/imports``."""
    path = db.instance_dir() / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _safe_name(name: str) -> str:
    from ..evidence import safe_name

    return safe_name(name)


def _check_content(path: Path) -> None:
    """Refuse a file whose content is not what its suffix says (``bad_file``)."""
    from ..evidence import sniff

    suffix = path.suffix.lower()
    try:
        if suffix in LEDGER_SUFFIXES:
            check_archive(path, XLSX, max_bytes=MAX_BYTES)
        elif suffix == ".docx":
            check_archive(path, DOCX, max_bytes=MAX_BYTES)
    except ArchiveError as e:
        raise ImportRefused("bad_file", str(e)) from None
    if suffix == ".txt":
        head = path.read_bytes()[:8192]
        if sniff(head) is not None:
            raise ImportRefused("bad_file", f"不是文本文件 (not a text file): {path.name}")
        try:
            read_text(path)
        except NoticeError as e:
            raise ImportRefused("bad_file", f"无法读取文本 (cannot read the text): {e}") from None


def stage(data: bytes, filename: str, owner_id: int) -> dict:
    """Check an uploaded file and keep it for ``owner_id``; its :func:`get` record.

    Raises :class:`ImportRefused` (``unsupported_file``, ``empty_file``, ``file_too_large``,
    ``bad_file``) and keeps nothing then.
    """
    name = _safe_name(filename)
    suffix = Path(name).suffix.lower()
    if suffix not in LEDGER_SUFFIXES + NOTICE_SUFFIXES:
        raise ImportRefused("unsupported_file", f"只能导入 .xlsx 台账或 .txt/.docx 通报 "
                                                f"(expected an .xlsx ledger or a .txt/.docx notice): {name}")
    if not data:
        raise ImportRefused("empty_file", f"文件为空 (the file is empty): {name}")
    if len(data) > MAX_BYTES:
        raise ImportRefused("file_too_large", f"文件过大 (file too large): {name} is {len(data) / 1048576:.1f} MB, "
                                              f"the limit is {MAX_BYTES // 1048576} MB")
    token = secrets.token_hex(16)
    place = folder() / token
    place.mkdir()
    try:
        path = place / name
        path.write_bytes(data)
        _check_content(path)
        meta = {"token": token, "owner": owner_id, "name": name, "size": len(data),
                "kind": "ledger" if suffix in LEDGER_SUFFIXES else "notice",
                "created_at": utcnow().isoformat(), "mapping": {}, "plan": None, "jobs": {}}
        _write_meta(place, meta)
    except BaseException:
        shutil.rmtree(place, ignore_errors=True)
        raise
    return get(token, owner_id)


def _write_meta(place: Path, meta: dict) -> None:
    fd, tmp = tempfile.mkstemp(dir=place, suffix=".part")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(meta, fh, ensure_ascii=False)
    os.replace(tmp, place / META)


def get(token: str, owner_id: int) -> dict:
    """The staged upload ``token`` of ``owner_id``: its meta with ``path``; NotFound if there is none
    (removed, expired, or someone else's)."""
    if not (isinstance(token, str) and len(token) == 32 and token.isalnum()):
        raise NotFound("no such upload")
    place = folder() / token
    try:
        meta = json.loads((place / META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise NotFound("no such upload") from None
    if meta.get("owner") != owner_id or not (place / meta["name"]).is_file():
        raise NotFound("no such upload")
    meta["path"] = str(place / meta["name"])
    return meta


def update(token: str, owner_id: int, **changes) -> dict:
    """Record the office's choices on an upload (``mapping``, ``plan``, ``jobs``); the new record."""
    meta = get(token, owner_id)
    unknown = set(changes) - {"mapping", "plan", "jobs"}
    if unknown:
        raise ValueError(f"not a choice of an upload: {sorted(unknown)}")
    meta.update(changes)
    meta.pop("path")
    _write_meta(folder() / token, meta)
    return get(token, owner_id)


def discard(token: str) -> None:
    """Remove an upload (after its import)."""
    if isinstance(token, str) and len(token) == 32 and token.isalnum():
        shutil.rmtree(folder() / token, ignore_errors=True)


def clean(*, now: dt.datetime | None = None) -> int:
    """Remove uploads staged more than :data:`KEEP` before ``now`` (the wall clock), and broken ones
    as old; how many."""
    cutoff = (now or utcnow()).replace(tzinfo=None) - KEEP
    wall = cutoff.replace(tzinfo=dt.UTC).timestamp()
    removed = 0
    for place in folder().iterdir():
        try:
            meta = json.loads((place / META).read_text(encoding="utf-8"))
            old = dt.datetime.fromisoformat(meta["created_at"]) < cutoff
        except (OSError, ValueError, KeyError, TypeError):
            old = place.stat().st_mtime < wall
        if old:
            if place.is_dir():
                shutil.rmtree(place, ignore_errors=True)
            else:
                place.unlink(missing_ok=True)
            removed += 1
    return removed


def inline(meta: dict) -> bool:
    """Whether a web request may check and import this upload itself (a small file)."""
    return meta["size"] <= INLINE_BYTES


# --- the work ---------------------------------------------------------------------------------

REFUSALS = (LedgerImportError, ImportRefused, ArchiveError, NotFound, NoticeError)


def _error(e: Exception) -> dict:
    """A refusal (one of :data:`REFUSALS`) as data: ``{kind, message, issues|line|rule}``."""
    if isinstance(e, LedgerImportError):
        return {"kind": "ledger_import", "message": e.summary(), "issues": [i.as_dict() for i in e.issues]}
    if isinstance(e, NoticeError):
        return {"kind": "notice", "message": e.message, "line": e.line, "source": e.source}
    if isinstance(e, ImportRefused):
        return {"kind": "refused", "rule": e.rule, "message": str(e)}
    if isinstance(e, ArchiveError):
        return {"kind": "refused", "rule": "bad_file", "message": str(e)}
    return {"kind": "not_found", "message": str(e)}


def _jsonable(value):
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


def check(meta: dict, *, now: dt.datetime, engine: Engine | None = None) -> dict:
    """How the upload would be read with its choices: ``{mapping, detected, report, error}``.

    ``detected`` is :func:`workflow.importing.detect` (a ledger's headers with the field each maps
    to, its first rows), the fields as the dry run read them (a plan remembers its header map);
    ``report`` the dry run's import report, or ``error`` why it was refused.
    """
    out: dict = {"mapping": meta["mapping"], "plan": meta["plan"], "detected": None, "report": None, "error": None}
    try:
        if meta["kind"] == "ledger":
            out["detected"] = detect(meta["path"], meta["mapping"] or None)
        out["report"] = import_file(meta["path"], dry_run=True, **_options(meta), now=now, engine=engine)
        used = (out["report"].get("columns") or {}).get((out["detected"] or {}).get("sheet"))
        if used:  # what the import reads, with the plan's remembered header map too
            out["detected"]["headers"] = used
    except REFUSALS as e:
        out["error"] = _error(e)
    return _jsonable(out)


def _options(meta: dict) -> dict:
    if meta["kind"] != "ledger":
        return {}
    return {"mapping": meta["mapping"] or None, "plan_id": meta["plan"]}


def run(meta: dict, actor: str, *, now: dt.datetime, engine: Engine | None = None) -> dict:
    """Import the upload for real with its choices: ``{report, error}``; the upload is removed when done."""
    out: dict = {"token": meta["token"], "name": meta["name"], "kind": meta["kind"], "report": None, "error": None}
    try:
        out["report"] = import_file(meta["path"], **_options(meta), actor=actor, now=now, engine=engine)
    except REFUSALS as e:
        out["error"] = _error(e)
    else:
        discard(meta["token"])
    return _jsonable(out)
