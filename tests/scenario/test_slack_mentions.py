"""Slack's markup in what people type goes public as words: a person mentioned is their display
name (users.info), a channel its #name, <!here> is "@here", a link its URL. Someone Slack cannot
name is refused before anything is saved."""

from __future__ import annotations

from sqlmodel import col, select

from bot.storage.models import Incident, OutboxPost, Rendition
from handlers.slack.ids import Field
from tests.conftest import ANALYST, APPROVER, COMMS
from tests.fakes import slack_requests as req
from tests.scenario.harness import SlackHarness, as_text

TYPED = (
    "Blackboard: <@U0APPROVER2> says <#C0HELPDESK|helpdesk> cannot log in, "
    "<!here> see <https://status.example.edu/bb|the status page>"
)
PLAIN = "second.approver says #helpdesk cannot log in, @here see https://status.example.edu/bb"


def published(slack: SlackHarness) -> list[OutboxPost]:
    with slack.crier.core.store.transaction() as session:
        posts = list(session.exec(select(OutboxPost).order_by(col(OutboxPost.id))).all())
        session.expunge_all()
        return posts


def incidents(slack: SlackHarness) -> int:
    with slack.crier.core.store.transaction() as session:
        return len(session.exec(select(Incident)).all())


async def test_markup_in_a_quick_declaration_goes_public_as_words(slack: SlackHarness) -> None:
    status, answer = await slack.command(TYPED, user=ANALYST)
    assert status == 200 and "Drafting" in answer
    await slack.workspace.wait_for("chat.postMessage", count=2)
    asked = [c.args.get("user") for c in slack.workspace.calls if c.method == "users.info"]
    assert asked == ["U0APPROVER2"]
    assert PLAIN in as_text(slack.root()["blocks"])

    await slack.click(slack.thread()[0], "draft_approve", user=APPROVER)
    await slack.workspace.wait_for("chat.postMessage", count=3)
    await slack.settle()
    posts = published(slack)
    assert len(posts) == 5
    for post in posts:
        assert PLAIN in post.text, (post.network, post.text)
        assert "<" not in post.text and "U0APPROVER2" not in post.text


async def test_a_mention_slack_cannot_name_is_refused_and_nothing_is_saved(
    slack: SlackHarness,
) -> None:
    answer = await slack.command_reply("Blackboard: ask <@U0NOBODY> for help", user=ANALYST)
    assert answer == "I could not look up &lt;@U0NOBODY&gt;; write the name instead."
    slack.workspace.fail_next("users.info", error="ratelimited")
    answer = await slack.command_reply("Blackboard: ask <@U0APPROVER1>", user=ANALYST)
    assert "I could not look up &lt;@U0APPROVER1&gt;" in answer
    answer = await slack.command_reply("Blackboard: tell <!subteam^S0HELP>", user=ANALYST)
    assert "I could not look up &lt;!subteam^S0HELP&gt;" in answer
    await slack.settle()
    assert incidents(slack) == 0
    assert not [c for c in slack.workspace.calls if c.method == "chat.postMessage"]


async def _declare_form(slack: SlackHarness) -> dict[str, object]:
    assert (await slack.command("", user=ANALYST))[0] == 200
    return await slack.open_modal()


async def test_a_form_names_the_people_its_fields_mention(slack: SlackHarness) -> None:
    view = await _declare_form(slack)
    status, answer = await slack.submit(
        view,
        {
            Field.SERVICE: req.static_select("Blackboard"),
            Field.SUMMARY: req.text_input("students cannot log in"),
            Field.USERS_SEE: req.text_input("<@U0ANALYST1|ana> sees <!channel> errors"),
            Field.DOING: req.text_input("<@U0ANALYST1> and <@U0APPROVER1> are on it"),
        },
        user=ANALYST,
    )
    assert status == 200 and answer == {}, answer
    await slack.workspace.wait_for("chat.postMessage", count=2)
    await slack.settle()
    with slack.crier.core.store.transaction() as session:
        incident = session.exec(select(Incident)).one()
        assert incident.what_users_see == "ana.lyst sees @channel errors"
        assert incident.what_we_are_doing == "ana.lyst and appro.ver are on it"
    asked = sorted(c.args.get("user") for c in slack.workspace.calls if c.method == "users.info")
    assert asked == ["U0ANALYST1", "U0APPROVER1"]  # each person once


async def test_a_form_mentioning_someone_unknown_is_refused_on_that_field(
    slack: SlackHarness,
) -> None:
    view = await _declare_form(slack)
    status, answer = await slack.submit(
        view,
        {
            Field.SERVICE: req.static_select("Blackboard"),
            Field.SUMMARY: req.text_input("ask <@U0NOBODY>"),
        },
        user=ANALYST,
    )
    assert status == 200
    assert answer == {
        "response_action": "errors",
        "errors": {"summary": "I could not look up <@U0NOBODY>; write the name instead."},
    }
    assert incidents(slack) == 0
    assert COMMS not in {c.args.get("channel") for c in slack.workspace.calls}


async def test_an_edit_names_the_people_it_mentions(slack: SlackHarness) -> None:
    await slack.command("Blackboard: students cannot log in", user=ANALYST)
    await slack.workspace.wait_for("chat.postMessage", count=2)
    await slack.settle()
    await slack.click(slack.thread()[0], "draft_edit", user=ANALYST)
    view = await slack.open_modal()
    typed = "Blackboard is down. Ask <@U0APPROVER1> in <#C0HELPDESK|helpdesk>. <!everyone>"
    status, answer = await slack.submit(view, {"text_x": req.text_input(typed)}, user=ANALYST)
    assert status == 200 and answer == {}, answer
    await slack.workspace.wait_for("chat.postMessage", count=3)
    await slack.settle()
    with slack.crier.core.store.transaction() as session:
        edited = session.exec(
            select(Rendition).where(Rendition.channel == "x").order_by(col(Rendition.id).desc())
        ).first()
        assert edited is not None and edited.edited
        assert edited.text == "Blackboard is down. Ask appro.ver in #helpdesk. @everyone"

    await slack.click(slack.thread()[-1], "draft_edit", user=ANALYST)  # revision 2
    view = await slack.open_modal(count=2)
    status, answer = await slack.submit(
        view, {"text_x": req.text_input("ask <@U0NOBODY>")}, user=ANALYST
    )
    assert answer["errors"] == {
        "text_x": "I could not look up <@U0NOBODY>; write the name instead."
    }
