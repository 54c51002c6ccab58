"""public feedback: a keyed hash of the sender's address (per-address rate limit) and the reopened measure (revision 0004, 2026-11-30)"""
from alembic import op
import sqlalchemy as sa

revision = '0004'
down_revision = '0003'


def upgrade() -> None:
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('measure_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_feedback_measure_id_measures'), 'measures', ['measure_id'], ['id'])
        batch_op.create_index('ix_feedback_source_created', ['source_hash', 'created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.drop_index('ix_feedback_source_created')
        batch_op.drop_constraint(batch_op.f('fk_feedback_measure_id_measures'), type_='foreignkey')
        batch_op.drop_column('measure_id')
        batch_op.drop_column('source_hash')
