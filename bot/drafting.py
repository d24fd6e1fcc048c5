"""Drafting: an incident's facts become each network's text, stamped with the local time.

One sandboxed Jinja environment renders ``templates/{kind}/{network}.j2`` (falling back to
``templates/{kind}/default.j2``). The times it writes are remembered as *time tokens* so that
``Drafter.restamp`` can put the publish time in their place: a published post carries the time it
was published, not the time it was drafted.

    drafter = Drafter()
    draft = drafter.render(facts, Network.X, at=datetime.now(UTC))
    ...  # approval, perhaps an edit by a person
    text = drafter.restamp(draft.text, draft.time_tokens, facts_zone=zone, at=now,
                           next_update_minutes=facts.next_update_minutes)
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import ChoiceLoader, FileSystemLoader, StrictUndefined, Template
from jinja2.sandbox import ImmutableSandboxedEnvironment

from bot.config import Network, Organisation, Severity
from bot.models import IncidentStatus, PostKind
from bot.textrules import check_text

STAMP = "stamp"  # time token: when the post is published, with the zone ("2:45 PM EST")
NEXT_UPDATE = "next_update"  # time token: when the next update is promised ("3:15 PM")

_REPO_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
_WHEEL_TEMPLATES = Path(__file__).parent / "_templates"  # where pyproject puts them in a wheel

_WIDEST_CLOCK = "12:00 PM"
# A daylight-saving switch can lengthen a zone's abbreviation: CET→CEST, +11→+1030 (Lord Howe).
_ZONE_GROWTH = 2
_CLOCK = re.compile(r"(\d{1,2}:\d{2} [AP]M)( \S+)?")
_SENTENCE_END = ".!?…"


@dataclass(frozen=True)
class PostFacts:
    """What one public post says, before any wording: the input of every template."""

    organisation: Organisation
    service: str  # "Blackboard"
    service_help_url: str | None
    summary: str  # a short phrase: "cannot log in"
    severity: Severity
    severity_label: str  # "Critical"
    status: IncidentStatus
    kind: PostKind
    what_users_see: str  # may be ""
    what_we_are_doing: str  # may be ""
    next_update_minutes: int | None  # None: no promise (the all-clear, say)
    incident_id: int
    number: int  # 1 for the first public post of the incident


@dataclass(frozen=True)
class RenderedText:
    """One network's draft, and the time strings in it (by token name) for ``restamp``."""

    text: str
    time_tokens: dict[str, str]  # {"stamp": "2:45 PM EST", "next_update": "3:15 PM"}


def format_time(at: datetime, zone: ZoneInfo, *, with_zone: bool = True) -> str:
    """``at`` as a reader in ``zone`` would say it: ``"2:45 PM EST"``, or ``"2:45 PM"``."""
    if at.utcoffset() is None:
        raise ValueError("format_time needs an aware datetime (UTC), not a naive one")
    local = at.astimezone(zone)
    # Built by hand: strftime's "%-I" (no leading zero) is not portable.
    clock = f"{local.hour % 12 or 12}:{local.minute:02d} {'AM' if local.hour < 12 else 'PM'}"
    return f"{clock} {local.tzname()}" if with_zone else clock


def time_tokens_at(
    at: datetime, zone: ZoneInfo, *, next_update_minutes: int | None
) -> dict[str, str]:
    """Every time string a template may use, for a post published at ``at``."""
    tokens = {STAMP: format_time(at, zone)}
    if next_update_minutes is not None:
        promised = at + timedelta(minutes=next_update_minutes)
        tokens[NEXT_UPDATE] = format_time(promised, zone, with_zone=False)
    return tokens


def default_templates_dir() -> Path:
    """The repository's ``templates/`` when running from a checkout, else the wheel's copy."""
    return _REPO_TEMPLATES if _REPO_TEMPLATES.is_dir() else _WHEEL_TEMPLATES


def time_slack_for(time_tokens: dict[str, str], *, text: str | None = None) -> int:
    """How many characters ``restamp`` might add to a text holding ``time_tokens``.

    Each time may widen to "12:00 PM" (from "9:59 AM" to "10:00 AM", say), and a zone's
    abbreviation may lengthen at a daylight-saving switch. ``text`` lets a token that appears
    twice count twice (and one that was edited away count nothing); without it, once each.
    """
    counts = _occurrences(text, time_tokens.values()) if text is not None else None
    slack = 0
    for key, token in time_tokens.items():
        match = _CLOCK.fullmatch(token)
        if key not in (STAMP, NEXT_UPDATE) or match is None:
            continue  # restamp leaves anything else alone, so it cannot grow
        growth = len(_WIDEST_CLOCK) - len(match.group(1))
        if match.group(2):
            growth += _ZONE_GROWTH
        slack += max(growth, 0) * (1 if counts is None else counts[token])
    return slack


