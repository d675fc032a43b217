"""indexes for the daily briefing's bounded queries: overdue actions, high-risk reviews due,
ASB powers expiring.

Revision ID: 0004
Revises: 0003
"""
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_actions_status_due', 'actions', ['status', 'due_on'])
    op.create_index('ix_cases_review', 'cases', ['status', 'risk', 'review_on'])
    op.create_index(op.f('ix_asb_powers_expires_at'), 'asb_powers', ['expires_at'])


def downgrade() -> None:
    op.drop_index(op.f('ix_asb_powers_expires_at'), table_name='asb_powers')
    op.drop_index('ix_cases_review', table_name='cases')
    op.drop_index('ix_actions_status_due', table_name='actions')
