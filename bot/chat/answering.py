"""What every chat needs to answer what Crier heard (``bot.listening.answers``): the words around
an answer, written once. Plain text:
each chat renders it as plain text, since a reply's author and an answer are words that must
never ping or format.

    >>> answer_head(answer)
    '↩️ Answer to Ann Example (@ann@mastodon.social) on Mastodon'
"""

from __future__ import annotations

from bot.config import CrierConfig, Network
from bot.drafting.textrules import measure
from bot.incidents import labels
from bot.listening.answers import AnswerView
from bot.listening.views import HeardView
from bot.storage.models import PostState
from bot.views import NETWORK_LABELS

FORM_HINT = (
    "It goes out as a reply to them, on their network, once an approver (not whoever wrote it "
    "last) approves it."
)
REASON_LABEL = "Why? Whoever wrote it will see this."


def network_label(network: Network) -> str:
    return NETWORK_LABELS.get(network, network.value)


def answer_head(answer: AnswerView) -> str:
    """ "↩️ Answer to Ann Example (@ann@mastodon.social) on Mastodon"."""
    return f"↩️ Answer to {answer.heard.who} on {network_label(answer.network)}"


def form_title(heard: HeardView) -> str:
    """The form's title (Slack allows 24 characters)."""
    return f"Answer on {heard.network_label}"[:24]


def form_label(config: CrierConfig, network: Network) -> str:
    """The answer's input, with the network's rule: "Your answer (Mastodon: up to 500
    characters)"."""
    rule = measure(config, network, "", draft=False)
    return f"Your answer ({network_label(network)}: up to {rule.limit:,} {rule.unit})"


def to_whom(heard: HeardView) -> str:
    """The line above the reply in the form: whom the answer goes to, and where."""
    return f"{heard.who} wrote on {heard.network_label}:"


def length_line(answer: AnswerView) -> str:
    """ "42/500 characters · will notify @ann on Mastodon", or what breaks the rule."""
    check = answer.check
    parts = [f"⚠️ {check.problem}" if check.problem else f"{check.summary()} {check.unit}"]
    return " · ".join([*parts, *answer.notes])


def waiting_line(answer: AnswerView) -> str:
    return (
        f"Revision {answer.revision} · waits for an approver who did not write it. "
        "An edit makes a new revision."
    )


def decision(answer: AnswerView) -> tuple[str, str] | None:
    """("✅", "Approved by") or ("🚫", "Rejected by"); None while it waits. The chat adds the
    name of whoever decided, its own way."""
    if answer.state == PostState.APPROVED:
        return "✅", "Approved by"
    if answer.state == PostState.REJECTED:
        return "🚫", "Rejected by"
    return None


def other_state(answer: AnswerView) -> str:
    """An answer neither waiting nor decided (replaced): said as it is."""
    return f"This answer is {answer.state}."


def delivery_line(answer: AnswerView) -> str:
    """ "Mastodon — ✅ sent", or "Publishing…" before its delivery is read."""
    if answer.delivery_state is None:
        return "Publishing…"
    return f"{network_label(answer.network)} — {labels.delivery(answer.delivery_state)}"


def sent_link(answer: AnswerView) -> str | None:
    """The answer's address once sent, when it is a web link."""
    url = (answer.url or "").strip()
    if answer.delivery_state != "sent" or not url.lower().startswith(("https://", "http://")):
        return None
    return url


def open_label(answer: AnswerView) -> str:
    return f"Open on {network_label(answer.network)}"


def their_label(heard: HeardView) -> str:
    """The link to the reply answered, beside the answer's own (``open_label``)."""
    return f"Their reply on {heard.network_label}"


def not_waiting(answer: AnswerView) -> str:
    """Why an answer cannot be edited any more."""
    return f"This answer is {answer.state}; only a waiting answer can be edited."
