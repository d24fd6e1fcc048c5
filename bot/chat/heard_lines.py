"""The words every chat shows around what Crier heard (``bot.listening.views``): a batch's head,
its share negative, each reply's line. Plain text, written once; each chat renders it as plain
text (a reply's author is the public's text, and must never ping or format).

    >>> item_line(view, zone)
    '🔴 negative · Mastodon · Ann Example (@ann@mastodon.social) · 3:05 PM EST'
"""

from __future__ import annotations

import math
from zoneinfo import ZoneInfo

from bot.drafting.post_times import format_time
from bot.listening.views import HeardBatch, HeardView, SpikeAlert

EXAMPLES_LEAD = "The angriest of them:"
SPIKE_EXAMPLES_LEAD = "What people say, the angriest first:"


def _replies(count: int) -> str:
    return f"{count:,} new {'reply' if count == 1 else 'replies'}"


def heard_head(batch: HeardBatch) -> str:
    """ "3 new replies to incident #12's posts"."""
    return f"{_replies(batch.count)} to incident #{batch.incident_id}'s posts"


def negative_line(batch: HeardBatch) -> str | None:
    """ "41 % of them negative", or None when the batch has no share (0 % would claim calm)."""
    if batch.negative_percent is None:
        return None
    # Half up, as people round (and as the spike's sentence does), not half to even.
    return f"{math.floor(batch.negative_percent + 0.5)} % of them negative"


def item_line(view: HeardView, zone: ZoneInfo) -> str:
    """A reply's mood (dot and word, for screen readers too), network, author and time."""
    kind = " mention" if view.kind == "mention" else ""
    when = format_time(view.created_at, zone)
    return f"{view.mood.text} · {view.network_label}{kind} · {view.who} · {when}"


def link_label(view: HeardView) -> str:
    return f"Open on {view.network_label}"


def open_link(view: HeardView) -> str | None:
    """The reply's address when it is a web link (a chat makes a link of it; anything else a
    network sent is left out rather than shown as a link that goes nowhere, or somewhere odd)."""
    url = (view.url or "").strip()
    return url if url.lower().startswith(("https://", "http://")) else None


def spike_head(alert: SpikeAlert) -> str:
    return f"📈 Mentions of {alert.service} are surging"


def spike_where(alert: SpikeAlert, incident_id: int | None) -> str:
    """What to do about it: post an update in the open incident, or declare one."""
    if incident_id is not None:
        return f"Incident #{incident_id} is open for {alert.service}: keep its posts current."
    return f"No incident is open for {alert.service}. If it is an outage, declare one."
