"""back office: the menu in the database (seeded from the bundled/configured file on first start) and
Chinese room names

Revision ID: 0018_back_office
Revises: 0016_deliveries
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

from soberpay.adapters.db.base import UTCDateTime

revision = "0018_back_office"
down_revision = "0016_deliveries"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "menu_items",
        sa.Column("sku", sa.String(40), primary_key=True),
        sa.Column("name_en", sa.String(80), nullable=False),
        sa.Column("name_zh", sa.String(80), nullable=False, server_default=""),
        sa.Column("category", sa.String(20), nullable=False),
        sa.Column("price_fen", sa.BigInteger(), nullable=False),
        sa.Column("volume_ml", sa.Float(), nullable=False, server_default="0"),
        sa.Column("abv_percent", sa.Float(), nullable=False, server_default="0"),
        sa.Column("alcohol", sa.Boolean(), nullable=False),
        sa.Column("high_price", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("available", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("position", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    with op.batch_alter_table("rooms") as batch:
        batch.add_column(sa.Column("name_zh", sa.String(64), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("rooms") as batch:
        batch.drop_column("name_zh")
    op.drop_table("menu_items")
