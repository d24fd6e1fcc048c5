"""The sandbox without a browser: its page, its JSON state and the gestures it turns into
Slack's signed requests to the real Crier."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import aiohttp

from handlers.sandbox.app import ANALYST, CHANNEL_ID, VISITOR, Sandbox
from handlers.sandbox.mrkdwn import Names, to_html
from tests.sandbox.conftest import eventually, start_sandbox
from tests.sandbox.gestures import (
    APPROVER,
    JsonDict,
    approve,
    approve_button,
    gesture,
    published,
    state,
    timeline_with,
)


async def test_the_page_and_its_state_escape_what_people_typed(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    async with http.get(sandbox.url) as response:
        page = await response.text()
    assert response.status == 200
    assert "# it-outages" in page and "Ana Analyst — analyst" in page and "Val Visitor" in page
    assert '<script src="/static/sandbox.js">' in page
    for asset in ("sandbox.js", "sandbox.css"):
        async with http.get(f"{sandbox.url}/static/{asset}") as response:
            assert response.status == 200

    typed = "/outage Blackboard: <script>alert(1)</script> & <!channel> fails"
    assert await gesture(http, sandbox, "command", user=ANALYST.user_id, text=typed) == {
        "notice": None,
        "errors": None,
        "closed": False,
    }
    timeline = await eventually(
        lambda: timeline_with(http, sandbox, ANALYST.user_id, "First public post")
    )
    assert "<script>" not in timeline and "alert(1)" in timeline
    assert "Drafting the posts" in timeline and "Only visible to you" in timeline
    other = await state(http, sandbox, VISITOR.user_id)
    assert "Drafting the posts" not in other["timeline"]  # the ack was only for the analyst


async def test_approval_rules_then_publishing_fill_the_network_panels(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    await gesture(
        http, sandbox, "command", user=ANALYST.user_id, text="/outage bb: students cannot log in"
    )
    await eventually(lambda: timeline_with(http, sandbox, ANALYST.user_id, "Approve &amp; publish"))
    ts, block_id = approve_button(sandbox)
    click = {"channel": CHANNEL_ID, "ts": ts, "block_id": block_id, "action_id": "draft_approve"}

    await gesture(http, sandbox, "action", user=VISITOR.user_id, **click)
    await eventually(lambda: timeline_with(http, sandbox, VISITOR.user_id, "Only approvers"))
    assert "Only approvers" not in (await state(http, sandbox, APPROVER))["timeline"]

    await approve(http, sandbox, APPROVER, click)
    panels = await eventually(lambda: published(http, sandbox, count=6))
    for network in ("x", "facebook", "mastodon", "bluesky", "statuspage", "site"):
        assert f'data-network="{network}"' in panels
    assert re.search(r"\d{1,2}:\d{2} [AP]M E[SD]T", panels)
    assert "/280 weighted characters" in panels and "/300 graphemes" in panels
    timeline = await eventually(lambda: timeline_with(http, sandbox, APPROVER, "is out on X"))
    assert "Approved by" in timeline and "@Avery Approver" in timeline

    entry = re.search(r'id="outbox-(\d+)"', panels)
    assert entry is not None
    async with http.get(f"{sandbox.url}/outbox/{entry.group(1)}") as response:
        assert response.status == 200
        assert "Dry run" in await response.text()
    async with http.get(f"{sandbox.url}/outbox/999") as response:
        assert response.status == 404
    # The status site is real in the sandbox: its panel links the incident's page, which the
    # sandbox serves at its own address.
    site_page = re.search(r'href="(http://[^"]+/status/incidents/\d+/)"', panels)
    assert site_page is not None and site_page.group(1).startswith(sandbox.url)
    async with http.get(site_page.group(1)) as response:
        assert response.status == 200 and "students cannot log in" in await response.text()
    async with http.get(f"{sandbox.url}/") as response:  # the page links the whole site
        assert 'href="/status/"' in await response.text()
    async with http.get(f"{sandbox.url}/status/") as response:
        assert response.status == 200 and "students cannot log in" in await response.text()


async def test_a_modal_opens_for_its_person_and_shows_errors_on_its_fields(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    await gesture(http, sandbox, "command", user=ANALYST.user_id, text="/outage")
    modal = await eventually(lambda: _modal(http, sandbox, ANALYST.user_id))
    assert "Declare an outage" in modal["html"] and 'data-block-id="service"' in modal["html"]
    assert (await state(http, sandbox, APPROVER))["modal"] is None  # not theirs

    empty = await gesture(
        http, sandbox, "submit", user=ANALYST.user_id, view_id=modal["id"], values={}
    )
    required = "Please complete this required field."  # Slack's words; Crier never hears of it
    assert empty["errors"] == {"service": required, "summary": required, "status": required}

    values = {
        "service": "Blackboard",
        "summary": "<b>cannot</b> log in & <script>x()</script>",
        "status": "investigating",
        "next_update_minutes": "abc",
        "channels": ["x", "bluesky"],
    }
    refused = await gesture(
        http, sandbox, "submit", user=ANALYST.user_id, view_id=modal["id"], values=values
    )
    assert refused["errors"] and "next_update_minutes" in refused["errors"]  # Crier's own check
    values["next_update_minutes"] = "45"
    done = await gesture(
        http, sandbox, "submit", user=ANALYST.user_id, view_id=modal["id"], values=values
    )
    assert done["closed"] is True
    assert (await state(http, sandbox, ANALYST.user_id))["modal"] is None
    timeline = await eventually(lambda: timeline_with(http, sandbox, ANALYST.user_id, "revision 1"))
    # What was typed is shown as typed: as text, never as markup.
    assert "Blackboard: &lt;b&gt;cannot&lt;/b&gt; log in &amp; &lt;script&gt;x()" in timeline
    assert "<script>" not in timeline and "X, Bluesky" in timeline
    assert "<b>Mastodon</b>" not in timeline


async def _modal(http: aiohttp.ClientSession, sandbox: Sandbox, user: str) -> JsonDict | None:
    modal = (await state(http, sandbox, user))["modal"]
    return modal if isinstance(modal, dict) else None


async def test_slack_answers_what_slack_itself_would(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    unknown = await gesture(http, sandbox, "command", user=ANALYST.user_id, text="/outages help")
    assert "/outages is not a valid command" in unknown["notice"]
    threaded = await gesture(
        http, sandbox, "command", user=ANALYST.user_id, text="/outage list", thread_ts="1.000001"
    )
    assert threaded["notice"] == "/outage is not supported in threads. Sorry!"
    await gesture(http, sandbox, "command", user=ANALYST.user_id, text="good morning *all*")
    timeline = await eventually(lambda: timeline_with(http, sandbox, VISITOR.user_id, "morning"))
    assert "Ana Analyst" in timeline and "<b>all</b>" in timeline
    gone = await gesture(
        http,
        sandbox,
        "action",
        user=APPROVER,
        channel=CHANNEL_ID,
        ts="1.000001",
        block_id="b",
        action_id="draft_approve",
    )
    assert "no longer there" in gone["notice"]
    async with http.post(f"{sandbox.url}/api/command", data='{"text": "/outage list"}') as response:
        assert response.status == 415  # JSON only, so no other site's form can act here


def test_mrkdwn_becomes_safe_html() -> None:
    names = Names(users={"U0ANA": "Ana Analyst"}, channels={"C0X": "it-outages"})
    html = to_html(
        "*Approved* by <@U0ANA> in <#C0X> _now_ ~no~ `a<b` "
        "<https://example.edu/a?b=1&amp;c=2|view post> <javascript:alert(1)|click> "
        "&lt;b&gt;not bold&lt;/b&gt; :white_check_mark:\n&gt; quoted",
        names,
    )
    assert "<b>Approved</b>" in html and "@Ana Analyst" in html and "#it-outages" in html
    assert "<i>now</i>" in html and "<s>no</s>" in html and "<code>a&lt;b</code>" in html
    assert 'href="https://example.edu/a?b=1&amp;c=2"' in html and ">view post</a>" in html
    assert "javascript:" not in html.split("href=")[-1].split(">")[0]
    assert 'href="javascript' not in html
    assert "&lt;b&gt;not bold&lt;/b&gt;" in html and "✅" in html
    assert "<blockquote>quoted</blockquote>" in html
    dated = to_html("at <!date^1700000000^{time}|3:33 PM EST>", names)
    assert '<time class="bk-date" datetime="2023-11-14T22:13:20+00:00"' in dated
    assert ">3:33 PM EST</time>" in dated


def test_crier_sandbox_prints_its_address_and_serves_the_page(tmp_path: Path) -> None:
    """The real console script, as the README's first command runs it."""
    crier = Path(sys.executable).with_name("crier")
    environment = {
        k: v for k, v in os.environ.items() if k not in ("CRIER_DATABASE_URL", "CRIER_CONFIG")
    }
    process = subprocess.Popen(
        [str(crier), "sandbox", "--port", "0"],
        cwd=tmp_path,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 30
        address = None
        while address is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            assert line, "crier sandbox exited early"
            found = re.search(r"^Crier sandbox: open (http://127\.0\.0\.1:\d+)$", line.strip())
            address = found.group(1) if found else None
        assert address, "crier sandbox did not say where to open it"
        with urllib.request.urlopen(address, timeout=5) as response:
            assert response.status == 200
            assert b"Crier sandbox" in response.read()
        assert (tmp_path / "crier-sandbox.db").exists()
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0


async def test_a_configured_database_is_used_as_it_is(database_url: str) -> None:
    """CRIER_DATABASE_URL (SQLite, or PostgreSQL in CI) works for the sandbox too."""
    sandbox = await start_sandbox(database_url)
    try:
        async with aiohttp.ClientSession() as http:
            assert (await state(http, sandbox, ANALYST.user_id))["published"].count(
                "Nothing published yet."
            ) == 6  # every enabled channel's panel, the status site's too
    finally:
        await sandbox.stop()


async def test_the_clock_jumps_ahead_and_reminders_come_due(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    await gesture(http, sandbox, "command", user=ANALYST.user_id, text="/outage bb: no sign-in")
    await eventually(lambda: timeline_with(http, sandbox, ANALYST.user_id, "Approve &amp; publish"))
    ts, block_id = approve_button(sandbox)
    click = {"channel": CHANNEL_ID, "ts": ts, "block_id": block_id, "action_id": "draft_approve"}
    await approve(http, sandbox, APPROVER, click)
    await eventually(lambda: timeline_with(http, sandbox, APPROVER, "is out on X"))
    assert "promised by" not in (await state(http, sandbox, ANALYST.user_id))["timeline"]

    answer = await gesture(http, sandbox, "clock", minutes=25)
    assert "(+0 h 25 min)" in answer["notice"]
    timeline = await eventually(
        lambda: timeline_with(http, sandbox, ANALYST.user_id, "promised by")
    )
    assert "Snooze 15 min" in timeline and "Post update" in timeline
    assert "(+0 h 25 min)" in (await state(http, sandbox, ANALYST.user_id))["clock"]
    async with http.post(f"{sandbox.url}/api/clock", json={"minutes": -5}) as response:
        assert response.status == 400


async def test_the_calendar_form_is_played_with_the_browsers_date_and_time_fields(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    """`/outage calendar` can be completed on the page: Slack's date and time pickers are the
    browser's own fields, and what they hold reaches Crier as Slack sends it."""
    await gesture(http, sandbox, "command", user=ANALYST.user_id, text="/outage calendar")
    modal = await eventually(lambda: _modal(http, sandbox, ANALYST.user_id))
    assert 'type="date"' in modal["html"] and 'type="time"' in modal["html"]
    assert "not playable" not in modal["html"]
    values = {
        "calendar_text": "Tip: lock your screen when you step away.",
        "calendar_date": "2099-03-02",
        "calendar_time": "10:00",
        "channels": ["x"],
    }
    done = await gesture(
        http, sandbox, "submit", user=ANALYST.user_id, view_id=modal["id"], values=values
    )
    assert done["closed"] is True, done
    await eventually(lambda: timeline_with(http, sandbox, ANALYST.user_id, "lock your screen"))
