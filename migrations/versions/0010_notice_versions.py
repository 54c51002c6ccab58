"""published notices: frozen text per plan, chained by hash (revision 0010, 2026-12-02)"""
from alembic import op
import sqlalchemy as sa

revision = '0010'
down_revision = '0009'


def upgrade() -> None:
    op.create_table(
        'notice_versions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('plan_id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=300), nullable=False),
        sa.Column('document', sa.Text(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('prev_hash', sa.String(length=64), nullable=False),
        sa.Column('hash', sa.String(length=64), nullable=False),
        sa.Column('published_by', sa.Integer(), nullable=False),
        sa.Column('published_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], name=op.f('fk_notice_versions_plan_id_plans')),
        sa.ForeignKeyConstraint(['published_by'], ['users.id'], name=op.f('fk_notice_versions_published_by_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_versions')),
        sa.UniqueConstraint('plan_id', 'version', name=op.f('uq_notice_versions_plan_id')),
    )
    with op.batch_alter_table('notice_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_versions_plan_id'), ['plan_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('notice_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_versions_plan_id'))
    op.drop_table('notice_versions')
