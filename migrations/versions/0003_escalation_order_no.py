"""supervision order numbers are unique (revision 0003, 2026-11-30)"""
from alembic import op

revision = '0003'
down_revision = '0002'


def upgrade() -> None:
    # NULLs (every rung but L3) do not collide, on SQLite or PostgreSQL
    op.create_index('ix_escalations_order_no', 'escalations', ['order_no'], unique=True)


def downgrade() -> None:
    op.drop_index('ix_escalations_order_no', table_name='escalations')
