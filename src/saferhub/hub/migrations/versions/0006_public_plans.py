"""plans.public and plans.public_summary: "you said, we did" on the public neighbourhood pages.

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('plans') as batch:
        batch.add_column(sa.Column('public', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column('public_summary', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('plans') as batch:
        batch.drop_column('public_summary')
        batch.drop_column('public')
