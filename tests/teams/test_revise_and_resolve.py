"""Stories after the first draft: edit it, reject it, post an update, resolve the outage."""

from __future__ import annotations

from sqlmodel import col, select

from bot.storage.models import AuditEvent, OutboxPost
from tests.fakes.bot_connector import FakeBotConnector
from tests.placeholders import shown_in
from tests.teams.harness import ANALYST, APPROVER, OUTSIDER, THREAD, TeamsHarness, texts

NETWORKS = ("x", "facebook", "mastodon", "bluesky", "statuspage")
# What is drafted: those networks (each publishes to the outbox) and the status site (its sent
# delivery is its record), which every incident goes to.
CHANNELS = (*NETWORKS, "site")


def outbox(teams: TeamsHarness) -> list[OutboxPost]:
    with teams.crier.core.store.transaction() as session:
        posts = list(session.exec(select(OutboxPost).order_by(col(OutboxPost.id))).all())
        session.expunge_all()
        return posts


def audit_actions(teams: TeamsHarness) -> list[str]:
    with teams.crier.core.store.transaction() as session:
        return [e.action for e in session.exec(select(AuditEvent).order_by(col(AuditEvent.id)))]


def inputs_of(card: dict[str, object]) -> dict[str, str]:
    """A form's inputs and the values they show."""
    body = card["body"]
    assert isinstance(body, list)
    return {b["id"]: b.get("value", "") for b in body if str(b["type"]).startswith("Input.")}


def runs(card: dict[str, object]) -> list[str]:
    """The plain texts (TextRuns) a card shows."""
    body = card["body"]
    assert isinstance(body, list)
    return [i["text"] for b in body if b["type"] == "RichTextBlock" for i in b["inlines"]]


async def declare(teams: TeamsHarness) -> str:
    assert await teams.say("outage Blackboard: students cannot log in", user=ANALYST) == 202
    await teams.connector.wait_for_posts(2)
    await teams.settle()
    return teams.draft_ids()[0]


async def approve(teams: TeamsHarness, draft_id: str) -> None:
    """An approver publishes; waits until the outcome message is out."""
    before = len(teams.connector.posts())
    answer = await teams.click(draft_id, "Approve & publish", user=APPROVER)
    assert "Approved by" in texts(answer)
    await teams.connector.wait_for_posts(before + 1)
    await teams.settle()


async def test_edit_makes_a_new_revision_and_the_old_one_is_refused(
    teams: TeamsHarness, connector: FakeBotConnector
) -> None:
    first = await declare(teams)
    form = await teams.click(first, "Edit", user=ANALYST)
    fields = inputs_of(form)
    assert set(fields) == {f"text_{n}" for n in CHANNELS}
    shown = runs(connector.card(first))
    assert all(text and shown_in(text, shown) for text in fields.values())

    # 150 CJK characters weigh 300 on X: the form comes back with the problem under X's text.
    too_long = fields | {"text_x": "停" * 150}
    again = await teams.click(first, "Save revision", user=ANALYST, inputs=too_long, card=form)
    assert "300/280" in texts(again) and inputs_of(again)["text_x"] == "停" * 150
    assert len(teams.draft_ids()) == 1 and "edit" not in audit_actions(teams)

    edited_x = "Blackboard sign-in is down. We are on it; more soon."
    answer = await teams.click(
        first, "Save revision", user=ANALYST, inputs=fields | {"text_x": edited_x}, card=form
    )
    assert "Replaced by a newer revision" in texts(answer)
    await connector.wait_for(lambda: len(teams.draft_ids()) == 2)
    await teams.settle()
    old, revised = teams.draft_ids()
    assert "Replaced by a newer revision" in texts(connector.card(old))  # for everyone
    assert "Approve & publish" not in texts(connector.card(old))
    assert "revision 2" in texts(connector.card(revised))
    assert edited_x in runs(connector.card(revised)) and "edited" in texts(connector.card(revised))

    # An approver still looking at revision 1 (a stale view) is refused, and told why.
    stale = await teams.click(
        old, "Approve & publish", user=APPROVER, card=connector.calls[1].cards[0]
    )
    assert "revision 2" in texts(stale) and not outbox(teams)
    stale_edit = await teams.click(old, "Edit", user=ANALYST, card=connector.calls[1].cards[0])
    assert "superseded" in texts(stale_edit)

    await approve(teams, revised)
    published = {p.network: p.text for p in outbox(teams)}
    assert set(published) == set(NETWORKS) and published["x"] == edited_x
    actions = audit_actions(teams)
    assert actions.count("edit") == 1 and actions.count("approve") == 1


