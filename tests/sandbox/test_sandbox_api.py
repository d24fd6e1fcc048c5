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
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp

from bot.scheduling.calendar import upcoming
from bot.storage.store import open_store
from handlers.sandbox.app import ANALYST, CHANNEL_ID, VISITOR, Sandbox
from handlers.sandbox.blocks import input_state, is_empty, view_html
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
    """`/outage calendar add` can be completed on the page: Slack's date and time pickers are the
    browser's own fields, and what they hold reaches Crier as Slack sends it, read in the
    organisation's time zone."""
    await gesture(http, sandbox, "command", user=ANALYST.user_id, text="/outage calendar add")
    modal = await eventually(lambda: _modal(http, sandbox, ANALYST.user_id))
    html = modal["html"]
    zone = sandbox.config.organisation.zone
    today = sandbox.clock.now().astimezone(zone).date().isoformat()
    day_field = f'id="in-{modal["id"]}-calendar_date" type="date" value="{today}"'
    time_field = f'id="in-{modal["id"]}-calendar_time" type="time" value="10:00"'
    assert day_field in html and time_field in html
    for block_id in ("calendar_date", "calendar_time"):  # each field has its label
        assert f'<label class="bk-label" for="in-{modal["id"]}-{block_id}">' in html
    assert "not playable" not in html

    # What the page's script sends: each field's value, by block id.
    values = {
        "calendar_text": "Tip: lock your screen when you step away.",
        "calendar_date": "31/07/2099",  # never what a date field holds: as if left empty
        "calendar_time": "10:00",
        "channels": ["x"],
    }
    refused = await gesture(
        http, sandbox, "submit", user=ANALYST.user_id, view_id=modal["id"], values=values
    )
    assert refused["errors"] == {"calendar_date": "Please complete this required field."}
    values["calendar_date"] = "2099-07-31"
    done = await gesture(
        http, sandbox, "submit", user=ANALYST.user_id, view_id=modal["id"], values=values
    )
    assert done["closed"] is True, done
    await eventually(lambda: timeline_with(http, sandbox, ANALYST.user_id, "lock your screen"))

    store = open_store(sandbox.database_url)
    try:
        [entry] = await store.run(lambda session: upcoming(session, now=sandbox.clock.now()))
    finally:
        store.dispose()
    # 10:00 on a July day in New York is 14:00 UTC (EDT), not 10:00 UTC.
    assert entry.due_at == datetime(2099, 7, 31, 10, 0, tzinfo=zone)
    assert entry.due_at.astimezone(UTC).hour == 14 and entry.channels == ("x",)


def test_the_pickers_fields_and_their_state_are_slacks() -> None:
    """Each picker's field starts at the element's initial value, and its value reaches the app
    in Slack's shape; a datetimepicker's moment is read in the people's zone."""
    zone = ZoneInfo("America/New_York")
    day = {"type": "datepicker", "action_id": "a", "initial_date": "2099-01-05"}
    clock = {"type": "timepicker", "action_id": "a", "initial_time": "09:30"}
    zoned = clock | {"timezone": "Europe/Paris"}
    moment = {"type": "datetimepicker", "action_id": "a", "initial_date_time": 4_071_758_400}
    view = {
        "id": "V1",
        "title": {"type": "plain_text", "text": "Pickers"},
        "blocks": [
            {"type": "input", "block_id": "when", "label": _plain("When"), "element": moment}
        ],
    }
    html = view_html(view, Names(users={}, channels={}), zone)
    assert '<label class="bk-label" for="in-V1-when">When</label>' in html
    assert '<input id="in-V1-when" type="datetime-local" value="2099-01-10T15:00">' in html

    assert input_state(day, "2099-01-06", zone) == {
        "type": "datepicker",
        "selected_date": "2099-01-06",
    }
    assert input_state(clock, "18:05", zone) == {"type": "timepicker", "selected_time": "18:05"}
    assert input_state(zoned, "18:05:00", zone) == {
        "type": "timepicker",
        "selected_time": "18:05",
        "timezone": "Europe/Paris",
    }
    picked = datetime(2099, 7, 1, 9, 0, tzinfo=zone)  # EDT: 13:00 UTC
    assert input_state(moment, "2099-07-01T09:00", zone) == {
        "type": "datetimepicker",
        "selected_date_time": int(picked.timestamp()),
    }
    # Nothing picked, or what no browser field holds: null, as Slack sends an empty picker.
    for element, key in ((day, "selected_date"), (clock, "selected_time")):
        for raw in ("", None, "soon", "2099-02-30", "25:00"):
            state = input_state(element, raw, zone)
            assert state[key] is None and is_empty(state), (element, raw)
    for raw in ("", "2099-07-01", "2099-07-01T09:00+02:00", "tomorrow"):
        state = input_state(moment, raw, zone)
        assert state["selected_date_time"] is None and is_empty(state), raw


def _plain(text: str) -> JsonDict:
    return {"type": "plain_text", "text": text}
