"""org units: aliases (another name a unit goes by), so any office's notices and ledgers map to its units (revision 0005, 2026-12-02)"""
from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'


def upgrade() -> None:
    op.create_table(
        'unit_aliases',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('alias', sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(['unit_id'], ['org_units.id'], name=op.f('fk_unit_aliases_unit_id_org_units')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_unit_aliases')),
        sa.UniqueConstraint('alias', name=op.f('uq_unit_aliases_alias')),
    )
    with op.batch_alter_table('unit_aliases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unit_aliases_unit_id'), ['unit_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('unit_aliases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unit_aliases_unit_id'))
    op.drop_table('unit_aliases')
