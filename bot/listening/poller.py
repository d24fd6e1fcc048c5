"""Listening, as durable work: a job per network (``listen_poll:<network>``) asks it, every
``listening.every_minutes``, for the replies to each watched post, the account's mentions and
the watched terms; keeps what is new (``bot.listening.keep``); and writes a job per incident
that heard something and one per surge of mentions (``bot.listening.telling``). Each
runs on the scheduler's leases: a poll killed half-way is run again by the next process, and
what it had kept is not kept twice.

Each call is made within the network's budgets (``bot.listening.budgets``). The watched posts
and terms asked least recently go first, so a budget spent before the end of the list still
reaches every post in turn. Where a network reads many threads in one request (X's search ORs
conversations, Graph reads many ids), the posts next in that order are read together
(``replies_many``): one call, its requests counted as any other's. A watched post deleted on
its network is marked so and not asked for again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Literal

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.config import CrierConfig, Network
from bot.listening.budgets import (
    BUDGETS,
    Budgets,
    BudgetSpent,
    Share,
    ShareSpent,
    budget_kind,
)
from bot.listening.heard import ListeningSource, Page, Watched
from bot.listening.keep import Found, keep
from bot.listening.telling import Telling, check_spike, show_later
from bot.listening.views import HeardBatch, SpikeAlert
from bot.listening.watch import Terms, WatchedPost, watched_posts
from bot.ports import Clock, PublishError
from bot.scheduling import jobs
from bot.scheduling.jobs import Again, JobHandler, JobRun
from bot.storage.models import Job, ListenMark
from bot.storage.store import Store

log = logging.getLogger(__name__)

POLL = "listen_poll"
# A watched post's mark once the network said it was deleted (no source's cursor looks so).
GONE = "gone"
# A first look at a source reads back this far: a day of mentions is the spikes' baseline.
FIRST_LOOK = timedelta(hours=24)


@dataclass(frozen=True)
class _Ask:
    """One source call of a poll: the account's mentions, a watched post's replies, or a
    search for one of the organisation's terms."""

    call: Callable[[str | None], Awaitable[Page]]
    what: Literal["mentions", "replies", "search"]
    under: WatchedPost | None = None  # the watched post, for its replies


def poll_key(network: Network) -> str:
    return f"{POLL}:{network.value}"


def ensure_polling(
    session: Session, *, config: CrierConfig, networks: list[Network], now: datetime
) -> str:
    """Start a poll per network listened to (those with a source), or stop them all when
    ``listening.enabled`` is off; a live poll is left as it is."""
    wanted = set(networks) if config.listening.enabled else set()
    for network in BUDGETS:
        key = poll_key(network)
        if network not in wanted:
            jobs.cancel(session, now=now, key=key)
            continue
        job = session.exec(select(Job).where(Job.key == key)).first()
        if job is None or job.done_at is not None:
            payload = {"network": network.value}
            jobs.schedule(session, kind=POLL, key=key, due_at=now, payload=payload, found=job)
    listened = sorted(n.value for n in wanted)
    if not listened:
        return "no network's replies or mentions are read"
    return f"reading replies and mentions on {', '.join(listened)}"


def start_polling(
    store: Store, *, config: CrierConfig, networks: list[Network], now: datetime
) -> str:
    """``ensure_polling`` in its own transaction, at start-up (another process starting at the
    same moment may have written the jobs first: as good)."""
    try:
        with store.transaction() as session:
            return ensure_polling(session, config=config, networks=networks, now=now)
    except IntegrityError:
        return "started by another process"


