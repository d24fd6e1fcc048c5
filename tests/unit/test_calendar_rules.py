"""A calendar post keeps every rule of its networks when it is proposed (issue 13).

A proposed post is a person's own words, which Crier never shortens: a text its network would
refuse is refused on the form, before an approver can approve what cannot go out as written."""

from __future__ import annotations

from datetime import timedelta

import pytest
import yaml
from sqlmodel import select

from bot.config import STARTER_CONFIG, Network
from bot.core import Core, build_core
from bot.errors import InvalidInput
from bot.ports import Actor
from bot.settings import Settings
from bot.storage.models import ScheduledPost
from bot.storage.store import Store
from tests.clock import FakeClock
from tests.conftest import ANALYST, make_config
from tests.unit.test_reminders import RecordingPresenter

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def core(store: Store, clock: FakeClock) -> Core:
    channels = yaml.safe_load(STARTER_CONFIG.read_text())["channels"]
    channels["instagram"] = {"enabled": True}
    channels["x"] = {"enabled": True, "mentions": "block"}
    channels["mastodon"] = {"enabled": True, "max_characters": 100}
    return build_core(
        settings=Settings(),
        config=make_config(channels=channels),
        store=store,
        clock=clock,
        presenters={"test": RecordingPresenter()},
    )


async def propose(core: Core, clock: FakeClock, text: str, network: Network) -> None:
    await core.content_calendar.add(
        Actor("slack", ANALYST),
        text=text,
        channels=(network,),
        due_at=clock.now() + timedelta(hours=1),
    )


@pytest.mark.parametrize(
    ("network", "text", "said"),
    [
        pytest.param(Network.X, "word " * 80, "X: 399/280 weighted characters", id="x-length"),
        pytest.param(
            Network.MASTODON, "a" * 101, "101/100 characters", id="the instance's own limit"
        ),
        pytest.param(Network.BLUESKY, FAMILY * 150, "UTF-8 bytes", id="bluesky-bytes"),
        pytest.param(
            Network.INSTAGRAM,
            " ".join(f"#tip{n}" for n in range(32)),
            "32 hashtags: Instagram allows 30",
            id="instagram-hashtags",
        ),
        pytest.param(Network.X, "Ask @jsmith", "@jsmith would notify", id="blocked-mention"),
    ],
)
async def test_a_post_its_network_would_refuse_is_refused_when_proposed(
    core: Core, clock: FakeClock, network: Network, text: str, said: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        await propose(core, clock, text, network)
    assert said in refused.value.message
    assert said in (refused.value.fields or {})["text"]  # shown on the form's text field
    with core.store.transaction() as session:
        assert session.exec(select(ScheduledPost)).all() == []


async def test_a_post_within_every_rule_is_proposed(core: Core, clock: FakeClock) -> None:
    await propose(core, clock, "#tip " * 30 + "Ask the help desk.", Network.INSTAGRAM)
    await propose(core, clock, FAMILY * 100, Network.BLUESKY)  # 2,500 bytes
    await propose(core, clock, "a" * 100, Network.MASTODON)
    with core.store.transaction() as session:
        assert len(session.exec(select(ScheduledPost)).all()) == 3
