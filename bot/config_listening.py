"""``crier.yml``'s ``listening``: which networks are read for replies and mentions, how often,
what the organisation is searched by, and when mentions of a service are a surge
(``bot.listening``).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator

from bot.config_base import Network, Strict


class SpikeConfig(Strict):
    """When mentions of a service are a surge: at least ``min_posts`` in the last
    ``window_minutes``, and at least ``ratio`` times its usual rate (its last 24 hours)."""

    ratio: float = Field(default=4.0, ge=1.5, le=100)
    min_posts: int = Field(default=10, ge=2, le=10_000)
    window_minutes: int = Field(default=15, ge=5, le=240, multiple_of=5)
    # One surge, one alert: none again for the same service this long after.
    quiet_minutes: int = Field(default=60, ge=5, le=24 * 60)


class ListeningConfig(Strict):
    """crier.yml's ``listening``: replies to Crier's posts and mentions of the organisation,
    collected from the networks into the incident's thread (``bot.listening``)."""

    enabled: bool = True
    # How often each network is asked; within its own rate limit whatever this says.
    every_minutes: int = Field(default=3, ge=1, le=60)
    # Replies to an incident's posts are still collected this long after its all-clear.
    after_all_clear_hours: int = Field(default=24, ge=0, le=7 * 24)
    # The networks listened to. X is not listed by default: X charges for every post read, so
    # it is listened to only when listed here and within channels.x.monthly_read_budget.
    networks: list[Network] = [Network.MASTODON, Network.BLUESKY, Network.FACEBOOK]
    # Watched besides the services' names and aliases: the organisation's handles, nicknames.
    terms: list[Annotated[str, Field(min_length=2, max_length=60)]] = Field(
        default=[], max_length=50
    )
    # More new replies than this at once are summarised ("37 new replies, mostly about …").
    burst: int = Field(default=5, ge=1, le=50)
    spike: SpikeConfig = SpikeConfig()

    @field_validator("networks")
    @classmethod
    def _readable(cls, value: list[Network]) -> list[Network]:
        readable = {Network.MASTODON, Network.BLUESKY, Network.FACEBOOK, Network.X}
        if odd := [n.value for n in value if n not in readable]:
            raise ValueError(
                f"Crier cannot listen on {', '.join(odd)}: only mastodon, bluesky, facebook, x"
            )
        return list(dict.fromkeys(value))
