"""PostgreSQL restarted while Crier runs: requests in that moment fail with a clear message,
and Crier recovers by itself when the database is back — no restart of Crier.

The shared PostgreSQL server cannot be restarted under other tests, so the outage is played two
ways: Crier reaches the database through a TCP proxy that goes down and comes back on the same
port (connections cut, new ones refused), and every backend of the test database is terminated
in the middle of a flow (what a restart does to the connections in the pool).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest
from sqlalchemy import create_engine, text

from bot.config import CrierConfig
from bot.storage.models import Incident
from bot.storage.store import Store, normalise_database_url, open_store
from handlers.sandbox.workspace import SlackWorkspace
from handlers.slack.common import DATABASE_DOWN
from handlers.slack.ids import Action, Field
from tests.conftest import ANALYST, APPROVER, PG_URL
from tests.fakes import slack_requests as req
from tests.fakes.tcp_proxy import TcpProxy
from tests.hostile.checks import count, quiesce
from tests.scenario.harness import SlackHarness, start_harness


@pytest.fixture
def postgres(store: Store) -> Store:
    if not store.is_postgres:
        pytest.skip("a database outage is played on PostgreSQL (SQLite is a file, not a server)")
    return store


@pytest.fixture
async def behind_proxy(
    postgres: Store, config: CrierConfig, workspace: SlackWorkspace
) -> AsyncIterator[tuple[SlackHarness, TcpProxy]]:
    """Crier, reaching the test database only through a proxy the test controls."""
    url = postgres.engine.url
    async with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        # Off the loop: opening checks the connection, through the proxy this loop runs.
        proxied = await asyncio.to_thread(
            open_store,
            url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False),
        )
        async with aiohttp.ClientSession() as http:
            slack, runner = await start_harness(
                store=proxied, config=config, workspace=workspace, http=http
            )
            try:
                yield slack, proxy
            finally:
                await runner.cleanup()
                await asyncio.to_thread(proxied.dispose)


async def health(slack: SlackHarness) -> int:
    async with slack.http.get(slack.url.replace("/slack/events", "/healthz")) as response:
        return response.status


async def told(slack: SlackHarness, text: str, *, database: bool = True) -> str:
    """The last thing Crier said to the person about a command."""
    url = slack.workspace.new_response_url()
    body = req.slash_command(
        "/outage", text, user_id=ANALYST, channel_id="C0COMMS", response_url=url
    )
    status, answer = await slack.post(body)
    assert status == 200, answer
    await quiesce(slack, publisher=database)
    said = [json.loads(answer).get("text", "")] if answer.strip() else []
    return [*said, *(r.get("text", "") for r in slack.workspace.responses_for(url))][-1]


async def test_while_the_database_is_down_people_are_told_and_crier_recovers_alone(
    behind_proxy: tuple[SlackHarness, TcpProxy], postgres: Store
) -> None:
    slack, proxy = behind_proxy
    assert "Drafting" in await told(slack, "Email: outlook is down")
    root, draft = slack.root(), slack.thread()[0]
    await slack.click(slack.root(), Action.POST_UPDATE, user=ANALYST)
    update_form = await slack.open_modal()
    assert await health(slack) == 200

    await proxy.stop()  # PostgreSQL goes away mid-incident
    assert await health(slack) == 503
    assert await told(slack, "list", database=False) == DATABASE_DOWN
    assert await told(slack, "VPN: cannot connect", database=False) == DATABASE_DOWN
    await slack.click(draft, Action.APPROVE, user=APPROVER)
    await quiesce(slack, publisher=False)
    assert slack.workspace.ephemerals(APPROVER)[-1]["text"] == DATABASE_DOWN
    status, reply = await slack.submit(
        update_form, {Field.DOING: req.text_input("restarting the mail servers")}, user=ANALYST
    )
    assert status == 200 and DATABASE_DOWN in json.dumps(reply["errors"])

    await proxy.start()  # back, on the same address; Crier was not restarted
    assert await health(slack) == 200
    assert "Drafting" in await told(slack, "VPN: cannot connect")
    await slack.click(draft, Action.APPROVE, user=APPROVER)
    await quiesce(slack)
    listed = await told(slack, "list")
    assert "Email" in listed and "VPN" in listed
    assert count(postgres, Incident) == 2
    thread = slack.workspace.thread("C0COMMS", root["ts"])
    approved = next(m for m in thread if m["ts"] == draft["ts"])
    assert "Approved by" in json.dumps(approved)


async def test_connections_cut_mid_flow_are_replaced_without_an_error(
    postgres: Store, slack: SlackHarness
) -> None:
    """A restart kills every pooled connection; Crier sees them closed and replaces them unseen."""
    assert "Drafting" in await told(slack, "Email: outlook is down")
    assert PG_URL is not None
    admin = create_engine(normalise_database_url(PG_URL), isolation_level="AUTOCOMMIT")
    name = postgres.engine.url.database
    with admin.connect() as connection:
        killed = connection.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": name},
        ).scalar_one()
    admin.dispose()
    assert killed >= 1  # Crier's pooled connections were among them

    await slack.click(slack.thread()[0], Action.APPROVE, user=APPROVER)
    await quiesce(slack)
    assert "Approved by" in json.dumps(slack.thread()[0])
    assert not slack.workspace.ephemerals(APPROVER)
    assert "Email" in await told(slack, "list")
