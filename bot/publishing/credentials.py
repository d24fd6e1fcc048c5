"""Each network's credentials, from the environment only (never crier.yml, never the database):
``NAME``, or ``NAME_FILE`` naming a file that holds it (``bot.config.SecretFiles``).

A network whose credentials are missing publishes to the outbox instead, and says so.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, SecretStr

from bot.config import Network
from bot.settings import FromEnvironment

# What to set to publish to each network for real (``crier channels check`` says it).
NEEDED: dict[Network, str] = {
    Network.X: "X_BEARER_TOKEN (or X_API_KEY, X_API_SECRET, X_ACCESS_TOKEN, X_ACCESS_TOKEN_SECRET)",
    Network.FACEBOOK: "FACEBOOK_PAGE_TOKEN",
    Network.INSTAGRAM: "INSTAGRAM_ACCESS_TOKEN",
    Network.MASTODON: "MASTODON_ACCESS_TOKEN",
    Network.BLUESKY: "BLUESKY_APP_PASSWORD",
    Network.LINKEDIN: "LINKEDIN_ACCESS_TOKEN",
    Network.STATUSPAGE: "STATUSPAGE_API_KEY",
    Network.WEBHOOK: "WEBHOOK_SECRET",
}


def _secret(name: str) -> Any:
    return Field(default=None, validation_alias=name)


class NetworkCredentials(FromEnvironment):
    # X: an OAuth 2 user-context token, or the four OAuth 1.0a user-context values.
    x_bearer_token: SecretStr | None = _secret("X_BEARER_TOKEN")
    x_api_key: SecretStr | None = _secret("X_API_KEY")
    x_api_secret: SecretStr | None = _secret("X_API_SECRET")
    x_access_token: SecretStr | None = _secret("X_ACCESS_TOKEN")
    x_access_token_secret: SecretStr | None = _secret("X_ACCESS_TOKEN_SECRET")
    facebook_page_token: SecretStr | None = _secret("FACEBOOK_PAGE_TOKEN")
    instagram_access_token: SecretStr | None = _secret("INSTAGRAM_ACCESS_TOKEN")
    mastodon_access_token: SecretStr | None = _secret("MASTODON_ACCESS_TOKEN")
    bluesky_app_password: SecretStr | None = _secret("BLUESKY_APP_PASSWORD")
    linkedin_access_token: SecretStr | None = _secret("LINKEDIN_ACCESS_TOKEN")
    # LinkedIn's app credentials: only to ask LinkedIn when the access token expires.
    linkedin_client_id: SecretStr | None = _secret("LINKEDIN_CLIENT_ID")
    linkedin_client_secret: SecretStr | None = _secret("LINKEDIN_CLIENT_SECRET")
    statuspage_api_key: SecretStr | None = _secret("STATUSPAGE_API_KEY")
    webhook_secret: SecretStr | None = _secret("WEBHOOK_SECRET")
