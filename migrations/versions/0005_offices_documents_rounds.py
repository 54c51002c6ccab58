"""any office, any year, several rounds (revision 0005, 2026-12-02)

Unit aliases; cells of a ledger with no column of their own and a plan's header map; jobs for long
work; the working-day calendar an office imports; the approver of a submission; published notice
versions; security events and expiring API tokens; targets with rounds, recurrence links,
举一反三 spreads and a chain of records; evidence removed before submission and the form stash;
supervision order numbers from a counter per year.
"""
import datetime as dt

from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'

TOKEN_DAYS = 90  # tokens made before expiry existed expire this long after they were made


def _col(name: str, type_, null: bool = False, **kw) -> sa.Column:
    return sa.Column(name, type_, nullable=null, **kw)


def _table(name: str, columns: list, *, key: str = 'id', fks: dict | None = None, unique: tuple = (),
           indexes: tuple = ()) -> None:
    """Create ``name`` keyed by ``key`` (an integer ``id`` unless the columns name it), foreign keys
    ``{column: table}``, one unique constraint over ``unique``, and indexes (a column, or (name, columns))."""
    cols = columns if any(c.name == key for c in columns) else [_col('id', sa.Integer())] + columns
    extra = [sa.ForeignKeyConstraint([c], [f'{t}.id'], name=op.f(f'fk_{name}_{c}_{t}')) for c, t in (fks or {}).items()]
    extra.append(sa.PrimaryKeyConstraint(key, name=op.f(f'pk_{name}')))
    if unique:
        extra.append(sa.UniqueConstraint(*unique, name=op.f(f'uq_{name}_{unique[0]}')))
    op.create_table(name, *cols, *extra)
    for ix in indexes:
        ix_name, ix_cols = (op.f(f'ix_{name}_{ix}'), [ix]) if isinstance(ix, str) else ix
        op.create_index(ix_name, name, ix_cols, unique=False)


S, I, T, D, DT = sa.String, sa.Integer, sa.Text, sa.Date, sa.DateTime

def _tables() -> list:
    """The tables in the order they are made (a table's foreign keys name tables made before it)."""
    return [
        ('unit_aliases', [_col('unit_id', I()), _col('alias', S(200))],
         dict(fks={'unit_id': 'org_units'}, unique=('alias',), indexes=('unit_id',))),
        ('jobs', [_col('id', S(32)), _col('kind', S(40)), _col('params', sa.JSON()), _col('owner_id', I()),
                  _col('state', S(10)), _col('done', I()), _col('total', I()), _col('name', S(300)),
                  _col('error', T(), True), _col('attempts', I()), _col('lease_owner', S(120), True),
                  _col('lease_expires', DT(), True), _col('created_at', DT()), _col('started_at', DT(), True),
                  _col('finished_at', DT(), True)],
         dict(fks={'owner_id': 'users'}, indexes=('owner_id', ('ix_jobs_state_created',
                                                                             ['state', 'created_at'])))),
        ('calendar_imports', [_col('year', I()), _col('source', S(10)), _col('filename', S(255), True),
                              _col('sha256', S(64)), _col('text', T()), _col('imported_by', S(80)),
                              _col('imported_at', DT()), _col('holidays', I()), _col('workdays', I())],
         dict(indexes=('year',))),
        ('calendar_days', [_col('import_id', I()), _col('day', D()), _col('kind', S(10))],
         dict(fks={'import_id': 'calendar_imports'}, unique=('import_id', 'day'), indexes=('import_id',))),
        ('notice_versions', [_col('plan_id', I()), _col('version', I()), _col('title', S(300)), _col('document', T()),
                             _col('sha256', S(64)), _col('prev_hash', S(64)), _col('hash', S(64)),
                             _col('published_by', I()), _col('published_at', DT())],
         dict(fks={'plan_id': 'plans', 'published_by': 'users'}, unique=('plan_id', 'version'), indexes=('plan_id',))),
        ('security_events', [_col('at', DT()), _col('kind', S(40)), _col('outcome', S(20)), _col('actor', S(80), True),
                             _col('subject', S(80), True), _col('ip', S(64), True), _col('detail', T(), True)],
         dict(indexes=(('ix_security_events_at', ['at']), ('ix_security_events_kind_at', ['kind', 'at'])))),
        ('form_stash', [_col('id', S(64)), _col('user_id', I(), True), _col('data', sa.JSON()), _col('created_at', DT())],
         dict(fks={'user_id': 'users'}, indexes=('created_at',))),
        ('targets', [_col('name', S(200)), _col('created_at', DT())], dict(unique=('name',))),
        ('spreads', [_col('problem_id', I()), _col('deadline', D()), _col('fix_days', I()), _col('created_by', I()),
                     _col('created_at', DT())],
         dict(fks={'problem_id': 'problems', 'created_by': 'users'}, indexes=('problem_id',))),
        ('recurrence_links', [_col('problem_id', I()), _col('earlier_problem_id', I()), _col('score', sa.Float()),
                              _col('status', S(12)), _col('created_at', DT()), _col('decided_by', I(), True),
                              _col('decided_at', DT(), True)],
         dict(fks={'problem_id': 'problems', 'earlier_problem_id': 'problems', 'decided_by': 'users'},
              unique=('problem_id', 'earlier_problem_id'), indexes=('problem_id', 'earlier_problem_id'))),
        ('records', [_col('kind', S(40)), _col('subject', S(120)), _col('body', T()), _col('actor', S(80)),
                     _col('at', DT()), _col('prev_hash', S(64)), _col('hash', S(64))], {}),
        ('order_counters', [_col('year', I(), autoincrement=False), _col('last', I())], dict(key='year')),
    ]

