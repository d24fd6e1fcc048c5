"""Shows incidents in Teams: the incident's card, each draft's card, outcomes, reminders.

Everything goes out proactively, from the conversation reference stored with the incident's
card (``ChatAnchor.reference``), through ``adapter.continue_conversation``: so it works after a
restart and from any replica. Which message is which lives in the database too.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from botbuilder.core import BotAdapter, CardFactory, MessageFactory, TurnContext
from botbuilder.schema import Activity, ChannelAccount, ConversationReference, Mention
from msrest.exceptions import ClientRequestError, HttpOperationError

from bot.chat.anchors import Anchor
from bot.chat.context import ChatContext
from bot.errors import CrierError
from bot.listening.answers import AnswerView
from bot.listening.views import HeardBatch, SpikeAlert
from bot.maintenance.series import MaintenanceShown, ShowReason
from bot.ports import Actor, PublishError
from bot.scheduling.calendar import CalendarBatch, CalendarEntry
from bot.scheduling.work import ReplyTo
from bot.storage.models import PostState
from bot.views import IncidentView, Notice, PostView, Reminder, SiteUpdate
from handlers.teams import cards
from handlers.teams.anchors import People, TeamsAnchors
from handlers.teams.answer_card import answer_card
from handlers.teams.calendar import calendar_card
from handlers.teams.calendar_batch import batch_card
from handlers.teams.elements import Element
from handlers.teams.heard_card import heard_card, spike_card
from handlers.teams.ids import PLATFORM, ROOT
from handlers.teams.maintenance_card import maintenance_card
from handlers.teams.maintenance_places import people_in, reference_in
from handlers.teams.site_update_card import site_update_card

log = logging.getLogger(__name__)
T = TypeVar("T")
RETRIES = 3
MAX_RETRY_AFTER = 30.0


def conversation_reference(activity: Activity) -> dict[str, Any]:
    """What to keep of an incoming activity to write to its conversation later."""
    reference = TurnContext.get_conversation_reference(activity)
    reference.activity_id = None  # later messages are new messages, not replies to this one
    stored: dict[str, Any] = reference.serialize()
    return stored


def card_message(card: Element, *, text: str | None = None) -> Activity:
    activity = MessageFactory.attachment(CardFactory.adaptive_card(card))
    if text:
        activity.text = text
    return activity


def _retry_after(exc: Exception, attempt: int) -> float | None:
    """Seconds to wait before trying again, or None when trying again cannot help."""
    if isinstance(exc, ClientRequestError) and not isinstance(exc, HttpOperationError):
        return 0.5 * 2**attempt  # the connection failed
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", 0) or 0
    if status != 429 and status < 500:
        return None
    header = (getattr(response, "headers", None) or {}).get("Retry-After", "")
    try:
        return min(float(header), MAX_RETRY_AFTER)
    except ValueError:
        return 0.5 * 2**attempt


class TeamsPresenter:
    platform = PLATFORM

    def __init__(self, *, chat: ChatContext, adapter: BotAdapter, app_id: str) -> None:
        self._chat = chat
        self._adapter = adapter
        self._app_id = app_id
        self.anchors = TeamsAnchors(chat)

    @property
    def _zone(self) -> Any:
        return self._chat.config.organisation.zone

    # --- talking to the Bot Connector ---------------------------------------------------------

    async def _proactive(
        self, reference: dict[str, Any], work: Callable[[TurnContext], Awaitable[T]]
    ) -> T:
        """Run ``work`` in the conversation, retrying what the connector says is passing."""
        for attempt in range(RETRIES + 1):
            try:
                return await self._once(reference, work)
            except (HttpOperationError, ClientRequestError) as exc:
                delay = _retry_after(exc, attempt)
                if delay is None or attempt == RETRIES:
                    raise
                log.warning("Teams refused a message (%s); trying again in %.1fs", exc, delay)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    async def _once(
        self, reference: dict[str, Any], work: Callable[[TurnContext], Awaitable[T]]
    ) -> T:
        outcome: asyncio.Future[T] = asyncio.get_running_loop().create_future()

        async def callback(context: TurnContext) -> None:
            # Caught here: the adapter's turn-error handler must not swallow it.
            try:
                outcome.set_result(await work(context))
            except Exception as exc:
                outcome.set_exception(exc)

        conversation = ConversationReference.deserialize(reference)
        await self._adapter.continue_conversation(conversation, callback, self._app_id)
        return outcome.result()  # the work's result, or its exception raised

    async def send(self, reference: dict[str, Any], activity: Activity) -> str:
        """A new message in the conversation; returns its activity id."""

        async def work(context: TurnContext) -> str:
            response = await context.send_activity(activity)
            return str(response.id) if response and response.id else ""

        return await self._proactive(reference, work)

    async def replace(self, reference: dict[str, Any], activity_id: str, card: Element) -> None:
        """Replace a message's card for everyone."""
        activity = card_message(card)
        activity.id = activity_id

        async def work(context: TurnContext) -> None:
            await context.update_activity(activity)

        await self._proactive(reference, work)

    # --- the incident -------------------------------------------------------------------------

    async def start_incident(
        self, incident: IncidentView, *, reference: dict[str, Any], replace_id: str | None = None
    ) -> None:
        """Show the incident's card (in place of ``replace_id``, a used form) and keep where;
        ``CrierError`` saying so when Teams refuses it (the incident is saved all the same)."""
        try:
            card = await self.incident_card(incident)
            if replace_id:
                await self.replace(reference, replace_id, card)
                message_id = replace_id
            else:
                message_id = await self.send(reference, card_message(card))
            # The card keeps the conversation's reference: every later message goes there.
            await self._save(incident.id, ROOT, reference, message_id, keep=reference)
        except Exception as exc:
            log.exception("could not show incident %s in Teams", incident.id)
            raise CrierError(
                f"Incident #{incident.id} is saved, but Teams refused its card ({exc}). "
                "list shows it."
            ) from exc

    async def incident_card(self, incident: IncidentView, message: str | None = None) -> Element:
        people = await self.anchors.people(incident.id)
        return cards.incident_card(incident, zone=self._zone, people=people, message=message)

    async def draft_card(self, post: PostView, message: str | None = None) -> Element:
        people = await self.anchors.people(post.incident_id)
        return cards.draft_card(
            post, zone=self._zone, now=self._chat.clock.now(), people=people, message=message
        )

    async def show_incident(self, incident: IncidentView) -> None:
        root = await self.anchors.root(incident)
        if root is None or not root.reference:
            return  # this incident lives on another platform
        card = await self.incident_card(incident)
        await self.replace(dict(root.reference), root.message_id, card)

    async def show_post(self, incident: IncidentView, post: PostView) -> None:
        reference = await self.anchors.reference(incident)
        if reference is None:
            return
        # The core shows one post at a time, with its newest state (Core.show_post).
        await self._keep(incident.id, f"post:{post.id}", reference, await self.draft_card(post))
        await self._notify_once(incident, post, reference)

    async def _keep(
        self, incident_id: int | None, purpose: str, reference: dict[str, Any], card: Element
    ) -> None:
        """``card`` as the incident's message kept as ``purpose`` (None: a card about no
        incident, where notices go): new the first time (so people are notified), replaced
        after. A card about no incident keeps its conversation's reference, as where notices
        go moves with each incident declared."""
        shown = await self.anchors.find(incident_id, purpose)
        if shown is not None:
            await self.replace(dict(shown.reference) or reference, shown.message_id, card)
            return
        message_id = await self.send(reference, card_message(card))
        kept = reference if incident_id is None else None
        await self._save(incident_id, purpose, reference, message_id, keep=kept)

    async def _save(
        self,
        incident_id: int | None,
        purpose: str,
        reference: dict[str, Any],
        message_id: str,
        *,
        keep: dict[str, Any] | None = None,
    ) -> None:
        conversation = str(reference.get("conversation", {}).get("id", ""))
        anchor = Anchor(PLATFORM, conversation, message_id, None, dict(keep or {}))
        await self._chat.anchors.save(incident_id=incident_id, purpose=purpose, anchor=anchor)

    async def _notify_once(
        self, incident: IncidentView, post: PostView, reference: dict[str, Any]
    ) -> None:
        """New messages that notify people: the publishing outcome, or a rejection."""
        if post.state == PostState.APPROVED and post.settled:
            # The outcome: a new message the first time every channel has one, then kept
            # current each time they all have one again (a *Retry* that worked, a post
            # confirmed by hand), so no message about the post says otherwise.
            await self._keep(incident.id, f"outcome:{post.id}", reference, cards.outcome_card(post))
            return
        if post.state != PostState.REJECTED:
            return
        purpose = f"rejected:{post.id}"
        if await self.anchors.find(incident.id, purpose):
            return
        people = await self.anchors.people(incident.id)
        message = self._mentioning([post.requested_by], people, cards.rejected_card(post, people))
        message_id = await self.send(reference, message)
        await self._save(incident.id, purpose, reference, message_id)

    def _mentioning(self, actor_keys: list[str], people: People, card: Element) -> Activity:
        """A card with the people it is for @mentioned above it, so Teams notifies them."""
        mentions: list[Mention] = []
        for key in dict.fromkeys(actor_keys):
            platform, _, user_id = key.partition(":")
            if platform != PLATFORM or not user_id:
                continue
            label = f"<at>{html.escape(people.name(key), quote=False)}</at>"
            account = ChannelAccount(id=people.teams_id(user_id), name=people.name(key))
            mentions.append(Mention(mentioned=account, text=label, type="mention"))
        activity = card_message(card, text=" ".join(m.text for m in mentions) or None)
        activity.entities = list(mentions) or None
        return activity

    async def remind(self, incident: IncidentView, reminder: Reminder) -> None:
        reference = await self.anchors.reference(incident)
        if reference is None:
            return
        config = self._chat.config
        keys = list(reminder.mention_users)
        if reminder.mention_approvers:
            keys += [f"{PLATFORM}:{user}" for user in config.approvals.teams_users]
        lead = getattr(config.reminders, "comms_lead_teams", None)
        if reminder.mention_comms_lead and lead:
            keys.append(f"{PLATFORM}:{lead}")
        people = await self.anchors.people(incident.id)
        await self.send(reference, self._mentioning(keys, people, cards.reminder_card(reminder)))

    async def show_calendar(self, entry: CalendarEntry, *, where: str | None) -> None:
        """A proposed calendar post, for the approvers (mentioned), in the conversation it was
        proposed from (``where``: its reference, from the Teams form), else in the conversation
        of the latest incident declared in Teams: the only one Crier may write to unasked."""
        reference = reference_in(where) or await self.anchors.latest_reference()
        if reference is None:
            log.info("scheduled post #%s: no Teams conversation to show it in", entry.id)
            return
        approvers = [f"{PLATFORM}:{user}" for user in self._chat.config.approvals.teams_users]
        shown = calendar_card(entry, zone=self._zone)
        await self.send(reference, self._mentioning(approvers, People(), shown))

    async def show_calendar_batch(self, batch: CalendarBatch) -> None:
        """A recurring series' batch, for the approvers (mentioned), as one card where proposed
        calendar posts are shown: each post with *Approve* and *Skip*, and *Approve all*."""
        reference = await self.anchors.latest_reference()
        if reference is None:
            log.info("calendar batch #%s: no Teams conversation to show it in", batch.id)
            return
        approvers = [f"{PLATFORM}:{user}" for user in self._chat.config.approvals.teams_users]
        shown = batch_card(batch, zone=self._zone, now=self._chat.clock.now())
        await self.send(reference, self._mentioning(approvers, People(), shown))

    async def show_maintenance(self, shown: MaintenanceShown, *, where: str | None) -> None:
        """A planned maintenance with the buttons ``shown.reason`` calls for, in the
        conversation ``where`` names (its reference), else the one it was planned from, else
        the latest incident's (as calendar proposals are). The approvers are
        mentioned on what waits for them; the planner on the question whether the work is done."""
        maintenance = shown.maintenance
        planned = reference_in(maintenance.planned_where)
        here = reference_in(where)
        reference = here or planned or await self.anchors.latest_reference()
        if reference is None:
            log.info("maintenance #%s: no Teams conversation to show it in", maintenance.id)
            return
        people = people_in([r for r in (planned, here) if r is not None])
        card = maintenance_card(shown, zone=self._zone, now=self._chat.clock.now(), people=people)
        if shown.reason == ShowReason.OVERDUE:
            mentioned = [maintenance.created_by]
        else:
            mentioned = [f"{PLATFORM}:{user}" for user in self._chat.config.approvals.teams_users]
        await self.send(reference, self._mentioning(mentioned, people, card))

    async def show_notice(self, notice: Notice) -> None:
        """A notice about the channels, in the conversation of the latest incident declared in
        Teams (the only one Crier may write to unasked), as calendar proposals are."""
        reference = await self.anchors.latest_reference()
        if reference is None:
            log.info("no Teams conversation for the notice “%s”", notice.title)
            return
        color = "Good" if notice.kind == "channel_up" else "Attention"
        card = cards.message_card(f"{notice.title}. {notice.text}", color=color)
        await self.send(reference, card_message(card))

    async def show_heard(self, incident: IncidentView, batch: HeardBatch) -> None:
        """New replies to the incident's posts, in its conversation, as reminders are sent."""
        reference = await self.anchors.reference(incident)
        if reference is None:
            return  # this incident lives on another platform
        await self.send(reference, card_message(heard_card(batch, zone=self._zone)))

    async def show_spike(self, alert: SpikeAlert, incident: IncidentView | None) -> None:
        """A surge of mentions: in the open incident's conversation; else, with *Declare
        outage*, where notices go (the latest incident's conversation, the only one Crier may
        write to unasked)."""
        if incident is not None:
            reference = await self.anchors.reference(incident)
        else:
            reference = await self.anchors.latest_reference()
        if reference is None:
            log.info("no Teams conversation for the surge of mentions of %s", alert.service)
            return
        shown = spike_card(alert, incident_id=incident.id if incident else None, zone=self._zone)
        await self.send(reference, card_message(shown))

    async def show_answer(self, answer: AnswerView, incident: IncidentView | None) -> None:
        """A public answer: one card, sent when it is drafted and replaced after (kept as
        ``answer:<id>``, as a post's card is), in the incident's conversation; an answer to a
        mention of no incident, where notices (and its surge) go."""
        purpose = f"answer:{answer.id}"
        if incident is None:
            reference = await self.anchors.latest_reference()
            if reference is None:
                log.info("answer #%s: no Teams conversation to show it in", answer.id)
                return
            card = answer_card(answer, zone=self._zone, people=People())
            await self._keep(None, purpose, reference, card)
            return
        reference = await self.anchors.reference(incident)
        if reference is None:
            return  # this incident lives on another platform
        people = await self.anchors.people(incident.id)
        card = answer_card(answer, zone=self._zone, people=people)
        await self._keep(incident.id, purpose, reference, card)

    async def show_site_update(
        self, channel: str, reference: dict[str, Any], update: SiteUpdate
    ) -> None:
        """A status-site post in a conversation that follows its service, to the reference
        stored when someone typed "follow" there. A refusal is a PublishError: passing (a 429,
        a 5xx, no connection, after ``send``'s own tries) or not (a 403: Crier was removed)."""
        if not reference:
            raise PublishError(f"no conversation reference kept for {channel}", transient=False)
        message = card_message(site_update_card(update, zone=self._zone))
        try:
            await self.send(reference, message)
        except (HttpOperationError, ClientRequestError) as exc:
            passing = _retry_after(exc, 0) is not None
            raise PublishError(f"Teams refused the message ({exc})", transient=passing) from None

    async def open_thread(self, incident: IncidentView, reply: ReplyTo, actor: Actor) -> None:
        """The incident's card where it was declared (once: a second call finds it)."""
        if await self.anchors.root(incident) is not None:
            return
        if reply.reference is None:
            raise LookupError(f"no conversation to show incident #{incident.id} in")
        await self.anchors.remember(incident.id, actor, teams_id=reply.user or None)
        await self.start_incident(incident, reference=reply.reference)

    async def say_to(self, reply: ReplyTo, message: str) -> None:
        if reply.reference is not None:
            from handlers.teams.turns import for_teams  # turns reads this module's references

            await self.tell(reply.reference, for_teams(message))

    async def tell(self, reference: dict[str, Any], message: str) -> None:
        """A note in the conversation when there is no card to answer on; never raises."""
        try:
            await self.send(reference, card_message(cards.message_card(message)))
        except Exception:
            log.exception("could not tell the conversation: %s", message)
