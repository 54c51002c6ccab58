"""The wall clock, in the one form the database keeps: naive UTC."""
from __future__ import annotations

import datetime as dt


def utcnow() -> dt.datetime:
    """Now, as naive UTC (how every time is stored)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