@dataclass
class Listening:
    """The listening jobs. ``sources``: a reading side per network that has credentials;
    ``show_heard``/``show_spike``: every chat (``ChatShows``)."""

    store: Store
    config: CrierConfig
    clock: Clock
    sources: Mapping[Network, ListeningSource]
    show_heard: Callable[[HeardBatch], Awaitable[None]]
    show_spike: Callable[[SpikeAlert], Awaitable[None]]
    wake_scheduler: Callable[[], None]

    def __post_init__(self) -> None:
        self.terms = Terms.of(self.config)
        self.budgets = Budgets(store=self.store, config=self.config, clock=self.clock)
        self.telling = Telling(
            store=self.store,
            config=self.config,
            clock=self.clock,
            show_heard=self.show_heard,
            show_spike=self.show_spike,
        )

    def handlers(self) -> dict[str, JobHandler]:
        return {POLL: self.poll, **self.telling.handlers()}

    @property
    def networks(self) -> list[Network]:
        """The networks listened to: listed under ``listening.networks``, with a source."""
        listed = self.config.listening.networks
        return [n for n in listed if n in self.sources and self.budgets.may_read(n)]

    # --- one poll ---------------------------------------------------------------------------

    async def poll(self, run: JobRun) -> Again | str:
        network = Network(run.payload.get("network", ""))
        every = timedelta(minutes=self.config.listening.every_minutes)
        source = self.sources.get(network)
        if source is None or network not in self.networks or not self.config.listening.enabled:
            return "not listened to"
        started = self.clock.now()
        found: list[Found] = []
        marks: dict[str, ListenMark] = {}
        again = started + every
        shares = self.budgets.shares(network)
        try:
            await self._read(network, source, found, marks, shares)
        except BudgetSpent:
            pass
        except PublishError as exc:
            log.warning("reading %s stopped for this poll: %s", network.value, exc.message)
        held = [share.held_until for share in shares.values()]
        if all(held):  # every budget refused for rate: nothing to ask before the first resets
            again = max(again, min(at for at in held if at is not None))
        added = await self.store.run(lambda s: self._keep(s, network, found, marks))
        if added:
            self.wake_scheduler()
        return Again(at=again, payload={"network": network.value, "heard": added})

    async def _read(
        self,
        network: Network,
        source: ListeningSource,
        found: list[Found],
        marks: dict[str, ListenMark],
        shares: dict[str, Share],
    ) -> None:
        now = self.clock.now()
        watched = await self.store.read(
            lambda s: watched_posts(s, config=self.config, network=network, now=now)
        )
        known = await self.store.read(lambda s: _marks(s, network))
        asks: dict[str, _Ask] = {}
        if source.hears_mentions:
            asks[f"{network.value}:mentions"] = _Ask(partial(_mentions, source), "mentions")
        for post in watched:
            key = f"{network.value}:replies:{post.post.delivery_id}"
            if _gone(known.get(key)):
                continue  # deleted on the network: asking again would spend budget for nothing
            asks[key] = _Ask(partial(_replies, source, post.post), "replies", under=post)
        if source.searches:
            for term in self.terms.searches():
                asks[f"{network.value}:search:{term}"] = _Ask(
                    partial(_search, source, term), "search"
                )
        # Least recently asked first, so a budget spent part-way reaches the others next time;
        # the account's mentions first when the poll can ask everything on their budget anyway
        # (on Mastodon and Bluesky they bring the direct replies to every post at once).
        order = sorted(asks, key=lambda k: _asked_at(known.get(k)))
        calls = _calls(order, asks, source.replies_per_call)
        mentions = f"{network.value}:mentions"
        if mentions in asks:
            kind = budget_kind(network, "mentions")
            alike = [c for c in calls if budget_kind(network, asks[c[0]].what) == kind]
            if shares[kind].left >= len(alike):
                calls = [[mentions], *(keys for keys in calls if keys != [mentions])]
        for keys in calls:
            share = shares[budget_kind(network, asks[keys[0]].what)]
            try:
                await self._call(network, source, keys, asks, known, share, found, marks)
            except ShareSpent:
                continue  # this budget's asks wait for the next poll; the others' go on

    async def _call(
        self,
        network: Network,
        source: ListeningSource,
        keys: list[str],
        asks: dict[str, _Ask],
        known: dict[str, ListenMark],
        share: Share,
        found: list[Found],
        marks: dict[str, ListenMark],
    ) -> None:
        """One source call of the poll: the asks ``keys`` (several watched posts' replies in a
        sweep, or one ask), what they read added to ``found`` and their marks to ``marks``."""
        now = self.clock.now()
        if asks[keys[0]].what == "replies" and source.replies_per_call > 1:
            pages = await self._sweep(network, source, keys, asks, known, share)
            for key, page in pages.items():  # a post not read keeps its mark as it was
                found += [Found(item, under=asks[key].under) for item in page.items]
                marks[key] = _mark(key, page, now, asks[key])
            return
        [key] = keys
        ask, mark = asks[key], known.get(key)
        page = await self.budgets.ask(
            network, partial(ask.call, mark.cursor if mark else None), share
        )
        if ask.what == "replies":
            found += [Found(item, under=ask.under) for item in page.items]
        else:
            items = self._recent(page, first=key not in known)
            found += [Found(item, searched=ask.what == "search") for item in items]
        marks[key] = _mark(key, page, now, ask)

    async def _sweep(
        self,
        network: Network,
        source: ListeningSource,
        keys: list[str],
        asks: dict[str, _Ask],
        known: dict[str, ListenMark],
        share: Share,
    ) -> dict[str, Page]:
        """These watched posts' replies in one ``replies_many``; each post's page by its ask's
        key (a post the source did not read is left out)."""
        posts: dict[str, tuple[Watched, str | None]] = {}
        for key in keys:
            under, mark = asks[key].under, known.get(key)
            assert under is not None  # a replies ask's post
            posts[key] = (under.post, mark.cursor if mark is not None else None)
        sweep = await self.budgets.ask(
            network, partial(source.replies_many, list(posts.values())), share
        )
        read = {key: sweep.pages.get(post.delivery_id) for key, (post, _) in posts.items()}
        return {key: page for key, page in read.items() if page is not None}

    def _recent(self, page: Page, *, first: bool) -> tuple[Any, ...]:
        """A source's first look reads back a day at most (the spikes' baseline)."""
        if not first:
            return page.items
        since = self.clock.now() - FIRST_LOOK
        return tuple(item for item in page.items if item.created_at >= since)

    # --- keeping what was read ---------------------------------------------------------------

    def _keep(
        self, session: Session, network: Network, found: list[Found], marks: dict[str, ListenMark]
    ) -> int:
        now = self.clock.now()
        watched = {
            w.post.external_id: w
            for w in watched_posts(session, config=self.config, network=network, now=now)
        }
        added = keep(session, found, terms=self.terms, watched=watched, now=now)
        for mark in marks.values():
            session.merge(mark)
        by_incident: dict[int, list[int]] = {}
        for row in added:
            if row.incident_id is not None:
                by_incident.setdefault(row.incident_id, []).append(row.id or 0)
        for incident_id, ids in by_incident.items():
            show_later(session, incident_id, ids, now=now)
        mentioned = {row.service for row in added if row.kind == "mention" and row.service}
        for service in sorted(mentioned):
            check_spike(session, self.config, service, now=now)
        return len(added)


