"""The forms' choices in Teams: *Other* for a service the catalog does not list, an update that
changes severity and channels, a false alarm; and the incident's card as people read it."""

from __future__ import annotations

from typing import Any

from tests.fakes.bot_connector import FakeBotConnector
from tests.teams.harness import ANALYST, APPROVER, TeamsHarness, texts
from tests.teams.test_revise_and_resolve import approve, declare, inputs_of, outbox, runs

JsonDict = dict[str, Any]


def element(card: JsonDict, input_id: str) -> JsonDict:
    found = [b for b in card["body"] if b.get("id") == input_id]
    assert found, f"no {input_id!r} on the card"
    return dict(found[0])


def head(card: JsonDict) -> str:
    """The incident card's title line and fields."""
    return texts(card["body"][:5])


async def test_other_service_is_declared_by_its_name(
    teams: TeamsHarness, connector: FakeBotConnector
) -> None:
    assert await teams.say("outage", user=ANALYST) == 202
    (form_message,) = await connector.wait_for_posts(1)
    form = connector.card(form_message.id)
    services = element(form, "service")["choices"]
    assert services[-1] == {"title": "Other (not in the catalog)", "value": "__other__"}
    assert "other_service" in inputs_of(form) and "help page" in texts(form)

    other = {"service": "__other__", "summary": "meetings drop after a minute"}
    again = await teams.click(form_message.id, "Draft posts", user=ANALYST, inputs=other)
    assert "Name the service" in texts(again) and inputs_of(again)["service"] == "__other__"

    named = other | {"other_service": "Zoom"}
    answer = await teams.click(form_message.id, "Draft posts", user=ANALYST, inputs=named)
    assert "Zoom: meetings drop after a minute" in texts(answer)
    await connector.wait_for(lambda: len(teams.draft_ids()) == 1)
    await teams.settle()
    assert any("Zoom" in text for text in runs(connector.card(teams.draft_ids()[0])))


async def test_the_incident_card_names_its_channels(
    teams: TeamsHarness, connector: FakeBotConnector
) -> None:
    await declare(teams)
    card = head(connector.card(teams.root_id()))
    assert "X, Facebook, Mastodon, Bluesky, Status page" in card and "statuspage" not in card


async def test_an_update_changes_severity_and_channels_once_approved(
    teams: TeamsHarness, connector: FakeBotConnector
) -> None:
    await approve(teams, await declare(teams))
    root = teams.root_id()
    form = await teams.click(root, "Post update", user=ANALYST)
    shown = inputs_of(form)
    assert (
        shown["severity"] == "sev1"
        and shown["channels"] == "x,facebook,mastodon,bluesky,statuspage,site"
    )

    update = {
        "status": "identified",
        "severity": "sev2",
        "what_we_are_doing": "Only some courses are affected.",
        "channels": "x,mastodon",
    }
    await teams.click(root, "Draft update", user=ANALYST, inputs=update, card=form)
    await connector.wait_for(lambda: len(teams.draft_ids()) == 2)
    await teams.settle()
    assert "Critical" in head(connector.card(root))  # not until the update is approved

    await approve(teams, teams.draft_ids()[1])
    card = head(connector.card(root))
    assert "🟠" in card and "Major" in card and "X, Mastodon" in card and "Facebook" not in card
    assert sorted(p.network for p in outbox(teams)[5:]) == ["mastodon", "x"]

    form = await teams.click(root, "Post update", user=ANALYST)
    assert inputs_of(form)["severity"] == "sev2" and inputs_of(form)["channels"] == "x,mastodon"


async def test_a_false_alarm_says_so_and_the_closed_card_loses_its_colour(
    teams: TeamsHarness, connector: FakeBotConnector
) -> None:
    await approve(teams, await declare(teams))
    root = teams.root_id()
    form = await teams.click(root, "Resolve", user=ANALYST)
    (choice,) = element(form, "false_alarm")["choices"]
    assert "false alarm" in choice["title"]

    ticked = {"false_alarm": choice["value"]}
    await teams.click(root, "Draft all-clear", user=ANALYST, inputs=ticked, card=form)
    await connector.wait_for(lambda: len(teams.draft_ids()) == 2)
    await teams.settle()
    all_clear = teams.draft_ids()[1]
    said = [t for t in runs(connector.card(all_clear)) if "This was a false alarm" in t]
    assert len(said) == 6  # every channel, X, Bluesky and the status site included

    await approve(teams, all_clear)
    card = head(connector.card(root))
    assert "✅" in card and "🔴" not in card and "Post update" not in texts(connector.card(root))


async def test_a_false_alarm_with_nothing_published_closes_at_once(
    teams: TeamsHarness, connector: FakeBotConnector
) -> None:
    draft = await declare(teams)
    form = await teams.click(draft, "Reject", user=APPROVER)
    await teams.click(draft, "Reject", user=APPROVER, inputs={"reason": "Not needed"}, card=form)

    root = teams.root_id()
    form = await teams.click(root, "Resolve", user=ANALYST)
    answer = await teams.click(
        root, "Draft all-clear", user=ANALYST, inputs={"false_alarm": "yes"}, card=form
    )
    assert "is closed" in texts(answer) and "✅" in texts(answer)
    await teams.settle()
    assert "✅" in head(connector.card(root)) and not outbox(teams)
