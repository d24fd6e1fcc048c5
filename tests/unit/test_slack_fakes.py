"""The Slack fakes behave like Slack: driven by slack_sdk's client and by a real bolt AsyncApp."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.slack import RecordedCall, SlackWorkspace, web_client
from tests.fakes.slack_requests import (
    block_action,
    form_fields,
    interaction_payload,
    post_signed,
    sign,
    slash_command,
    static_select,
    text_input,
    view_submission,
)

SECRET = "test-signing-secret"
INCIDENTS = "C0INCIDENT"
ALICE, BOB = "U0ALICE", "U0BOB"
APPROVERS = "S0APPROVE"
MODAL = {
    "type": "modal",
    "callback_id": "declare_outage",
    "private_metadata": "incident-42",
    "title": {"type": "plain_text", "text": "Declare an outage"},
    "submit": {"type": "plain_text", "text": "Draft"},
    "blocks": [
        {
            "type": "input",
            "block_id": "title",
            "label": {"type": "plain_text", "text": "Title"},
            "element": {"type": "plain_text_input", "action_id": "title_input"},
        }
    ],
}


@pytest_asyncio.fixture
async def slack() -> AsyncIterator[SlackWorkspace]:
    workspace = SlackWorkspace(
        users={ALICE: "alice", BOB: "bob"},
        usergroups={APPROVERS: [ALICE, BOB]},
        channels={INCIDENTS: "incidents"},
    )
    async with workspace:
        yield workspace


@pytest.fixture
def client(slack: SlackWorkspace) -> AsyncWebClient:
    return web_client(slack)


async def slack_error(call: object) -> SlackApiError:
    with pytest.raises(SlackApiError) as raised:
        await call  # type: ignore[misc]
    return raised.value


# ----- the Web API -----------------------------------------------------------------------------


async def test_binds_a_free_port_on_localhost(slack: SlackWorkspace) -> None:
    assert slack.api_url.startswith("http://127.0.0.1:")
    assert slack.api_url.endswith("/api/")
    assert not slack.api_url.startswith("http://127.0.0.1:0/")


async def test_auth_test_names_the_bot(client: AsyncWebClient) -> None:
    answer = await client.auth_test()
    assert answer["user_id"] == "U0CRIERBOT"
    assert answer["bot_id"] == "B0CRIERBOT"
    assert answer["team_id"] == "T0CRIER01"


async def test_post_reply_and_update(slack: SlackWorkspace, client: AsyncWebClient) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*DB down*"}}]
    posted = await client.chat_postMessage(channel=INCIDENTS, text="DB down", blocks=blocks)
    assert posted["channel"] == INCIDENTS
    assert posted["message"]["bot_id"] == "B0CRIERBOT"
    assert posted["message"]["blocks"][0]["block_id"]  # Slack fills in missing block_ids
    parent_ts = posted["ts"]

    reply = await client.chat_postMessage(channel="#incidents", text="Drafted", thread_ts=parent_ts)
    assert float(reply["ts"]) > float(parent_ts)
    assert reply["message"]["thread_ts"] == parent_ts

    updated = await client.chat_update(channel=INCIDENTS, ts=parent_ts, text="DB back")
    assert updated["text"] == "DB back"
    assert "edited" in updated["message"]

    [parent] = slack.messages(INCIDENTS)
    assert parent["text"] == "DB back"
    assert parent["blocks"][0]["text"]["text"] == "*DB down*"  # blocks omitted: kept
    assert parent["reply_count"] == 1
    assert [m["text"] for m in slack.thread(INCIDENTS, parent_ts)] == ["Drafted"]


async def test_form_bodies_with_json_encoded_blocks(
    slack: SlackWorkspace, client: AsyncWebClient
) -> None:
    blocks = [{"type": "section", "block_id": "summary", "text": {"type": "mrkdwn", "text": "x"}}]
    await client.api_call(
        "chat.postMessage", data={"channel": INCIDENTS, "blocks": json.dumps(blocks)}
    )
    [call] = slack.calls_to("chat.postMessage")
    assert call.args["blocks"] == blocks
    assert "token" not in call.args
    assert call.headers["Authorization"] == "Bearer xoxb-test-token"
    assert slack.messages(INCIDENTS)[0]["blocks"] == blocks


async def test_lenient_by_default_and_form_encoded_views() -> None:
    async with SlackWorkspace() as slack:
        client = web_client(slack)
        await client.chat_postMessage(channel="C0ANYWHERE", text="hi")
        assert (await client.users_info(user="U0SOMEONE"))["user"]["name"] == "u0someone"
        assert slack.messages("C0ANYWHERE")[0]["text"] == "hi"
        form = {"trigger_id": "1.2.3", "view": json.dumps(MODAL)}
        opened = await client.api_call("views.open", data=form)
        assert opened["view"]["private_metadata"] == "incident-42"
        nothing = await slack_error(client.chat_postMessage(channel="general", text="x"))
        assert nothing.response["error"] == "channel_not_found"  # names need a channels dict


async def test_ts_strictly_increase(client: AsyncWebClient) -> None:
    stamps = [
        (await client.chat_postMessage(channel=INCIDENTS, text=str(i)))["ts"] for i in range(5)
    ]
    assert stamps == sorted(stamps, key=float)
    assert len(set(stamps)) == 5
    assert all(len(ts.split(".")[1]) == 6 for ts in stamps)


async def test_refusals_as_slack_words_them(slack: SlackWorkspace, client: AsyncWebClient) -> None:
    unknown = await slack_error(client.chat_postMessage(channel="C0NOWHERE", text="x"))
    assert unknown.response["error"] == "channel_not_found"
    with pytest.warns(UserWarning, match="text"):  # slack_sdk warns too
        empty = await slack_error(client.chat_postMessage(channel=INCIDENTS))
    assert empty.response["error"] == "no_text"
    missing = await slack_error(client.chat_update(channel=INCIDENTS, ts="1.000001", text="x"))
    assert missing.response["error"] == "message_not_found"
    theirs = slack.post_as_user(INCIDENTS, user=ALICE, text="help")
    cant = await slack_error(client.chat_update(channel=INCIDENTS, ts=theirs["ts"], text="x"))
    assert cant.response["error"] == "cant_update_message"
    many = [{"type": "divider"}] * 51
    too_many = await slack_error(client.chat_postMessage(channel=INCIDENTS, text="x", blocks=many))
    assert too_many.response["error"] == "invalid_blocks"
    method = await slack_error(client.api_call("chat.teleport"))
    assert method.response["error"] == "unknown_method"


async def test_bad_or_missing_token(slack: SlackWorkspace) -> None:
    wrong = await slack_error(web_client(slack, token="xoxb-wrong").auth_test())
    assert wrong.response.status_code == 200
    assert wrong.response["error"] == "invalid_auth"
    missing = await slack_error(AsyncWebClient(base_url=slack.api_url).auth_test())
    assert missing.response["error"] == "not_authed"


async def test_rate_limit_is_retried_by_the_retry_handler(
    slack: SlackWorkspace, client: AsyncWebClient
) -> None:
    slack.rate_limit_next("chat.postMessage", retry_after=1)
    started = time.monotonic()
    await client.chat_postMessage(channel=INCIDENTS, text="Eventually")
    assert time.monotonic() - started >= 1
    first, second = slack.calls_to("chat.postMessage")
    assert (first.status, first.response["error"]) == (429, "ratelimited")
    assert second.ok
    assert [m["text"] for m in slack.messages(INCIDENTS)] == ["Eventually"]


async def test_rate_limit_without_retry_handler(slack: SlackWorkspace) -> None:
    slack.rate_limit_next("chat.postMessage", retry_after=7)
    client = web_client(slack, retry_rate_limits=False)
    limited = await slack_error(client.chat_postMessage(channel=INCIDENTS, text="x"))
    assert limited.response.status_code == 429
    assert limited.response.headers["Retry-After"] == "7"
    assert limited.response["error"] == "ratelimited"


async def test_faults_are_consumed_in_order(slack: SlackWorkspace, client: AsyncWebClient) -> None:
    slack.fail_next("chat.update", "message_not_found", times=2)
    slack.server_error_next("chat.postMessage", status=503)
    ts = slack.post_as_user(INCIDENTS, user=ALICE, text="hi")["ts"]
    for _ in range(2):
        failed = await slack_error(client.chat_update(channel=INCIDENTS, ts=ts, text="x"))
        assert failed.response["error"] == "message_not_found"
    down = await slack_error(client.chat_postMessage(channel=INCIDENTS, text="x"))
    assert down.response.status_code == 503
    assert (await client.chat_postMessage(channel=INCIDENTS, text="x"))["ok"]


async def test_delay_slows_a_method(slack: SlackWorkspace, client: AsyncWebClient) -> None:
    slack.delay("auth.test", 0.3)
    started = time.monotonic()
    await client.auth_test()
    assert time.monotonic() - started >= 0.3
    slack.reset()
    assert slack.calls == []


async def test_ephemerals_and_directory(slack: SlackWorkspace, client: AsyncWebClient) -> None:
    answer = await client.chat_postEphemeral(channel=INCIDENTS, user=ALICE, text="Only you")
    assert set(answer.data) == {"ok", "message_ts"}
    assert [e["text"] for e in slack.ephemerals(ALICE)] == ["Only you"]
    assert slack.ephemerals(BOB) == []

    group = await client.usergroups_users_list(usergroup=APPROVERS)
    assert group["users"] == [ALICE, BOB]
    nobody = await slack_error(client.usergroups_users_list(usergroup="S0NONE"))
    assert nobody.response["error"] == "no_such_subteam"

    assert (await client.users_info(user=BOB))["user"]["name"] == "bob"
    assert (await client.conversations_info(channel=INCIDENTS))["channel"]["name"] == "incidents"


async def test_modals_open_push_update(slack: SlackWorkspace, client: AsyncWebClient) -> None:
    opened = await client.views_open(trigger_id=slack.issue_trigger_id(), view=MODAL)
    view = opened["view"]
    assert view["id"].startswith("V")
    assert view["state"] == {"values": {}}
    assert view["callback_id"] == "declare_outage"
    assert view["root_view_id"] == view["id"]
    assert slack.open_views == {view["id"]: view}

    updated = await client.views_update(view_id=view["id"], hash=view["hash"], view=MODAL)
    assert updated["view"]["hash"] != view["hash"]
    stale = await slack_error(
        client.views_update(view_id=view["id"], hash=view["hash"], view=MODAL)
    )
    assert stale.response["error"] == "hash_conflict"

    pushed = await client.views_push(trigger_id=slack.issue_trigger_id(), view=MODAL)
    assert pushed["view"]["previous_view_id"] == view["id"]
    slack.close_view(view["id"])
    assert slack.open_views == {}


async def test_modal_trigger_rules(slack: SlackWorkspace, client: AsyncWebClient) -> None:
    missing = await slack_error(client.api_call("views.open", json={"view": MODAL}))
    assert missing.response["error"] == "invalid_arguments"
    trigger = slack.issue_trigger_id()
    await client.views_open(trigger_id=trigger, view=MODAL)
    reused = await slack_error(client.views_open(trigger_id=trigger, view=MODAL))
    assert reused.response["error"] == "exchanged_trigger_id"
    long_title = {**MODAL, "title": {"type": "plain_text", "text": "x" * 25}}
    bad = await slack_error(client.views_open(trigger_id=slack.issue_trigger_id(), view=long_title))
    assert bad.response["error"] == "invalid_arguments"
    assert "title" in bad.response["response_metadata"]["messages"][0]


# ----- observing -------------------------------------------------------------------------------


async def test_wait_for_and_subscribe(slack: SlackWorkspace, client: AsyncWebClient) -> None:
    queue = slack.subscribe()

    async def later() -> None:
        await asyncio.sleep(0.05)
        await client.chat_postMessage(channel=INCIDENTS, text="late")

    task = asyncio.create_task(later())
    [call] = await slack.wait_for("chat.postMessage", timeout=2)
    await task
    assert call.args["text"] == "late"
    event = queue.get_nowait()
    assert isinstance(event, RecordedCall)
    assert event.method == "chat.postMessage"

    with pytest.raises(TimeoutError, match=r"chat\.update.*chat\.postMessage"):
        await slack.wait_for("chat.update", timeout=0.1)


async def test_response_url(slack: SlackWorkspace, client: AsyncWebClient) -> None:
    original = await client.chat_postMessage(channel=INCIDENTS, text="Approve?")
    url = slack.new_response_url(channel=INCIDENTS, user=ALICE, message_ts=original["ts"])
    async with aiohttp.ClientSession() as session:
        for body in (
            {"text": "Only you", "response_type": "ephemeral"},
            {"text": "Posted", "response_type": "in_channel"},
            {"text": "Approved", "replace_original": True},
        ):
            async with session.post(url, json=body) as answer:
                assert answer.status == 200
        statuses = []
        for _ in range(3):
            async with session.post(url, json={"text": "again"}) as answer:
                statuses.append(answer.status)
        assert statuses == [200, 200, 404]  # a response_url is good for five uses
    assert [r["text"] for r in slack.responses_for(url)][:3] == ["Only you", "Posted", "Approved"]
    assert [m["text"] for m in slack.messages(INCIDENTS)] == ["Approved", "Posted"]
    assert [e["text"] for e in slack.ephemerals(ALICE)] == ["Only you", "again", "again"]
    await slack.wait_for_response(url, count=6)


# ----- requests to the app ---------------------------------------------------------------------


def test_sign_matches_slack_sdk_verifier() -> None:
    body = slash_command(user_id=ALICE, channel_id=INCIDENTS, response_url="http://x/r")
    headers = sign(body, secret=SECRET)
    verifier = SignatureVerifier(SECRET)
    assert verifier.is_valid_request(body, headers)
    assert verifier.is_valid(
        body.encode(), headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
    )
    assert not SignatureVerifier("other").is_valid_request(body, headers)
    old = sign(body, secret=SECRET, timestamp=int(time.time()) - 600)
    assert not verifier.is_valid_request(body, old)  # older than five minutes


def test_request_shapes() -> None:
    command = form_fields(
        slash_command("/outage", "db down", user_id=ALICE, channel_id=INCIDENTS, response_url="u")
    )
    slack_sends = """token team_id team_domain channel_id channel_name user_id user_name command
        text api_app_id is_enterprise_install response_url trigger_id"""
    assert set(command) == set(slack_sends.split())
    assert command["text"] == "db down"
    assert len(command["trigger_id"].split(".")) == 3

    click = interaction_payload(
        block_action(
            action_id="approve",
            value="42",
            block_id="review",
            user_id=BOB,
            channel_id=INCIDENTS,
            message_ts="1700000000.000100",
            thread_ts="1700000000.000001",
            response_url="u",
        )
    )
    assert click["type"] == "block_actions"
    assert click["container"]["thread_ts"] == "1700000000.000001"
    assert click["actions"][0]["type"] == "button"
    assert click["state"] == {"values": {}}

    submit = interaction_payload(
        view_submission(
            view=MODAL, values={"title": {"title_input": text_input("DB")}}, user_id=BOB
        )
    )
    assert submit["view"]["callback_id"] == "declare_outage"
    assert submit["view"]["state"]["values"]["title"]["title_input"]["value"] == "DB"
    assert static_select("sev1")["selected_option"]["value"] == "sev1"


async def test_a_bolt_app_round_trip(slack: SlackWorkspace) -> None:
    """Command → modal → submission → message → button click, through a real AsyncApp."""
    app = AsyncApp(client=web_client(slack), signing_secret=SECRET)

    @app.command("/outage")
    async def declare(
        ack: AsyncAck, body: dict, client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack()
        await client.views_open(trigger_id=body["trigger_id"], view=MODAL)
        await respond("Opening the form")

    @app.view("declare_outage")
    async def drafted(ack: AsyncAck, view: dict, client: AsyncWebClient) -> None:
        await ack()
        title = view["state"]["values"]["title"]["title_input"]["value"]
        button = {
            "type": "button",
            "action_id": "approve",
            "value": view["private_metadata"],
            "text": {"type": "plain_text", "text": "Approve"},
        }
        await client.chat_postMessage(
            channel=INCIDENTS, text=title, blocks=[{"type": "actions", "elements": [button]}]
        )

    @app.action("approve")
    async def approve(ack: AsyncAck, body: dict, client: AsyncWebClient) -> None:
        await ack()
        ts = body["container"]["message_ts"]
        await client.chat_update(channel=body["channel"]["id"], ts=ts, text="Approved", blocks=[])

    server = TestServer(app.web_app(path="/slack/events"))
    await server.start_server()
    url = str(server.make_url("/slack/events"))
    try:
        async with aiohttp.ClientSession() as session:
            response_url = slack.new_response_url(channel=INCIDENTS, user=ALICE)
            command = slash_command(
                "/outage",
                user_id=ALICE,
                channel_id=INCIDENTS,
                response_url=response_url,
                trigger_id=slack.issue_trigger_id(),
            )
            assert (await post_signed(session, url, command, secret="wrong"))[0] == 401
            assert (await post_signed(session, url, command, secret=SECRET))[0] == 200
            [opened] = await slack.wait_for("views.open", ok=True)
            await slack.wait_for_response(response_url)

            view = slack.open_views[opened.response["view"]["id"]]
            values = {"title": {"title_input": text_input("DB down")}}
            submission = view_submission(view=view, values=values, user_id=ALICE)
            assert (await post_signed(session, url, submission, secret=SECRET))[0] == 200
            await slack.wait_for("chat.postMessage")

            [message] = slack.messages(INCIDENTS)
            action_block = message["blocks"][0]
            click = block_action(
                action_id="approve",
                value="incident-42",
                block_id=action_block["block_id"],
                user_id=BOB,
                channel_id=INCIDENTS,
                message_ts=message["ts"],
                message=message,
                response_url=slack.new_response_url(channel=INCIDENTS, message_ts=message["ts"]),
            )
            assert (await post_signed(session, url, click, secret=SECRET))[0] == 200
            await slack.wait_for("chat.update")
    finally:
        await server.close()
    [approved] = slack.messages(INCIDENTS)
    assert approved["text"] == "Approved"
    assert "blocks" not in approved
    assert [r["text"] for r in slack.responses_for(response_url)] == ["Opening the form"]
