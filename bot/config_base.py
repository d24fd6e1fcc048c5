"""What every part of ``crier.yml``'s model shares: the networks Crier publishes to, and the strict
base every section is (an unknown key is an error naming it, a typo never silently ignored).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Network(StrEnum):
    """Every public channel Crier can publish to."""

    X = "x"
    FACEBOOK = "facebook"
    INSTAGRAM = "instagram"
    MASTODON = "mastodon"
    BLUESKY = "bluesky"
    LINKEDIN = "linkedin"
    STATUSPAGE = "statuspage"
    WEBHOOK = "webhook"
    # Crier's own status site (``crier serve`` under ``channels.site.path``, or exported): it
    # needs no account anywhere, so it is on unless crier.yml turns it off.
    SITE = "site"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
