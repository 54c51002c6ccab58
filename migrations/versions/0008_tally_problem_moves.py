"""dashboard tallies follow a problem moved to another part (revision 0008, 2026-12-02)

The tallies of 0007 key a measure by its problem's part, read when the measure row is written; a
problem moved to another part (a re-imported ledger that files it elsewhere) changed no measure
row, so its measures stayed counted under the old part. A trigger on ``problems`` now moves them.
"""
from alembic import op

revision = '0008'
down_revision = '0007'

NONE_DAY = "1900-01-01"
KEYS = {"measure_tallies": ("unit_key", "state", "deadline_key", "late"),
        "unit_tallies": ("unit_key", "state", "late")}


def _exprs(dialect: str, table: str) -> list[str]:
    """A measure ``m``'s key in ``table`` without the part (as 0007 computes it)."""
    promised = "coalesce(m.deadline_original, m.deadline)"
    if dialect == "sqlite":
        none_day, end = f"'{NONE_DAY}'", f"datetime({promised}, '+16 hours')"
    else:
        none_day, end = f"DATE '{NONE_DAY}'", f"{promised} + interval '16 hours'"
    parts = ["coalesce(m.unit_id, 0)", "m.state",
             f"CASE WHEN m.state IN ('assigned', 'in_progress') AND m.deadline IS NOT NULL "
             f"THEN m.deadline ELSE {none_day} END",
             f"CASE WHEN m.state = 'closed' AND m.closed_at IS NOT NULL AND {promised} IS NOT NULL "
             f"AND m.closed_at >= {end} THEN 1 ELSE 0 END"]
    if table == "unit_tallies":
        del parts[2]
    return parts


def _move(dialect: str) -> str:
    out = []
    for table, names in KEYS.items():
        exprs = _exprs(dialect, table)
        cols = ", ".join(names)
        mine = " AND ".join(f"{e} = {table}.{n}" for e, n in zip(exprs, names))
        out.append(f"UPDATE {table} SET n = n - (SELECT count(*) FROM measures m WHERE m.problem_id = NEW.id "
                   f"AND {mine}) WHERE part_id = OLD.part_id;")
        out.append(f"INSERT INTO {table} (part_id, {cols}, n) SELECT NEW.part_id, {', '.join(exprs)}, count(*) "
                   f"FROM measures m WHERE m.problem_id = NEW.id GROUP BY {', '.join(exprs)} "
                   f"ON CONFLICT (part_id, {cols}) DO UPDATE SET n = {table}.n + excluded.n;")
    return " ".join(out)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("CREATE TRIGGER tally_problem_part AFTER UPDATE OF part_id ON problems "
                   f"WHEN OLD.part_id IS NOT NEW.part_id BEGIN {_move(dialect)} END")
    else:
        op.execute(f"CREATE FUNCTION tally_problem_part() RETURNS trigger LANGUAGE plpgsql AS $$ "
                   f"BEGIN {_move(dialect)} RETURN NULL; END $$")
        op.execute("CREATE TRIGGER tally_problem_part AFTER UPDATE OF part_id ON problems FOR EACH ROW "
                   "WHEN (OLD.part_id IS DISTINCT FROM NEW.part_id) EXECUTE FUNCTION tally_problem_part()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS tally_problem_part")
    else:
        op.execute("DROP TRIGGER IF EXISTS tally_problem_part ON problems")
        op.execute("DROP FUNCTION IF EXISTS tally_problem_part()")
