"""An approved answer to someone's post goes out threaded to it: on Facebook as the Page's reply
in a comment's thread, on Bluesky with the reply refs the AppView gave when Crier read it (its
own PDS keeps only Crier's records, so it could not look them up)."""

from __future__ import annotations

from pydantic import SecretStr

from bot.config import Network
from bot.ports import ANSWER_KIND, PublishRequest
from bot.publishing.bluesky import BlueskyPublisher
from bot.publishing.facebook import FacebookPublisher
from bot.publishing.http import HttpClient
from bot.settings import Settings
from tests.conftest import make_config
from tests.fakes.networks.bluesky import FakeBluesky
from tests.fakes.networks.facebook import FakeGraph
from tests.unit.publishing.test_bluesky import PASSWORD, http, pds  # noqa: F401 (fixtures)

PAGE = "1122334455"


def answer(network: Network, reply_to: str, **extra: str) -> PublishRequest:
    return PublishRequest(
        network=network,
        text="Only eduroam is affected; the VPN works.",
        idempotency_key="answer-key-1",
        incident_id=1,
        post_kind=ANSWER_KIND,
        status="",
        service="Wi-Fi",
        title="Answer to Ann",
        reply_to=reply_to,
        extra=extra,
    )


async def test_a_facebook_answer_is_the_pages_reply_in_the_comments_thread(
    http: HttpClient,  # noqa: F811
) -> None:
    fake = FakeGraph(page_id=PAGE)
    await fake.start()
    try:
        post_id = f"{PAGE}_777"
        fake.page_posts.append({"id": post_id, "message": "Wi-Fi is down", "photo": None})
        asked = fake.add_comment(post_id, "Is the VPN down too?", author="Ann Smith")
        publisher = FacebookPublisher(
            http=http,
            token=SecretStr("fb-page-token"),
            account=PAGE,
            config=make_config(),
            settings=Settings(),
            base_url=fake.base_url,
        )
        published = await publisher.publish(answer(Network.FACEBOOK, asked["id"]))
        [mine] = [c for c in fake.comments[post_id] if c.get("parent", {}).get("id") == asked["id"]]
        assert mine["message"] == "Only eduroam is affected; the VPN works."
        assert mine["from"]["id"] == PAGE and published.external_id == mine["id"]
        assert fake.page_posts[-1]["id"] == post_id  # no new post on the Page's feed
    finally:
        await fake.stop()


async def test_a_bluesky_answer_carries_the_refs_it_was_given(
    pds: FakeBluesky,  # noqa: F811
    http: HttpClient,  # noqa: F811
) -> None:
    publisher = BlueskyPublisher(
        http=http, handle=pds.handle, password=SecretStr(PASSWORD), base_url=pds.base_url
    )
    someone = "at://did:plc:ann/app.bsky.feed.post/3kabc"
    root = "at://did:plc:crier/app.bsky.feed.post/3kroot"
    request = answer(
        Network.BLUESKY,
        someone,
        uri=someone,
        cid="bafyann",
        root_uri=root,
        root_cid="bafyroot",
    )
    await publisher.publish(request)
    [record] = pds.posts
    assert record["reply"] == {
        "root": {"uri": root, "cid": "bafyroot"},
        "parent": {"uri": someone, "cid": "bafyann"},
    }
