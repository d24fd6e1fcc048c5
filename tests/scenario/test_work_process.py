"""``crier serve`` acks in one process and works in another: the drafting an ``/outage``
promised, approvals, publishing and reminders happen in its work process. These run the real
thing: ``run_server`` starts ``crier worker --take-work`` as a child process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlmodel import Session, create_engine, select

from bot.config import CrierConfig, Settings
from bot.errors import CrierError
from bot.models import OutboxPost
from bot.ports import Actor
from bot.requests import DeclareRequest
from bot.store import Store, normalise_database_url
from handlers.sandbox.requests import (
    block_action,
    interaction_payload,
    static_select,
    text_input,
    view_submission,
)
from handlers.sandbox.workspace import SlackWorkspace
from handlers.server import build_crier
from handlers.slack.hands import UNREACHABLE, WORK_PATH, RemoteHands, work_endpoint
from handlers.slack.ids import Action
from tests.conftest import ANALYST, APPROVER, COMMS
from tests.processes import gone
from tests.scenario.harness import SECRET, TOKEN, as_text, ephemeral_texts, find_button
from tests.scenario.socket_serve import (
    drafted_by_socket_mode,
    outage_by_socket_mode,
    serving_by_socket_mode,
)


async def eventually(check: object, what: str, *, within: float = 15.0) -> None:
    assert callable(check)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not check():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def outbox(database_url: str) -> list[OutboxPost]:
    engine = create_engine(normalise_database_url(database_url))
    try:
        with Session(engine) as session:
            return list(session.exec(select(OutboxPost)).all())
    finally:
        engine.dispose()


def work_process_pid() -> int | None:
    """The child ``run_server`` started (this test process is its parent)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == os.getpid() and b"--take-work" in cmdline:
            return int(stat.parent.name)
    return None


async def test_declare_and_approve_are_done_by_the_work_process(database_url: str) -> None:
    async with serving_by_socket_mode(database_url) as (workspace, _stop, _server):
        root = await drafted_by_socket_mode(workspace, "Wi-Fi: eduroam drops every few minutes")
        draft = workspace.thread(COMMS, root["ts"])[0]
        block_id, value = find_button(draft, Action.APPROVE)
        click = block_action(
            action_id=Action.APPROVE,
            value=value,
            block_id=block_id,
            user_id=APPROVER,
            channel_id=COMMS,
            message_ts=draft["ts"],
            thread_ts=root["ts"],
            message=draft,
            response_url=workspace.new_response_url(),
        )
        await workspace.socket_mode.send("interactive", interaction_payload(click))
        # Published by the work process (outbox: no credentials), and the outcome in the thread.
        await eventually(lambda: len(workspace.thread(COMMS, root["ts"])) >= 2, "the outcome")
        posts = outbox(database_url)
        assert posts, "nothing was published"
        networks = [p.network for p in posts]
        assert len(networks) == len(set(networks)), f"published twice: {networks}"
        assert all("eduroam" in p.text for p in posts)


async def test_a_declaration_by_form_gets_its_thread_from_the_work_process(
    database_url: str,
) -> None:
    async with serving_by_socket_mode(database_url) as (workspace, _stop, _server):
        await outage_by_socket_mode(workspace, "")  # no text: the form
        (opened,) = await workspace.wait_for("views.open")
        submission = view_submission(
            view=opened.args["view"],
            values={
                "service": {"value": static_select("Email")},
                "summary": {"value": text_input("messages are delayed")},
            },
            user_id=ANALYST,
        )
        answer = await workspace.socket_mode.send("interactive", interaction_payload(submission))
        assert "errors" not in as_text(answer), answer  # saved, so the form closes
        await workspace.wait_for("chat.postMessage", count=2)
        (root,) = workspace.messages(COMMS)
        assert "Email: messages are delayed" in as_text(root)
        assert "draft_approve" in as_text(workspace.thread(COMMS, root["ts"])[0])


@pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="SCHED_IDLE is Linux's")
async def test_the_work_process_runs_only_on_cpu_serve_does_not_want(database_url: str) -> None:
    async with serving_by_socket_mode(database_url) as (workspace, _stop, _server):
        await drafted_by_socket_mode(workspace, "Email: mail is delayed")  # its threads exist
        pid = work_process_pid()
        assert pid is not None, "no work process is running"
        threads = [int(t) for t in os.listdir(f"/proc/{pid}/task")]
        assert len(threads) > 1
        policies = {t: os.sched_getscheduler(t) for t in threads}
        assert set(policies.values()) == {os.SCHED_IDLE}, policies
        assert os.sched_getscheduler(0) != os.SCHED_IDLE  # serve (here, the test) does not


