"""The migrations build exactly the tables the models describe, on SQLite and PostgreSQL."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import bot.storage.models  # noqa: F401  (the tables register themselves on SQLModel.metadata)
from bot.storage.store import Store


def test_the_migrated_schema_matches_the_models(store: Store) -> None:
    with store.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert differences == []


def test_the_upgrade_turns_drafted_times_into_placeholders(store: Store) -> None:
    """Renditions drafted before 0003 held their times as text, swapped at publishing by
    matching ``time_tokens``: they now hold the placeholders, and nothing else changes."""
    from datetime import UTC, datetime

    from sqlalchemy import JSON, Boolean, DateTime, Integer, String, column, insert, table
    from sqlmodel import select

    from bot.storage.models import Rendition
    from bot.storage.schema import downgrade, upgrade

    downgrade(store, "0002")
    now = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    incident = table(
        "incident",
        *(column(name, String()) for name in ("service", "summary", "severity", "status")),
        *(column(name, String()) for name in ("what_users_see", "what_we_are_doing")),
        column("id", Integer()),
        column("channels", JSON()),
        column("declared_by", String()),
        column("declared_at", DateTime(timezone=True)),
        column("updated_at", DateTime(timezone=True)),
    )
    post = table(
        "post",
        *(column(name, Integer()) for name in ("id", "incident_id", "number", "revision")),
        *(column(name, String()) for name in ("kind", "state", "status", "requested_by")),
        column("facts", JSON()),
        column("requested_at", DateTime(timezone=True)),
    )
    rendition = table(
        "rendition",
        column("post_id", Integer()),
        column("channel", String()),
        column("text", String()),
        column("time_tokens", JSON()),
        column("edited", Boolean()),
    )
    drafted = "Investigating · 1:30 AM EDT\nSince 11:30 AM. Next update by 1:00 AM."
    with store.engine.begin() as connection:
        connection.execute(
            insert(incident).values(
                id=1, service="Blackboard", summary="down", severity="sev1",
                status="investigating", what_users_see="", what_we_are_doing="",
                channels=["x"], declared_by="slack:U1", declared_at=now, updated_at=now,
            )
        )  # fmt: skip
        connection.execute(
            insert(post).values(
                id=1, incident_id=1, number=1, revision=1, kind="initial", state="pending",
                status="investigating", requested_by="slack:U1", facts={}, requested_at=now,
            )
        )  # fmt: skip
        tokens = {"stamp": "1:30 AM EDT", "next_update": "1:00 AM"}
        connection.execute(
            insert(rendition).values(
                post_id=1, channel="x", text=drafted, time_tokens=tokens, edited=False
            )
        )
    upgrade(store)
    with store.transaction() as session:
        migrated = session.exec(select(Rendition)).one()
    assert migrated.text == "Investigating · {time}\nSince 11:30 AM. Next update by {next_update}."
    assert migrated.notes == []
