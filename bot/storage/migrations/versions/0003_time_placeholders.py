"""drafts hold their times as placeholders, and say what was shortened

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 10:30:00

A rendition's text used to hold the draft's own times ("2:45 PM EST"), swapped for the time of
publishing by matching the strings kept in ``time_tokens``. It now holds ``{time}`` and
``{next_update}`` where those times go, so an approver sees what will change; this migration
rewrites every rendition that way and drops ``time_tokens``.
"""

import json
import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PLACEHOLDER = {"stamp": "{time}", "next_update": "{next_update}"}


def _with_placeholders(text: str, tokens: dict[str, str]) -> str:
    replacements = {v: _PLACEHOLDER[k] for k, v in tokens.items() if k in _PLACEHOLDER and v}
    if not replacements:
        return text
    ordered = sorted(replacements, key=len, reverse=True)
    pattern = re.compile(r"(?<![\w:])(?:" + "|".join(map(re.escape, ordered)) + r")(?!\w)")
    return pattern.sub(lambda m: replacements[m.group()], text)


def upgrade() -> None:
    with op.batch_alter_table("rendition", schema=None) as batch_op:
        batch_op.add_column(sa.Column("notes", sa.JSON(), nullable=False, server_default="[]"))
    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT id, text, time_tokens FROM rendition")).fetchall()
    for row_id, text, tokens in rows:
        if isinstance(tokens, str):
            tokens = json.loads(tokens)
        new_text = _with_placeholders(text, tokens or {})
        if new_text != text:
            connection.execute(
                sa.text("UPDATE rendition SET text = :text WHERE id = :id"),
                {"text": new_text, "id": row_id},
            )
    with op.batch_alter_table("rendition", schema=None) as batch_op:
        batch_op.drop_column("time_tokens")


def downgrade() -> None:
    with op.batch_alter_table("rendition", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("time_tokens", sa.JSON(), nullable=False, server_default="{}")
        )
        batch_op.drop_column("notes")
