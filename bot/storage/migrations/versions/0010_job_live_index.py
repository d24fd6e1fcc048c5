"""an index for claiming jobs: the live rows in due order

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 13:00:00.000000

A claim asks for live rows (done_at IS NULL) due now, in due order. Without this index it read
and sorted every live row to take one: with a post's 18,000 subscriber rows, 12 ms of CPU a claim
on SQLite and 44 ms on PostgreSQL (2 and 20 ms with it; bench/README.md, subscribers).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_job_live", "job", ["done_at", "due_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_job_live", table_name="job")