class Drafter:
    """Renders public posts from templates; build one per process and share it."""

    def __init__(self, *, templates_dir: Path | None = None) -> None:
        """``templates_dir``: the organisation's own templates; a file there replaces the
        built-in file of the same name, and anything it lacks comes from the built-ins."""
        loaders = [FileSystemLoader(default_templates_dir())]
        if templates_dir is not None:
            if not templates_dir.is_dir():
                raise FileNotFoundError(f"templates_dir {templates_dir} is not a folder")
            loaders.insert(0, FileSystemLoader(templates_dir))
        # Staff edit templates, so they run sandboxed. Each compiles once per process: an edit
        # takes effect on restart, so a half-saved file cannot break a draft mid-incident.
        self._env = ImmutableSandboxedEnvironment(
            loader=ChoiceLoader(loaders),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            autoescape=False,  # plain text for social networks, not HTML
            auto_reload=False,
        )

    def render(
        self,
        facts: PostFacts,
        network: Network,
        *,
        at: datetime,
        max_characters: int | None = None,
    ) -> RenderedText:
        """Draft ``network``'s text of the post described by ``facts``, as if published at ``at``.

        Templates may leave out optional detail when ``brief`` is true; the brief version is used
        only when the full one does not fit the network (``max_characters`` as in ``check_text``).
        Jinja errors (a misspelled variable, a sandbox violation) propagate to the caller.
        """
        template = self._template(facts.kind, network)
        tokens = time_tokens_at(
            at, facts.organisation.zone, next_update_minutes=facts.next_update_minutes
        )
        context = _context(facts, tokens)
        text = _tidy(template.render(context, brief=False))
        if not self._fits(network, text, tokens, max_characters):
            text = _tidy(template.render(context, brief=True))
        found = _occurrences(text, tokens.values())
        return RenderedText(text=text, time_tokens={k: v for k, v in tokens.items() if found[v]})

    def restamp(
        self,
        text: str,
        time_tokens: dict[str, str],
        *,
        facts_zone: ZoneInfo,
        at: datetime,
        next_update_minutes: int | None,
    ) -> str:
        """Replace the draft's time strings in ``text`` with those for publishing at ``at``.

        ``text`` may have been edited since it was drafted: a time string the person removed is
        simply not there to replace, and the rest of their text is left exactly as they wrote it.
        A promise with no ``next_update_minutes`` to recompute it from stays as drafted.
        """
        fresh = time_tokens_at(at, facts_zone, next_update_minutes=next_update_minutes)
        replacements: dict[str, str] = {}
        for key, old in time_tokens.items():
            if key in fresh and old:
                replacements.setdefault(old, fresh[key])
        pattern = _token_pattern(replacements)
        if pattern is None:
            return text
        return pattern.sub(lambda match: replacements[match.group()], text)

    time_slack = staticmethod(time_slack_for)

    def template_names(self) -> list[str]:
        """Every template file, built-in or the organisation's: ``["initial/default.j2", …]``."""
        return sorted(self._env.list_templates(filter_func=lambda name: name.endswith(".j2")))

    def _template(self, kind: PostKind, network: Network) -> Template:
        return self._env.select_template(
            [f"{kind.value}/{network.value}.j2", f"{kind.value}/default.j2"]
        )

    def _fits(
        self, network: Network, text: str, tokens: dict[str, str], max_characters: int | None
    ) -> bool:
        slack = self.time_slack(tokens, text=text)
        return check_text(network, text, max_characters=max_characters, time_slack=slack).ok


def _context(facts: PostFacts, tokens: dict[str, str]) -> dict[str, Any]:
    """The template variables (documented for staff in ``templates/README.md``)."""
    return {
        "org": facts.organisation.display_name,
        "service": facts.service.strip(),
        "summary": _phrase(facts.summary),
        "severity_label": facts.severity_label,
        "status": facts.status.value,
        "what_users_see": _sentence(facts.what_users_see),
        "what_we_are_doing": _sentence(facts.what_we_are_doing),
        "stamp_time": tokens[STAMP],
        "next_update_time": tokens.get(NEXT_UPDATE),
        "help_url": facts.service_help_url or facts.organisation.help_url,
        "number": facts.number,
        "incident_id": facts.incident_id,
    }


def _phrase(text: str) -> str:
    """A summary, ready for the template's own full stop: "cannot log in." → "cannot log in"."""
    return " ".join(text.split()).rstrip(".").rstrip()


def _sentence(text: str) -> str:
    """Staff's free text as a sentence: one line, a capital to start, a full stop to end."""
    text = " ".join(text.split())
    if not text:
        return ""
    first_word = text.split(" ", 1)[0]
    # "students see…" gets its capital; "iPhone users…" and "https://…" are left as typed.
    if first_word.isalpha() and first_word.islower():
        text = text[0].upper() + text[1:]
    return text if text[-1] in _SENTENCE_END else text + "."


def _tidy(text: str) -> str:
    """Trailing spaces go, and blank lines left by empty sections shrink to one."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines))


def _token_pattern(tokens: Iterable[str]) -> re.Pattern[str] | None:
    """One pattern for all tokens, longest first so "2:45 PM EST" wins over "2:45 PM"; a token
    inside a longer time ("2:45 PM" in "12:45 PM") is not a match."""
    ordered = sorted({t for t in tokens if t}, key=len, reverse=True)
    if not ordered:
        return None
    return re.compile(r"(?<![\w:])(?:" + "|".join(map(re.escape, ordered)) + r")(?!\w)")


def _occurrences(text: str, tokens: Iterable[str]) -> Counter[str]:
    pattern = _token_pattern(tokens)
    return Counter() if pattern is None else Counter(m.group() for m in pattern.finditer(text))
