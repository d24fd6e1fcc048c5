"""a rate limit shared by every process: the pace table

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 11:00:00.000000

Statuspage allows a key about one request a second. Each process paced its own requests, so two
replicas or workers sent twice that; the slots of the last minute now live in the database.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pace",
        sa.Column("key", sa.String(length=64), primary_key=True),
        sa.Column("slots", sa.JSON(), nullable=False),
        sa.Column("held_until", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("pace")
