"""Facebook Page: ``POST /{version}/{page_id}/feed`` on the Graph API, with a Page access token.

Graph has no idempotency key, so a post whose answer was lost is *unknown* and a person checks
the Page; Graph's error codes are read as ``bot.publishing.graph`` says (506 is a duplicate of the
Page's last post, so an earlier attempt probably got through).

    publisher = build(context)  # None without FACEBOOK_PAGE_TOKEN or channels.facebook.account
"""

from __future__ import annotations

from typing import Any

from bot.config import Network
from bot.ports import ANSWER_KIND, Published, PublishRequest
from bot.publishing import PublisherContext
from bot.publishing.cards import card_data
from bot.publishing.facts import ApiFacts
from bot.publishing.graph import GraphPublisher
from bot.publishing.http import without_id

NAME = "Facebook"
FACTS = ApiFacts(
    network=Network.FACEBOOK,
    checked="2026-12-02",
    api="Graph API POST /{version}/{page_id}/feed (message) or /photos, with a Page token "
    "(pages_manage_posts); v26.0 current since 2026-07-29, v21.0 ends 2027-01-21",
    limits="long texts; page publishing authorisation and 2FA on the page can block posting",
    idempotency="none; error 506 is a duplicate of the Page's last post",
    rate_limits="error codes 4, 17, 341, 613 throttle (retry later); 190 expired token; "
    "368 blocked",
)


class FacebookPublisher(GraphPublisher):
    """Posts to one Facebook Page's feed (``account``: the Page id); with ``attach_card``, as a
    photo with the status card."""

    network = Network.FACEBOOK
    name = NAME
    credential = "FACEBOOK_PAGE_TOKEN"
    renew = (
        "get a new Page access token with pages_manage_posts from a long-lived user token (e.g. "
        "in Meta's Graph API Explorer, https://developers.facebook.com/tools/explorer/, then "
        "GET /me/accounts)"
    )
    shows = ("name", "the Page {}")

    def __init__(self, *, attach_card: bool = False, **graph: Any) -> None:
        super().__init__(**graph)
        self.label = f"Facebook (Page {self._account})"
        self._attach_card = attach_card

    async def publish(self, request: PublishRequest) -> Published:
        if request.post_kind == ANSWER_KIND and request.reply_to:
            return await self._comment(request)
        form = {"message": request.text}
        if self._attach_card:
            card = await card_data(request, config=self._config, settings=self._settings)
            form["url"] = card.url
        path = "photos" if self._attach_card else "feed"
        answer = await self._call("POST", f"{self._account}/{path}", data=form)
        if not answer.ok:
            raise self._refused(answer)
        # /feed answers {"id": "{page}_{post}"}; /photos {"id": photo, "post_id": "{page}_{post}"}
        post_id = str(answer.fields.get("post_id") or answer.fields.get("id") or "")
        if not post_id:
            raise without_id(NAME, check="the Page")
        return Published(external_id=post_id, url=f"https://www.facebook.com/{post_id}")

    async def _comment(self, request: PublishRequest) -> Published:
        """An answer to a comment: a reply in its thread (``POST /{comment-id}/comments``), as
        the Page."""
        answer = await self._call(
            "POST", f"{request.reply_to}/comments", data={"message": request.text}
        )
        if not answer.ok:
            raise self._refused(answer)
        comment_id = str(answer.fields.get("id") or "")
        if not comment_id:
            raise without_id(NAME, check="the comment's thread")
        return Published(external_id=comment_id, url=f"https://www.facebook.com/{comment_id}")


def build(context: PublisherContext) -> FacebookPublisher | None:
    token = context.credentials.facebook_page_token
    return FacebookPublisher.from_context(context, token, attach_card=context.channel.attach_card)