async def test_reject_needs_a_reason_and_tells_the_requester(
    teams: TeamsHarness, connector: FakeBotConnector
) -> None:
    draft = await declare(teams)

    refused = await teams.click(draft, "Reject", user=OUTSIDER)
    assert "Only approvers can reject" in texts(refused)

    form = await teams.click(draft, "Reject", user=APPROVER)
    assert set(inputs_of(form)) == {"reason"}
    again = await teams.click(draft, "Reject", user=APPROVER, inputs={"reason": "  "}, card=form)
    assert "reason" in texts(again).lower() and "reject" not in audit_actions(teams)

    before = len(connector.posts())
    answer = await teams.click(
        draft, "Reject", user=APPROVER, inputs={"reason": "Wrong *service*"}, card=form
    )
    assert "Rejected by" in texts(answer) and "Wrong *service*" in texts(answer)
    (notice,) = (await connector.wait_for_posts(before + 1))[before:]
    await teams.settle()
    assert "Rejected by" in texts(connector.card(draft))  # for everyone
    # The requester is @mentioned so Teams notifies them; the reason is on the card.
    assert notice.activity["text"] == "<at>Ana Lyst</at>"
    (mention,) = notice.activity["entities"]
    assert mention["mentioned"] == {"id": ANALYST[0], "name": "Ana Lyst"}
    assert "Wrong *service*" in texts(notice.cards[0])
    assert not outbox(teams) and audit_actions(teams).count("reject") == 1
    # Only once, however often the card is refreshed.
    await teams.crier.core.show_post(int(answer["fallbackText"].split("#")[1].split(":")[0]))
    assert len(connector.posts()) == before + 1


async def test_update_from_a_command_and_from_the_incident_card(
    teams: TeamsHarness, connector: FakeBotConnector
) -> None:
    await approve(teams, await declare(teams))

    # "update" in the incident's conversation sends the form there.
    before = len(connector.posts())
    assert await teams.say("update", user=ANALYST) == 202
    (form_message,) = (await connector.wait_for_posts(before + 1))[before:]
    form = connector.card(form_message.id)
    assert "Post an update" in texts(form) and inputs_of(form)["status"] == "investigating"

    bad = await teams.click(
        form_message.id,
        "Draft update",
        user=ANALYST,
        inputs={
            "status": "identified",
            "what_we_are_doing": "Restarting",
            "next_update_minutes": "2",
        },
    )
    assert "5 to 1440 minutes" in texts(bad) and inputs_of(bad)["what_we_are_doing"] == "Restarting"

    answer = await teams.click(
        form_message.id,
        "Draft update",
        user=ANALYST,
        inputs={"status": "identified", "what_we_are_doing": "Restarting the sign-in service"},
    )
    assert "drafted an update for incident #1" in texts(answer)
    assert "drafted an update" in texts(connector.card(form_message.id))  # nobody sends it twice
    await connector.wait_for(lambda: len(teams.draft_ids()) == 2)
    await teams.settle()
    update = connector.card(teams.draft_ids()[1])
    assert "Update · status Identified" in texts(update)

    # The incident card's own button shows the form in place, to that person only.
    root = teams.root_id()
    in_place = await teams.click(root, "Post update", user=ANALYST)
    assert "Post an update" in texts(in_place)
    assert "Post an update" not in texts(connector.card(root))
    back = await teams.click(root, "Cancel", user=ANALYST, card=in_place)
    assert "Post update" in texts(back)


async def test_resolve_drafts_the_all_clear_and_closes_the_incident(
    teams: TeamsHarness, connector: FakeBotConnector
) -> None:
    await approve(teams, await declare(teams))
    root = teams.root_id()
    form = await teams.click(root, "Resolve", user=ANALYST)
    answer = await teams.click(
        root,
        "Draft all-clear",
        user=ANALYST,
        inputs={"what_happened": "The sign-in service was restarted"},
        card=form,
    )
    assert "Post update" in texts(answer)  # back to the incident's card
    await connector.wait_for(lambda: len(teams.draft_ids()) == 2)
    await teams.settle()
    all_clear = teams.draft_ids()[1]
    assert "All-clear" in texts(connector.card(all_clear))

    await approve(teams, all_clear)
    card = connector.card(root)
    assert "Resolved" in texts(card) and "Post update" not in texts(card)
    before = len(connector.posts())
    assert await teams.say("resolve", user=ANALYST) == 202
    told = await connector.wait_for_posts(before + 1)
    assert "No open incident lives in this conversation" in told[-1].activity["text"]


async def test_resolve_with_nothing_published_closes_quietly(
    teams: TeamsHarness, connector: FakeBotConnector
) -> None:
    draft = await declare(teams)
    before = len(connector.posts())
    assert await teams.say("resolve 1", user=ANALYST) == 202
    (form_message,) = (await connector.wait_for_posts(before + 1))[before:]
    fixed = {"what_happened": "It came back"}
    waiting = await teams.click(form_message.id, "Draft all-clear", user=ANALYST, inputs=fixed)
    assert "Decide on the waiting draft first" in texts(waiting)
    assert inputs_of(waiting)["what_happened"] == "It came back"  # the form, as they left it

    form = await teams.click(draft, "Reject", user=APPROVER)
    await teams.click(draft, "Reject", user=APPROVER, inputs={"reason": "Not needed"}, card=form)
    answer = await teams.click(form_message.id, "Draft all-clear", user=ANALYST, inputs=fixed)
    assert "Nothing about it was ever published" in texts(answer)
    await teams.settle()
    assert "Resolved" in texts(connector.card(teams.root_id()))
    assert "Nothing about it was ever published" in texts(connector.card(form_message.id))
    assert {c.conversation_id for c in connector.posts()} == {THREAD}
    assert not outbox(teams)
