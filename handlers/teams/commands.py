"""What people type to Crier in Teams: each command parses, calls one use case, answers.

@Crier outage                       → the declare form
@Crier outage Blackboard: no logins → the first draft at once
@Crier update / resolve [number]    → the form, for this conversation's incident
@Crier follow Blackboard, Wi-Fi     → this conversation gets the status site's posts on them
@Crier following | unfollow         → what it follows | stop
@Crier maintenance                  → the form to plan a maintenance window
@Crier calendar                     → the content calendar's next two weeks, with their buttons
@Crier list | help
"""

from __future__ import annotations

import logging
from contextvars import ContextVar

from bot.core import Core
from bot.errors import OOPS, CrierError
from bot.incidents.requests import parse_quick_declare
from bot.scheduling.jobs import JobRun
from bot.scheduling.work import ReplyTo
from bot.subscriptions import following
from bot.subscriptions.following import FollowAnswer, FollowVerb
from handlers.teams import cards, forms
from handlers.teams.calendar_weeks import next_two_weeks, weeks_card
from handlers.teams.ids import PLATFORM, Command
from handlers.teams.maintenance_form import maintenance_form
from handlers.teams.presenter import TeamsPresenter, card_message
from handlers.teams.turns import Turn, for_teams

log = logging.getLogger(__name__)
# Words also understood after "outage", as Slack's /outage takes them.
ALONE = {Command.LIST, Command.HELP, Command.CALENDAR}
# The queued message (bot/scheduling/work.py) whose turn this is: what it writes marks it done.
QUEUED_MESSAGE: ContextVar[JobRun | None] = ContextVar("queued_teams_message", default=None)

HELP = """**Crier — outage communications.** Message me (with @Crier in a channel):

- **outage** — declare an outage with a form
- **outage Blackboard: students cannot log in** — draft the first public post at once
- **update** or **resolve** — in an incident's conversation (or add its number: update 12)
- **list** — the open incidents
- **follow Blackboard, Wi-Fi** — this conversation gets each status-site post about those \
services (**follow all**: every service); **following** says what it follows, **unfollow** stops it
- **maintenance** — plan a maintenance window: its announcement, reminder, start and completion \
go out at their times once an approver approves them
- **calendar** — the content calendar's next two weeks (waiting for approval, scheduled, held), \
with their buttons, and *Propose a post*
- **help** — this message

Drafts appear in the incident's conversation; an approver clicks *Approve & publish*."""

USAGE = (
    "I didn't catch that. Try: outage (the form), outage Blackboard: students cannot log in "
    "(draft at once), update, resolve, list, follow Blackboard, Wi-Fi, following, unfollow, "
    "maintenance, calendar or help."
)


def channel_of(conversation_id: str) -> str:
    """A Teams channel's conversation id without the thread a message was in
    (``19:…@thread.tacv2;messageid=17…`` → ``19:…@thread.tacv2``)."""
    return conversation_id.partition(";messageid=")[0]


class Commands:
    def __init__(self, *, core: Core, presenter: TeamsPresenter) -> None:
        self._core = core
        self._presenter = presenter

    async def run(self, turn: Turn, text: str) -> None:
        """Answer one message; whatever fails reaches the person, not only the log."""
        try:
            await self._dispatch(turn, text)
        except CrierError as exc:
            log.info("refused: %s", exc.message)
            await turn.reply(for_teams(exc.message))
        except Exception:
            log.exception("Teams command failed: %r", text[:100])
            await turn.reply(OOPS)

    async def _dispatch(self, turn: Turn, text: str) -> None:
        word, _, rest = text.partition(" ")
        word, rest = word.lower(), rest.strip()
        if word == Command.OUTAGE and rest.lower() in ALONE:
            word, rest = rest.lower(), ""
        if word in {"", Command.HELP, "?"}:
            await turn.reply(HELP, markdown=True)
        elif word == Command.LIST:
            incidents = await self._core.open_incidents()
            shown = cards.incident_list(incidents, zone=self._core.config.organisation.zone)
            await turn.context.send_activity(card_message(shown))
        elif word == Command.OUTAGE and not rest:
            form = forms.declare_form(self._core.config, summary_hint=self._core.summary_room.hint)
            await turn.context.send_activity(card_message(form))
        elif word == Command.OUTAGE and ":" in rest:
            await self._quick_declare(turn, rest)
        elif word in {Command.UPDATE, Command.RESOLVE}:
            incident = await self._core.open_incident(await self._incident_here(turn, word, rest))
            form = (
                forms.update_form(incident, config=self._core.config)
                if word == Command.UPDATE
                else forms.resolve_form(incident)
            )
            await turn.context.send_activity(card_message(form))
        elif word == Command.MAINTENANCE:
            await turn.context.send_activity(card_message(maintenance_form(self._core.config)))
        elif word == Command.CALENDAR:
            entries = await next_two_weeks(self._core.store, self._core.clock.now())
            shown = weeks_card(entries, zone=self._core.config.organisation.zone)
            await turn.context.send_activity(card_message(shown))
        elif word in set(FollowVerb):
            answer = await self._follow(turn, word, rest)
            await turn.reply(for_teams(answer.message))
        else:
            await turn.reply(USAGE)

    async def _follow(self, turn: Turn, word: str, rest: str) -> FollowAnswer:
        """follow | unfollow | following, for this conversation. Its posts go out proactively,
        to the reference of this message (kept as an incident's card keeps its own); the
        conversation is one address whichever of a channel's threads it was typed in."""
        channel = f"{PLATFORM}:{channel_of(turn.conversation_id)}"
        if word == FollowVerb.FOLLOW:
            words = following.service_words(rest)
            return await following.follow(
                self._core, turn.actor, channel, words, reference=turn.reference
            )
        if word == FollowVerb.UNFOLLOW:
            return await following.unfollow(self._core, turn.actor, channel)
        return await following.following(self._core, channel)

    async def _quick_declare(self, turn: Turn, text: str) -> None:
        """Declared in the queued message's own transaction (done once, however often the
        message is run), with its card queued there too."""
        request = parse_quick_declare(text, self._core.config)
        self._core.pace.note(turn.actor)
        here = ReplyTo(
            platform=PLATFORM,
            channel=turn.conversation_id,
            user=turn.teams_id or "",
            reference=turn.reference,
        )
        await self._core.declare(turn.actor, request, thread=here, job=QUEUED_MESSAGE.get())

    async def _incident_here(self, turn: Turn, word: str, rest: str) -> int:
        """The incident named by number, else the one open in this conversation."""
        number = rest.lstrip("#")
        if number.isdigit():
            return int(number)
        here = await self._presenter.anchors.open_incidents_in(turn.conversation_id)
        if len(here) == 1:
            return here[0]
        if here:
            numbers = ", ".join(f"#{i}" for i in here)
            raise CrierError(
                f"Several incidents are open in this conversation ({numbers}). "
                f"Say which: {word} {here[0]}."
            )
        raise CrierError(
            f"No open incident lives in this conversation. Send {word} in the incident's "
            f"conversation, or add its number ({word} 12); list shows the open ones."
        )
