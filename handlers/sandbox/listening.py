"""The sandbox's public: made-up people who answer Crier's posts and mention the organisation,
so that a newcomer sees listening work with no network's credentials.

``SandboxAudience`` keeps, in memory, what the public said on each network; ``SandboxSource`` is
one network's reading side over it, a ``ListeningSource`` like Mastodon's or Bluesky's: the
real poller, keep, spikes and chat presenters run on what it serves, and nothing of Crier is
stood in for. ``SandboxListening`` is what the page's buttons in each network panel do: *Receive
replies* (to the newest post of an open incident there, whose id is the outbox's ``outbox-N``)
and *Receive a surge of mentions* (of a service, enough for a spike alert); then it asks that
network's poll to run at once and runs what is due, as the clock's jumps do.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from sqlmodel import Session, col, select

from bot.config import CrierConfig, Network, Service
from bot.core import Core
from bot.listening.heard import Heard, HeardKind, Page, Sweep, Watched
from bot.listening.poller import POLL, poll_key
from bot.listening.sources.reading import one_at_a_time
from bot.scheduling import jobs
from bot.storage.models import Delivery, DeliveryState, Incident, Job, ListenMark
from bot.views import NETWORK_LABELS
from handlers.sandbox.clock import JumpingClock

# The networks Crier can listen on without charge (X charges for each post read: not here).
LISTENED = (Network.MASTODON, Network.BLUESKY, Network.FACEBOOK)
SURGE_SIZE = 14  # well over listening.spike's min_posts (10) and its 4x of a quiet baseline
SURGE_SPREAD = timedelta(seconds=35)  # between two mentions: 14 of them within 8 minutes
SURGE_SERVICE = "Wi-Fi"  # the starter catalog's; another catalog's first service otherwise

# Made-up people: (display name, the nickname their handles are made of).
PEOPLE = (
    ("Ann Okafor", "ann.okafor"),
    ("Ben Li", "benli"),
    ("Carla Mendes", "carlam"),
    ("Dev Patel", "devp"),
    ("Eve Novak", "evenovak"),
    ("Farid Haddad", "farid.h"),
    ("Gwen Jones", "gwenj"),
    ("Hiro Sato", "hiro.s"),
    ("Ines Garcia", "inesg"),
    ("Jon Berg", "jonberg"),
    ("Kemi Adeyemi", "kemi.a"),
    ("Luca Rossi", "lucarossi"),
    ("Mona Ali", "mona.ali"),
    ("Nils Eriksen", "nilse"),
    ("Olga Petrova", "olgap"),
    ("Paul Martin", "paulm"),
)
# Replies, three at a time: one angry, one asking, one thankful ({service}: the incident's).
REPLIES = (
    (
        "This is ridiculous. {service} has been down all morning and I have a deadline today.",
        "Any idea when {service} will be back? Should we wait or find another way?",
        "Thanks for the quick update, really appreciate you keeping us posted!",
    ),
    (
        "Still broken. Terrible timing, half my class cannot work. Unacceptable.",
        "Is there an estimate for {service}? Asking for our whole team.",
        "Great to see you on it so fast. Thank you, good luck!",
    ),
    (
        "Third outage this month. Awful. Nobody tells us anything useful.",
        "Does this affect {service} on mobile too, or only on laptops?",
        "Works again for me now, thanks a lot to the team!",
    ),
)
# A surge's mentions: angry, each naming the service ({term}: its name or an alias) and some the
# organisation ({org}), so the watched terms' search finds them too.
SURGE_LINES = (
    "{term} is down AGAIN. Useless. {org} please fix it",
    "Is {term} broken for everyone? Nothing connects, so frustrating",
    "{org} {term} dead in the lecture hall again, awful",
    "Cannot connect to {term} at all. This is a joke",
    "{term} keeps dropping every two minutes, terrible",
    "Anyone else losing {term}? I hate this, exam in an hour",
    "{org} what is wrong with {term} today?? Nothing works",
    "{term} is completely dead in the dorms. Ridiculous",
    "No {term} in building C since this morning. Worst week ever",
    "{org} your {term} is a disaster, I cannot submit my work",
    "Seriously, {term} again?! Third time this week, so annoying",
    "{term} shows connected but nothing loads. Awful",
    "Lost my whole video call to {term} dropping out. Furious",
    "{org} fix {term} please, the whole floor is offline and angry",
)


def handle(network: Network, nick: str, name: str) -> str:
    """Someone's handle as the network shows it (Facebook shows a name)."""
    if network is Network.MASTODON:
        return f"@{nick}@mastodon.example"
    if network is Network.BLUESKY:
        return f"{nick}.bsky.social"
    return name


