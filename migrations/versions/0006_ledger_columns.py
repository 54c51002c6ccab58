"""ledgers from any office: cells with no column of their own kept on the measure, a plan's header map (revision 0006, 2026-12-03)"""
from alembic import op
import sqlalchemy as sa

revision = '0006'
down_revision = '0005'


def upgrade() -> None:
    with op.batch_alter_table('measures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('extra', sa.JSON(none_as_null=True), nullable=True))
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('column_map', sa.JSON(none_as_null=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.drop_column('column_map')
    with op.batch_alter_table('measures', schema=None) as batch_op:
        batch_op.drop_column('extra')
