"""an index on cases (owner_id, id): "my cases" (`GET /cases?mine=true`, the caseworker's morning
list) walked every case newest first until it found 50 of the caseworker's own: 7,657 rows and
37 ms at 100k cases for a caseworker who owns 881 of them. With the index it reads just theirs
(1.1 ms, EXPLAIN ANALYZE).

Revision ID: 0009
Revises: 0008
"""
from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_cases_owner', 'cases', ['owner_id', 'id'])


def downgrade() -> None:
    op.drop_index('ix_cases_owner', table_name='cases')
