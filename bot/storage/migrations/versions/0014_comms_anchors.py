"""a chat message kept outside any incident: an answer to a mention, in the comms channel

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 17:00:00.000000

An answer to a mention that belongs to no incident is shown in the comms channel, as one message
updated through approval and sending: its anchor names no incident. SQLite rebuilds the table to
let the column be empty.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("chatanchor") as batch:
        batch.alter_column("incident_id", existing_type=sa.Integer(), nullable=True)
    # One comms message per platform and purpose: the unique constraint on (incident_id, …)
    # does not hold where incident_id is empty.
    op.create_index(
        "ix_chatanchor_comms",
        "chatanchor",
        ["platform", "purpose"],
        unique=True,
        sqlite_where=sa.text("incident_id IS NULL"),
        postgresql_where=sa.text("incident_id IS NULL"),
    )


def downgrade() -> None:
    # The older schema has nowhere to keep them: those answers' messages are no longer updated.
    op.drop_index("ix_chatanchor_comms", table_name="chatanchor")
    op.execute("DELETE FROM chatanchor WHERE incident_id IS NULL")
    with op.batch_alter_table("chatanchor") as batch:
        batch.alter_column("incident_id", existing_type=sa.Integer(), nullable=False)
