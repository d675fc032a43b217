"""a signed audit head: `audit_head.mac` = HMAC(key, seq + hash) under the key of the newest row,
so setting the head back (after deleting the newest rows) needs the key, not only SQL.

Existing heads keep NULL until the next audit row; an unsigned head verifies only where a signed
checkpoint names exactly that row (`hub init` writes one).

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('audit_head', sa.Column('mac', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('audit_head', schema=None) as batch_op:
        batch_op.drop_column('mac')
