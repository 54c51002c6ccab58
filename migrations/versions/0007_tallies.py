"""dashboard tallies kept by triggers: measures by key and by unit (following a problem moved to another part),
events by China day (revision 0007, 2026-12-02)"""
from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'

NONE_DAY = "1900-01-01"  # deadline_key of a measure whose light no deadline sets (workflow.tallies.NO_DEADLINE)
COLUMNS = ("problem_id", "unit_id", "state", "deadline", "deadline_original", "closed_at")
KEY = "part_id, unit_key, state, deadline_key, late"
UNIT_KEY = "part_id, unit_key, state, late"
KEYS = {"measure_tallies": KEY, "unit_tallies": UNIT_KEY}


def _key(row: str, dialect: str, named: bool = False, table: str = "measure_tallies") -> str:
    """The key in ``table`` of a measure row (NEW or OLD), as a select list (``named``: with the key's names)."""
    parts = _key_parts(row, dialect, table)
    if named:
        parts = [f"{p} AS {name}" for p, name in zip(parts, KEYS[table].split(", "))]
    return ", ".join(parts)


def _key_parts(row: str, dialect: str, table: str) -> list[str]:
    """The expressions of the key in ``table`` of a measure row, the part first."""
    promised = f"coalesce({row}.deadline_original, {row}.deadline)"
    if dialect == "sqlite":
        none_day, end = f"'{NONE_DAY}'", f"datetime({promised}, '+16 hours')"
    else:
        none_day, end = f"DATE '{NONE_DAY}'", f"{promised} + interval '16 hours'"
    parts = [f"(SELECT part_id FROM problems WHERE id = {row}.problem_id)", f"coalesce({row}.unit_id, 0)",
             f"{row}.state",
             f"CASE WHEN {row}.state IN ('assigned', 'in_progress') AND {row}.deadline IS NOT NULL "
             f"THEN {row}.deadline ELSE {none_day} END",
             f"CASE WHEN {row}.state = 'closed' AND {row}.closed_at IS NOT NULL AND {promised} IS NOT NULL "
             f"AND {row}.closed_at >= {end} THEN 1 ELSE 0 END"]
    if table == "unit_tallies":
        del parts[3]
    return parts


def _problem_moved(dialect: str) -> str:
    """A problem filed under another part (a re-imported ledger): its measures' counts move with it."""
    out = []
    for table, key in KEYS.items():
        exprs, names = _key_parts("m", dialect, table)[1:], key.split(", ")[1:]
        mine = " AND ".join(f"{e} = {table}.{n}" for e, n in zip(exprs, names))
        out.append(f"UPDATE {table} SET n = n - (SELECT count(*) FROM measures m WHERE m.problem_id = NEW.id "
                   f"AND {mine}) WHERE part_id = OLD.part_id;")
        out.append(f"INSERT INTO {table} ({key}, n) SELECT NEW.part_id, {', '.join(exprs)}, count(*) "
                   f"FROM measures m WHERE m.problem_id = NEW.id GROUP BY {', '.join(exprs)} "
                   f"ON CONFLICT ({key}) DO UPDATE SET n = {table}.n + excluded.n;")
    return " ".join(out)


def _add(row: str, dialect: str, table: str = "measure_tallies") -> str:
    key = KEYS[table]
    return (f"INSERT INTO {table} ({key}, n) SELECT {_key(row, dialect, table=table)}, 1 WHERE true "
            f"ON CONFLICT ({key}) DO UPDATE SET n = {table}.n + 1;")


def _remove(row: str, dialect: str, table: str = "measure_tallies") -> str:
    return f"UPDATE {table} SET n = n - 1 WHERE ({KEYS[table]}) = (SELECT {_key(row, dialect, table=table)});"


def _both(step, row: str, dialect: str) -> str:
    return f"{step(row, dialect)} {step(row, dialect, 'unit_tallies')}"


def _day(row: str, dialect: str) -> str:
    return f"date({row}.at, '+8 hours')" if dialect == "sqlite" else f"date({row}.at + interval '8 hours')"


def _event_add(row: str, dialect: str) -> str:
    return (f"INSERT INTO event_tallies (kind, day, n) SELECT {row}.kind, {_day(row, dialect)}, 1 "
            f"WHERE {row}.kind IN ('submit', 'sign_off', 'reopen') "
            f"ON CONFLICT (kind, day) DO UPDATE SET n = event_tallies.n + 1;")


def _event_remove(row: str, dialect: str) -> str:
    return f"UPDATE event_tallies SET n = n - 1 WHERE kind = {row}.kind AND day = {_day(row, dialect)};"


def _changed(dialect: str) -> str:
    op_ = "IS NOT" if dialect == "sqlite" else "IS DISTINCT FROM"
    return " OR ".join(f"OLD.{c} {op_} NEW.{c}" for c in COLUMNS)


def _sqlite_triggers() -> list[str]:
    d = "sqlite"
    return [
        f"CREATE TRIGGER tally_measure_insert AFTER INSERT ON measures BEGIN {_both(_add, 'NEW', d)} END",
        f"CREATE TRIGGER tally_measure_delete AFTER DELETE ON measures BEGIN {_both(_remove, 'OLD', d)} END",
        f"CREATE TRIGGER tally_measure_update AFTER UPDATE OF {', '.join(COLUMNS)} ON measures "
        f"WHEN {_changed(d)} BEGIN {_both(_remove, 'OLD', d)} {_both(_add, 'NEW', d)} END",
        f"CREATE TRIGGER tally_event_insert AFTER INSERT ON events BEGIN {_event_add('NEW', d)} END",
        f"CREATE TRIGGER tally_event_delete AFTER DELETE ON events BEGIN {_event_remove('OLD', d)} END",
        f"CREATE TRIGGER tally_event_update AFTER UPDATE OF kind, at ON events BEGIN "
        f"{_event_remove('OLD', d)} {_event_add('NEW', d)} END",
        f"CREATE TRIGGER tally_problem_part AFTER UPDATE OF part_id ON problems "
        f"WHEN OLD.part_id IS NOT NEW.part_id BEGIN {_problem_moved(d)} END",
    ]


