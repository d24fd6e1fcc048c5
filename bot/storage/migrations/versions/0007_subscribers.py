"""the status site's subscribers, and the dry-run outbox's emails

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 10:00:00.000000

Email, webhook and staff-channel subscribers of the status site (issue 18); an email address is
stored only once confirmed and deleted on unsubscribe. Emails sent without an SMTP relay are kept
in ``outbox_mail`` for a person to read.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "subscriber",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("address", sa.String(length=500), nullable=False),
        sa.Column("services", sa.JSON(), nullable=False),
        sa.Column("reference", sa.JSON(), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("kind", "address"),
    )
    op.create_table(
        "outboxmail",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("message_id", sa.String(length=200), nullable=False, unique=True),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_outboxmail_recipient", "outboxmail", ["recipient"])
    op.create_index("ix_outboxmail_created_at", "outboxmail", ["created_at"])


def downgrade() -> None:
    op.drop_table("outboxmail")
    op.drop_table("subscriber")
