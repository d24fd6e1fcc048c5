"""The cards Crier posts in Teams: the incident, each draft, outcomes, reminders, the list.

Every card is built from the core's views; text people wrote goes through ``plain``.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.config import Network
from bot.drafting.post_times import LEGEND, format_time, has_placeholder, shown
from bot.incidents import labels
from bot.storage.models import DeliveryState, PostState
from bot.views import DeliveryView, IncidentView, PostView, Reminder
from handlers.teams.anchors import People
from handlers.teams.elements import (
    Element,
    banner,
    card,
    execute,
    heading,
    labelled,
    line,
    note,
    open_url,
    plain,
    run,
    with_banner,
)
from handlers.teams.ids import IN_ROOT, Data, Verb

CALENDAR_VERBS = {"calendar_post": Verb.CALENDAR_POST, "calendar_skip": Verb.CALENDAR_SKIP}
MAX_LINKS = 5  # Teams shows a handful of card actions before folding them away


def incident_card(
    incident: IncidentView, *, zone: ZoneInfo, people: People, message: str | None = None
) -> Element:
    """The incident's card in its conversation, with *Post update* and *Resolve* while open."""
    mark = labels.incident_mark(incident)
    when = f"Incident #{incident.id} · declared {format_time(incident.declared_at, zone)}"
    if incident.resolved_at:
        when += f" · resolved {format_time(incident.resolved_at, zone)}"
    body = [
        line(run(f"{mark} "), run(incident.title, bold=True, size="Large")),
        labelled("Severity", incident.severity_label),
        labelled("Status", labels.status(incident.status)),
        labelled("Declared by", people.name(incident.declared_by)),
        labelled("Channels", labels.channels(incident.channels)),
        note(when, subtle=True),
    ]
    actions: list[Element] = []
    if incident.is_open:
        data = {Data.INCIDENT_ID: incident.id, Data.PLACE: IN_ROOT}
        actions = [
            execute("Post update", Verb.UPDATE_FORM, data),
            execute("Resolve", Verb.RESOLVE_FORM, data),
        ]
    summary = f"{labels.status(incident.status)}: incident #{incident.id}"
    return card(with_banner(body, message), actions=actions, summary=summary)


# The bytes of channel texts one card shows whole, together: Teams refuses a message past ~28 KB,
# and drafts fit their networks (LinkedIn 3,000 characters), so only a card of many long texts
# ever reaches it; then the longest are shortened alike, each saying how much was left out.
PREVIEWS_BUDGET = 20_000


