"""listening: what Crier heard on the networks, the answers to it, and where each source goes on

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 16:00:00.000000

Replies to Crier's posts and mentions of the organisation (issue 20), one row per network and
id (so two pollers, or a poll repeated after a kill, keep one), with the incident and post they
answer, the service they name and their mood; an answer drafted to one, approved like any public
text and sent as a delivery threaded to it; and a mark per listening source (its cursor).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "heard",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("network", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("author", sa.String(length=300), nullable=False),
        sa.Column("author_name", sa.String(length=300), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heard_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("in_reply_to", sa.String(length=300), nullable=True),
        sa.Column("reply_ref", sa.JSON(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), sa.ForeignKey("delivery.id"), nullable=True),
        sa.Column("incident_id", sa.Integer(), sa.ForeignKey("incident.id"), nullable=True),
        sa.Column("service", sa.String(length=60), nullable=True),
        sa.Column("mood", sa.Float(), nullable=False),
        sa.Column("shown_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("network", "external_id"),
    )
    op.create_index("ix_heard_incident_id", "heard", ["incident_id"])
    op.create_index("ix_heard_service_time", "heard", ["service", "created_at"])
    op.create_table(
        "answer",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("heard_id", sa.Integer(), sa.ForeignKey("heard.id"), nullable=False),
        sa.Column("incident_id", sa.Integer(), sa.ForeignKey("incident.id"), nullable=True),
        sa.Column("network", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("requested_by", sa.String(length=80), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=80), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reject_reason", sa.Text(), nullable=True),
    )
    op.create_index("ix_answer_heard_id", "answer", ["heard_id"])
    op.create_index("ix_answer_incident_id", "answer", ["incident_id"])
    # No foreign key to answer: SQLite would rebuild delivery to add one, and the rows that
    # point at delivery refuse that (as in 0009 and 0011).
    with op.batch_alter_table("delivery") as batch:
        batch.add_column(sa.Column("answer_id", sa.Integer(), nullable=True))
    op.create_index("ix_delivery_answer_id", "delivery", ["answer_id"])
    op.create_table(
        "listenmark",
        sa.Column("key", sa.String(length=200), primary_key=True),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("listenmark")
    op.drop_index("ix_delivery_answer_id", table_name="delivery")
    # The older schema cannot send an answer: one not sent yet stays unsent.
    delivery = sa.table("delivery", sa.column("answer_id", sa.Integer()))
    op.execute(delivery.delete().where(delivery.c.answer_id.is_not(None)))
    with op.batch_alter_table("delivery") as batch:
        batch.drop_column("answer_id")
    op.drop_index("ix_answer_incident_id", table_name="answer")
    op.drop_index("ix_answer_heard_id", table_name="answer")
    op.drop_table("answer")
    op.drop_index("ix_heard_service_time", table_name="heard")
    op.drop_index("ix_heard_incident_id", table_name="heard")
    op.drop_table("heard")
