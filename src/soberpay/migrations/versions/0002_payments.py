"""payments: accounts, ledger postings/entries, visits, orders, risk states, password guards,
pending requests, idempotency keys, staff notifications

Revision ID: 0002_payments
Revises: 0001_identity
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

from soberpay.adapters.db.base import UTCDateTime

revision = "0002_payments"
down_revision = "0001_identity"
branch_labels = None
depends_on = None

BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    ref_table = target.split(".")[0]
    return sa.ForeignKeyConstraint([column], [target], name=f"fk_{table}_{column}_{ref_table}")


def upgrade() -> None:
    op.create_table(
        "payment_accounts",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(32)),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("signed_fen", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_payment_accounts"),
        _fk("payment_accounts", "customer_id", "customers.id"),
    )
    op.create_index("ix_payment_accounts_customer_id", "payment_accounts", ["customer_id"])
    op.create_table(
        "ledger_postings",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("customer_id", sa.String(32)),
        sa.Column("visit_id", sa.String(32)),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("memo", sa.String(200), nullable=False),
        sa.Column("idempotency_key", sa.String(128)),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_postings"),
        _fk("ledger_postings", "customer_id", "customers.id"),
    )
    op.create_index("ix_ledger_postings_at", "ledger_postings", ["at"])
    op.create_index("ix_ledger_postings_customer_id", "ledger_postings", ["customer_id"])
    op.create_index("ix_ledger_postings_visit_id", "ledger_postings", ["visit_id"])
    op.create_table(
        "ledger_entries",
        sa.Column("id", BIGID, nullable=False, autoincrement=True),
        sa.Column("posting_id", sa.String(32), nullable=False),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_entries"),
        _fk("ledger_entries", "posting_id", "ledger_postings.id"),
        _fk("ledger_entries", "account_id", "payment_accounts.id"),
    )
    op.create_index("ix_ledger_entries_posting_id", "ledger_entries", ["posting_id"])
    op.create_index("ix_ledger_entries_account_id", "ledger_entries", ["account_id"])
    op.create_table(
        "visits",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("customer_id", sa.String(32), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("closed_at", UTCDateTime()),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("total_fen", sa.BigInteger(), nullable=False),
        sa.Column("bill", sa.Text()),
        sa.PrimaryKeyConstraint("id", name="pk_visits"),
        _fk("visits", "customer_id", "customers.id"),
    )
    op.create_index("ix_visits_customer_id", "visits", ["customer_id"])
    op.create_table(
        "payment_orders",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("customer_id", sa.String(32), nullable=False),
        sa.Column("visit_id", sa.String(32), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("sku", sa.String(40), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("category", sa.String(20), nullable=False),
        sa.Column("unit_price_fen", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("alcohol_g", sa.Float(), nullable=False),
        sa.Column("rule", sa.String(40), nullable=False),
        sa.Column("posting_id", sa.String(32), nullable=False),
        sa.Column("pending_id", sa.String(32)),
        sa.Column("refunded_fen", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_payment_orders"),
        sa.UniqueConstraint("pending_id", name="uq_payment_orders_pending_id"),
        _fk("payment_orders", "customer_id", "customers.id"),
        _fk("payment_orders", "visit_id", "visits.id"),
        _fk("payment_orders", "posting_id", "ledger_postings.id"),
    )
    op.create_index("ix_payment_orders_customer_id", "payment_orders", ["customer_id"])
    op.create_index("ix_payment_orders_visit_id", "payment_orders", ["visit_id"])
    op.create_table(
        "risk_states",
        sa.Column("customer_id", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("tag_source", sa.String(16)),
        sa.Column("tag_reason", sa.String(600), nullable=False),
        sa.Column("tagged_at", UTCDateTime()),
        sa.Column("last_trigger_at", UTCDateTime()),
        sa.Column("recovering_since", UTCDateTime()),
        sa.Column("sticky", sa.Boolean(), nullable=False),
        sa.Column("staff_clear_until", UTCDateTime()),
        sa.Column("updated_at", UTCDateTime()),
        sa.PrimaryKeyConstraint("customer_id", name="pk_risk_states"),
        _fk("risk_states", "customer_id", "customers.id"),
    )
    op.create_table(
        "password_guards",
        sa.Column("customer_id", sa.String(32), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", UTCDateTime()),
        sa.PrimaryKeyConstraint("customer_id", name="pk_password_guards"),
        _fk("password_guards", "customer_id", "customers.id"),
    )
    op.create_table(
        "pending_requests",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("customer_id", sa.String(32), nullable=False),
        sa.Column("visit_id", sa.String(32), nullable=False),
        sa.Column("sku", sa.String(40), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("category", sa.String(20), nullable=False),
        sa.Column("unit_price_fen", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(600), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("resolved_at", UTCDateTime()),
        sa.Column("note", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_pending_requests"),
        _fk("pending_requests", "customer_id", "customers.id"),
        _fk("pending_requests", "visit_id", "visits.id"),
    )
    op.create_index("ix_pending_requests_customer_id", "pending_requests", ["customer_id"])
    op.create_index("ix_pending_requests_visit_id", "pending_requests", ["visit_id"])
    op.create_index("ix_pending_requests_status", "pending_requests", ["status"])
    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("operation", sa.String(32), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(32)),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_idempotency_keys"),
    )
    op.create_table(
        "staff_notifications",
        sa.Column("id", BIGID, nullable=False, autoincrement=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("customer_id", sa.String(32)),
        sa.Column("message", sa.String(600), nullable=False),
        sa.Column("acknowledged_at", UTCDateTime()),
        sa.Column("acknowledged_by", sa.String(64)),
        sa.PrimaryKeyConstraint("id", name="pk_staff_notifications"),
    )
    op.create_index("ix_staff_notifications_at", "staff_notifications", ["at"])
    op.create_index("ix_staff_notifications_customer_id", "staff_notifications", ["customer_id"])


def downgrade() -> None:
    for table in (
        "staff_notifications",
        "idempotency_keys",
        "pending_requests",
        "password_guards",
        "risk_states",
        "payment_orders",
        "visits",
        "ledger_entries",
        "ledger_postings",
        "payment_accounts",
    ):
        op.drop_table(table)
