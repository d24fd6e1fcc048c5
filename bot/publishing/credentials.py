"""Each network's credentials, from the environment only (never crier.yml, never the database):
``NAME``, or ``NAME_FILE`` naming a file that holds it (``bot.config.SecretFiles``).

A network whose credentials are missing publishes to the outbox instead, and says so.
"""

from __future__ import annotations

from pydantic import AliasGenerator, SecretStr
from pydantic_settings import SettingsConfigDict

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
    Network.SITE: "nothing (the status site is Crier's own)",
}


class NetworkCredentials(FromEnvironment):
    # Each read from the variable named as the field is, in capitals: X_BEARER_TOKEN, …
    model_config = SettingsConfigDict(alias_generator=AliasGenerator(validation_alias=str.upper))

    # X: an OAuth 2 user-context token, or the four OAuth 1.0a user-context values.
    x_bearer_token: SecretStr | None = None
    x_api_key: SecretStr | None = None
    x_api_secret: SecretStr | None = None
    x_access_token: SecretStr | None = None
    x_access_token_secret: SecretStr | None = None
    facebook_page_token: SecretStr | None = None
    instagram_access_token: SecretStr | None = None
    mastodon_access_token: SecretStr | None = None
    bluesky_app_password: SecretStr | None = None
    linkedin_access_token: SecretStr | None = None
    # LinkedIn's app credentials: only to ask LinkedIn when the access token expires.
    linkedin_client_id: SecretStr | None = None
    linkedin_client_secret: SecretStr | None = None
    statuspage_api_key: SecretStr | None = None
    webhook_secret: SecretStr | None = None
