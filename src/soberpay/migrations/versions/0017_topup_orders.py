"""top-ups through payment channels (WeChat Pay, Alipay): one row per QR order, paid at most once per
provider transaction id

Revision ID: 0017_topup_orders
Revises: 0018_back_office
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

from soberpay.adapters.db.base import UTCDateTime

revision = "0017_topup_orders"
down_revision = "0018_back_office"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "topup_orders",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("guest_id", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("amount_fen", sa.BigInteger, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("code_url", sa.String(256), nullable=False, server_default=""),
        sa.Column("provider_txn_id", sa.String(64)),
        sa.Column("posting_id", sa.String(32)),
        sa.Column("note", sa.String(200), nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("id", name="pk_topup_orders"),
        sa.ForeignKeyConstraint(["guest_id"], ["guests.id"], name="fk_topup_orders_guest_id_guests"),
        sa.ForeignKeyConstraint(
            ["posting_id"], ["ledger_postings.id"], name="fk_topup_orders_posting_id_ledger_postings"
        ),
        sa.UniqueConstraint("channel", "provider_txn_id", name="uq_topup_provider_txn"),
    )
    op.create_index("ix_topup_orders_guest_id", "topup_orders", ["guest_id"])
    op.create_index("ix_topup_orders_state", "topup_orders", ["state"])
    op.create_index("ix_topup_orders_created_at", "topup_orders", ["created_at"])


def downgrade() -> None:
    op.drop_table("topup_orders")
