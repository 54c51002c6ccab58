"""One page of a list: the page number and size clamped once, the total, and how many pages.

Every list that pages (the API's measures, problems and inbox; the ledger, supervision and
feedback pages) goes through :func:`paginate` and answers a :class:`Page`.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Self, TypeVar

from sqlalchemy import func, select
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import UnaryExpression
from sqlalchemy.engine import Connection

MAX_PER_PAGE = 200
MAX_PAGE = 100_000

P = TypeVar("P", bound="Page")


def clamp(page, per_page, default_per_page: int = 50) -> tuple[int, int]:
    """``(page, per_page)`` as whole numbers within 1..MAX_PAGE and 1..MAX_PER_PAGE.

    Anything that is not a number gives page 1 and ``default_per_page``.
    """
    try:
        page = int(page)
    except (TypeError, ValueError):
        page = 1
    try:
        per_page = int(per_page)
    except (TypeError, ValueError):
        per_page = default_per_page
    return min(MAX_PAGE, max(1, page)), min(MAX_PER_PAGE, max(1, per_page))


@dataclass(frozen=True)
class Page:
    """``items`` of page ``page`` (from 1) of ``total`` items, ``per_page`` to a page."""

    items: Sequence[Any] = field(default_factory=list)
    page: int = 1
    per_page: int = 50
    total: int = 0

    @property
    def pages(self) -> int:
        """How many pages there are; at least one, so an empty list still has a page 1."""
        return max(1, math.ceil(self.total / self.per_page))

    def map(self, fn: Callable) -> Self:
        """The same page with ``fn`` applied to each item."""
        return self.with_items(fn(item) for item in self.items)

    def with_items(self, items: Iterable) -> Self:
        return self._copy(type(self), items=list(items))

    def extend(self, cls: type[P], **extra) -> P:
        """This page as a ``cls`` (a subclass adding fields such as ``unread``) with ``extra`` set."""
        return self._copy(cls, **extra)

    def _copy(self, cls: type[P], **changes) -> P:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        return cls(**values)

    def to_dict(self) -> dict:
        """A plain dict of every field and ``pages`` (items as they are)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["pages"] = self.pages
        return out


def paginate(conn: Connection, query, order, page, per_page, *, key=None, narrow=None, total: int | None = None,
             default_per_page: int = 50) -> Page:
    """One page of the rows of ``query`` (a ``select``) in ``order`` (a list of columns).

    ``page`` and ``per_page`` are clamped here. With ``key`` (a unique column of the query, such
    as the measure id) the offset is walked on a narrow query of that column alone, then the
    page's wide rows are fetched by key. ``narrow``: that query of the key alone, with only the
    joins its filters and order need (default: ``query`` with its columns cut to the key). A page
    in the second half is walked from the end in the reversed order, so the last page costs what
    the first does. ``order`` must end in a unique column for a stable order. ``total``: the count,
    when the caller knows it already (kept tallies), so it is not counted again.
    """
    page, per_page = clamp(page, per_page, default_per_page)
    offset = (page - 1) * per_page
    if key is None:
        total = conn.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar_one()
        rows = list(conn.execute(query.order_by(*order).limit(per_page).offset(offset)).all())
        return Page(rows, page, per_page, total)
    narrow = query.with_only_columns(key) if narrow is None else narrow
    if total is None:
        total = conn.execute(select(func.count()).select_from(narrow.order_by(None).subquery())).scalar_one()
    if offset >= total:
        keys = []
    elif offset > total // 2:  # walk from the end: the rows before the last ``total - offset`` ones
        from_end = total - offset - per_page
        n = per_page + min(0, from_end)
        keys = [r[0] for r in conn.execute(narrow.order_by(*(reverse(o) for o in order))
                                           .limit(n).offset(max(0, from_end)))][::-1]
    else:
        keys = [r[0] for r in conn.execute(narrow.order_by(*order).limit(per_page).offset(offset))]
    rows = list(conn.execute(query.where(key.in_(keys)).order_by(*order)).all()) if keys else []
    return Page(rows, page, per_page, total)


def reverse(clause):
    """The opposite direction of one ORDER BY term (``col``, ``col.asc()`` or ``col.desc()``)."""
    if isinstance(clause, UnaryExpression) and clause.modifier is operators.desc_op:
        return clause.element.asc()
    if isinstance(clause, UnaryExpression) and clause.modifier is operators.asc_op:
        return clause.element.desc()
    return clause.desc()
