"""add topics, organisations, outcomes and audit log

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('subject', sa.String(length=64), nullable=False),
    sa.Column('details', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)

    op.create_table('organisations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('contact_email', sa.String(length=254), nullable=True),
    sa.Column('locale', sa.String(length=8), server_default='nl', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organisations')),
    sa.UniqueConstraint('slug', name=op.f('uq_organisations_slug'))
    )
    op.create_table('scheduled_runs',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('ran_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_scheduled_runs'))
    )
    op.create_table('moderator_prompts',
    sa.Column('moderator_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('suggestion_id', sa.Integer(), nullable=False),
    sa.Column('asked_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['suggestion_id'], ['suggestions.id'], name=op.f('fk_moderator_prompts_suggestion_id_suggestions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('moderator_id', name=op.f('pk_moderator_prompts'))
    )
    op.create_table('supports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('suggestion_id', sa.Integer(), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_supports_resident_id_residents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['suggestion_id'], ['suggestions.id'], name=op.f('fk_supports_suggestion_id_suggestions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supports')),
    sa.UniqueConstraint('suggestion_id', 'resident_id', name=op.f('uq_supports_suggestion_id_resident_id'))
    )
    with op.batch_alter_table('supports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supports_resident_id'), ['resident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_supports_suggestion_id'), ['suggestion_id'], unique=False)

    op.create_table('survey_outcomes',
    sa.Column('survey_id', sa.Integer(), nullable=False),
    sa.Column('texts', sa.JSON(), nullable=False),
    sa.Column('recorded_by', sa.String(length=100), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['survey_id'], ['surveys.id'], name=op.f('fk_survey_outcomes_survey_id_surveys'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('survey_id', name=op.f('pk_survey_outcomes'))
    )
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('context', sa.JSON(), nullable=True))

    with op.batch_alter_table('suggestions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('neighbourhood', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('title', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('merged_into_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('decision_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_suggestions_status'), ['status'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_suggestions_merged_into_id_suggestions'), 'suggestions', ['merged_into_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('surveys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('organisation_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('topic_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('topic_followers_told_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_surveys_organisation_id_organisations'), 'organisations', ['organisation_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(batch_op.f('fk_surveys_topic_id_suggestions'), 'suggestions', ['topic_id'], ['id'], ondelete='SET NULL')



def downgrade() -> None:
    with op.batch_alter_table('surveys', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_surveys_topic_id_suggestions'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_surveys_organisation_id_organisations'), type_='foreignkey')
        batch_op.drop_column('topic_followers_told_at')
        batch_op.drop_column('topic_id')
        batch_op.drop_column('organisation_id')

    with op.batch_alter_table('suggestions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_suggestions_merged_into_id_suggestions'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_suggestions_status'))
        batch_op.drop_column('decided_at')
        batch_op.drop_column('decision_reason')
        batch_op.drop_column('merged_into_id')
        batch_op.drop_column('title')
        batch_op.drop_column('neighbourhood')

    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_column('context')

    op.drop_table('survey_outcomes')
    with op.batch_alter_table('supports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supports_suggestion_id'))
        batch_op.drop_index(batch_op.f('ix_supports_resident_id'))

    op.drop_table('supports')
    op.drop_table('moderator_prompts')
    op.drop_table('scheduled_runs')
    op.drop_table('organisations')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_at'))

    op.drop_table('audit_log')
