"""locations record the agency that created them (need-to-know for places on no case).

Existing locations stay NULL: they are then readable only through a case placed there.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('locations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('created_by_agency_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_locations_created_by_agency', 'agencies', ['created_by_agency_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('locations', schema=None) as batch_op:
        batch_op.drop_constraint('fk_locations_created_by_agency', type_='foreignkey')
        batch_op.drop_column('created_by_agency_id')
