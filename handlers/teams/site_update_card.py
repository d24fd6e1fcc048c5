"""A status-site post in a Teams conversation that follows its service ("follow Blackboard").

Like every card: Crier's own words in ``TextBlock``s, what people wrote (the title, the post's
text as the site published it) in ``TextRun``s, which Teams shows as written.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.drafting.post_times import format_time
from bot.views import SiteUpdate
from handlers.teams.elements import Element, card, labelled, line, note, open_url, plain, run


def site_update_card(update: SiteUpdate, *, zone: ZoneInfo) -> Element:
    body = [
        line(run("📣 "), run(update.title, bold=True, size="Medium")),
        labelled("Status", update.status),
        labelled("Service", update.service),
        labelled("Published", format_time(update.published_at, zone)),
    ]
    if update.text.strip():
        body.append(plain(update.text))
    body.append(
        note(
            "This conversation follows the service on the status site: "
            "“following” says what it follows, “unfollow” stops it.",
            subtle=True,
        )
    )
    actions = [open_url("On the status site", update.url)]
    return card(body, actions=actions, summary=f"{update.status}: {update.title}")
