"""Write commands: each one database transaction, all or nothing.

:func:`fire` (in :mod:`workflow.commands.measures`) is the lifecycle's command and the hot path.
The others, imported by module: :mod:`.people` (people and roles), :mod:`.feedback` (public
feedback; reopen from feedback), :mod:`.sessions` (web sessions, failed sign-ins, credentials),
:mod:`.tokens` (API tokens), :mod:`.inbox` (marking notifications read). :func:`fire_with_files`
(:mod:`.uploads`) stores uploaded evidence and fires, taking the files back if the command fails.
"""
from __future__ import annotations

from .measures import Result, fire, record_creation, write_checked
from .uploads import fire_with_files

__all__ = ["Result", "fire", "fire_with_files", "record_creation", "write_checked"]
