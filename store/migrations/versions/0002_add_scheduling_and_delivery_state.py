"""add scheduling and delivery state

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('addresses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unreachable_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('unreachable_code', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('last_inbound_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=16), nullable=False, server_default='reply'))
        batch_op.add_column(sa.Column('survey_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('delivery_status', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('locale', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('template_variables', sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f('ix_outbox_provider_message_id'), ['provider_message_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_survey_id'), ['survey_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_outbox_survey_id_surveys'), 'surveys', ['survey_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('surveys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('opens_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('closes_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('segment', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('channels', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('invite_cursor', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('invitations_done_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('reminders_done_at', sa.DateTime(timezone=True), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('surveys', schema=None) as batch_op:
        batch_op.drop_column('reminders_done_at')
        batch_op.drop_column('invitations_done_at')
        batch_op.drop_column('invite_cursor')
        batch_op.drop_column('channels')
        batch_op.drop_column('segment')
        batch_op.drop_column('closes_at')
        batch_op.drop_column('opens_at')

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_outbox_survey_id_surveys'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_outbox_survey_id'))
        batch_op.drop_index(batch_op.f('ix_outbox_provider_message_id'))
        batch_op.drop_column('template_variables')
        batch_op.drop_column('locale')
        batch_op.drop_column('delivery_status')
        batch_op.drop_column('survey_id')
        batch_op.drop_column('kind')

    with op.batch_alter_table('addresses', schema=None) as batch_op:
        batch_op.drop_column('last_inbound_at')
        batch_op.drop_column('unreachable_code')
        batch_op.drop_column('unreachable_at')

