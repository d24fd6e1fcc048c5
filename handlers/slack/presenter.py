"""Shows incidents in Slack: the root message, each draft in the thread, outcomes, rejections.

Which message is which lives in the database (ChatAnchor), so any replica can update it.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.chat.anchors import Anchor
from bot.chat.context import ChatContext
from bot.config import CrierConfig
from bot.errors import CrierError
from bot.listening.answers import AnswerView
from bot.listening.views import HeardBatch, SpikeAlert
from bot.maintenance.series import MaintenanceShown
from bot.ports import Actor, PublishError
from bot.scheduling.calendar import CalendarBatch, CalendarEntry
from bot.scheduling.work import ReplyTo
from bot.storage.models import PostState
from bot.views import IncidentView, Notice, PostView, Reminder, SiteUpdate
from handlers.slack import messages
from handlers.slack.answer_message import answer_message
from handlers.slack.calendar_batch_message import batch_message
from handlers.slack.calendar_message import calendar_message
from handlers.slack.heard_message import heard_message, spike_message
from handlers.slack.maintenance_message import maintenance_message
from handlers.slack.notice_message import notice_message
from handlers.slack.site_update_message import site_update_message
from handlers.slack.text import escape, mention

log = logging.getLogger(__name__)
PLATFORM = "slack"
SLACK_HINTS = {
    "not_in_channel": " Invite Crier to the comms channel (/invite @Crier) and try again.",
    "channel_not_found": " Check `slack.comms_channel` in crier.yml, and invite Crier there.",
    "invalid_auth": " Crier's Slack token is not valid: check SLACK_BOT_TOKEN.",
    "token_revoked": " Crier's Slack token was revoked: reinstall the app.",
    "account_inactive": " Crier's Slack token was revoked: reinstall the app.",
}
ROOT = "root"
# Slack's answers that say "later" (the client has retried them already): the job tries again.
PASSING = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


def approvers_named(config: CrierConfig) -> list[str]:
    """crier.yml's approvers in Slack's syntax: their user group, else each of them."""
    group = config.approvals.slack_usergroup
    if group:
        return [f"<!subteam^{group}>"]
    return [f"<@{user}>" for user in config.approvals.slack_users]


class SlackPresenter:
    platform = PLATFORM

    def __init__(self, *, chat: ChatContext, client: AsyncWebClient) -> None:
        self._chat = chat
        self._client = client

    @property
    def _zone(self) -> Any:
        return self._chat.config.organisation.zone

    async def _anchor(self, incident_id: int | None, purpose: str) -> Anchor | None:
        """The message kept as ``purpose``: the incident's, or (None) one in the comms channel."""
        return await self._chat.anchors.find(
            incident_id=incident_id, platform=PLATFORM, purpose=purpose
        )

    async def _root(self, incident: IncidentView) -> Anchor | None:
        """The incident's root message; None without a look when it was declared elsewhere."""
        if incident.chat != PLATFORM:
            return None
        return await self._anchor(incident.id, ROOT)

    async def start_thread(self, incident: IncidentView, *, channel_id: str) -> Anchor:
        """Post the incident's root message (once: a second call finds it); its thread holds
        everything that follows. Slack's refusal is a CrierError saying what to fix."""
        posted = await self._anchor(incident.id, ROOT)
        if posted is not None:
            return posted
        message = messages.incident_root(incident, zone=self._zone)
        try:
            response = await self._client.chat_postMessage(channel=channel_id, **message)
        except SlackApiError as exc:
            error = str(exc.response.get("error", "an error") if exc.response else "an error")
            raise CrierError(
                f"Incident #{incident.id} is saved, but Slack refused to post its thread "
                f"({error}).{SLACK_HINTS.get(error, '')} `/outage list` shows it."
            ) from exc
        root = Anchor(PLATFORM, str(response["channel"]), str(response["ts"]), None)
        await self._chat.anchors.save(incident_id=incident.id, purpose=ROOT, anchor=root)
        return root

    async def show_incident(self, incident: IncidentView) -> None:
        root = await self._root(incident)
        if root is None:
            return
        message = messages.incident_root(incident, zone=self._zone)
        await self._client.chat_update(channel=root.channel_id, ts=root.message_id, **message)

    async def show_post(self, incident: IncidentView, post: PostView) -> None:
        root = await self._root(incident)
        if root is None:
            return  # this incident lives on another platform
        # The core shows one post at a time, with its newest state (Core.show_post).
        message = messages.draft_message(post, zone=self._zone, now=self._chat.clock.now())
        await self._keep_in_thread(incident, root, f"post:{post.id}", message)
        await self._reply_once(incident, post, root)

    async def _reply_once(self, incident: IncidentView, post: PostView, root: Anchor) -> None:
        """Thread replies that notify people: the outcome, or a rejection for the requester."""
        if post.state == PostState.APPROVED and post.settled:
            # Posted the first time every channel has an outcome (so people are notified), then
            # kept current each time they all have one again (a *Retry* that worked, a post
            # confirmed by hand), so no message about the post says otherwise.
            outcome = messages.outcome_message(post)
            await self._keep_in_thread(incident, root, f"outcome:{post.id}", outcome)
            return
        if post.state != PostState.REJECTED:
            return
        purpose = f"rejected:{post.id}"
        if await self._anchor(incident.id, purpose) is not None:
            return
        text = (
            f"{mention(post.requested_by)}, your draft was rejected by "
            f"{mention(post.decided_by)}: {escape(post.reject_reason or '')}"
        )
        await self._post_in_thread(incident, root, purpose, {"text": text})

    async def _keep_in_thread(
        self, incident: IncidentView, root: Anchor, purpose: str, message: dict[str, Any]
    ) -> None:
        """Post in the incident's thread as ``purpose`` the first time, then update that."""
        await self._keep(incident.id, purpose, message, root.channel_id, thread=root.message_id)

    async def _post_in_thread(
        self, incident: IncidentView, root: Anchor, purpose: str, message: dict[str, Any]
    ) -> None:
        """Post in the incident's thread and remember the message as ``purpose``."""
        await self._post_kept(incident.id, purpose, message, root.channel_id, root.message_id)

    async def _keep(
        self,
        incident_id: int | None,
        purpose: str,
        message: dict[str, Any],
        channel: str,
        *,
        thread: str | None,
    ) -> None:
        """Post ``message`` as ``purpose`` the first time (in ``thread``, or at the top of
        ``channel`` for a message about no incident), then update that message."""
        shown = await self._anchor(incident_id, purpose)
        if shown is None:
            await self._post_kept(incident_id, purpose, message, channel, thread)
        else:
            await self._client.chat_update(channel=shown.channel_id, ts=shown.message_id, **message)

    async def _post_kept(
        self,
        incident_id: int | None,
        purpose: str,
        message: dict[str, Any],
        channel: str,
        thread: str | None,
    ) -> None:
        """Post and remember the message as ``purpose``, so it is updated after."""
        response = await self._client.chat_postMessage(channel=channel, thread_ts=thread, **message)
        posted = Anchor(PLATFORM, channel, str(response["ts"]), thread)
        await self._chat.anchors.save(incident_id=incident_id, purpose=purpose, anchor=posted)

    async def remind(self, incident: IncidentView, reminder: Reminder) -> None:
        root = await self._root(incident)
        if root is None:
            return
        message = messages.reminder_message(reminder, mentions=self._mentions(reminder))
        await self._client.chat_postMessage(
            channel=root.channel_id, thread_ts=root.message_id, **message
        )

    async def show_calendar(self, entry: CalendarEntry, *, where: str | None) -> None:
        """A proposed calendar post, for the approvers: in the comms channel, else where it
        was proposed (``where``); a post proposed elsewhere with no comms channel is not shown."""
        channel = self._chat.config.slack.comms_channel or where
        if not channel:
            log.info("scheduled post #%s: no Slack channel to show it in", entry.id)
            return
        approvers = Reminder(kind="calendar_review", text="", mention_approvers=True)
        message = calendar_message(entry, zone=self._zone, mentions=self._mentions(approvers))
        await self._client.chat_postMessage(channel=channel, **message)

    async def show_calendar_batch(self, batch: CalendarBatch) -> None:
        """A recurring series' drafted posts, for the approvers, in one message in the comms
        channel (crier.yml drafted them: there is no channel they were proposed from)."""
        channel = self._chat.config.slack.comms_channel
        if not channel:
            log.info("batch #%s of the calendar: no Slack comms channel to show it in", batch.id)
            return
        approvers = Reminder(kind="calendar_review", text="", mention_approvers=True)
        message = batch_message(batch, zone=self._zone, mentions=self._mentions(approvers))
        await self._client.chat_postMessage(channel=channel, **message)

    async def show_maintenance(self, shown: MaintenanceShown, *, where: str | None) -> None:
        """A planned maintenance with the buttons ``shown.reason`` calls for (the approvers
        named where it asks them): in the comms channel, else where it was planned
        (``where``); with neither, Slack has nowhere to show it."""
        channel = self._chat.config.slack.comms_channel or where
        if not channel:
            log.info("maintenance #%s: no Slack channel to show it in", shown.maintenance.id)
            return
        approvers = Reminder(kind="maintenance_review", text="", mention_approvers=True)
        message = maintenance_message(shown, zone=self._zone, approvers=self._mentions(approvers))
        await self._client.chat_postMessage(channel=channel, **message)

    async def show_notice(self, notice: Notice) -> None:
        """A notice about the channels, in the comms channel itself (no incident's thread);
        without ``slack.comms_channel`` Slack has nowhere to say it (the log has it)."""
        channel = self._chat.config.slack.comms_channel
        if not channel:
            log.info("no slack.comms_channel for the notice “%s”", notice.title)
            return
        lead = Reminder(kind=notice.kind, text="", mention_comms_lead=notice.mention_comms_lead)
        message = notice_message(notice, mentions=self._mentions(lead))
        await self._client.chat_postMessage(channel=channel, **message)

    async def show_heard(self, incident: IncidentView, batch: HeardBatch) -> None:
        """New replies to the incident's posts, in its thread, as reminders are posted."""
        root = await self._root(incident)
        if root is None:
            return  # this incident lives on another platform
        message = heard_message(batch, zone=self._zone)
        await self._client.chat_postMessage(
            channel=root.channel_id, thread_ts=root.message_id, **message
        )

    async def show_spike(self, alert: SpikeAlert, incident: IncidentView | None) -> None:
        """A surge of mentions: in the open incident's thread; else in the comms channel with
        *Declare outage* (without ``slack.comms_channel`` Slack has nowhere to say it)."""
        if incident is not None:
            root = await self._root(incident)
            if root is None:
                return
            message = spike_message(alert, incident_id=incident.id, zone=self._zone)
            await self._client.chat_postMessage(
                channel=root.channel_id, thread_ts=root.message_id, **message
            )
            return
        channel = self._chat.config.slack.comms_channel
        if not channel:
            log.info("no slack.comms_channel for the surge of mentions of %s", alert.service)
            return
        message = spike_message(alert, incident_id=None, zone=self._zone)
        await self._client.chat_postMessage(channel=channel, **message)

    async def show_answer(self, answer: AnswerView, incident: IncidentView | None) -> None:
        """A public answer: one message, posted when it is drafted and updated after (kept as
        ``answer:<id>``, as a post's message is), in the incident's thread; an answer to a
        mention of no incident, at the top of the comms channel (where its surge was shown)."""
        message = answer_message(answer, zone=self._zone)
        purpose = f"answer:{answer.id}"
        if incident is None:
            channel = self._chat.config.slack.comms_channel
            if not channel:
                log.info("answer #%s: no slack.comms_channel to show it in", answer.id)
                return
            await self._keep(None, purpose, message, channel, thread=None)
            return
        root = await self._root(incident)
        if root is None:
            return  # this incident lives on another platform
        await self._keep_in_thread(incident, root, purpose, message)

    async def show_site_update(
        self, channel: str, reference: dict[str, Any], update: SiteUpdate
    ) -> None:
        """A status-site post in a channel that follows its service (Slack needs no reference:
        the channel id is its address). A refusal is a PublishError, passing or not, so the
        notify job tries again or records why."""
        message = site_update_message(update, zone=self._zone)
        try:
            await self._client.chat_postMessage(channel=channel, **message)
        except SlackApiError as exc:
            raise self._refusal(exc, channel) from None
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
            raise PublishError(f"Slack could not be reached ({exc})", transient=True) from None

    def _refusal(self, exc: SlackApiError, channel: str) -> PublishError:
        response = exc.response
        error = str(response.get("error", "an error") if response else "an error")
        status = int(getattr(response, "status_code", 0) or 0)
        message = f"Slack refused to post in {channel} ({error})."
        if status == 429 or status >= 500 or error in PASSING:
            headers = getattr(response, "headers", None) or {}
            wait = str(headers.get("Retry-After", headers.get("retry-after", "")))
            later = None
            if wait.isdigit():
                later = self._chat.clock.now() + timedelta(seconds=int(wait))
            return PublishError(message, transient=True, retry_at=later, rate_limited=status == 429)
        hint = " Invite Crier to the channel (/invite @Crier)." if error == "not_in_channel" else ""
        return PublishError(message + hint, transient=False)

    def _mentions(self, reminder: Reminder) -> str:
        """Who a reminder names, in Slack's syntax (these pings are the point)."""
        names = [mention(key) for key in reminder.mention_users]
        config = self._chat.config
        if reminder.mention_approvers:
            names += approvers_named(config)
        lead = config.reminders.comms_lead_slack
        if reminder.mention_comms_lead and lead:
            names.append(f"<!subteam^{lead}>" if lead.startswith("S") else f"<@{lead}>")
        return " ".join(dict.fromkeys(names))

    async def open_thread(self, incident: IncidentView, reply: ReplyTo, actor: Actor) -> None:
        await self.start_thread(incident, channel_id=reply.channel)

    async def say_to(self, reply: ReplyTo, message: str) -> None:
        """Plain words to one person where they asked (escaped: it may quote what they typed),
        by the command's response URL when there is one: it works where Crier cannot post."""
        text = escape(message)
        if reply.url:
            try:
                response = await AsyncWebhookClient(reply.url).send(
                    text=text, response_type="ephemeral", replace_original=False
                )
                if response.status_code == 200:
                    return
                log.warning("Slack's response URL answered %s", response.status_code)
            except Exception as exc:
                log.warning("could not answer by the response URL: %s", exc)
        await self.tell(reply, text)

    async def tell(self, reply: ReplyTo, text: str) -> None:
        """An ephemeral message to one person: errors never end in silence."""
        try:
            await self._client.chat_postEphemeral(
                channel=reply.channel, user=reply.user, text=text, thread_ts=reply.thread
            )
        except Exception:
            log.exception("could not tell %s: %s", reply.user, text)


class SlackDirectory:
    """Approver groups from ``usergroups.users.list``."""

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client

    async def group_members(self, group_id: str) -> frozenset[str]:
        response = await self._client.usergroups_users_list(usergroup=group_id)
        return frozenset(str(u) for u in response.get("users") or [])
