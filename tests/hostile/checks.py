"""What every hostile-input test checks after Crier has answered: the answer, the markup Crier
sent, and that the database holds nothing half-written."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, settings
from sqlalchemy import func
from sqlmodel import select

from bot.config import STARTER_CONFIG
from bot.storage.models import Delivery, Incident, Post, PostState, Rendition
from bot.storage.store import Store
from handlers.sandbox.workspace import SlackWorkspace
from handlers.slack.common import OOPS
from tests.conftest import ANALYST, APPROVER, APPROVER_2, COMMS, OUTSIDER
from tests.scenario.harness import SECRET, TOKEN, SlackHarness, check_blocks, check_view
from tests.settling import bolt_listeners

JsonDict = dict[str, Any]

# The property tests' settings. One app serves all of a test's examples (so the fixtures are
# function-scoped on purpose); the deadline only catches a hang on a slow 2-core runner.
PROPERTY = settings(
    max_examples=100,
    deadline=15_000,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# What Crier itself may put between < and > in mrkdwn: a mention of someone who acted, a date
# each reader sees in their own zone, a link to a published post (or to a reply heard, or to
# the answer to it). Anything else came from user text unescaped.
_OWN_MARKUP = re.compile(
    r"<@(?:" + "|".join([ANALYST, APPROVER, APPROVER_2, OUTSIDER]) + r")>"
    r"|<!date\^\d+\^\{time\}\|[^<>]*>"
    r"|<https?://[^<>|]*\|(?:view post|Open on [A-Z][a-z]+|Their reply on [A-Z][a-z]+)>"
)


async def quiesce(
    slack: SlackHarness,
    *,
    publisher: bool = True,
    timeout: float = 20.0,  # noqa: ASYNC109
) -> None:
    """Wait until Crier has finished everything the last request started.

    Bolt acks first and runs the rest of a listener as a task of its own: wait for bolt's
    tasks, then (unless ``publisher`` is False, as when the database is down and there is no
    queue to look at) for the queued work and the publisher, until none has work left.
    """
    async with asyncio.timeout(timeout):
        while True:
            listeners = bolt_listeners()
            if listeners:
                await asyncio.gather(*listeners, return_exceptions=True)
                continue
            if publisher:
                await slack.settle(timeout=timeout)
            if not bolt_listeners():
                return


async def eventually(
    condition: Callable[[], bool],
    what: str,
    timeout: float = 20.0,  # noqa: ASYNC109
) -> None:
    """Wait for something the app's own background loops do (their passes are not tasks one
    can await): poll until ``condition`` holds."""
    try:
        async with asyncio.timeout(timeout):
            while not condition():  # noqa: ASYNC110
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"not within {timeout}s: {what}") from None


@dataclass
class Mark:
    """Where the workspace's records stood before a request, to read only what came after."""

    calls: int
    responses: int

    @classmethod
    def of(cls, workspace: SlackWorkspace) -> Mark:
        return cls(len(workspace.calls), len(workspace.responses))


def sent_since(workspace: SlackWorkspace, mark: Mark) -> list[JsonDict]:
    """Every message body Crier sent after ``mark``: Web API arguments and response_url posts."""
    bodies = [c.args for c in workspace.calls[mark.calls :]]
    return bodies + [r.body for r in workspace.responses[mark.responses :]]


def told_since(workspace: SlackWorkspace, mark: Mark, user: str) -> list[str]:
    """What reached one person after ``mark``: ephemerals and response_url answers."""
    said = [
        str(c.args.get("text", ""))
        for c in workspace.calls[mark.calls :]
        if c.method == "chat.postEphemeral" and c.args.get("user") == user
    ]
    return said + [str(r.body.get("text", "")) for r in workspace.responses[mark.responses :]]


