"""an index on incidents.occurred_at: the briefing counts the same 24 hours in each of the last
four weeks (the usual for the weekday) and lists the last 24 hours' incidents by time ranges,
instead of scanning the newest 200,000 incidents by id.

Revision ID: 0008
Revises: 0007
"""
from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_incidents_occurred_at', 'incidents', ['occurred_at'])


def downgrade() -> None:
    op.drop_index('ix_incidents_occurred_at', table_name='incidents')