def _added() -> list:
    """Columns added to tables that exist: (table, [columns], {column: foreign table}, [indexed columns])."""
    return [
        ('inspections', [_col('target_id', I(), True), _col('genre', S(20), server_default='xuncha'),
                         _col('round_no', I(), True)], {'target_id': 'targets'}, ['target_id']),
        ('plans', [_col('column_map', sa.JSON(none_as_null=True), True), _col('target_id', I(), True)],
         {'target_id': 'targets'}, ['target_id']),
        ('users', [_col('target_id', I(), True)], {'target_id': 'targets'}, []),
        ('measures', [_col('extra', sa.JSON(none_as_null=True), True), _col('approver_id', I(), True),
                      _col('spread_id', I(), True), _col('finding', S(10), True), _col('found_by', I(), True)],
         {'approver_id': 'users', 'spread_id': 'spreads', 'found_by': 'measures'}, ['spread_id']),
        ('measure_evidence', [_col('removed_seq', I(), True)], {}, []),
        ('api_tokens', [_col('expires_at', DT(), True)], {}, []),
    ]


def upgrade() -> None:
    for name, columns, options in _tables():
        _table(name, columns, **options)
    for table, columns, fks, indexed in _added():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for c in columns:
                batch_op.add_column(c)
            for c, other in fks.items():
                batch_op.create_foreign_key(batch_op.f(f'fk_{table}_{c}_{other}'), other, [c], ['id'])
            for c in indexed:
                batch_op.create_index(batch_op.f(f'ix_{table}_{c}'), [c], unique=False)
    conn = op.get_bind()
    # measures waiting for sign-off: their approver is the actor of their newest approve event
    conn.execute(sa.text(
        "UPDATE measures SET approver_id = (SELECT u.id FROM events e JOIN users u ON u.username = e.actor "
        "WHERE e.measure_id = measures.id AND e.kind = 'approve' ORDER BY e.seq DESC LIMIT 1) "
        "WHERE state = 'verified'"))
    tokens = sa.table('api_tokens', sa.column('id', I()), sa.column('created_at', DT()), sa.column('expires_at', DT()))
    for token_id, created in conn.execute(sa.select(tokens.c.id, tokens.c.created_at)).all():
        conn.execute(tokens.update().where(tokens.c.id == token_id).values(
            expires_at=created + dt.timedelta(days=TOKEN_DAYS)))
    _rounds(conn)
    # the order numbers already issued: DB-YYYY-NNNN, counted per year
    conn.execute(sa.text(
        "INSERT INTO order_counters (year, last) SELECT CAST(substr(order_no, 4, 4) AS INTEGER), count(*) "
        "FROM escalations WHERE order_no LIKE 'DB-____-%' GROUP BY CAST(substr(order_no, 4, 4) AS INTEGER)"))


def _rounds(conn) -> None:
    """Every inspection named with a target becomes a round of that target, numbered in the order stored."""
    targets: dict[str, int] = {}
    rounds: dict[int, int] = {}
    for insp_id, name in conn.execute(sa.text("SELECT id, target FROM inspections ORDER BY id")).all():
        name = (name or "").strip()
        if not name or name.startswith("（"):
            continue
        if name not in targets:
            conn.execute(sa.text("INSERT INTO targets (name, created_at) VALUES (:n, CURRENT_TIMESTAMP)"), {"n": name})
            targets[name] = conn.execute(sa.text("SELECT id FROM targets WHERE name = :n"), {"n": name}).scalar()
        tid = targets[name]
        rounds[tid] = rounds.get(tid, 0) + 1
        conn.execute(sa.text("UPDATE inspections SET target_id = :t, round_no = :r WHERE id = :i"),
                     {"t": tid, "r": rounds[tid], "i": insp_id})
        conn.execute(sa.text("UPDATE plans SET target_id = :t WHERE inspection_id = :i"), {"t": tid, "i": insp_id})


def downgrade() -> None:
    for table, columns, fks, indexed in reversed(_added()):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for c in indexed:
                batch_op.drop_index(batch_op.f(f'ix_{table}_{c}'))
            for c, other in fks.items():
                batch_op.drop_constraint(batch_op.f(f'fk_{table}_{c}_{other}'), type_='foreignkey')
            for c in reversed(columns):
                batch_op.drop_column(c.name)
    for name, _columns, _options in reversed(_tables()):
        op.drop_table(name)
