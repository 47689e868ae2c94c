"""deliveries: paid items a waiter carries to the room (new → preparing → delivered, or cancelled)

Revision ID: 0016_deliveries
Revises: 0011_consent_language
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

from soberpay.adapters.db.base import UTCDateTime

revision = "0016_deliveries"
down_revision = "0011_consent_language"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deliveries",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("order_id", sa.String(32), sa.ForeignKey("payment_orders.id"), nullable=False, unique=True),
        sa.Column("guest_id", sa.String(32), sa.ForeignKey("guests.id"), nullable=False),
        sa.Column("room_id", sa.String(32)),
        sa.Column("sku", sa.String(40), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
    )
    for column in ("guest_id", "room_id", "state", "updated_at"):
        op.create_index(f"ix_deliveries_{column}", "deliveries", [column])


def downgrade() -> None:
    op.drop_table("deliveries")
