"""Files Rectify writes for people (exports, notices, backups): checked first, written whole or not at all.

:func:`check` refuses a target that cannot be a new regular file (a missing folder, a folder, a
device node such as ``/dev/full``, a path one of ``refuse`` names, such as the live database)
before any work is done. :func:`atomic` writes beside the target under a ``.part`` name and moves
it into place only when the writing succeeded: a failure (a full disk, a killed process) leaves the
old file as it was and no ``.part`` behind, and any ``OSError`` becomes one :class:`OutputError`.
"""
from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path


class OutputError(Exception):
    """A file could not be written where asked; the message names the file and why."""

    rule = "output"


def _same(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check(path: str | Path, refuse: Iterable[tuple[str | Path, str]] = ()) -> Path:
    """``path`` if a regular file may be written there; :class:`OutputError` naming it otherwise.

    ``refuse`` pairs a path that must never be overwritten with the reason given (the live
    database and its journal files, say): refused by name and by identity (a link to it).
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    for other, why in refuse:
        other = Path(other)
        if path.resolve() == other.resolve() or _same(path, other):
            raise OutputError(f"{path}: {why}")
    if not folder.is_dir():
        raise OutputError(f"{path}: the folder {folder} does not exist")
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as e:
        raise OutputError(f"{path}: {e.strerror}") from None
    if mode is not None and not stat.S_ISREG(mode):
        kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file (a device, pipe or socket)"
        raise OutputError(f"{path}: is {kind}; give the name of a file to write")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"{path}: the folder {folder} is not writable")
    return path


def part_of(path: Path) -> Path:
    """The temporary name ``path`` is written under until it is complete."""
    return path.with_name(f".{path.name}.part")


@contextmanager
def atomic(path: str | Path, refuse: Iterable[tuple[str | Path, str]] = ()) -> Iterator[Path]:
    """Yield the temporary path to write; on success it replaces ``path``, on failure it is removed.

    The target is :func:`check`-ed first. An ``OSError`` while writing (no space, no permission)
    is raised as :class:`OutputError`; other errors pass through unchanged (the ``.part`` is gone).
    """
    path = check(path, refuse)
    tmp = part_of(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as e:
        _remove(tmp)
        raise OutputError(f"{path}: could not be written: {e.strerror or e}") from None
    except BaseException:
        _remove(tmp)
        raise


def _remove(tmp: Path) -> None:
    try:
        tmp.unlink()
    except FileNotFoundError:
        pass
    except OSError:  # pragma: no cover - nothing more can be done about it
        pass


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` whole or not at all (see :func:`atomic`)."""
    with atomic(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    return Path(path)
