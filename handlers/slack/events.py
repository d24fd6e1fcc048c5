"""Events API listeners: someone mentioning @Crier gets the help, in the thread they wrote in."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from handlers.slack.help import HELP

log = logging.getLogger(__name__)


def register_events(app: AsyncApp) -> None:
    @app.event("app_mention")
    async def mentioned(event: dict[str, Any], client: AsyncWebClient) -> None:
        channel, thread = event.get("channel"), event.get("thread_ts") or event.get("ts")
        if not isinstance(channel, str) or not isinstance(thread, str):
            log.warning("an app_mention without its channel or ts; nothing to answer")
            return

        try:  # bolt has acked the event already: this runs after the answer
            await client.chat_postMessage(channel=channel, thread_ts=thread, text=HELP)
        except SlackApiError as exc:
            error = exc.response.get("error")
            log.warning("could not answer a mention in %s: %s", channel, error)
