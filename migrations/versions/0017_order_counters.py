"""supervision order numbers from a counter per year (revision 0017, 2026-12-02)"""
from alembic import op
import sqlalchemy as sa

revision = '0017'
down_revision = '0016'


def upgrade() -> None:
    op.create_table(
        'order_counters',
        sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('last', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('year', name=op.f('pk_order_counters')),
    )
    # the numbers already issued: DB-YYYY-NNNN, counted per year as next_order_no did
    op.execute("INSERT INTO order_counters (year, last) "
               "SELECT CAST(substr(order_no, 4, 4) AS INTEGER), count(*) FROM escalations "
               "WHERE order_no LIKE 'DB-____-%' GROUP BY CAST(substr(order_no, 4, 4) AS INTEGER)")


def downgrade() -> None:
    op.drop_table('order_counters')
