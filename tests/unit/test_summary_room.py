"""The declare forms say how long a summary can be and still go out whole, from the templates and
the catalog, not a fixed 150 (issue 13): ``bot.drafting.drafter.summary_room``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import CrierConfig, Network
from bot.core import Core, build_core
from bot.drafting.drafter import (
    Drafter,
    RenderedText,
    default_templates_dir,
    first_post_facts,
    summary_room,
)
from bot.incidents.requests import SUMMARY_MAX
from bot.settings import Settings
from bot.storage.store import Store
from handlers.slack.modals import declare_modal
from handlers.teams.forms import declare_form
from tests.conftest import make_config
from tests.unit.test_reminders import RecordingPresenter

LONG_HELP = (
    "https://it.northfield.example.edu/knowledge-base/teaching-and-learning/blackboard-learn/"
    "troubleshooting/sign-in-problems-after-password-change?audience=students&l=en"
)


@pytest.fixture(scope="module")
def drafter() -> Drafter:
    return Drafter()


def summary_of(length: int) -> str:
    """Words of Latin letters, exactly ``length`` characters."""
    words = ("students cannot sign in to the portal after the update " * 10)[:length]
    return words[:-1] + "x" if words.endswith(" ") else words


def first_posts(
    config: CrierConfig, drafter: Drafter, summary: str
) -> Iterator[tuple[str, Network, RenderedText]]:
    """Every first post the catalog can draft: (service, network, rendered)."""
    for service in config.services:
        facts = first_post_facts(config, service, summary=summary, incident_id=1)
        for network in service.default_channels or config.enabled_channels:
            settings = config.channels.get(network)
            yield (
                service.name,
                network,
                drafter.render(
                    facts,
                    network,
                    max_characters=settings.max_characters if settings else None,
                    links=settings.links if settings else True,
                ),
            )


def with_help(config: CrierConfig, help_url: str) -> CrierConfig:
    services = [s.model_copy(update={"help_url": help_url}) for s in config.services]
    return config.model_copy(update={"services": services})


def test_a_summary_as_long_as_the_room_goes_out_whole_everywhere(drafter: Drafter) -> None:
    config = make_config()
    room = summary_room(config, drafter)
    assert 0 < room.characters < SUMMARY_MAX
    summary = summary_of(room.characters)
    for service, network, rendered in first_posts(config, drafter, summary):
        assert summary in rendered.text, (service, network, rendered.text)
        assert rendered.notes == (), (service, network, rendered.notes)


def test_one_character_more_gives_way_on_the_tightest_channel(drafter: Drafter) -> None:
    config = make_config()
    room = summary_room(config, drafter)
    summary = summary_of(room.characters + 1)
    gave_way = {
        network for _, network, rendered in first_posts(config, drafter, summary) if rendered.notes
    }
    assert room.tightest in gave_way


def test_the_room_follows_the_catalog_and_the_templates(drafter: Drafter, tmp_path: Path) -> None:
    config = make_config()
    room = summary_room(config, drafter).characters
    # A 165-character help link counts in full on Bluesky: less room for the summary.
    assert summary_room(with_help(config, LONG_HELP), drafter).characters < room
    # A longer service name leaves less room; an organisation's wordier template too.
    longer = [s.model_copy(update={"name": s.name + " Ultra Plus"}) for s in config.services]
    assert summary_room(config.model_copy(update={"services": longer}), drafter).characters < room
    (tmp_path / "initial").mkdir()
    bluesky = (default_templates_dir() / "initial" / "bluesky.j2").read_text(encoding="utf-8")
    (tmp_path / "initial" / "bluesky.j2").write_text(
        bluesky.replace("We're aware of a problem", "Please note: we're aware of a problem"),
        encoding="utf-8",
    )
    wordier = summary_room(config, Drafter(templates_dir=tmp_path)).characters
    assert wordier == room - len("Please note: ")


@pytest.fixture
def core(store: Store) -> Core:
    return build_core(
        settings=Settings(),
        config=make_config(),
        store=store,
        presenters={"test": RecordingPresenter()},
    )


def test_both_chats_declare_forms_show_the_room(core: Core) -> None:
    room = summary_room(core.config, core.drafter)
    hint = core.summary_room.hint
    assert f"Up to {room.characters} characters" in hint and "Bluesky" in hint
    slack = json.dumps(declare_modal(core.config, channel_id="C1", summary_hint=hint))
    teams = json.dumps(declare_form(core.config, summary_hint=hint))
    assert json.dumps(hint)[1:-1] in slack and json.dumps(hint)[1:-1] in teams


def test_a_network_the_catalog_does_not_use_sets_no_room(drafter: Drafter) -> None:
    config = make_config()
    only_facebook = [
        s.model_copy(update={"default_channels": [Network.FACEBOOK]}) for s in config.services
    ]
    room = summary_room(config.model_copy(update={"services": only_facebook}), drafter)
    assert room.tightest is Network.FACEBOOK and room.characters == SUMMARY_MAX
