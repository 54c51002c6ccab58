"""measure_evidence: removed before submission; form_stash: what a refused form held, for the page it returns to (revision 0015)"""
from alembic import op
import sqlalchemy as sa

revision = '0015'
down_revision = '0020'


def upgrade() -> None:
    with op.batch_alter_table('measure_evidence', schema=None) as batch_op:
        batch_op.add_column(sa.Column('removed_seq', sa.Integer(), nullable=True))
    op.create_table(
        'form_stash',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_form_stash_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_form_stash')),
    )
    with op.batch_alter_table('form_stash', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_form_stash_created_at'), ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('form_stash', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_form_stash_created_at'))
    op.drop_table('form_stash')
    with op.batch_alter_table('measure_evidence', schema=None) as batch_op:
        batch_op.drop_column('removed_seq')
