"""Slack-shaped signed requests; they live in the package now (``crier sandbox`` sends them too).

Kept here so the tests import them from where fakes live.
"""

from __future__ import annotations

from handlers.sandbox.requests import (
    DEFAULT_APP_ID,
    DEFAULT_BOT_ID,
    DEFAULT_BOT_USER_ID,
    DEFAULT_TEAM_DOMAIN,
    DEFAULT_TEAM_ID,
    FORM_CONTENT_TYPE,
    VERIFICATION_TOKEN,
    JsonDict,
    block_action,
    form_fields,
    interaction_payload,
    multi_users_select,
    post_signed,
    sign,
    slash_command,
    static_select,
    text_input,
    view_submission,
)

__all__ = [
    "DEFAULT_APP_ID",
    "DEFAULT_BOT_ID",
    "DEFAULT_BOT_USER_ID",
    "DEFAULT_TEAM_DOMAIN",
    "DEFAULT_TEAM_ID",
    "FORM_CONTENT_TYPE",
    "VERIFICATION_TOKEN",
    "JsonDict",
    "block_action",
    "form_fields",
    "interaction_payload",
    "multi_users_select",
    "post_signed",
    "sign",
    "slash_command",
    "static_select",
    "text_input",
    "view_submission",
]