def _postgres_triggers() -> list[str]:
    d = "postgresql"
    # an update touches its two rows in key order, so two commands moving measures in opposite
    # directions between the same keys wait for each other instead of deadlocking
    u = "unit_tallies"
    measure_fn = f"""
CREATE FUNCTION tally_measure() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    {_both(_add, 'NEW', d)}
  ELSIF TG_OP = 'DELETE' THEN
    {_both(_remove, 'OLD', d)}
  ELSE
    IF ROW({_key('OLD', d)}) < ROW({_key('NEW', d)}) THEN
      {_remove('OLD', d)}
      {_add('NEW', d)}
    ELSE
      {_add('NEW', d)}
      {_remove('OLD', d)}
    END IF;
    IF ROW({_key('OLD', d, table=u)}) < ROW({_key('NEW', d, table=u)}) THEN
      {_remove('OLD', d, u)}
      {_add('NEW', d, u)}
    ELSIF ROW({_key('OLD', d, table=u)}) > ROW({_key('NEW', d, table=u)}) THEN
      {_add('NEW', d, u)}
      {_remove('OLD', d, u)}
    END IF;
  END IF;
  RETURN NULL;
END $$"""
    event_fn = f"""
CREATE FUNCTION tally_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    {_event_remove('OLD', d)}
  END IF;
  IF TG_OP IN ('UPDATE', 'INSERT') THEN
    {_event_add('NEW', d)}
  END IF;
  RETURN NULL;
END $$"""
    return [
        measure_fn,
        "CREATE TRIGGER tally_measure AFTER INSERT OR DELETE ON measures FOR EACH ROW EXECUTE FUNCTION tally_measure()",
        f"CREATE TRIGGER tally_measure_update AFTER UPDATE OF {', '.join(COLUMNS)} ON measures FOR EACH ROW "
        f"WHEN ({_changed(d)}) EXECUTE FUNCTION tally_measure()",
        event_fn,
        "CREATE TRIGGER tally_event AFTER INSERT OR DELETE OR UPDATE OF kind, at ON events FOR EACH ROW "
        "EXECUTE FUNCTION tally_event()",
        f"CREATE FUNCTION tally_problem_part() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN {_problem_moved(d)} RETURN NULL; END $$",
        "CREATE TRIGGER tally_problem_part AFTER UPDATE OF part_id ON problems FOR EACH ROW "
        "WHEN (OLD.part_id IS DISTINCT FROM NEW.part_id) EXECUTE FUNCTION tally_problem_part()",
    ]


def upgrade() -> None:
    op.create_table(
        'measure_tallies',
        sa.Column('part_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('unit_key', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('deadline_key', sa.Date(), nullable=False),
        sa.Column('late', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('part_id', 'unit_key', 'state', 'deadline_key', 'late',
                                name=op.f('pk_measure_tallies')),
    )
    op.create_index('ix_measure_tallies_state_deadline', 'measure_tallies', ['state', 'deadline_key'])
    op.create_table(
        'unit_tallies',
        sa.Column('part_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('unit_key', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('late', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('part_id', 'unit_key', 'state', 'late', name=op.f('pk_unit_tallies')),
    )
    op.create_table(
        'event_tallies',
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('kind', 'day', name=op.f('pk_event_tallies')),
    )
    dialect = op.get_bind().dialect.name
    for table, key in KEYS.items():
        op.execute(f"INSERT INTO {table} ({key}, n) SELECT {key}, count(*) FROM "
                   f"(SELECT {_key('m', dialect, named=True, table=table)} FROM measures m) k GROUP BY {key}")
    op.execute(f"INSERT INTO event_tallies (kind, day, n) SELECT e.kind, {_day('e', dialect)}, count(*) FROM events e "
               f"WHERE e.kind IN ('submit', 'sign_off', 'reopen') GROUP BY e.kind, {_day('e', dialect)}")
    for stmt in (_sqlite_triggers() if dialect == "sqlite" else _postgres_triggers()):
        op.execute(stmt)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in ("tally_measure_insert", "tally_measure_delete", "tally_measure_update", "tally_event_insert",
                     "tally_event_delete", "tally_event_update", "tally_problem_part"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        op.execute("DROP TRIGGER IF EXISTS tally_problem_part ON problems")
        op.execute("DROP FUNCTION IF EXISTS tally_problem_part()")
        op.execute("DROP TRIGGER IF EXISTS tally_measure ON measures")
        op.execute("DROP TRIGGER IF EXISTS tally_measure_update ON measures")
        op.execute("DROP TRIGGER IF EXISTS tally_event ON events")
        op.execute("DROP FUNCTION IF EXISTS tally_measure()")
        op.execute("DROP FUNCTION IF EXISTS tally_event()")
    op.drop_table('event_tallies')
    op.drop_table('unit_tallies')
    op.drop_index('ix_measure_tallies_state_deadline', table_name='measure_tallies')
    op.drop_table('measure_tallies')