async def test_a_dead_work_process_is_said_plainly_and_started_again(database_url: str) -> None:
    async with serving_by_socket_mode(database_url) as (workspace, _stop, _server):
        pid = work_process_pid()
        assert pid is not None, "no work process is running"
        os.kill(pid, signal.SIGKILL)
        await eventually(lambda: gone(pid), "the kill")
        await outage_by_socket_mode(workspace, "VPN: cannot connect")
        # "not answering, nothing was saved", or, if serve sent it before it saw the process
        # die, "stopped answering … may not have finished": plain either way.
        await eventually(
            lambda: any("answering" in t for t in told(workspace)), "the person to be told"
        )
        assert workspace.messages(COMMS) == []  # nothing half-done
        # Serve starts it again; the next /outage is drafted as usual.
        await eventually(lambda: work_process_pid() not in (None, pid), "a new work process")
        for _attempt in range(30):  # it takes a moment to start: the person would try again
            await outage_by_socket_mode(workspace, "VPN: cannot connect")
            with contextlib.suppress(TimeoutError):
                await workspace.wait_for("chat.postMessage", count=2, timeout=1.0)
                break
        assert "VPN: cannot connect" in as_text(workspace.messages(COMMS)[0])


def told(workspace: SlackWorkspace) -> list[str]:
    said = [as_text(response.body) for response in workspace.responses]
    return said + ephemeral_texts(workspace, ANALYST)


async def test_the_work_endpoint_takes_work_only_with_its_key(
    store: Store, config: CrierConfig
) -> None:
    async with SlackWorkspace(bot_token=TOKEN, channels={COMMS: "it-outages"}) as workspace:
        settings = Settings(
            SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=workspace.api_url
        )
        crier = build_crier(settings=settings, config=config, store=store)
        assert crier.slack is not None
        app = work_endpoint(crier.slack.local_hands, "the-right-key")
        work = {
            "kind": "declare",
            "actor": {"platform": "slack", "user_id": ANALYST, "name": None},
            "text": "Email: messages are delayed",
            "channel": COMMS,
        }
        async with TestClient(TestServer(app)) as client:
            for headers in ({}, {"Authorization": "Bearer a-guess"}, {"Authorization": "k"}):
                refused = await client.post(WORK_PATH, json=work, headers=headers)
                assert refused.status == 401
            key = {"Authorization": "Bearer the-right-key"}
            for junk in ("not json", '{"kind": "declare"}', '{"kind": "launch", "actor": {}}'):
                malformed = await client.post(WORK_PATH, data=junk, headers=key)
                assert malformed.status == 400
            assert workspace.messages(COMMS) == []  # nothing done for any of them
            done = await client.post(WORK_PATH, json=work, headers=key)
            assert (done.status, await done.json()) == (200, {"ok": True})
            assert "Email: messages are delayed" in as_text(workspace.messages(COMMS)[0])
            unknown = await client.post(
                WORK_PATH, json={**work, "text": "Zzyzx Qwerty: jammed"}, headers=key
            )
            assert "Zzyzx Qwerty" in (await unknown.json())["refused"]  # told, as in Slack
            # An incident saved by its form in serve: the work process posts its thread.
            draft = await crier.core.declare(
                Actor("slack", ANALYST), DeclareRequest(service="VPN", summary="cannot connect")
            )
            thread = {
                "kind": "thread",
                "actor": work["actor"],
                "incident_id": draft.incident.id,
                "post_id": draft.post.id,
                "channel": COMMS,
            }
            done = await client.post(WORK_PATH, json=thread, headers=key)
            assert (done.status, await done.json()) == (200, {"ok": True})
            assert "VPN: cannot connect" in as_text(workspace.messages(COMMS)[-1])
        await crier.core.close()


async def test_handing_work_to_a_process_that_is_not_there_says_so() -> None:
    hands = RemoteHands(where=_Nowhere())
    with pytest.raises(CrierError) as refused:
        await hands.declare(Actor("slack", ANALYST), "Email: slow", COMMS)
    await hands.close()
    assert refused.value.message == UNREACHABLE


class _Nowhere:
    url = "http://127.0.0.1:9/internal/work"  # the discard port: nothing listens there
    token = "key"
    alive = True  # as far as serve knows