class SandboxAudience:
    """What the public said, per network, in memory (a sandbox's run is its life): each item
    numbered as it is said, the numbers the sources' cursors."""

    def __init__(self) -> None:
        self._said: list[tuple[int, Heard]] = []
        self._numbers = itertools.count(1)

    def say(self, heard: Heard) -> Heard:
        self._said.append((next(self._numbers), heard))
        return heard

    def new_id(self, network: Network) -> str:
        """An id of the network's kind of thing said (never an ``outbox-`` id: those are
        Crier's posts)."""
        return f"{network.value}-said-{next(self._numbers)}"

    def page(self, network: Network, since: str | None, *, wanted: Callable[[Heard], bool]) -> Page:
        """What was said on ``network`` after the cursor ``since`` that ``wanted`` takes,
        oldest first; the cursor goes on from the newest given (or stays where it was)."""
        after = int(since) if since and since.isdigit() else 0
        found = [(n, h) for n, h in self._said if n > after and h.network is network and wanted(h)]
        items = tuple(sorted((h for _, h in found), key=lambda h: h.created_at))
        cursor = str(max((n for n, _ in found), default=after))
        return Page(items=items, cursor=cursor)

    def count(self, network: Network, kind: HeardKind) -> int:
        return sum(1 for _, h in self._said if h.network is network and h.kind is kind)


def _replying_to(external_id: str, heard: Heard) -> bool:
    return heard.kind is HeardKind.REPLY and heard.in_reply_to == external_id


def _mention(heard: Heard) -> bool:
    return heard.kind is HeardKind.MENTION


def _mention_with(query: str, heard: Heard) -> bool:
    return heard.kind is HeardKind.MENTION and query.casefold() in heard.text.casefold()


@dataclass
class SandboxSource:
    """One network's reading side over the audience: the ``ListeningSource`` protocol."""

    network: Network
    audience: SandboxAudience
    hears_mentions: bool = True
    searches: bool = True
    replies_per_call: int = 1

    async def replies(self, post: Watched, *, since: str | None = None) -> Page:
        return self.audience.page(
            self.network, since, wanted=partial(_replying_to, post.external_id)
        )

    async def replies_many(self, posts: list[tuple[Watched, str | None]]) -> Sweep:
        return await one_at_a_time(self, posts)

    async def mentions(self, *, since: str | None = None) -> Page:
        return self.audience.page(self.network, since, wanted=_mention)

    async def search(self, query: str, *, since: str | None = None) -> Page:
        return self.audience.page(self.network, since, wanted=partial(_mention_with, query))


def sandbox_sources(config: CrierConfig, audience: SandboxAudience) -> dict[Network, SandboxSource]:
    """A source for each network listened to (``listening.networks``) that the sandbox can
    play: enabled under ``channels``, and not X."""
    if not config.listening.enabled:
        return {}
    return {
        network: SandboxSource(network=network, audience=audience)
        for network in config.listening.networks
        if network in LISTENED and config.channel_enabled(network)
    }


@dataclass(frozen=True)
class ReplyTarget:
    """The post the public answers: a network's newest post of an open incident."""

    incident_id: int
    service: str
    external_id: str  # the outbox's ``outbox-N``


def reply_target(session: Session, network: Network) -> ReplyTarget | None:
    row = session.exec(
        select(Delivery, Incident)
        .join(Incident, col(Incident.id) == col(Delivery.incident_id))
        .where(
            Delivery.channel == network.value,
            Delivery.state == DeliveryState.SENT,
            col(Delivery.post_id).is_not(None),  # an incident's post, not an answer
            col(Delivery.external_id).is_not(None),
            col(Incident.resolved_at).is_(None),
        )
        .order_by(col(Delivery.id).desc())
    ).first()
    if row is None:
        return None
    delivery, incident = row
    return ReplyTarget(
        incident_id=incident.id or 0,
        service=incident.service,
        external_id=delivery.external_id or "",
    )


def _due_now(session: Session, *, network: Network, now: datetime) -> bool:
    """Make the network's poll due now; False while it runs (it is claimed): it may have read
    before the public spoke, so the caller asks again once it is done."""
    key = poll_key(network)
    job = session.exec(select(Job).where(Job.key == key)).first()
    if job is not None and job.done_at is None and job.claimed_by is not None:
        return False
    payload = {"network": network.value}
    jobs.schedule(session, kind=POLL, key=key, due_at=now, payload=payload, found=job)
    return True


