"""sobriety: encrypted capture records, baselines, abnormal-pose patterns, judgements

Revision ID: 0003_sobriety
Revises: 0002_payments
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

from soberpay.adapters.db.base import UTCDateTime

revision = "0003_sobriety"
down_revision = "0002_payments"
branch_labels = None
depends_on = None

BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _fk(table: str, column: str = "customer_id") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], ["customers.id"], name=f"fk_{table}_{column}_customers")


def upgrade() -> None:
    op.create_table(
        "sobriety_records",
        sa.Column("id", BIGID, nullable=False, autoincrement=True),
        sa.Column("customer_id", sa.String(32), nullable=False),
        sa.Column("captured_at", UTCDateTime(), nullable=False),
        sa.Column("schema_version", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(40), nullable=False),
        sa.Column("blob", sa.LargeBinary(), nullable=False),
        sa.Column("n_bytes", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sobriety_records"),
        _fk("sobriety_records"),
    )
    op.create_index("ix_sobriety_records_customer_id", "sobriety_records", ["customer_id"])
    op.create_index("ix_sobriety_records_captured_at", "sobriety_records", ["captured_at"])
    op.create_table(
        "sobriety_baselines",
        sa.Column("customer_id", sa.String(32), nullable=False),
        sa.Column("key_id", sa.String(40), nullable=False),
        sa.Column("blob", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", name="pk_sobriety_baselines"),
        _fk("sobriety_baselines"),
    )
    op.create_table(
        "sobriety_patterns",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("customer_id", sa.String(32)),
        sa.Column("label", sa.String(32), nullable=False),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(40), nullable=False),
        sa.Column("blob", sa.LargeBinary(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sobriety_patterns"),
        _fk("sobriety_patterns"),
    )
    op.create_index("ix_sobriety_patterns_customer_id", "sobriety_patterns", ["customer_id"])
    op.create_table(
        "sobriety_judgements",
        sa.Column("id", BIGID, nullable=False, autoincrement=True),
        sa.Column("customer_id", sa.String(32), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("p_drunk", sa.Float()),
        sa.Column("posture_abnormal", sa.Boolean(), nullable=False),
        sa.Column("similarity_to_normal", sa.Float()),
        sa.Column("recovered", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sobriety_judgements"),
        _fk("sobriety_judgements"),
    )
    op.create_index("ix_sobriety_judgements_customer_id", "sobriety_judgements", ["customer_id"])
    op.create_index("ix_sobriety_judgements_at", "sobriety_judgements", ["at"])


def downgrade() -> None:
    op.drop_table("sobriety_judgements")
    op.drop_table("sobriety_patterns")
    op.drop_table("sobriety_baselines")
    op.drop_table("sobriety_records")
