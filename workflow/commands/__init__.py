"""Write commands: each one database transaction, all or nothing.

:func:`fire` (in :mod:`workflow.commands.measures`) is the lifecycle's command and the hot path.
"""
from __future__ import annotations

from .measures import Result, fire, record_creation, write_checked

__all__ = ["Result", "fire", "record_creation", "write_checked"]
