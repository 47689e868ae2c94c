"""web: staff accounts, rooms, room device tokens

Revision ID: 0004_web
Revises: 0003_sobriety
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

from soberpay.adapters.db.base import UTCDateTime

revision = "0004_web"
down_revision = "0003_sobriety"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_accounts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.PrimaryKeyConstraint("id", name="pk_staff_accounts"),
        sa.UniqueConstraint("username", name="uq_staff_accounts_username"),
    )
    op.create_table(
        "rooms",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("camera_source", sa.String(512)),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_rooms"),
    )
    op.create_table(
        "room_device_tokens",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("room_id", sa.String(32), nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False),
        sa.Column("label", sa.String(64), nullable=False, server_default=""),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime()),
        sa.PrimaryKeyConstraint("id", name="pk_room_device_tokens"),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"], name="fk_room_device_tokens_room_id_rooms"),
        sa.UniqueConstraint("token_sha256", name="uq_room_device_tokens_token_sha256"),
    )
    op.create_index("ix_room_device_tokens_room_id", "room_device_tokens", ["room_id"])


def downgrade() -> None:
    op.drop_table("room_device_tokens")
    op.drop_table("rooms")
    op.drop_table("staff_accounts")
