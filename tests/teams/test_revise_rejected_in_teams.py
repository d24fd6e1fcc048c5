"""A rejected draft is not a dead end: *Revise* on its card brings it back as a new revision
(issue 17)."""

from __future__ import annotations

import copy

from tests.fakes.bot_connector import FakeBotConnector
from tests.placeholders import shown_in
from tests.teams.harness import APPROVER, APPROVER_2, TeamsHarness, texts
from tests.teams.test_revise_and_resolve import (
    CHANNELS,
    NETWORKS,
    audit_actions,
    declare,
    inputs_of,
    outbox,
    runs,
)


async def test_a_rejected_draft_is_revised_and_another_approver_publishes_it(
    teams: TeamsHarness, connector: FakeBotConnector
) -> None:
    draft = await declare(teams)
    form = await teams.click(draft, "Reject", user=APPROVER)
    reason = {"reason": "Say which campus"}
    await teams.click(draft, "Reject", user=APPROVER, inputs=reason, card=form)
    await teams.settle()
    rejected = copy.deepcopy(connector.card(draft))
    assert "Rejected by" in texts(rejected) and "Approve & publish" not in texts(rejected)

    # The approver who said no fixes it themselves: the edit form, filled with what was rejected.
    form = await teams.click(draft, "Revise", user=APPROVER)
    assert "Revise the draft" in texts(form)
    fields = inputs_of(form)
    assert set(fields) == {f"text_{n}" for n in CHANNELS}
    assert all(text and shown_in(text, runs(rejected)) for text in fields.values())

    too_long = fields | {"text_x": "停" * 150}
    again = await teams.click(draft, "Save revision", user=APPROVER, inputs=too_long, card=form)
    assert "300/280" in texts(again) and "Revise the draft" in texts(again)
    assert len(teams.draft_ids()) == 1 and "revise" not in audit_actions(teams)

    edited_x = "Blackboard sign-in is down at the north campus. We are on it; more soon."
    inputs = fields | {"text_x": edited_x}
    answer = await teams.click(draft, "Save revision", user=APPROVER, inputs=inputs, card=form)
    assert "Rejected by" in texts(answer) and '"Revise"' not in texts(answer)
    await connector.wait_for(lambda: len(teams.draft_ids()) == 2)
    await teams.settle()
    old, revised = teams.draft_ids()
    card = connector.card(revised)
    assert "revision 2" in texts(card) and "Alex Approver" in texts(card)
    assert edited_x in runs(card) and "edited" in texts(card)
    assert all(f'"{t}"' in texts(card) for t in ("Approve & publish", "Edit", "Reject"))
    assert '"Revise"' not in texts(connector.card(old))  # for everyone

    # Someone still looking at the rejected card with its button: refused, and told why.
    stale = await teams.click(old, "Revise", user=APPROVER_2, card=rejected)
    assert "Revision 2 of this draft already waits for approval" in texts(stale)

    # Whoever revised it drafted it: another approver publishes it.
    own = await teams.click(revised, "Approve & publish", user=APPROVER)
    assert "another approver" in texts(own) and not outbox(teams)
    before = len(connector.posts())
    answer = await teams.click(revised, "Approve & publish", user=APPROVER_2)
    assert "Approved by" in texts(answer)
    await connector.wait_for_posts(before + 1)
    await teams.settle()
    published = {p.network: p.text for p in outbox(teams)}
    assert set(published) == set(NETWORKS) and published["x"] == edited_x
    actions = audit_actions(teams)
    assert actions.count("revise") == 1 and actions.count("approve") == 1
    teams.cards_are_valid()
