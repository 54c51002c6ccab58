"""rounds and recurrence: targets, each inspection a round of its target, recurrence links, 举一反三 spreads, a chain of records (revision 0020, 2026-12-02)"""
from alembic import op
import sqlalchemy as sa

revision = '0020'
down_revision = '0011'


def upgrade() -> None:
    op.create_table(
        'targets',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_targets')),
        sa.UniqueConstraint('name', name=op.f('uq_targets_name')),
    )
    op.create_table(
        'spreads',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('problem_id', sa.Integer(), nullable=False),
        sa.Column('deadline', sa.Date(), nullable=False),
        sa.Column('fix_days', sa.Integer(), nullable=False),
        sa.Column('created_by', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['problem_id'], ['problems.id'], name=op.f('fk_spreads_problem_id_problems')),
        sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_spreads_created_by_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_spreads')),
    )
    op.create_index(op.f('ix_spreads_problem_id'), 'spreads', ['problem_id'], unique=False)
    op.create_table(
        'recurrence_links',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('problem_id', sa.Integer(), nullable=False),
        sa.Column('earlier_problem_id', sa.Integer(), nullable=False),
        sa.Column('score', sa.Float(), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('decided_by', sa.Integer(), nullable=True),
        sa.Column('decided_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['problem_id'], ['problems.id'], name=op.f('fk_recurrence_links_problem_id_problems')),
        sa.ForeignKeyConstraint(['earlier_problem_id'], ['problems.id'],
                                name=op.f('fk_recurrence_links_earlier_problem_id_problems')),
        sa.ForeignKeyConstraint(['decided_by'], ['users.id'], name=op.f('fk_recurrence_links_decided_by_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_recurrence_links')),
        sa.UniqueConstraint('problem_id', 'earlier_problem_id', name=op.f('uq_recurrence_links_problem_id')),
    )
    op.create_index(op.f('ix_recurrence_links_problem_id'), 'recurrence_links', ['problem_id'], unique=False)
    op.create_index(op.f('ix_recurrence_links_earlier_problem_id'), 'recurrence_links', ['earlier_problem_id'],
                    unique=False)
    op.create_table(
        'records',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('subject', sa.String(length=120), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('actor', sa.String(length=80), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('prev_hash', sa.String(length=64), nullable=False),
        sa.Column('hash', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_records')),
    )
    with op.batch_alter_table('inspections', schema=None) as batch_op:
        batch_op.add_column(sa.Column('target_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('genre', sa.String(length=20), nullable=False, server_default='xuncha'))
        batch_op.add_column(sa.Column('round_no', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_inspections_target_id_targets'), 'targets', ['target_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_inspections_target_id'), ['target_id'], unique=False)
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('target_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_plans_target_id_targets'), 'targets', ['target_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_plans_target_id'), ['target_id'], unique=False)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('target_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_users_target_id_targets'), 'targets', ['target_id'], ['id'])
    with op.batch_alter_table('measures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('spread_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('finding', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('found_by', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_measures_spread_id_spreads'), 'spreads', ['spread_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_measures_found_by_measures'), 'measures', ['found_by'], ['id'])
        batch_op.create_index(batch_op.f('ix_measures_spread_id'), ['spread_id'], unique=False)
    # every inspection named with a target becomes a round of that target, numbered in the order stored
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, target FROM inspections ORDER BY id")).all()
    targets: dict[str, int] = {}
    rounds: dict[int, int] = {}
    for insp_id, name in rows:
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
    with op.batch_alter_table('measures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_measures_spread_id'))
        batch_op.drop_constraint(batch_op.f('fk_measures_found_by_measures'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_measures_spread_id_spreads'), type_='foreignkey')
        batch_op.drop_column('found_by')
        batch_op.drop_column('finding')
        batch_op.drop_column('spread_id')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_users_target_id_targets'), type_='foreignkey')
        batch_op.drop_column('target_id')
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plans_target_id'))
        batch_op.drop_constraint(batch_op.f('fk_plans_target_id_targets'), type_='foreignkey')
        batch_op.drop_column('target_id')
    with op.batch_alter_table('inspections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inspections_target_id'))
        batch_op.drop_constraint(batch_op.f('fk_inspections_target_id_targets'), type_='foreignkey')
        batch_op.drop_column('round_no')
        batch_op.drop_column('genre')
        batch_op.drop_column('target_id')
    op.drop_table('records')
    op.drop_index(op.f('ix_recurrence_links_earlier_problem_id'), table_name='recurrence_links')
    op.drop_index(op.f('ix_recurrence_links_problem_id'), table_name='recurrence_links')
    op.drop_table('recurrence_links')
    op.drop_index(op.f('ix_spreads_problem_id'), table_name='spreads')
    op.drop_table('spreads')
    op.drop_table('targets')
