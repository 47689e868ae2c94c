"""one payment-password lockout per guest with growing back-off (``password_guards.lockouts``), and
web rate limits in the database so every worker process shares them (``rate_limits``)

Revision ID: 0007_trust
Revises: 0014_thermal_face_state
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_trust"
down_revision = "0014_thermal_face_state"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("password_guards") as batch:
        batch.add_column(sa.Column("lockouts", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "rate_limits",
        sa.Column("bucket", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("window", sa.BigInteger(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("bucket", "key", "window", name="pk_rate_limits"),
    )


def downgrade() -> None:
    op.drop_table("rate_limits")
    with op.batch_alter_table("password_guards") as batch:
        batch.drop_column("lockouts")
