"""Who acted is stored as Teams names them, without the control characters a caller can send."""

from __future__ import annotations

from sqlmodel import col, select

from bot.storage.models import AuditEvent
from tests.teams.harness import TeamsHarness, texts
from tests.teams.test_revise_and_resolve import declare

ODD = ("29:od\x00d", "Olly\x00 \x07Odd", "00000000-0000-0000-0000-0000000\x00a009")


async def test_a_refusal_of_someone_named_with_a_nul_is_audited(teams: TeamsHarness) -> None:
    # PostgreSQL refuses a NUL in text and JSON: the refusal's audit write used to fail (500).
    draft_id = await declare(teams)
    refused = await teams.click(draft_id, "Approve & publish", user=ODD)
    assert "Only approvers" in texts(refused)
    with teams.crier.core.store.transaction() as session:
        event = session.exec(select(AuditEvent).order_by(col(AuditEvent.id).desc())).first()
    assert event is not None and event.action == "approve_refused"
    assert event.actor == "teams:00000000-0000-0000-0000-0000000a009"
    assert event.detail["by"] == "Olly Odd"