def _share(lengths: list[int], budget: int) -> int:
    """The most bytes each text may show so that all fit ``budget``: every text whole
    when they fit; else the short ones whole and the long ones cut to one length."""
    left, count = budget, len(lengths)
    for length in sorted(lengths):
        if length * count > left:
            return max(left // count, 1000)
        left, count = left - length, count - 1
    return max(lengths, default=0)


def _characters(text: str, most_bytes: int) -> int:
    """How many of ``text``'s characters fit ``most_bytes`` of UTF-8 (about: a mix of scripts
    shares the bytes evenly)."""
    size = len(text.encode())
    return len(text) if size <= most_bytes else most_bytes * len(text) // size


def _previews(post: PostView, *, zone: ZoneInfo, now: datetime) -> list[Element]:
    """Each channel's text: once sent, exactly what the network received; before, the draft
    as it would go out now, each time set at publishing marked
    (``bot.drafting.post_times.shown``)."""
    body: list[Element] = []
    sent = {d.network: d.text for d in post.deliveries if d.text is not None}
    texts = {
        p.network: sent.get(p.network)
        or shown(p.text, zone=zone, at=now, next_update_minutes=post.next_update_minutes)
        for p in post.previews
    }
    each = _share([len(text.encode()) for text in texts.values()], PREVIEWS_BUDGET)
    for preview in post.previews:
        published = preview.network in sent
        verdict = "published text" if published else preview.length
        if preview.edited and not published:
            verdict += " · edited"
        body.append(line(run(preview.label, bold=True), run(f" · {verdict}"), separator=True))
        if not published:  # a sent text has no draft's problems or notes
            if preview.problem:
                body.append(plain(f"⚠️ {preview.problem}", color="Attention"))
            if preview.notes:
                body.append(note("; ".join(preview.notes), subtle=True))
        text = sent.get(preview.network, texts[preview.network])
        body.append(plain(text, limit=_characters(text, each)))
    if post.state == PostState.PENDING and any(has_placeholder(p.text) for p in post.previews):
        body.append(note(LEGEND, subtle=True))
    return body


def _delivery(delivery: DeliveryView, zone: ZoneInfo) -> Element:
    inlines = [run(delivery.label, bold=True), run(f" — {labels.delivery(delivery.state)}")]
    if delivery.state == DeliveryState.RETRYING and delivery.next_attempt_at:
        inlines.append(run(f" at {format_time(delivery.next_attempt_at, zone)}"))
    if delivery.error and delivery.state != DeliveryState.SENT:
        inlines.append(run(f" — {delivery.error[:300]}"))
    if "dry run" in delivery.publisher_label:
        inlines.append(run(" (dry run)"))
    return line(*inlines)


def _decision(
    post: PostView, zone: ZoneInfo, people: People
) -> tuple[list[Element], list[Element]]:
    """The part below the previews: the buttons, or who decided, when, and what came of it."""
    decided = format_time(post.decided_at, zone) if post.decided_at else ""
    by = people.name(post.decided_by)
    if post.state == PostState.PENDING:
        data = {Data.POST_ID: post.id}
        return [], [
            execute("Approve & publish", Verb.APPROVE, data, style="positive"),
            execute("Edit", Verb.EDIT_FORM, data),
            execute("Reject", Verb.REJECT_FORM, data, style="destructive"),
        ]
    if post.state == PostState.SUPERSEDED:
        return [note("✏️ Replaced by a newer revision below.", subtle=True)], []
    if post.state == PostState.REJECTED:
        # *Revise* is gone once the draft is revised or redrafted, or the incident resolved.
        revise = [execute("Revise", Verb.REVISE_FORM, {Data.POST_ID: post.id})]
        return [
            line(run("🚫 Rejected by "), run(by, bold=True), run(f" at {decided}: ")),
            plain(post.reject_reason or ""),
        ], revise if post.revisable else []
    body = [line(run("✅ Approved by "), run(by, bold=True), run(f" at {decided}"))]
    body += [_delivery(d, zone) for d in post.deliveries] or [note("Publishing…")]
    actions = [
        execute(f"Retry {d.label}", Verb.RETRY, {Data.DELIVERY_ID: d.id, Data.POST_ID: post.id})
        for d in post.deliveries
        if d.state in (DeliveryState.FAILED, DeliveryState.UNKNOWN)
    ]
    actions += [  # someone checked the account: the post in doubt is there
        execute(
            f"It's up on {d.label}", Verb.CONFIRM, {Data.DELIVERY_ID: d.id, Data.POST_ID: post.id}
        )
        for d in post.deliveries
        if d.state == DeliveryState.UNKNOWN
    ]
    # The organisation's own status site first: with more channels than links, it is the one
    # link everybody can open.
    sent = sorted(
        (d for d in post.deliveries if d.state == DeliveryState.SENT and d.url),
        key=lambda d: d.network != Network.SITE,
    )
    actions += [open_url(f"View on {d.label}", d.url) for d in sent if d.url][:MAX_LINKS]
    return body, actions


def draft_card(
    post: PostView, *, zone: ZoneInfo, now: datetime, people: People, message: str | None = None
) -> Element:
    """A draft: each channel's text with its length, then the decision or its outcome."""
    head = (
        f"{labels.kind(post.kind)} · status {labels.status(post.status)} · revision {post.revision}"
    )
    body = [
        heading(head),
        line(run("Drafted by "), run(people.name(post.requested_by), bold=True)),
        *_previews(post, zone=zone, now=now),
    ]
    if post.state == PostState.PENDING and not post.publishable:
        blocked = f"Cannot be published yet: {'; '.join(post.problems)}. Use Edit to shorten it."
        body.append(plain(blocked, color="Attention"))
    decision, actions = _decision(post, zone, people)
    body += decision
    summary = f"{labels.kind(post.kind)} for incident #{post.incident_id}: {post.state}"
    return card(with_banner(body, message), actions=actions, summary=summary)


def outcome_card(post: PostView) -> Element:
    """Once every channel has an outcome: a new message, so people are notified."""
    text = labels.outcome(post, retry_hint="Use Retry on the draft's card.")
    return card([note(text)], summary=text)


def rejected_card(post: PostView, people: People) -> Element:
    body = [
        line(run("Your draft was rejected by "), run(people.name(post.decided_by), bold=True)),
        plain(post.reject_reason or ""),
    ]
    return card(body, summary="A draft was rejected")


def reminder_card(reminder: Reminder) -> Element:
    body: list[Element] = [plain(f"⏰ {reminder.text}")]
    body += [labelled(label, value) for label, value in reminder.details[:10]]
    actions: list[Element] = []
    for action in reminder.actions[:12]:
        if action.kind == "post_update":
            actions.append(execute(action.label, Verb.UPDATE_FORM, _incident(action.value)))
        elif action.kind == "resolve":
            actions.append(execute(action.label, Verb.RESOLVE_FORM, _incident(action.value)))
        elif action.kind == "snooze":
            actions.append(execute(action.label, Verb.SNOOZE, {Data.SNOOZE: action.value}))
        elif action.kind in CALENDAR_VERBS:
            data = {Data.SCHEDULED_POST_ID: action.value}
            actions.append(execute(action.label, CALENDAR_VERBS[action.kind], data))
    return card(body, actions=actions, summary=reminder.text)


def _incident(value: str) -> dict[str, object]:
    return {Data.INCIDENT_ID: int(value) if value.isdigit() else 0}


def incident_list(incidents: list[IncidentView], *, zone: ZoneInfo) -> Element:
    if not incidents:
        return card([note("No open incidents. ✅")], summary="No open incidents")
    body: list[Element] = [heading("Open incidents")]
    for incident in incidents:
        since = format_time(incident.declared_at, zone)
        body.append(
            line(
                run(f"{labels.severity_mark(incident.severity)} #{incident.id} "),
                run(incident.title, bold=True),
                run(f" — {labels.status(incident.status)}, since {since}"),
            )
        )
    return card(body, summary=f"{len(incidents)} open incident(s)")


def message_card(message: str, *, color: str = "Attention") -> Element:
    """Only a message: the answer to an action whose card cannot be shown again."""
    return card([banner(message, color=color)], summary=message)


def done_card(message: str) -> Element:
    """What a used form becomes, for everyone, so nobody submits it twice."""
    return card([plain(message)], summary=message)
