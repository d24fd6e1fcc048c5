"""a calendar post held by a maintenance window (crier.yml's ``maintenance.pauses_calendar``)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 14:00:00.000000

With ``maintenance: {pauses_calendar: true}``, a scheduled post due while a maintenance is under
way is held, like one held by an open incident, and offered again when the work is complete:
the row names the maintenance. No foreign key: SQLite would rebuild the table to add one, and
the deliveries' keys pointing at it refuse that (as in 0009); a maintenance is never deleted.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("scheduledpost") as batch:
        batch.add_column(sa.Column("held_by_maintenance", sa.Integer(), nullable=True))


def downgrade() -> None:
    # The older schema holds posts only for incidents: one held by a maintenance would stay
    # held with nothing to offer it again. Skipped, it is at least never posted unexpectedly.
    scheduledpost = sa.table(
        "scheduledpost",
        sa.column("state", sa.String(16)),
        sa.column("held_by_maintenance", sa.Integer()),
    )
    op.execute(
        scheduledpost.update()
        .where(scheduledpost.c.held_by_maintenance.is_not(None))
        .values(state="skipped")
    )
    with op.batch_alter_table("scheduledpost") as batch:
        batch.drop_column("held_by_maintenance")
