"""room sessions: which room each guest is in (room_presence), and the room on every order, pending
request, staff alert and audit row

Revision ID: 0012_room_presence
Revises: 0006_guest_names
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

from soberpay.adapters.db.base import UTCDateTime

revision = "0012_room_presence"
down_revision = "0006_guest_names"
branch_labels = None
depends_on = None

ROOM_COLUMNS = ("payment_orders", "pending_requests", "staff_notifications", "audit_log")


def upgrade() -> None:
    op.create_table(
        "room_presence",
        sa.Column("guest_id", sa.String(32), nullable=False),
        sa.Column("room_id", sa.String(32), nullable=False),
        sa.Column("since", UTCDateTime(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.ForeignKeyConstraint(["guest_id"], ["guests.id"], name="fk_room_presence_guest_id_guests"),
        sa.PrimaryKeyConstraint("guest_id", name="pk_room_presence"),
    )
    op.create_index("ix_room_presence_room_id", "room_presence", ["room_id"])
    for table in ROOM_COLUMNS:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("room_id", sa.String(32), nullable=True))
        op.create_index(f"ix_{table}_room_id", table, ["room_id"])


def downgrade() -> None:
    for table in ROOM_COLUMNS:
        op.drop_index(f"ix_{table}_room_id", table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("room_id")
    op.drop_index("ix_room_presence_room_id", table_name="room_presence")
    op.drop_table("room_presence")
