"""the working-day calendar the office keeps: imported holiday schedules per year, and their days (revision 0008, 2026-12-02)"""
from alembic import op
import sqlalchemy as sa

revision = '0008'
down_revision = '0007'


def upgrade() -> None:
    op.create_table(
        'calendar_imports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=10), nullable=False),
        sa.Column('filename', sa.String(length=255), nullable=True),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('imported_by', sa.String(length=80), nullable=False),
        sa.Column('imported_at', sa.DateTime(), nullable=False),
        sa.Column('holidays', sa.Integer(), nullable=False),
        sa.Column('workdays', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_imports')),
    )
    with op.batch_alter_table('calendar_imports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calendar_imports_year'), ['year'], unique=False)
    op.create_table(
        'calendar_days',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('import_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(['import_id'], ['calendar_imports.id'],
                                name=op.f('fk_calendar_days_import_id_calendar_imports')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_days')),
        sa.UniqueConstraint('import_id', 'day', name=op.f('uq_calendar_days_import_id')),
    )
    with op.batch_alter_table('calendar_days', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calendar_days_import_id'), ['import_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('calendar_days', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calendar_days_import_id'))
    op.drop_table('calendar_days')
    with op.batch_alter_table('calendar_imports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calendar_imports_year'))
    op.drop_table('calendar_imports')
