"""guests.phone_last4: the last 4 digits of the phone, indexed, so narrowing a large gallery by them is a
lookup rather than a scan of every phone (docs/scaling.md)

Revision ID: 0019_phone_last4
Revises: 0017_topup_orders
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0019_phone_last4"
down_revision = "0017_topup_orders"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("guests") as batch:
        batch.add_column(sa.Column("phone_last4", sa.String(4), nullable=True))
    # substr(x, start) with a positive start means the same on SQLite and PostgreSQL.
    op.execute("UPDATE guests SET phone_last4 = substr(phone, length(phone) - 3) WHERE phone IS NOT NULL")
    op.create_index("ix_guests_phone_last4", "guests", ["phone_last4"])


def downgrade() -> None:
    op.drop_index("ix_guests_phone_last4", table_name="guests")
    with op.batch_alter_table("guests") as batch:
        batch.drop_column("phone_last4")
