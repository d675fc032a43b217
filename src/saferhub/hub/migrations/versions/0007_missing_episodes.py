"""children missing from home or care (issue 25): homes and their staff, missing people, episodes,
where found (police only), Philomena profiles and their holders, rule alerts.

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('missing_homes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=True),
    sa.Column('places', sa.Integer(), nullable=False),
    sa.Column('operator_agency_id', sa.Integer(), nullable=True),
    sa.Column('council_agency_id', sa.Integer(), nullable=True),
    sa.Column('created_by_agency_id', sa.Integer(), nullable=False),
    sa.Column('simulated', sa.Boolean(), nullable=False),
    sa.CheckConstraint("kind IN ('care_home', 'foster_home', 'family_home', 'other')", name='ck_missing_home_kind'),
    sa.CheckConstraint('places >= 1', name='ck_missing_home_places'),
    sa.ForeignKeyConstraint(['council_agency_id'], ['agencies.id'], ),
    sa.ForeignKeyConstraint(['created_by_agency_id'], ['agencies.id'], ),
    sa.ForeignKeyConstraint(['location_id'], ['locations.id'], ),
    sa.ForeignKeyConstraint(['operator_agency_id'], ['agencies.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('missing_homes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_missing_homes_council_agency_id'), ['council_agency_id'], unique=False)

    op.create_table('missing_home_staff',
    sa.Column('home_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['home_id'], ['missing_homes.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('home_id', 'user_id')
    )
    with op.batch_alter_table('missing_home_staff', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_missing_home_staff_user_id'), ['user_id'], unique=False)

    op.create_table('missing_people',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('council_agency_id', sa.Integer(), nullable=True),
    sa.Column('home_id', sa.Integer(), nullable=True),
    sa.Column('in_care', sa.Boolean(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('created_by_agency_id', sa.Integer(), nullable=False),
    sa.Column('simulated', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['council_agency_id'], ['agencies.id'], ),
    sa.ForeignKeyConstraint(['created_by_agency_id'], ['agencies.id'], ),
    sa.ForeignKeyConstraint(['home_id'], ['missing_homes.id'], ),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('person_id')
    )
    with op.batch_alter_table('missing_people', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_missing_people_council_agency_id'), ['council_agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_missing_people_home_id'), ['home_id'], unique=False)

    op.create_table('missing_alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule', sa.String(length=60), nullable=False),
    sa.Column('rule_version', sa.Integer(), nullable=False),
    sa.Column('missing_person_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=120), nullable=False),
    sa.Column('triggered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('detail', sa.String(length=300), nullable=False),
    sa.Column('from_agency_id', sa.Integer(), nullable=True),
    sa.Column('to_agency_id', sa.Integer(), nullable=True),
    sa.Column('referral_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['from_agency_id'], ['agencies.id'], ),
    sa.ForeignKeyConstraint(['missing_person_id'], ['missing_people.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['to_agency_id'], ['agencies.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('rule', 'missing_person_id', 'key', name='uq_missing_alert')
    )
    with op.batch_alter_table('missing_alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_missing_alerts_to_agency_id'), ['to_agency_id'], unique=False)

    op.create_table('missing_episodes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('missing_person_id', sa.Integer(), nullable=False),
    sa.Column('home_id', sa.Integer(), nullable=False),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('returned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('risk', sa.String(length=20), nullable=True),
    sa.Column('interview_offered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('interview_done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('interview_by', sa.String(length=200), nullable=True),
    sa.Column('interview_declined', sa.Boolean(), nullable=False),
    sa.Column('created_by_agency_id', sa.Integer(), nullable=False),
    sa.Column('simulated', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("risk IN ('no_apparent_risk', 'low', 'medium', 'high')", name='ck_missing_episode_risk'),
    sa.ForeignKeyConstraint(['created_by_agency_id'], ['agencies.id'], ),
    sa.ForeignKeyConstraint(['home_id'], ['missing_homes.id'], ),
    sa.ForeignKeyConstraint(['missing_person_id'], ['missing_people.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('missing_episodes', schema=None) as batch_op:
        batch_op.create_index('ix_missing_episodes_home_reported', ['home_id', 'reported_at'], unique=False)
        batch_op.create_index('ix_missing_episodes_person_reported', ['missing_person_id', 'reported_at'], unique=False)

    op.create_table('missing_profiles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('missing_person_id', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('likely_places', sa.Text(), nullable=True),
    sa.Column('associates', sa.Text(), nullable=True),
    sa.Column('health', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['missing_person_id'], ['missing_people.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('missing_person_id')
    )
    op.create_table('missing_found',
    sa.Column('episode_id', sa.Integer(), nullable=False),
    sa.Column('description', sa.String(length=300), nullable=True),
    sa.Column('uprn', sa.String(length=12), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('at_home', sa.Boolean(), nullable=False),
    sa.Column('place_key', sa.String(length=120), nullable=True),
    sa.ForeignKeyConstraint(['episode_id'], ['missing_episodes.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('episode_id')
    )
    with op.batch_alter_table('missing_found', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_missing_found_place_key'), ['place_key'], unique=False)

    op.create_table('missing_profile_holders',
    sa.Column('profile_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], ),
    sa.ForeignKeyConstraint(['profile_id'], ['missing_profiles.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('profile_id', 'agency_id')
    )
    with op.batch_alter_table('missing_profile_holders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_missing_profile_holders_agency_id'), ['agency_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('missing_profile_holders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_missing_profile_holders_agency_id'))

    op.drop_table('missing_profile_holders')
    with op.batch_alter_table('missing_found', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_missing_found_place_key'))

    op.drop_table('missing_found')
    op.drop_table('missing_profiles')
    with op.batch_alter_table('missing_episodes', schema=None) as batch_op:
        batch_op.drop_index('ix_missing_episodes_person_reported')
        batch_op.drop_index('ix_missing_episodes_home_reported')

    op.drop_table('missing_episodes')
    with op.batch_alter_table('missing_alerts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_missing_alerts_to_agency_id'))

    op.drop_table('missing_alerts')
    with op.batch_alter_table('missing_people', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_missing_people_home_id'))
        batch_op.drop_index(batch_op.f('ix_missing_people_council_agency_id'))

    op.drop_table('missing_people')
    with op.batch_alter_table('missing_home_staff', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_missing_home_staff_user_id'))

    op.drop_table('missing_home_staff')
    with op.batch_alter_table('missing_homes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_missing_homes_council_agency_id'))

    op.drop_table('missing_homes')