def _last_alert(session: Session, service: str) -> datetime | None:
    mark = session.get(ListenMark, f"spike:{service}")
    return mark.at if mark is not None else None


@dataclass
class SandboxListening:
    """The panels' *Receive* buttons: the public speaks, then the network's poll runs at once."""

    core: Core
    clock: JumpingClock
    audience: SandboxAudience
    # Each press says new words, from the next made-up people.
    _presses: itertools.count[int] = field(default_factory=itertools.count, init=False)
    _people: Iterator[tuple[str, str]] = field(
        default_factory=partial(itertools.cycle, PEOPLE), init=False
    )

    @property
    def networks(self) -> list[Network]:
        """The networks whose panels have the buttons: those Crier listens to here."""
        return self.core.listening.networks

    def targets(self, session: Session) -> dict[Network, ReplyTarget | None]:
        """Each listened network's post the public would answer (None: none yet)."""
        return {network: reply_target(session, network) for network in self.networks}

    def _heard(
        self, network: Network, kind: HeardKind, text: str, at: datetime, to: str | None = None
    ) -> Heard:
        name, nick = next(self._people)
        return self.audience.say(
            Heard(
                network=network,
                external_id=self.audience.new_id(network),
                kind=kind,
                author=handle(network, nick, name),
                author_name=name,
                text=text,
                url=None,  # nowhere to read it but the sandbox's Slack
                created_at=at,
                in_reply_to=to,
            )
        )

    async def receive_replies(self, network: Network) -> str:
        """Three replies of mixed mood to the network's newest post of an open incident."""
        label = NETWORK_LABELS[network]
        target = await self.core.store.read(partial(reply_target, network=network))
        if target is None:
            return (
                f"Nothing to reply to on {label} yet: declare an incident with /outage and have "
                "an approver publish its post there; then people can answer it."
            )
        lines = REPLIES[next(self._presses) % len(REPLIES)]
        now = self.clock.now()
        for n, line in enumerate(lines):
            at = now - timedelta(seconds=20 * (len(lines) - n))
            text = line.format(service=target.service)
            self._heard(network, HeardKind.REPLY, text, at, to=target.external_id)
        await self.poll_now(network)
        return (
            f"{len(lines)} people replied on {label} to incident #{target.incident_id}'s post: "
            "Crier heard them, and shows them in the incident's thread."
        )

    async def receive_surge(self, network: Network) -> str:
        """About fourteen angry mentions of one service over the last minutes: a spike."""
        label = NETWORK_LABELS[network]
        service = surge_service(self.core.config)
        if service is None:
            return "The catalog has no service for people to post about."
        terms = [service.name, *service.aliases]
        org = self.core.config.organisation.display_name
        now = self.clock.now()
        for n in range(SURGE_SIZE):
            line = SURGE_LINES[n % len(SURGE_LINES)]
            text = line.format(term=terms[n % len(terms)], org=org)
            self._heard(network, HeardKind.MENTION, text, now - SURGE_SPREAD * (SURGE_SIZE - n))
        before = await self.core.store.read(partial(_last_alert, service=service.name))
        await self.poll_now(network)
        after = await self.core.store.read(partial(_last_alert, service=service.name))
        said = f"{SURGE_SIZE} people posted angrily about {service.name} on {label}"
        if after is not None and after != before:
            return f"{said}: Crier saw the surge, and says so in the chat."
        quiet = self.core.config.listening.spike.quiet_minutes
        return (
            f"{said}: Crier heard them, but says a surge of one service once in "
            f"{quiet} minutes (listening.spike.quiet_minutes)."
        )

    async def poll_now(self, network: Network) -> None:
        """Run the network's poll now, and what it causes (the thread's replies, an alert)."""
        for _ in range(3):
            due = await self.core.store.run(
                partial(_due_now, network=network, now=self.clock.now())
            )
            await self.clock.jump(self.core, 0)  # runs what is due, moves no time
            if due:
                return


def surge_service(config: CrierConfig) -> Service | None:
    """The service a surge is about: Wi-Fi when the catalog has it, else its first."""
    for service in config.services:
        if service.name == SURGE_SERVICE:
            return service
    return config.services[0] if config.services else None
