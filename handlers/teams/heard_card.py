"""What Crier heard, in Teams: new replies to an incident's posts (in its conversation), and a
surge of mentions of a service (in the incident's conversation, or where notices go, with
*Declare outage*).

Everything the public wrote (a reply's text, its author's name) goes in ``TextRun``s, which
Teams never reads as markdown or as a mention; Crier's own words may go in ``TextBlock``s. The
words are ``bot.chat.heard_lines``'.
"""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

from bot.chat.heard_lines import (
    EXAMPLES_LEAD,
    SPIKE_EXAMPLES_LEAD,
    heard_head,
    item_line,
    link_label,
    negative_line,
    open_link,
    spike_head,
    spike_where,
)
from bot.listening.views import HeardBatch, HeardView, SpikeAlert
from handlers.teams.elements import (
    Element,
    card,
    clip,
    execute,
    heading,
    line,
    note,
    open_url,
    plain,
    run,
)
from handlers.teams.ids import Data, Verb

REPLY_LIMIT = 1500  # characters of one reply; a longer one is cut, its link leads to all of it
SHOWN_MAX = 15  # replies on one card
# The bytes (as JSON) the replies' texts share on one card: Teams refuses a message past ~28 KB,
# and text that is not ASCII takes several bytes a character (each reply's head line and its
# *Reply* and link take the rest: about 1 KB each).
TEXTS_BUDGET = 12_500
LINE_BUDGET = 800  # bytes of one reply's head line (its author's name may be long)
SHORTEST = 100


def _json_bytes(text: str) -> int:
    return len(json.dumps(text).encode())


def fit(text: str, *, limit: int, budget: int) -> str:
    """``text`` cut (saying how much was left out) to at most ``limit`` characters and
    ``budget`` bytes of JSON, but never below ``SHORTEST`` characters."""
    while True:
        shown = clip(text, limit)
        size = _json_bytes(shown)
        if size <= budget or limit <= SHORTEST:
            return shown
        limit = max(SHORTEST, min(limit - 1, limit * budget // size))


def action_set(actions: list[Element]) -> Element:
    return {"type": "ActionSet", "actions": actions}


def item_rows(
    view: HeardView,
    *,
    zone: ZoneInfo,
    budget: int,
    reply: bool = False,
    link: str | None = None,
) -> list[Element]:
    """One reply: its mood, network, author and time, its text, a link to it (``link``: its
    label, if not "Open on …") and, with ``reply``, *Reply* (the form that answers it in
    public, for the clicker)."""
    head = fit(item_line(view, zone), limit=300, budget=LINE_BUDGET)
    said = view.text.strip() or "(no text)"
    rows = [
        line(run(head, bold=True), separator=True),
        plain(fit(said, limit=REPLY_LIMIT, budget=budget)),
    ]
    actions: list[Element] = []
    if reply:
        actions.append(execute("Reply", Verb.HEARD_REPLY_FORM, {Data.HEARD_ID: view.id}))
    url = open_link(view)
    if url:
        actions.append(open_url(link or link_label(view), url))
    if actions:
        rows.append(action_set(actions))
    return rows


def _items(views: tuple[HeardView, ...], zone: ZoneInfo, *, reply: bool = False) -> list[Element]:
    shown = views[:SHOWN_MAX]
    budget = TEXTS_BUDGET // max(len(shown), 1)
    rows: list[Element] = []
    for view in shown:
        rows += item_rows(view, zone=zone, budget=budget, reply=reply)
    if len(views) > SHOWN_MAX:
        rows.append(note(f"…and {len(views) - SHOWN_MAX} more, not shown here.", subtle=True))
    return rows


def heard_card(batch: HeardBatch, *, zone: ZoneInfo) -> Element:
    """New replies for the incident's conversation: each of them, or (a burst) its summary,
    its share negative and the angriest few; each with *Reply*."""
    head = heard_head(batch)
    body: list[Element] = [heading(f"💬 {head}")]
    if batch.summary:
        body.append(plain(batch.summary))
        negative = negative_line(batch)
        if negative:
            body.append(note(negative, subtle=True))
        body.append(note(EXAMPLES_LEAD, subtle=True))
    body += _items(batch.items, zone, reply=True)  # each answered in public from *Reply*
    return card(body, summary=head)


def spike_card(alert: SpikeAlert, *, incident_id: int | None, zone: ZoneInfo) -> Element:
    """A surge of mentions: its sentence and examples, each with *Reply* (an answer to a mention
    of no incident is shown where notices go); without an open incident, *Declare outage*,
    which brings the declare form with the service chosen."""
    head = spike_head(alert)
    body: list[Element] = [
        line(run(head, bold=True, size="Medium")),
        plain(alert.sentence),
        plain(spike_where(alert, incident_id), size="Small"),
    ]
    if alert.examples:
        body.append(note(SPIKE_EXAMPLES_LEAD, subtle=True))
        body += _items(alert.examples, zone, reply=True)
    actions: list[Element] = []
    if incident_id is None:
        data = {Data.SERVICE: alert.service}
        actions = [execute("Declare outage", Verb.DECLARE_FORM, data, style="positive")]
    return card(body, actions=actions, summary=head)
