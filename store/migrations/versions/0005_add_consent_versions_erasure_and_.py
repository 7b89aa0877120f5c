"""add consent versions, erasure and inbound address links

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('addresses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('address_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_inbound_messages_address_id'), ['address_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_inbound_messages_address_id_addresses'), 'addresses', ['address_id'], ['id'], ondelete='CASCADE')

    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consent_version', sa.String(length=16), server_default='1', nullable=False))

    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.alter_column('resident_id',
               existing_type=sa.INTEGER(),
               nullable=True)
        batch_op.alter_column('channel',
               existing_type=sa.VARCHAR(length=16),
               nullable=True)



def downgrade() -> None:
    # Anonymous responses of erased residents cannot exist in the older schema.
    op.execute("DELETE FROM responses WHERE resident_id IS NULL")
    op.execute("UPDATE responses SET channel = 'unknown' WHERE channel IS NULL")
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.alter_column('channel',
               existing_type=sa.VARCHAR(length=16),
               nullable=False)
        batch_op.alter_column('resident_id',
               existing_type=sa.INTEGER(),
               nullable=False)

    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.drop_column('consent_version')

    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_inbound_messages_address_id_addresses'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_inbound_messages_address_id'))
        batch_op.drop_column('address_id')

    with op.batch_alter_table('addresses', schema=None) as batch_op:
        batch_op.drop_column('erased_at')
