"""Story: someone in the sandbox jumps the clock ahead to see reminders come due, then
publishes: every time they see (reminders, messages, the post and its panel) is the one
simulated time, and no reminder claims that Crier was unavailable."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import aiohttp

from handlers.sandbox.app import ANALYST, CHANNEL_ID, Sandbox
from tests.sandbox.conftest import eventually
from tests.sandbox.gestures import (
    APPROVER,
    approve,
    approve_button,
    gesture,
    published,
    timeline_with,
)

# Slack's ts of a message the workspace stamped with the sandbox's clock (the tests' machine
# is busy: a firing may come a few seconds after its due time; a leap would be minutes late).
SLACK = timedelta(seconds=10)


def replies(sandbox: Sandbox) -> list[tuple[datetime, str]]:
    assert sandbox.workspace is not None
    found = []
    for root in sandbox.workspace.messages(CHANNEL_ID):
        for message in [root, *sandbox.workspace.thread(CHANNEL_ID, root["ts"])]:
            at = datetime.fromtimestamp(float(message["ts"]), tz=UTC)
            found.append((at, str(message.get("text", ""))))
    return found


async def test_a_jump_ahead_fires_each_reminder_at_its_own_time_and_all_times_agree(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    await gesture(
        http, sandbox, "command", user=ANALYST.user_id, text="/outage Blackboard: no sign-in"
    )
    await eventually(lambda: timeline_with(http, sandbox, ANALYST.user_id, "Approve &amp; publish"))
    drafted = max(at for at, _ in replies(sandbox))

    answer = await gesture(http, sandbox, "clock", minutes=15)
    assert "(+0 h 15 min)" in answer["notice"]
    # A sev1 draft pings its approvers after 5 minutes, then every 5: three pings, each at its
    # own time, none of them "late while Crier was unavailable".
    pings = [(at, text) for at, text in replies(sandbox) if "has waited" in text]
    assert [re.findall(r"waited (\d+) minutes", text) for _, text in pings] == [
        ["5"],
        ["10"],
        ["15"],
    ]
    for (at, _), minutes in zip(pings, (5, 10, 15), strict=True):
        assert timedelta(minutes=minutes) - SLACK <= at - drafted <= timedelta(minutes=minutes)
    timeline = await timeline_with(http, sandbox, ANALYST.user_id, "has waited")
    assert timeline is not None
    assert "unavailable" not in timeline and "is late" not in timeline

    ts, block_id = approve_button(sandbox)
    click = {"channel": CHANNEL_ID, "ts": ts, "block_id": block_id, "action_id": "draft_approve"}
    await approve(http, sandbox, APPROVER, click)
    panels = await eventually(lambda: published(http, sandbox, count=5))
    await eventually(lambda: timeline_with(http, sandbox, APPROVER, "is out on X"))

    now = sandbox.clock.now()
    assert now - datetime.now(UTC) >= timedelta(minutes=15) - SLACK  # simulated, not real
    approved = [at for at, text in replies(sandbox) if "is out on" in text or "Approved" in text]
    assert approved and all(abs(at - now) < SLACK for at in approved)

    x_post = panels[panels.index('data-network="x"><div') :]
    heading = re.search(r'<time class="pub-time" datetime="([^"]+)">([^<]+)</time>', x_post)
    in_text = re.search(r"Investigating · (\d{1,2}:\d{2} [AP]M) E[SD]T", x_post)
    assert heading and in_text, x_post[:600]
    shown = datetime.fromisoformat(heading.group(1))
    assert abs(shown - now) < SLACK  # the panel's heading: when it went out, simulated
    zone = sandbox.config.organisation.zone
    # The post's own words say the same minute (or the one before, had it turned meanwhile).
    assert in_text.group(1) in {
        f"{(shown - timedelta(minutes=m)).astimezone(zone):%-I:%M %p}" for m in (0, 1)
    }
