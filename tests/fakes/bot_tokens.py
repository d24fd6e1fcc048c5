"""A fake Bot Framework token service: the OpenID metadata and signing keys the Bot Framework SDK
fetches to check the token on each request to ``/api/messages``, on 127.0.0.1, port 0.

It signs tokens as the Bot Framework Service does (RS256, issuer ``https://api.botframework.com``,
the bot's app id as audience, the activity's ``serviceUrl`` as a claim)::

    async with FakeBotTokens() as tokens:
        tokens.point_sdk_here(monkeypatch)
        header = tokens.header(app_id=APP_ID, service_url=connector.service_url)

``forge`` makes tokens the service would never issue: signed with another key, expired, for
another bot, with a key id it does not publish.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import jwt
import pytest
from aiohttp import web
from botframework.connector.auth import AuthenticationConstants, ChannelValidation
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ISSUER = AuthenticationConstants.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER
KEY_ID = "crier-test-key"
_KEYS: dict[str, rsa.RSAPrivateKey] = {}


def private_key(name: str) -> rsa.RSAPrivateKey:
    """A 2048-bit key, made once per test session (making one takes a while)."""
    if name not in _KEYS:
        _KEYS[name] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return _KEYS[name]


@dataclass
class FakeBotTokens:
    key: rsa.RSAPrivateKey = field(default_factory=lambda: private_key("service"))
    endorsements: list[str] = field(default_factory=lambda: ["msteams"])
    fetches: int = 0  # requests for the metadata or the keys
    _runner: web.AppRunner | None = None
    base_url: str = ""

    @property
    def metadata_url(self) -> str:
        return f"{self.base_url}/v1/.well-known/openidconfiguration"

    async def __aenter__(self) -> FakeBotTokens:
        app = web.Application()
        app.router.add_get("/v1/.well-known/openidconfiguration", self._metadata)
        app.router.add_get("/v1/.well-known/keys", self._keys)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def point_sdk_here(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Make the SDK fetch its keys here (for channel and Emulator tokens alike)."""
        monkeypatch.setattr(ChannelValidation, "open_id_metadata_endpoint", self.metadata_url)
        monkeypatch.setattr(
            AuthenticationConstants, "TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL", self.metadata_url
        )

    async def _metadata(self, request: web.Request) -> web.Response:
        self.fetches += 1
        return web.json_response(
            {
                "issuer": ISSUER,
                "authorization_endpoint": "https://invalid.example/",
                "jwks_uri": f"{self.base_url}/v1/.well-known/keys",
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            }
        )

    async def _keys(self, request: web.Request) -> web.Response:
        self.fetches += 1
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update({"kid": KEY_ID, "use": "sig", "endorsements": self.endorsements})
        return web.json_response({"keys": [jwk]})

    def token(self, *, app_id: str, service_url: str, **claims: Any) -> str:
        """A token as the Bot Framework Service signs it; ``claims`` override or add."""
        return self.forge(app_id=app_id, service_url=service_url, **claims)

    def header(self, *, app_id: str, service_url: str, **claims: Any) -> str:
        return "Bearer " + self.token(app_id=app_id, service_url=service_url, **claims)

    def forge(
        self,
        *,
        app_id: str,
        service_url: str,
        key: rsa.RSAPrivateKey | None = None,
        key_id: str = KEY_ID,
        algorithm: str = "RS256",
        **claims: Any,
    ) -> str:
        now = int(time.time())
        payload = {
            "iss": ISSUER,
            "aud": app_id,
            "serviceurl": service_url,
            "nbf": now - 60,
            "exp": now + 3600,
            **claims,
        }
        payload = {k: v for k, v in payload.items() if v is not None}
        signer: Any = key or self.key
        if algorithm == "none":
            signer = None
        return jwt.encode(payload, signer, algorithm=algorithm, headers={"kid": key_id})
