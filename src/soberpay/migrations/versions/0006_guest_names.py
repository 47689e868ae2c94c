"""one name per concept: the table ``customers`` becomes ``guests`` and every ``customer_id`` column
``guest_id`` (with its index, foreign key and primary/unique constraint names)

Revision ID: 0006_guest_names
Revises: 0005_room_status
Create Date: 2026-11-30
"""

from alembic import op

revision = "0006_guest_names"
down_revision = "0005_room_status"
branch_labels = None
depends_on = None

# table -> (has index on the column, has foreign key to the guests table, column is the primary key)
TABLES: dict[str, tuple[bool, bool, bool]] = {
    "consents": (True, True, False),
    "face_templates": (True, True, False),
    "audit_log": (True, False, False),
    "payment_accounts": (True, True, False),
    "ledger_postings": (True, True, False),
    "visits": (True, True, False),
    "payment_orders": (True, True, False),
    "risk_states": (False, True, True),
    "password_guards": (False, True, True),
    "pending_requests": (True, True, False),
    "staff_notifications": (True, False, False),
    "idempotency_keys": (False, False, False),
    "sobriety_records": (True, True, False),
    "sobriety_baselines": (False, True, True),
    "sobriety_patterns": (True, True, False),
    "sobriety_judgements": (True, True, False),
}


def _rename(old: str, new: str) -> None:
    """Rename table, columns, indexes and constraint names from the ``old`` to the ``new`` noun."""
    old_t, new_t = f"{old}s", f"{new}s"
    old_c, new_c = f"{old}_id", f"{new}_id"
    if op.get_bind().dialect.name == "sqlite":
        _rename_sqlite(old_t, new_t, old_c, new_c)
        return
    op.rename_table(old_t, new_t)
    op.execute(f"ALTER TABLE {new_t} RENAME CONSTRAINT pk_{old_t} TO pk_{new_t}")
    op.execute(f"ALTER TABLE {new_t} RENAME CONSTRAINT uq_{old_t}_phone TO uq_{new_t}_phone")
    for table, (indexed, fk, _pk) in TABLES.items():
        op.alter_column(table, old_c, new_column_name=new_c)
        if indexed:
            op.execute(f"ALTER INDEX ix_{table}_{old_c} RENAME TO ix_{table}_{new_c}")
        if fk:
            old_fk, new_fk = f"fk_{table}_{old_c}_{old_t}", f"fk_{table}_{new_c}_{new_t}"
            op.execute(f"ALTER TABLE {table} RENAME CONSTRAINT {old_fk} TO {new_fk}")


def _rename_sqlite(old_t: str, new_t: str, old_c: str, new_c: str) -> None:
    # SQLite cannot rename a constraint: each table is rebuilt (batch mode). The migration environment
    # turns foreign-key enforcement off around SQLite migrations and checks every key afterwards.
    with op.batch_alter_table(old_t, recreate="always") as b:
        b.drop_constraint(f"uq_{old_t}_phone", type_="unique")
        b.create_unique_constraint(f"uq_{new_t}_phone", ["phone"])
    op.rename_table(old_t, new_t)
    for table, (indexed, fk, _pk) in TABLES.items():
        with op.batch_alter_table(table, recreate="always") as b:
            if indexed:
                b.drop_index(f"ix_{table}_{old_c}")
            if fk:
                b.drop_constraint(f"fk_{table}_{old_c}_{old_t}", type_="foreignkey")
            b.alter_column(old_c, new_column_name=new_c)
        with op.batch_alter_table(table) as b:
            if indexed:
                b.create_index(f"ix_{table}_{new_c}", [new_c])
            if fk:
                b.create_foreign_key(f"fk_{table}_{new_c}_{new_t}", new_t, [new_c], ["id"])


def upgrade() -> None:
    _rename("customer", "guest")


def downgrade() -> None:
    _rename("guest", "customer")
