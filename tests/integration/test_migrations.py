"""The migrations build exactly the schema the models declare, on SQLite and PostgreSQL."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from workflow.models import Base


def _declared_elsewhere(name, type_, parent_names) -> bool:
    """The keyword search's own objects (migration 0016): SQLite's FTS5 table and its shadow tables,
    PostgreSQL's trigram indexes. No model declares them; they are tested by the search tests."""
    if type_ == "table" and name and name.startswith("search_measures"):
        return False
    if type_ == "index" and name and name.endswith("_trgm"):
        return False
    return True


def test_migrated_schema_matches_the_models(engine):
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": _declared_elsewhere})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == []
