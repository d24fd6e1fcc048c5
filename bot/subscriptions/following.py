"""A staff channel follows services on the status site: what ``/outage follow`` (Slack) and
"follow" (Teams) do, for any chat.

    answer = await follow(core, actor, "slack:C0123", service_words("Blackboard, Wi-Fi"))
    answer.message  # what the person is told: what the channel follows now

The channel is a ``Subscriber`` of kind chat (``bot.subscriptions.subscribers``); each post the
site publishes about a service it follows reaches it through ``bot.subscriptions.notify``. The
chats parse and render; the checks, the write and its audit line are here, so both chats
answer alike. Messages name Slack's ``/outage``: Teams rewrites that (``turns.for_teams``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from bot.errors import CrierError
from bot.ports import Actor
from bot.site.public import catalog_slugs
from bot.storage import audit
from bot.subscriptions import subscribers

if TYPE_CHECKING:
    from bot.core import Core

SITE_OFF = (
    "Crier's status site (or its subscriptions) is turned off in crier.yml, so there is "
    "nothing for a channel to follow."
)
HOW = "`/outage follow Blackboard, Wi-Fi` (or `/outage follow all`)"
_SEPARATORS = re.compile(r"[,;\n]")  # names hold spaces ("Student Portal"): commas part them


class FollowVerb(StrEnum):
    """The words a person types, after ``/outage`` in Slack or to the bot in Teams."""

    FOLLOW = "follow"
    UNFOLLOW = "unfollow"
    FOLLOWING = "following"


@dataclass(frozen=True)
class FollowAnswer:
    """What a channel follows once the command is done, and what to tell the person."""

    following: bool
    services: tuple[str, ...]  # names, in catalog order; empty while following: every one
    message: str


def service_words(text: str) -> list[str]:
    """The services a person listed: ``"Blackboard, Wi-Fi"`` → ``["Blackboard", "Wi-Fi"]``."""
    return [word.strip() for word in _SEPARATORS.split(text) if word.strip()]


async def follow(
    core: Core,
    actor: Actor,
    channel: str,
    words: list[str],
    *,
    reference: dict[str, Any] | None = None,
) -> FollowAnswer:
    """``channel`` ("slack:C0123", "teams:19:…") follows the services ``words`` name ("all":
    every one), in place of what it followed; ``reference``: where its platform posts. An
    unknown service is refused (a CrierError naming the ones there are), as is no service."""
    _site_on(core)
    if not words:
        raise CrierError(f"Which services? {HOW}. Services: {_every_name(core)}.")
    slugs = subscribers.chosen_services(core.config, words)
    now = core.clock.now()

    def write(session: Session) -> None:
        subscribers.follow(session, channel, slugs, reference=reference or {}, now=now)
        detail = {"channel": channel, "services": list(slugs) or "all"}
        audit.record(session, actor=actor, action="follow_site", at=now, detail=detail)

    await core.store.run(write)
    names = _names(core, slugs)
    return FollowAnswer(
        following=True,
        services=names,
        message=(
            f"This channel now follows {_listed(names)} on the status site: each post about "
            f"{'them' if len(names) != 1 else 'it'} appears here. `/outage unfollow` stops it."
        ),
    )


async def unfollow(core: Core, actor: Actor, channel: str) -> FollowAnswer:
    """``channel`` stops following the status site (saying so if it did not follow it)."""
    _site_on(core)
    now = core.clock.now()

    def write(session: Session) -> bool:
        gone = subscribers.unfollow(session, channel)
        if gone:
            detail = {"channel": channel}
            audit.record(session, actor=actor, action="unfollow_site", at=now, detail=detail)
        return gone

    gone = await core.store.run(write)
    message = (
        "This channel no longer follows the status site."
        if gone
        else "This channel was not following the status site."
    )
    return FollowAnswer(following=False, services=(), message=message)


async def following(core: Core, channel: str) -> FollowAnswer:
    """What ``channel`` follows on the status site."""
    _site_on(core)
    found = await core.store.read(lambda s: _services_of(s, channel))
    if found is None:
        message = f"This channel follows nothing on the status site. {HOW} starts."
        return FollowAnswer(following=False, services=(), message=message)
    names = _names(core, found)
    message = (
        f"This channel follows {_listed(names)} on the status site. `/outage unfollow` stops it."
    )
    return FollowAnswer(following=True, services=names, message=message)


def _services_of(session: Session, channel: str) -> tuple[str, ...] | None:
    found = subscribers.following(session, channel)
    return None if found is None else tuple(found.services)


def _site_on(core: Core) -> None:
    if core.subscriptions is None:
        raise CrierError(SITE_OFF)


def _names(core: Core, slugs: tuple[str, ...]) -> tuple[str, ...]:
    """The services' names, in catalog order (a slug no longer in the catalog as itself)."""
    by_slug = {slug: name for name, slug in catalog_slugs(core.config).items()}
    return tuple(by_slug.get(slug, slug) for slug in slugs)


def _every_name(core: Core) -> str:
    return ", ".join(catalog_slugs(core.config))


def _listed(names: tuple[str, ...]) -> str:
    """``("A", "B", "C")`` → "A, B and C"; none → every service."""
    if not names:
        return "every service"
    if len(names) == 1:
        return names[0]
    return f"{', '.join(names[:-1])} and {names[-1]}"
