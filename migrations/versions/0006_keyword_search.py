"""keyword search over problems, measures and their accounts: SQLite FTS5 (trigram), PostgreSQL pg_trgm (revision 0006)"""
from alembic import op

revision = '0006'
down_revision = '0005'

# one document per measure: its text and account, its problem's text and published account
_DOC = ("COALESCE(m.text, '') || char(10) || COALESCE(m.account, '') || char(10) || "
        "COALESCE(p.text, '') || char(10) || COALESCE(p.account, '')")
_SQLITE = [
    "CREATE VIRTUAL TABLE search_measures USING fts5(body, tokenize='trigram')",
    f"INSERT INTO search_measures(rowid, body) SELECT m.id, {_DOC} FROM measures m JOIN problems p ON p.id = m.problem_id",
    f"""CREATE TRIGGER search_measures_ai AFTER INSERT ON measures BEGIN
        INSERT INTO search_measures(rowid, body) SELECT m.id, {_DOC} FROM measures m JOIN problems p ON p.id = m.problem_id
        WHERE m.id = NEW.id; END""",
    f"""CREATE TRIGGER search_measures_au AFTER UPDATE OF text, account, problem_id ON measures BEGIN
        DELETE FROM search_measures WHERE rowid = OLD.id;
        INSERT INTO search_measures(rowid, body) SELECT m.id, {_DOC} FROM measures m JOIN problems p ON p.id = m.problem_id
        WHERE m.id = NEW.id; END""",
    """CREATE TRIGGER search_measures_ad AFTER DELETE ON measures BEGIN
        DELETE FROM search_measures WHERE rowid = OLD.id; END""",
    f"""CREATE TRIGGER search_problems_au AFTER UPDATE OF text, account ON problems BEGIN
        DELETE FROM search_measures WHERE rowid IN (SELECT id FROM measures WHERE problem_id = NEW.id);
        INSERT INTO search_measures(rowid, body) SELECT m.id, {_DOC} FROM measures m JOIN problems p ON p.id = m.problem_id
        WHERE p.id = NEW.id; END""",
]
_PG_INDEXES = (("ix_measures_text_trgm", "measures", "text"), ("ix_measures_account_trgm", "measures", "account"),
               ("ix_problems_text_trgm", "problems", "text"), ("ix_problems_account_trgm", "problems", "account"))


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in _SQLITE:
            op.execute(statement)
    elif dialect == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, table, column in _PG_INDEXES:
            op.execute(f"CREATE INDEX {name} ON {table} USING gin ({column} gin_trgm_ops)")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for trigger in ("search_measures_ai", "search_measures_au", "search_measures_ad", "search_problems_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS search_measures")
    elif dialect == "postgresql":
        for name, _table, _column in _PG_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
