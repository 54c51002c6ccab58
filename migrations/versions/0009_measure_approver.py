"""measures: who approved the current submission, so four eyes covers submitter, approver and signer (revision 0009, 2026-12-02)"""
from alembic import op
import sqlalchemy as sa

revision = '0009'
down_revision = '0008'


def upgrade() -> None:
    with op.batch_alter_table('measures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('approver_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_measures_approver_id_users'), 'users', ['approver_id'], ['id'])
    # measures waiting for sign-off today: their approver is the actor of their newest approve event
    op.execute(
        "UPDATE measures SET approver_id = (SELECT u.id FROM events e JOIN users u ON u.username = e.actor "
        "WHERE e.measure_id = measures.id AND e.kind = 'approve' ORDER BY e.seq DESC LIMIT 1) "
        "WHERE state = 'verified'"
    )


def downgrade() -> None:
    with op.batch_alter_table('measures', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_measures_approver_id_users'), type_='foreignkey')
        batch_op.drop_column('approver_id')
