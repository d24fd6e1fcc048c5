"""deliveries remember which process is sending them: delivery.claimed_by

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 10:00:00.000000

A process started again after a kill takes back at once what the killed process of the same
machine was sending (sent again where an idempotency key makes that safe, *unknown* elsewhere),
instead of waiting for the lease to run out; the job table does the same with ``job.claimed_by``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("delivery") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(length=80), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("delivery") as batch:
        batch.drop_column("claimed_by")
