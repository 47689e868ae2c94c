"""thermal face state: a room's optional thermal camera source, and the latest thermal face-state
report per guest

Revision ID: 0014_thermal_face_state
Revises: 0012_room_presence
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

from soberpay.adapters.db.base import UTCDateTime

revision = "0014_thermal_face_state"
down_revision = "0012_room_presence"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rooms") as batch:
        batch.add_column(sa.Column("thermal_camera_source", sa.String(512), nullable=True))
    op.create_table(
        "thermal_face_states",
        sa.Column("guest_id", sa.String(32), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("room_id", sa.String(32), nullable=True),
        sa.Column("report_json", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["guest_id"], ["guests.id"], name="fk_thermal_face_states_guest_id_guests"),
        sa.PrimaryKeyConstraint("guest_id", name="pk_thermal_face_states"),
    )


def downgrade() -> None:
    op.drop_table("thermal_face_states")
    with op.batch_alter_table("rooms") as batch:
        batch.drop_column("thermal_camera_source")
