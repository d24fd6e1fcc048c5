"""calendar posts need an approver: decided_by, decided_at; unapproved ones become pending

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 10:00:00.000000

A post on the content calendar is now a draft like any other: ``pending`` until an approver who
is not its author approves it (``scheduled``) or rejects it. Posts scheduled before this
revision were never approved: those added in chat or by the CLI go back to ``pending`` (with a
job that shows them to the approvers); those from crier.yml count as approved by the config.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONFIG_ACTOR = "config:crier.yml"

scheduledpost = sa.table(
    "scheduledpost",
    sa.column("id", sa.Integer()),
    sa.column("state", sa.String(16)),
    sa.column("created_by", sa.String(80)),
    sa.column("decided_by", sa.String(80)),
)
job = sa.table(
    "job",
    sa.column("kind", sa.String(40)),
    sa.column("key", sa.String(120)),
    sa.column("due_at", sa.DateTime(timezone=True)),
    sa.column("payload", sa.JSON()),
)


def upgrade() -> None:
    with op.batch_alter_table("scheduledpost", schema=None) as batch_op:
        batch_op.add_column(sa.Column("decided_by", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True))

    connection = op.get_bind()
    op.execute(
        scheduledpost.update()
        .where(scheduledpost.c.state == "scheduled", scheduledpost.c.created_by == CONFIG_ACTOR)
        .values(decided_by=CONFIG_ACTOR)
    )
    unapproved = [
        row.id
        for row in connection.execute(
            sa.select(scheduledpost.c.id).where(
                scheduledpost.c.state == "scheduled", scheduledpost.c.created_by != CONFIG_ACTOR
            )
        )
    ]
    if unapproved:
        op.execute(
            scheduledpost.update().where(scheduledpost.c.id.in_(unapproved)).values(state="pending")
        )
        now = datetime.now(UTC)
        op.bulk_insert(
            job,
            [
                {
                    "kind": "calendar_review",
                    "key": f"calendar_review:{post_id}",
                    "due_at": now,
                    "payload": {"scheduled_post_id": post_id},
                }
                for post_id in unapproved
            ],
        )


def downgrade() -> None:
    # The older schema knows no approval: what was never approved must not go out there.
    op.execute(
        scheduledpost.update()
        .where(scheduledpost.c.state.in_(["pending", "rejected"]))
        .values(state="skipped")
    )
    with op.batch_alter_table("scheduledpost", schema=None) as batch_op:
        batch_op.drop_column("decided_at")
        batch_op.drop_column("decided_by")
