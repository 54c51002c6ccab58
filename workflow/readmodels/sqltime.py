"""China dates in SQL: the few date expressions the aggregates need, per dialect.

Times are stored as naive UTC; China has kept UTC+8 without daylight saving since 1991, so a
China date is the UTC time plus eight hours, and a China day ends at 16:00 UTC.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, literal_column

OFFSET_HOURS = 8


def local_date(column, dialect: str):
    """The China date of a naive-UTC timestamp column."""
    if dialect == "sqlite":
        return func.date(column, f"+{OFFSET_HOURS} hours")
    return func.date(column + literal_column(f"interval '{OFFSET_HOURS} hours'"))


def end_of_local_day(date_column, dialect: str):
    """The first UTC instant after the China day ``date_column`` (compared with naive-UTC timestamps)."""
    hours = 24 - OFFSET_HOURS
    if dialect == "sqlite":  # text compared with the stored "YYYY-MM-DD HH:MM:SS.ffffff"
        return func.datetime(date_column, f"+{hours} hours")
    return date_column + literal_column(f"interval '{hours} hours'")


def as_date(value) -> dt.date:
    """A date as SQLite (ISO text) or PostgreSQL (a date) answers it."""
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)
