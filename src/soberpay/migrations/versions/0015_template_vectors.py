"""pgvector search vectors beside the encrypted face templates (PostgreSQL with pgvector only)

Revision ID: 0015_template_vectors
Revises: 0009_staff_sessions
Create Date: 2026-11-30

On SQLite, or a PostgreSQL server without the pgvector extension, the vector table is not created
and ``index = "pgvector"`` refuses to start with a clear message.
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_template_vectors"
down_revision = "0009_staff_sessions"
branch_labels = None
depends_on = None

DIM = 128  # soberpay.adapters.index_pgvector.SEARCH_DIM (migrations do not import the adapters)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    if bind.execute(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")).first() is None:
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.execute(
        f"""
        CREATE TABLE face_template_vectors (
            template_id integer PRIMARY KEY
                CONSTRAINT fk_face_template_vectors_template_id REFERENCES face_templates (id) ON DELETE CASCADE,
            guest_id varchar(32) NOT NULL,
            embedder varchar(32) NOT NULL,
            embedding vector({DIM}) NOT NULL
        )
        """
    )
    # HNSW over the half-precision copy (inner product on unit vectors); exact re-rank in the query.
    op.execute(
        f"CREATE INDEX ix_face_template_vectors_hnsw ON face_template_vectors "
        f"USING hnsw ((embedding::halfvec({DIM})) halfvec_ip_ops) WITH (m = 16, ef_construction = 64)"
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS face_template_vectors")
