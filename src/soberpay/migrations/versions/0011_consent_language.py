"""consent records store the language of the text the guest was shown (beside its version); records
made before this were shown the English text

Revision ID: 0011_consent_language
Revises: 0015_template_vectors
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_consent_language"
down_revision = "0015_template_vectors"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("consents") as batch:
        batch.add_column(sa.Column("language", sa.String(8), nullable=False, server_default="en"))


def downgrade() -> None:
    with op.batch_alter_table("consents") as batch:
        batch.drop_column("language")
