"""sign-in throttle per (account, source) and keyed audit entries.

`login_attempts` is rebuilt (it only holds the last hour's failures, so nothing of value is lost):
one row per outcome with the normalised e-mail, the source and whether it succeeded. Audit rows get
`key_id` and `mac` (HMAC with a key kept outside the database); rows written before this revision
keep NULLs and are verified by their hash chain and the signed checkpoints only.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 09:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_login_attempts_key_at')
    op.drop_table('login_attempts')
    op.create_table('login_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_login_attempts_email_at', ['email', 'at'], unique=False)
        batch_op.create_index('ix_login_attempts_source_at', ['source', 'at'], unique=False)
        batch_op.create_index('ix_login_attempts_at', ['at'], unique=False)
    # plain ADD COLUMN (no batch copy): the append-only triggers on audit_events stay in place
    op.add_column('audit_events', sa.Column('key_id', sa.String(length=40), nullable=True))
    op.add_column('audit_events', sa.Column('mac', sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column('audit_events', 'mac')
    op.drop_column('audit_events', 'key_id')
    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_login_attempts_at')
        batch_op.drop_index('ix_login_attempts_source_at')
        batch_op.drop_index('ix_login_attempts_email_at')
    op.drop_table('login_attempts')
    op.create_table('login_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=250), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_login_attempts_key_at', ['key', 'at'], unique=False)
