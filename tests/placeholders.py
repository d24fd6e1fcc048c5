"""Comparing a draft's text (its times as placeholders) with how a chat shows it (times filled
in as if published now, each marked with ⏱), whatever the clock says at either moment."""

import re

from bot.drafting.post_times import MARK, PLACEHOLDERS

_MARKED = re.compile(re.escape(MARK) + r"(?:[A-Z][a-z]{2} )?\d{1,2}:\d{2} [AP]M(?: [A-Z0-9+\-]+)?")
_ANY = "⟨time⟩"


def as_drafted(text: str) -> str:
    for placeholder in PLACEHOLDERS:
        text = text.replace(placeholder, _ANY)
    return text


def as_shown(text: str) -> str:
    return _MARKED.sub(_ANY, text)


def shown_in(draft_text: str, shown: str | list[str]) -> bool:
    """Whether ``draft_text`` appears in what a chat showed (a text, or a list of its texts)."""
    wanted = as_drafted(draft_text)
    pieces = [shown] if isinstance(shown, str) else shown
    return any(wanted in as_shown(piece) for piece in pieces)
