"""Firing a trigger with uploaded files: the files are written first, and taken back if the command fails.

The API, the pages and the command line check every rule before they keep an upload
(:func:`workflow.readmodels.preflight`), but the measure may change between that check and the
command's transaction: the command can still be refused, or lose a race (a conflict). Then the
files this request brought into the store, and that nothing else refers to, are removed again
(:func:`workflow.evidence.discard`), so no orphan is left behind.
"""
from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable

from sqlalchemy.engine import Engine

from .. import evidence as ev
from .measures import Result, fire

log = logging.getLogger(__name__)


def fire_with_files(measure_id: int, trigger: str, actor: str, files: Iterable[tuple[bytes, str]], *,
                    engine: Engine | None = None, **kw) -> Result:
    """Store ``files`` (``(bytes, name)``), then :func:`workflow.commands.fire` with them; if storing
    or firing fails, the files this call wrote are removed and the error is raised unchanged. The
    result's ``repeated`` names the files not linked: those the measure already had, and a file given
    twice (its second name)."""
    stored: list[ev.Stored] = []
    try:
        for data, name in files:
            stored.append(ev.store(data, name))
        result = fire(measure_id, trigger, actor, evidence=stored, engine=engine, **kw)
    except BaseException:
        try:
            ev.discard(stored, engine)
        except Exception:  # the command's own error is the one to report
            log.warning("could not remove the evidence files of a failed command", exc_info=True)
        raise
    linked, repeated = set(result.evidence), []
    for s in stored:  # the first of each linked file is the one linked; every other name is said
        if s.sha256 in linked:
            linked.discard(s.sha256)
        else:
            repeated.append(s.name)
    return dataclasses.replace(result, repeated=repeated)
