"""planned maintenance: windows, their series of posts, and deliveries of those posts

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 12:00:00.000000

A maintenance window is announced, reminded, started and completed by a series of posts approved
together (issue 19); each post's deliveries go through the outbox like every other post's. An
incident declared on a service during its window is linked to it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "maintenance",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("services", sa.JSON(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("what_users_notice", sa.Text(), nullable=False),
        sa.Column("what_to_do", sa.Text(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("announce_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("remind_before_minutes", sa.Integer(), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("planned_where", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(length=80), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_maintenance_starts_at", "maintenance", ["starts_at"])
    op.create_index("ix_maintenance_state", "maintenance", ["state"])
    op.create_table(
        "maintenancepost",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("maintenance_id", sa.Integer(), sa.ForeignKey("maintenance.id"), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("requested_by", sa.String(length=80), nullable=True),
        sa.Column("texts", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
    )
    op.create_index("ix_maintenancepost_maintenance_id", "maintenancepost", ["maintenance_id"])
    # Added in place: rebuilding the incident table, as a batch would on SQLite, is refused
    # while other tables' keys point at it; SQLite takes the reference inline instead.
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE incident ADD COLUMN maintenance_id INTEGER REFERENCES maintenance (id)"
        )
    else:
        op.add_column("incident", sa.Column("maintenance_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            "fk_incident_maintenance_id", "incident", "maintenance", ["maintenance_id"], ["id"]
        )
    with op.batch_alter_table("delivery") as batch:
        batch.add_column(sa.Column("maintenance_post_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_delivery_maintenance_post_id", "maintenancepost", ["maintenance_post_id"], ["id"]
        )
        batch.create_index("ix_delivery_maintenance_post_id", ["maintenance_post_id"])


def downgrade() -> None:
    with op.batch_alter_table("delivery") as batch:
        batch.drop_index("ix_delivery_maintenance_post_id")
        batch.drop_constraint("fk_delivery_maintenance_post_id", type_="foreignkey")
        batch.drop_column("maintenance_post_id")
    op.drop_column("incident", "maintenance_id")
    op.drop_table("maintenancepost")
    op.drop_table("maintenance")
