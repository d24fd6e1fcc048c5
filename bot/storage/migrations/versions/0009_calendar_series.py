"""recurring calendar series: a scheduled post's series, occurrence, bank position and batch

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 10:00:00.000000

The content calendar's recurring series (crier.yml's ``calendar_series``, issue 19): each post
drafted for a series names the series and the occurrence it is for, drafted once (a unique
index: SQLite adds it in place, where a constraint would rebuild a table that deliveries point
at), the place of its text in the series' bank, and the batch it was drafted and approved in.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("scheduledpost") as batch:
        batch.add_column(sa.Column("series", sa.String(length=80), nullable=True))
        batch.add_column(sa.Column("occurrence_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("bank_position", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("batch", sa.Integer(), nullable=True))
    op.create_index(
        "ix_scheduledpost_occurrence", "scheduledpost", ["series", "occurrence_at"], unique=True
    )
    op.create_index("ix_scheduledpost_batch", "scheduledpost", ["batch"])


def downgrade() -> None:
    # The older schema knows no series: their posts still waiting for an approver must not go
    # out there unapproved, nor stay pending with nobody to show them.
    scheduledpost = sa.table(
        "scheduledpost",
        sa.column("state", sa.String(16)),
        sa.column("series", sa.String(80)),
    )
    op.execute(
        scheduledpost.update()
        .where(scheduledpost.c.series.is_not(None), scheduledpost.c.state == "pending")
        .values(state="skipped")
    )
    op.drop_index("ix_scheduledpost_batch", table_name="scheduledpost")
    op.drop_index("ix_scheduledpost_occurrence", table_name="scheduledpost")
    with op.batch_alter_table("scheduledpost") as batch:
        batch.drop_column("batch")
        batch.drop_column("bank_position")
        batch.drop_column("occurrence_at")
        batch.drop_column("series")
