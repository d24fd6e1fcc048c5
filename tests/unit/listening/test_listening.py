"""Listening through the core, against a fake Mastodon instance over HTTP: an incident's post is
published there, people reply (at any depth), the poll job reads the thread within the network's
budget, and the replies reach the incident's conversation in one batch — once, however often the
thread is read again. A burst is summed up; a surge of angry mentions of a service is alerted
once, in the comms channel, or in its open incident's thread."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import yaml
from pydantic import SecretStr
from sqlmodel import col, select

from bot.config import STARTER_CONFIG, CrierConfig, Network
from bot.core import Core, build_core
from bot.errors import Conflict, InvalidInput, NotAllowed
from bot.incidents.requests import DeclareRequest, UpdateRequest
from bot.listening.answers import AnswerView
from bot.listening.poller import POLL, start_polling
from bot.listening.record import reaction, reaction_markdown
from bot.listening.sources.mastodon import MastodonSource
from bot.listening.views import HeardBatch, SpikeAlert
from bot.ports import Actor
from bot.publishing.http import HttpClient
from bot.publishing.mastodon import MastodonPublisher
from bot.scheduling.reminder_jobs import review_figures
from bot.settings import Settings
from bot.storage.audit import export_markdown
from bot.storage.models import HeardPost, IncidentStatus, Job
from bot.storage.store import Store
from bot.views import IncidentView
from tests.clock import FakeClock
from tests.conftest import ANALYST, APPROVER, APPROVER_2, make_config
from tests.fakes.networks.mastodon import FakeMastodon
from tests.unit.listening.conftest import seconds
from tests.unit.test_reminders import RecordingPresenter

TOKEN = "mastodon-test-token"
analyst, approver = Actor("slack", ANALYST), Actor("slack", APPROVER)
second_approver = Actor("slack", APPROVER_2)


class ListeningChat(RecordingPresenter):
    """A chat that records what listening shows."""

    def __init__(self) -> None:
        super().__init__()
        self.heard: list[tuple[int, HeardBatch]] = []
        self.spikes: list[tuple[SpikeAlert, int | None]] = []
        self.answers: list[AnswerView] = []

    async def show_heard(self, incident: IncidentView, batch: HeardBatch) -> None:
        self.heard.append((incident.id, batch))

    async def show_spike(self, alert: SpikeAlert, incident: IncidentView | None) -> None:
        self.spikes.append((alert, incident.id if incident is not None else None))

    async def show_answer(self, answer: AnswerView, incident: IncidentView | None) -> None:
        self.answers.append(answer)


@pytest.fixture
async def fake(clock: FakeClock) -> AsyncIterator[FakeMastodon]:
    server = FakeMastodon(token=TOKEN, now=seconds(clock), page_max=2)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def chat() -> ListeningChat:
    return ListeningChat()


def listening_config(fake: FakeMastodon, **listening: Any) -> CrierConfig:
    channels = yaml.safe_load(STARTER_CONFIG.read_text())["channels"]
    channels["mastodon"] = {**(channels.get("mastodon") or {}), "base_url": fake.base_url}
    channels["mastodon"]["account"] = "it"
    return make_config(
        channels=channels,
        listening={"terms": ["Northfield", "@it"], "networks": ["mastodon"], **listening},
    )


@pytest.fixture
async def core(
    store: Store, clock: FakeClock, chat: ListeningChat, fake: FakeMastodon, http: HttpClient
) -> AsyncIterator[Core]:
    config = listening_config(fake)
    token = SecretStr(TOKEN)
    made = build_core(
        settings=Settings(),
        config=config,
        store=store,
        clock=clock,
        presenters={"test": chat},
        publishers={
            Network.MASTODON: MastodonPublisher(
                http=http, base_url=fake.base_url, token=token, account="it", clock=clock
            )
        },
        sources={
            Network.MASTODON: MastodonSource(
                http=http, base_url=fake.base_url, token=token, account="it", clock=clock
            )
        },
    )
    yield made
    await made.close()


async def run(core: Core, clock: FakeClock, **delta: float) -> None:
    """Move the clock, run what is due (polls, showing), and publish."""
    clock.advance(**delta)
    for _ in range(5):
        while await core.scheduler.run_once():
            pass
        while await core.publishing.run_once():
            pass
        await core.settle()


async def published_incident(core: Core, clock: FakeClock, fake: FakeMastodon) -> tuple[int, str]:
    request = DeclareRequest(
        service="Wi-Fi", summary="eduroam is down", channels=(Network.MASTODON,)
    )
    draft = await core.declare(analyst, request)
    await core.approve(approver, draft.post.id)
    await run(core, clock)
    [status] = fake.posted
    return draft.incident.id, str(status["id"])


def heard_rows(core: Core) -> list[HeardPost]:
    with core.store.transaction() as session:
        return list(session.exec(select(HeardPost).order_by(col(HeardPost.id))).all())


async def test_replies_reach_the_incidents_thread_once(
    core: Core, clock: FakeClock, fake: FakeMastodon, chat: ListeningChat
) -> None:
    said = start_polling(
        core.store, config=core.config, networks=core.listening.networks, now=clock.now()
    )
    assert said == "reading replies and mentions on mastodon"
    incident_id, status_id = await published_incident(core, clock, fake)
    first = fake.add_reply(
        status_id, "Still down in the library <!channel>", author="ann", at=clock.now()
    )
    fake.add_reply(
        first["id"], "Same in room 2, terrible", author="bob@example.social", at=clock.now()
    )
    await run(core, clock, minutes=3)
    [(shown_for, batch)] = chat.heard
    assert shown_for == incident_id and batch.count == 2 and batch.summary is None
    assert [v.text for v in batch.items] == [
        "Still down in the library <!channel>",
        "Same in room 2, terrible",
    ]
    assert batch.items[1].mood.label == "negative"
    # The next polls read the thread again: nothing new is shown, nothing kept twice.
    await run(core, clock, minutes=3)
    await run(core, clock, minutes=3)
    assert len(chat.heard) == 1 and len(heard_rows(core)) == 2
    assert {r.incident_id for r in heard_rows(core)} == {incident_id}
    with core.store.transaction() as session:
        [poll] = session.exec(select(Job).where(Job.kind == POLL)).all()
    assert poll.done_at is None and poll.due_at > clock.now()


async def test_a_burst_is_summed_up_with_the_angriest_first(
    core: Core, clock: FakeClock, fake: FakeMastodon, chat: ListeningChat
) -> None:
    start_polling(core.store, config=core.config, networks=core.listening.networks, now=clock.now())
    _, status_id = await published_incident(core, clock, fake)
    texts = [
        "The Duo prompt never arrives",
        "Duo prompt is broken for me too",
        "no Duo prompt on my phone, this is awful",
        "Thanks for the update",
        "Duo prompt still missing",
        "is there an ETA?",
        "the Duo prompt times out",
    ]
    for n, text in enumerate(texts):
        fake.add_reply(status_id, text, author=f"person{n}", at=clock.now())
    await run(core, clock, minutes=3)
    [(_, batch)] = chat.heard
    assert batch.count == 7 and batch.summary is not None
    assert batch.summary.startswith("7 new replies, mostly about") and "Duo prompt" in batch.summary
    assert len(batch.items) == 3
    assert batch.items[0].text == "no Duo prompt on my phone, this is awful"  # the angriest
    assert batch.negative_percent is not None and batch.negative_percent > 0


async def test_a_surge_of_angry_mentions_is_alerted_once(
    core: Core, clock: FakeClock, fake: FakeMastodon, chat: ListeningChat
) -> None:
    start_polling(core.store, config=core.config, networks=core.listening.networks, now=clock.now())
    fake.mention("is eduroam slow today?", author="early", at=clock.now() - timedelta(hours=3))
    await run(core, clock)  # the first look: a quiet day
    assert chat.spikes == []
    for n in range(12):
        at = clock.now() + timedelta(minutes=n // 2)
        fake.mention(f"eduroam is down again, this is terrible ({n})", author=f"p{n}", at=at)
    await run(core, clock, minutes=6)
    [(alert, incident_id)] = chat.spikes
    assert incident_id is None  # no open incident of Wi-Fi: the comms channel
    assert alert.service == "Wi-Fi"
    assert alert.sentence.startswith("Mentions of Wi-Fi are ") and "12 posts" in alert.sentence
    assert "% negative" in alert.sentence and len(alert.examples) == 3
    for n in range(5):  # the surge goes on: no second alert within the quiet hour
        fake.mention(f"still no eduroam, awful ({n})", author=f"q{n}", at=clock.now())
    await run(core, clock, minutes=3)
    assert len(chat.spikes) == 1


async def test_a_network_that_says_its_budget_is_nearly_spent_is_left_until_it_resets(
    store: Store, clock: FakeClock, chat: ListeningChat, http: HttpClient
) -> None:
    fake = FakeMastodon(token=TOKEN, now=seconds(clock), read_limit=7, read_window=300.0)
    await fake.start()
    try:
        token = SecretStr(TOKEN)
        core = build_core(
            settings=Settings(),
            config=listening_config(fake),
            store=store,
            clock=clock,
            presenters={"test": chat},
            sources={
                Network.MASTODON: MastodonSource(
                    http=http, base_url=fake.base_url, token=token, account="it", clock=clock
                )
            },
        )
        start_polling(store, config=core.config, networks=core.listening.networks, now=clock.now())
        await run(core, clock)  # mentions (6 left), a search (5 left: the reserve): it stops
        assert (fake.reads.used, fake.reads.refused) == (2, 0)
        await run(core, clock, minutes=3)  # the instance's window (5 min) has not reset
        assert fake.reads.used == 2
        first_window = fake.reads.started
        await run(core, clock, minutes=3)  # a new window: asked again, to the reserve again
        assert fake.reads.started != first_window and fake.reads.used == 2
        assert fake.reads.refused == 0  # never a 429
        await core.close()
    finally:
        await fake.stop()


async def test_an_approved_answer_goes_out_once_as_a_reply_to_what_it_answers(
    core: Core, clock: FakeClock, fake: FakeMastodon, chat: ListeningChat
) -> None:
    start_polling(core.store, config=core.config, networks=core.listening.networks, now=clock.now())
    incident_id, status_id = await published_incident(core, clock, fake)
    asked = fake.add_reply(status_id, "Is the VPN down too?", author="ann", at=clock.now())
    await run(core, clock, minutes=3)
    [(_, batch)] = chat.heard
    [question] = batch.items

    drafted = await core.answers.propose(analyst, question.id, "No, only eduroam. @ann")
    await run(core, clock)
    assert (
        chat.answers[-1].state == "pending"
        and chat.answers[-1].heard.text == "Is the VPN down too?"
    )
    assert chat.answers[-1].notes  # the approver is told it notifies @ann
    with pytest.raises(NotAllowed):
        await core.answers.approve(analyst, drafted.id)  # not its own
    with pytest.raises(InvalidInput, match="500"):
        await core.answers.edit(approver, drafted.id, "x" * 600)  # too long for Mastodon
    edited = await core.answers.edit(approver, drafted.id, "No, only eduroam is down.")
    with pytest.raises(NotAllowed):
        await core.answers.approve(approver, drafted.id)  # now the approver wrote it
    with pytest.raises(Conflict, match="edited after you saw it"):
        await core.answers.approve(second_approver, drafted.id, revision=1)
    await core.answers.approve(second_approver, drafted.id, revision=edited.revision)
    await run(core, clock)
    answers = [s for s in fake.posted if s.get("in_reply_to_id") == asked["id"]]
    assert [a["text"] for a in answers] == ["No, only eduroam is down."]
    shown = chat.answers[-1]
    assert shown.state == "approved" and shown.delivery_state == "sent" and shown.url
    # The incident's next update follows the incident's own post, not the answer.
    update = await core.draft_update(
        analyst, incident_id, UpdateRequest(status=IncidentStatus.IDENTIFIED)
    )
    await core.approve(approver, update.post.id)
    await run(core, clock, minutes=3)
    assert fake.posted[-1]["in_reply_to_id"] == status_id
    assert len([s for s in fake.posted if s.get("in_reply_to_id") == asked["id"]]) == 1
    # The post-incident review's figures say what the public answered, and how fast we did.
    with core.store.transaction() as session:
        found = review_figures(session, incident_id)
    assert found is not None
    figures = dict(found[1])
    assert (figures["Replies heard"], figures["Replies negative"]) == ("1", "0 %")
    assert figures["First reply to first public answer"] == "3 min"
    # After post 1 one reply (not negative); after the update, none yet.
    assert figures["Negative replies by post"] == "after post 1: 0 % of 1 · after post 2: —"
    # The incident's record (crier export) says what the public answered, and the answer.
    with core.store.transaction() as session:
        record = export_markdown(session, incident_id=incident_id, config=core.config)
        found_reaction = reaction(session, incident_id)
    assert found_reaction is not None
    said = "\n".join(reaction_markdown(found_reaction, core.config.organisation.zone))
    assert f"### Answer #{drafted.id} on Mastodon: sent" in record
    assert "Replies heard: 1, 0 % negative" in said and "Is the VPN down too?" in said
