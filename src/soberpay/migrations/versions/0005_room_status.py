"""room status heartbeat (rooms may run in their own process: soberpay rooms)

Revision ID: 0005_room_status
Revises: 0004_web
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

from soberpay.adapters.db.base import UTCDateTime

revision = "0005_room_status"
down_revision = "0004_web"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "room_status",
        sa.Column("room_id", sa.String(32), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("status_json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("room_id", name="pk_room_status"),
    )


def downgrade() -> None:
    op.drop_table("room_status")
