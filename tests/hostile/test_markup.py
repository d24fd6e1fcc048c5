"""Mentions and markup in what people type — or in a service's name in crier.yml — never ping
anyone and never break a message; templates that staff edit cannot reach Python's insides."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from bot.config import CrierConfig
from bot.storage.models import Incident
from bot.storage.store import Store
from handlers.sandbox.workspace import SlackWorkspace
from handlers.slack.common import OOPS
from handlers.slack.ids import Action, Field
from tests.clock import FakeClock
from tests.conftest import ANALYST, APPROVER, COMMS, make_config
from tests.fakes import slack_requests as req
from tests.hostile.checks import Mark, count, quiesce, sent_since, unsafe_markup
from tests.scenario.conftest import tick
from tests.scenario.harness import SlackHarness, as_text, start_harness

# Typed in Slack: Crier makes them words (a person's display name) before anything is saved.
PINGS = "<!channel> <!here> <!everyone> <@U0OUTSIDER> <!subteam^S0HOSTILE|@hostile>"
AS_WORDS = "@channel @here @everyone out.sider @hostile"
MARKUP = "*bold* _x_ ~gone~ `code` <http://evil.example|click>"
SERVICE = "<!here> *Mail* _x_ <@U0HOSTILE2>"


@pytest.fixture
def config() -> CrierConfig:
    """The starter config, with a service whose name and aliases are all markup."""
    service = {
        "name": SERVICE,
        "aliases": ["*bold*", "<@U0HOSTILE3>", "mail"],
        "default_channels": ["x", "mastodon"],
        "default_severity": "sev1",
    }
    return make_config(services=[service])


async def test_markup_anywhere_in_a_whole_incident_never_pings_or_breaks_a_message(
    timed_slack: SlackHarness, clock: FakeClock
) -> None:
    slack = timed_slack
    mark = Mark.of(slack.workspace)
    told = [await slack.command_reply(f"*bold*: {PINGS} {MARKUP}", user=ANALYST)]
    await slack.workspace.wait_for("chat.postMessage", count=2)
    told.append(await slack.command_reply(f"mial: {PINGS}", user=ANALYST))  # "Did you mean …"
    told.append(await slack.command_reply("list", user=ANALYST))
    # Someone Slack cannot name, or a user group with no name, is refused: nothing is saved.
    for nobody in ("<@U0HOSTILE1>", "<!subteam^S0HOSTILE>"):
        told.append(await slack.command_reply(f"*bold*: {nobody} {MARKUP}", user=ANALYST))
        shown = nobody.replace("<", "&lt;").replace(">", "&gt;")
        assert told[-1] == f"I could not look up {shown}; write the name instead.", told
    assert "Did you mean" in told[1] and "&lt;!here&gt;" in told[1]

    await slack.click(slack.root(), Action.POST_UPDATE, user=ANALYST)  # the form names it
    view = await slack.open_modal()
    await slack.click(slack.thread()[0], Action.APPROVE, user=APPROVER)
    await quiesce(slack)
    await tick(slack, clock, minutes=26)  # the promised update is nearly due: a reminder
    status, _ = await slack.submit(
        view,
        {
            Field.DOING: req.text_input(f"{PINGS} {MARKUP}"),
            Field.USERS_SEE: req.text_input(PINGS),
        },
        user=ANALYST,
    )
    assert status == 200
    await quiesce(slack)
    update = [m for m in slack.thread() if Action.REJECT in as_text(m)][-1]
    await slack.click(update, Action.REJECT, user=APPROVER)
    reject_form = await slack.open_modal(count=3)  # after the update form and Publish now?
    await slack.submit(reject_form, {Field.REASON: req.text_input(PINGS)}, user=APPROVER)
    await quiesce(slack)

    sent = sent_since(slack.workspace, mark)
    assert not unsafe_markup(sent + [{"text": t} for t in told]), unsafe_markup(sent)
    everything = as_text(sent)
    assert AS_WORDS in everything and "rejected by <@U0APPROVER1>" in everything
    assert "⏰" in everything  # the reminder was among the messages checked
    slack.sent_blocks_are_valid()


SANDBOX_ESCAPES = [
    "{{ ''.__class__.__mro__ }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ '{0.__class__.__mro__}'.format('') }}",
    "{{ ''|attr('__class__') }}",
    "{% for c in ().__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    "{{ self.__init__.__globals__ }}",
    "{{ service.__class__.__init__.__globals__ }}",
]


@pytest.mark.parametrize("template", SANDBOX_ESCAPES)
async def test_a_template_reaching_for_python_objects_is_refused_clearly(
    store: Store, workspace: SlackWorkspace, tmp_path: Path, template: str
) -> None:
    (tmp_path / "initial").mkdir()
    (tmp_path / "initial" / "x.j2").write_text(template)
    config = make_config(templates_dir=str(tmp_path))
    async with aiohttp.ClientSession() as http:
        slack, runner = await start_harness(
            store=store, config=config, workspace=workspace, http=http
        )
        try:
            answer = await slack.command_reply("Email: outlook is down", user=ANALYST)
            assert "Drafting" in answer
            said = (await workspace.wait_for_response())[-1]["text"]
            await quiesce(slack)
        finally:
            await runner.cleanup()
    assert "could not draft the x post" in said and "may not use" in said, said
    assert OOPS not in said and "class" not in said
    assert count(store, Incident) == 0
    assert not [c for c in workspace.calls if c.method == "chat.postMessage"]


async def test_a_template_mistake_is_named_not_a_crash(
    store: Store, workspace: SlackWorkspace, tmp_path: Path
) -> None:
    (tmp_path / "initial").mkdir()
    (tmp_path / "initial" / "x.j2").write_text("{{ servce }} is down")
    async with aiohttp.ClientSession() as http:
        slack, runner = await start_harness(
            store=store,
            config=make_config(templates_dir=str(tmp_path)),
            workspace=workspace,
            http=http,
        )
        try:
            await slack.command("Email: outlook is down", user=ANALYST, channel=COMMS)
            said = (await workspace.wait_for_response())[-1]["text"]
        finally:
            await runner.cleanup()
    assert "'servce' is undefined" in said and count(store, Incident) == 0
