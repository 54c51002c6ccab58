"""The errors every layer shares: a stale write and a thing that is not there (or not yours).

A refused rule is :class:`workflow.spec.Refused`, which names the rule.
"""
from __future__ import annotations


class Conflict(Exception):
    """The measure changed since the caller read it (stale version)."""

    rule = "conflict"

    def __init__(self, measure_id: int, expected: int | None, actual: int | None):
        self.measure_id, self.expected, self.actual = measure_id, expected, actual
        super().__init__(
            f"measure {measure_id} changed: version {expected} expected, now {actual}; reload and retry"
        )


class NotFound(Exception):
    """No such thing, or one the caller may not see: both answer alike, so nothing leaks."""

    rule = "not_found"