def _mark(key: str, page: Page, now: datetime, ask: _Ask) -> ListenMark:
    """Where the next poll starts for this ask; a watched post deleted on the network is
    marked so, once, and not asked for again."""
    if page.gone and ask.under is not None:
        post = ask.under.post
        log.info(
            "%s post %s (delivery %d) was deleted there: its replies are no longer read",
            post.network.value,
            post.external_id,
            post.delivery_id,
        )
        return ListenMark(key=key, cursor=GONE, at=now)
    return ListenMark(key=key, cursor=page.cursor, at=now)


def _gone(mark: ListenMark | None) -> bool:
    return mark is not None and mark.cursor == GONE


def _calls(order: list[str], asks: dict[str, _Ask], per_call: int) -> list[list[str]]:
    """The asks in ``order`` as source calls: consecutive replies asks together, up to
    ``per_call`` posts a call; every other ask (and every replies ask where ``per_call`` is 1)
    a call of its own."""
    calls: list[list[str]] = []
    for key in order:
        previous = calls[-1] if calls else []
        joins = per_call > 1 and asks[key].what == "replies" and len(previous) < per_call
        if joins and previous and asks[previous[0]].what == "replies":
            previous.append(key)
        else:
            calls.append([key])
    return calls


def _mentions(source: ListeningSource, since: str | None) -> Awaitable[Page]:
    return source.mentions(since=since)


def _replies(source: ListeningSource, post: Watched, since: str | None) -> Awaitable[Page]:
    return source.replies(post, since=since)


def _search(source: ListeningSource, term: str, since: str | None) -> Awaitable[Page]:
    return source.search(term, since=since)


def _marks(session: Session, network: Network) -> dict[str, ListenMark]:
    rows = session.exec(
        select(ListenMark).where(col(ListenMark.key).startswith(f"{network.value}:"))
    ).all()
    return {row.key: row for row in rows}


def _asked_at(mark: ListenMark | None) -> datetime:
    return mark.at if mark is not None and mark.at is not None else datetime.min.replace(tzinfo=UTC)