def mrkdwn_texts(body: Any) -> list[str]:
    """The texts Slack parses for mentions and links: a message's ``text`` and mrkdwn objects."""
    found: list[str] = []
    if isinstance(body, dict) and isinstance(body.get("text"), str):
        found.append(body["text"])

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                found.append(str(node.get("text", "")))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    if isinstance(body, dict):
        walk(body.get("blocks"))
        walk(body.get("view"))
    return found


def unsafe_markup(bodies: list[Any]) -> list[str]:
    """mrkdwn texts holding a ``<`` or ``>`` that Crier did not put there on purpose."""
    bad = []
    for body in bodies:
        for text in mrkdwn_texts(body):
            rest = _OWN_MARKUP.sub("", text)
            if "<" in rest or ">" in rest:
                bad.append(text)
    return bad


def check_sent(workspace: SlackWorkspace, mark: Mark, *extra: Any) -> None:
    """Block Kit that Slack accepts, no markup from user text, and no 'something went wrong'."""
    bodies = [*sent_since(workspace, mark), *extra]
    for body in bodies:
        if isinstance(body.get("blocks"), list) and body["blocks"]:
            check_blocks(body["blocks"])
        if isinstance(body.get("view"), dict):
            check_view(body["view"])
    assert not unsafe_markup(bodies), unsafe_markup(bodies)
    texts = json.dumps(bodies, ensure_ascii=False)
    assert OOPS not in texts, f"an unexpected error reached the person: {texts[:2000]}"
    failed = [c for c in workspace.calls[mark.calls :] if not c.ok]
    assert not failed, [(c.method, c.response) for c in failed]


def errors_logged(records: list[logging.LogRecord]) -> list[str]:
    """Errors in the log: an exception nobody handled shows up here, even after a 200."""
    return [
        f"{r.name}: {r.getMessage()} {r.exc_text or ''}"
        for r in records
        if r.levelno >= logging.ERROR
    ]


def count(store: Store, table: type) -> int:
    with store.transaction() as session:
        return int(session.exec(select(func.count()).select_from(table)).one())


def check_whole(store: Store) -> None:
    """Nothing half-written: every incident has its draft, every draft a text per channel,
    every approved draft a delivery per channel."""
    with store.transaction() as session:
        incidents = {i.id: i for i in session.exec(select(Incident)).all()}
        posts = session.exec(select(Post)).all()
        renditions: defaultdict[int, set[str]] = defaultdict(set)
        for rendition in session.exec(select(Rendition)).all():
            renditions[rendition.post_id].add(rendition.channel)
        deliveries: defaultdict[int, set[str]] = defaultdict(set)
        for delivery in session.exec(select(Delivery)).all():
            if delivery.post_id is not None:
                deliveries[delivery.post_id].add(delivery.channel)
    with_posts = {p.incident_id for p in posts}
    assert set(incidents) <= with_posts, f"incidents without a draft: {set(incidents) - with_posts}"
    for post in posts:
        incident = incidents[post.incident_id]
        assert renditions[post.id or 0] == set(incident.channels), f"post {post.id} lacks texts"
        if post.state == PostState.APPROVED:
            assert deliveries[post.id or 0] == set(incident.channels), f"post {post.id}"
        else:
            assert not deliveries[post.id or 0], f"unapproved post {post.id} has deliveries"


def write_worker_config(path: Path) -> Path:
    """The starter crier.yml with the test workspace's comms channel and approvers, for a
    ``crier worker`` started as its own process."""
    raw = yaml.safe_load(STARTER_CONFIG.read_text())
    raw["slack"] = {"comms_channel": COMMS}
    raw["approvals"] = {"slack_users": [APPROVER, APPROVER_2]}
    path.write_text(yaml.safe_dump(raw))
    return path


def worker_env(database_url: str, config: Path, workspace: SlackWorkspace) -> dict[str, str]:
    """The environment of a ``crier worker`` on the test's database and simulated Slack."""
    return {
        **os.environ,
        "CRIER_DATABASE_URL": database_url,
        "CRIER_CONFIG": str(write_worker_config(config)),
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": workspace.api_url,
    }
