"""A long draft is shown whole on its Teams card, before approval and as published."""

from __future__ import annotations

from tests.fakes.bot_connector import FakeBotConnector
from tests.teams.harness import ANALYST, TeamsHarness
from tests.teams.test_revise_and_resolve import approve, declare, outbox, runs

# The longest the update form accepts in each box: Facebook's and the status page's drafts
# then run past 2,000 characters, where the cards used to cut them.
LONG = ("Students in every faculty see a blank page after signing in. " * 17)[:1000].strip()


async def test_a_long_update_is_shown_whole_and_published_as_shown(
    teams: TeamsHarness, connector: FakeBotConnector
) -> None:
    await approve(teams, await declare(teams))
    root = teams.root_id()
    form = await teams.click(root, "Post update", user=ANALYST)
    update = {"status": "identified", "what_users_see": LONG, "what_we_are_doing": LONG}
    await teams.click(root, "Draft update", user=ANALYST, inputs=update, card=form)
    await connector.wait_for(lambda: len(teams.draft_ids()) == 2)
    await teams.settle()
    draft = teams.draft_ids()[1]

    shown = runs(connector.card(draft))
    assert not [text for text in shown if "more characters)" in text]
    assert sum(LONG in text for text in shown) >= 2  # nothing cut, not even the second box

    await approve(teams, draft)
    published = outbox(teams)[5:]
    assert max(len(p.text) for p in published) > 2000
    shown = runs(connector.card(draft))
    assert all(p.text in shown for p in published)  # byte for byte what each network got


def test_texts_past_the_cards_budget_share_it_and_the_short_stay_whole() -> None:
    from handlers.teams.cards import _characters, _share

    assert _share([2640, 2640, 2516, 280, 300], 20_000) == 2640  # all whole
    each = _share([100, 9000, 9000, 9000], 20_000)
    assert each == (20_000 - 100) // 3 and 100 + 3 * each <= 20_000
    cjk = "服务中断" * 2000  # 3 bytes a character
    assert len(cjk[: _characters(cjk, each)].encode()) <= each
