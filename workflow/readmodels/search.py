"""Keyword search over measures, their problems and both accounts (落实情况), as the ledger filters it.

Chinese has no spaces between words, so the index is of character trigrams, which find any
substring of three characters or more (``小洪河`` inside ``小洪河综合治理``):

- SQLite: the FTS5 table ``search_measures`` with the ``trigram`` tokenizer, one document per
  measure (its text and account, its problem's text and published account), kept up to date by
  triggers on ``measures`` and ``problems`` (migration 0006);
- PostgreSQL: ``pg_trgm`` GIN indexes on those four columns, used by ``ILIKE``.

Several words separated by spaces must all occur. A word shorter than three characters cannot use
a trigram index and is matched by a scan (``LIKE``) of the same text, so it still works.
"""
from __future__ import annotations

from sqlalchemy import and_, column, literal_column, or_, select, table
from sqlalchemy.engine import Connection
from sqlalchemy.orm import aliased

from ..models import Measure, Problem

M = Measure.__table__
FTS = table("search_measures", column("rowid"), column("body"))
MAX_TERMS = 8
MAX_LENGTH = 100


def terms(q: str | None) -> list[str]:
    """The words of a search, at most :data:`MAX_TERMS`, each at most :data:`MAX_LENGTH` characters."""
    words = (q or "").replace("\u3000", " ").split()
    return [w[:MAX_LENGTH] for w in words[:MAX_TERMS]]


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _sqlite(term: str):
    if len(term) >= 3:
        phrase = '"' + term.replace('"', '""') + '"'
        hits = select(FTS.c.rowid).where(literal_column("search_measures").op("MATCH")(phrase))
    else:
        hits = select(FTS.c.rowid).where(FTS.c.body.like(_like(term), escape="\\"))
    return M.c.id.in_(hits)


def _trigram(term: str):
    pattern = _like(term)
    m, p = aliased(Measure), aliased(Problem)
    in_measure = select(m.id).where(or_(m.text.ilike(pattern, escape="\\"), m.account.ilike(pattern, escape="\\")))
    in_problem = select(p.id).where(or_(p.text.ilike(pattern, escape="\\"), p.account.ilike(pattern, escape="\\")))
    return or_(M.c.id.in_(in_measure), M.c.problem_id.in_(in_problem))


def keyword_condition(conn: Connection, q: str | None):
    """A condition on ``measures`` selecting those whose texts contain every word of ``q``
    (None when ``q`` has no words)."""
    words = terms(q)
    if not words:
        return None
    one = _sqlite if conn.dialect.name == "sqlite" else _trigram
    return and_(*(one(w) for w in words))
