"""The Slack fakes in one import: the simulated workspace and a client wired to it.

    async def test_declare(slack_workspace: SlackWorkspace) -> None:
        client = web_client(slack_workspace)
        ...

(``slack_workspace`` is a fixture: import it into a conftest.py to use it by name.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from handlers.sandbox.workspace import (
    RecordedCall,
    RecordedResponse,
    SlackError,
    SlackWorkspace,
    WorkspaceEvent,
)

__all__ = [
    "RecordedCall",
    "RecordedResponse",
    "SlackError",
    "SlackWorkspace",
    "WorkspaceEvent",
    "slack_workspace",
    "web_client",
]


def web_client(
    workspace: SlackWorkspace, *, token: str | None = None, retry_rate_limits: bool = True
) -> AsyncWebClient:
    """An ``AsyncWebClient`` for the workspace, retrying 429s as Crier's own client does."""
    retry_handlers: list[AsyncRetryHandler] = [AsyncConnectionErrorRetryHandler()]
    if retry_rate_limits:
        retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=2))
    return AsyncWebClient(
        token=workspace.bot_token if token is None else token,
        base_url=workspace.api_url,
        retry_handlers=retry_handlers,
    )


@pytest_asyncio.fixture
async def slack_workspace() -> AsyncIterator[SlackWorkspace]:
    """A started, lenient workspace (any well-formed channel or user id is accepted)."""
    async with SlackWorkspace() as workspace:
        yield workspace
