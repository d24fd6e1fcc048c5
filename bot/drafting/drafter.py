"""Drafting: an incident's facts become each network's text, made to fit that network.

One sandboxed Jinja environment renders ``templates/{kind}/{network}.j2`` (falling back to
``templates/{kind}/default.j2``). The two times a post carries are written as the placeholders
of ``bot.drafting.post_times`` (``{time}``, ``{next_update}``) and filled in only when it is
published, so what an approver sees is what goes out, bar those two marked times.

A draft always fits its network: when the full text is too long it is shortened in a fixed order
(``Drafter.render``), and the draft says what was shortened or left out.

    drafter = Drafter()
    draft = drafter.render(facts, Network.X)
    draft.text    # "Investigating · {time}\\nWe're aware of a problem with Blackboard: …"
    draft.notes   # ("shortened the summary",)
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, FileSystemLoader, StrictUndefined, Template, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from bot.config import ChannelConfig, CrierConfig, Network, Organisation, Service, Severity
from bot.drafting.post_times import NEXT_UPDATE, TIME, has_placeholder, widest
from bot.drafting.shortening import prefixes
from bot.drafting.textrules import check_text, measure
from bot.errors import InvalidInput
from bot.incidents.requests import SUMMARY_MAX
from bot.storage.models import IncidentStatus, PostKind
from bot.views import NETWORK_LABELS

_REPO_TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
# where pyproject puts them in a wheel: bot/_templates
_WHEEL_TEMPLATES = Path(__file__).resolve().parents[1] / "_templates"

_SENTENCE_END = ".!?…"
# How far the main detail and the summary are cut before anything else gives way.
_DETAIL_FLOOR = 80
_SUMMARY_FLOOR = 40
_STUB = 24  # a cut shorter than this says too little: the fact is left out instead

SUMMARY = "summary"
USERS_SEE = "what_users_see"
WE_ARE_DOING = "what_we_are_doing"
HELP_URL = "help_url"

# Which detail carries a kind of post's news (cut last) and which is background (cut first).
_MAIN_DETAIL = {
    PostKind.INITIAL: USERS_SEE,
    PostKind.UPDATE: WE_ARE_DOING,
    PostKind.RESOLUTION: USERS_SEE,
}
_LABELS = {
    SUMMARY: "the summary",
    USERS_SEE: "what users see",
    WE_ARE_DOING: "what we are doing",
    HELP_URL: "the help link",
}
_RESOLUTION_LABELS = {
    **_LABELS,
    USERS_SEE: "the advice for anyone still having trouble",
    WE_ARE_DOING: "what was fixed",
}


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
    false_alarm: bool = False  # the all-clear of an outage that was not one


@dataclass(frozen=True)
class RenderedText:
    """One network's draft (times as placeholders) and what had to give way to make it fit."""

    text: str
    notes: tuple[str, ...] = ()  # "shortened the summary", "left out the help link" …


def default_templates_dir() -> Path:
    """The repository's ``templates/`` when running from a checkout, else the wheel's copy."""
    return _REPO_TEMPLATES if _REPO_TEMPLATES.is_dir() else _WHEEL_TEMPLATES


def label_of(kind: PostKind, name: str) -> str:
    """How a draft's note names one of the facts: "what users see", "what was fixed" …"""
    return (_RESOLUTION_LABELS if kind is PostKind.RESOLUTION else _LABELS)[name]


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
        max_characters: int | None = None,
        links: bool = True,
    ) -> RenderedText:
        """Draft ``network``'s text of the post described by ``facts``, made to fit.

        The full text is tried first. When it is over the network's limit (``max_characters``
        as in ``check_text``, counting each time at its widest), these give way, each only as
        far as needed and in this order: the template's optional wording (``brief``); the
        background detail (cut at a word, then left out); the main detail down to about 80
        characters; the help link; the summary down to about 40 characters; the main detail
        entirely; the summary down to its first word. Every cut ends in "…" and falls between
        words (or between two ideographs), never inside a link, a mention, a hashtag or a
        grapheme cluster. ``links=False`` leaves the help link out from the start (X charges
        more for a post with a link). Jinja errors (a misspelled variable, a sandbox
        violation) propagate.
        """
        if not links:
            organisation = facts.organisation.model_copy(update={"help_url": None})
            facts = replace(facts, service_help_url=None, organisation=organisation)
        template = self._template(facts.kind, network)
        zone = facts.organisation.zone

        def fits(text: str) -> bool:
            return check_text(network, widest(text, zone), max_characters=max_characters).ok

        return _Fitting(template=template, facts=facts, fits=fits).run()

    def render_folder(self, folder: str, network: Network, context: dict[str, Any]) -> str:
        """A post that is not an incident's (planned maintenance): ``templates/{folder}/``'s
        ``{network}.j2`` or ``default.j2`` with ``context``, tidied; not shortened (its caller
        checks that it fits, and says so when it does not)."""
        template = self._env.select_template(
            [f"{folder}/{network.value}.j2", f"{folder}/default.j2"]
        )
        return _tidy(template.render(**context))

    def template_names(self) -> list[str]:
        """Every template file, built-in or the organisation's: ``["initial/default.j2", …]``."""
        return sorted(self._env.list_templates(filter_func=lambda name: name.endswith(".j2")))

    def _template(self, kind: PostKind, network: Network) -> Template:
        return self._env.select_template(
            [f"{kind.value}/{network.value}.j2", f"{kind.value}/default.j2"]
        )


class _Fitting:
    """One draft being made to fit: the facts as they stand, and what has given way."""

    def __init__(self, *, template: Template, facts: PostFacts, fits: Callable[[str], bool]):
        self._template = template
        self._facts = facts
        self._fits = fits
        self._original = _values(facts)
        self._values = dict(self._original)
        self._brief = False
        self._brief_mattered = False

    def run(self) -> RenderedText:
        main = _MAIN_DETAIL[self._facts.kind]
        background = WE_ARE_DOING if main == USERS_SEE else USERS_SEE
        text = self._draw()
        steps: list[Callable[[], None]] = [
            self._go_brief,
            lambda: self._cut(background, floor=_STUB, may_leave_out=True),
            lambda: self._cut(main, floor=_DETAIL_FLOOR),
            lambda: self._drop(HELP_URL),
            lambda: self._cut(SUMMARY, floor=_SUMMARY_FLOOR),
            lambda: self._cut(main, floor=_STUB, may_leave_out=True),
            lambda: self._cut(SUMMARY, floor=1),
        ]
        for step in steps:
            if self._fits(text):
                break
            step()
            text = self._draw()
        return RenderedText(text=text, notes=self._notes(text))

    def _draw(self) -> str:
        context = _context(self._facts, self._values)
        return _tidy(self._template.render(context, brief=self._brief))

    def _go_brief(self) -> None:
        before = self._draw()
        self._brief = True
        self._brief_mattered = self._draw() != before

    def _drop(self, name: str) -> None:
        if self._shows(name):
            self._values[name] = ""

    def _shows(self, name: str) -> bool:
        """Whether this network's template says the fact at all (X's first post leaves out
        what we are doing, say): a fact it never shows is not shortened, nor noted."""
        if not self._values[name]:
            return False
        with_it = self._draw()
        kept, self._values[name] = self._values[name], ""
        without = self._draw()
        self._values[name] = kept
        return with_it != without

    def _cut(self, name: str, *, floor: int, may_leave_out: bool = False) -> None:
        """Shorten one fact to the longest form that fits, but not below ``floor`` characters
        (or leave it out, when allowed); when nothing fits, keep the shortest allowed form."""
        current = self._values[name]
        if not self._shows(name):
            return
        options = [p for p in prefixes(self._original[name]) if floor <= len(p) < len(current)]
        if may_leave_out:
            options.insert(0, "")
        if not options:
            return

        def too_long(option: str) -> bool:
            self._values[name] = option
            return not self._fits(self._draw())

        # Options are shortest first: the first too long one follows the longest that fits.
        first_too_long = bisect.bisect_left(options, True, key=too_long)
        self._values[name] = options[max(first_too_long - 1, 0)]

    def _notes(self, text: str) -> tuple[str, ...]:
        kind = self._facts.kind
        notes = ["left out optional wording"] if self._brief_mattered else []
        for name in (SUMMARY, _MAIN_DETAIL[kind], USERS_SEE, WE_ARE_DOING, HELP_URL):
            was, now = self._original[name], self._values[name]
            if was and now != was:
                notes.append(f"{'shortened' if now else 'left out'} {label_of(kind, name)}")
        if not self._fits(text):
            notes.append("still too long after shortening: edit it")
        return tuple(dict.fromkeys(notes))  # the main detail is also one of the two details


def _values(facts: PostFacts) -> dict[str, str]:
    """The facts a fitting may shorten, as typed; a placeholder typed by a person is refused."""
    values = {
        SUMMARY: _phrase(facts.summary),
        USERS_SEE: " ".join(facts.what_users_see.split()),
        WE_ARE_DOING: " ".join(facts.what_we_are_doing.split()),
        HELP_URL: facts.service_help_url or facts.organisation.help_url or "",
    }
    for name in (SUMMARY, USERS_SEE, WE_ARE_DOING):
        if has_placeholder(values[name]):
            raise InvalidInput(
                f"{TIME} and {NEXT_UPDATE} are where Crier writes times when a post is "
                f"published; write the time out in {label_of(facts.kind, name)} instead.",
                {name: f"Write the time out instead of {TIME} or {NEXT_UPDATE}."},
            )
    return values


def _context(facts: PostFacts, values: dict[str, str]) -> dict[str, Any]:
    """The template variables (documented for staff in ``templates/README.md``)."""
    return {
        "org": facts.organisation.display_name,
        "service": facts.service.strip(),
        "summary": values[SUMMARY],
        "severity_label": facts.severity_label,
        "status": facts.status.value,
        "what_users_see": as_sentence(values[USERS_SEE]),
        "what_we_are_doing": as_sentence(values[WE_ARE_DOING]),
        "stamp_time": TIME,
        "next_update_time": NEXT_UPDATE if facts.next_update_minutes is not None else None,
        "help_url": values[HELP_URL] or None,
        "number": facts.number,
        "incident_id": facts.incident_id,
        "false_alarm": facts.false_alarm,
    }


def _phrase(text: str) -> str:
    """A summary, ready for the template's own full stop: "cannot log in." → "cannot log in"."""
    return " ".join(text.split()).rstrip(".").rstrip()


def as_sentence(text: str) -> str:
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
    """Trailing spaces go, blank lines left by empty sections shrink to one, and a shortened
    summary's "…" takes no full stop after it."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).replace("….", "…")


@dataclass(frozen=True)
class SummaryRoom:
    """How long a summary can be and still go out whole on every channel of every service."""

    characters: int
    tightest: Network  # the channel that sets it

    @property
    def hint(self) -> str:
        """The declare form's hint under the summary."""
        return (
            f"Up to {self.characters} characters goes out whole everywhere; a longer one is "
            f"shortened where it does not fit ({NETWORK_LABELS[self.tightest]} first), and the "
            "draft says so."
        )


def first_post_facts(
    config: CrierConfig, service: Service, *, summary: str, incident_id: int = 0
) -> PostFacts:
    """What a first post of ``service`` says when declared with ``summary`` alone (its default
    severity and channels, nothing in the other boxes)."""
    severity = config.severities[service.default_severity]
    return PostFacts(
        organisation=config.organisation,
        service=service.name,
        service_help_url=service.help_url or config.organisation.help_url,
        summary=summary,
        severity=service.default_severity,
        severity_label=severity.label,
        status=IncidentStatus.INVESTIGATING,
        kind=PostKind.INITIAL,
        what_users_see="",
        what_we_are_doing="",
        next_update_minutes=severity.next_update_minutes,
        incident_id=incident_id,
        number=1,
    )


def summary_room(config: CrierConfig, drafter: Drafter) -> SummaryRoom:
    """The room a first post leaves for its summary, over the catalog and its channels: the
    templates' own words, the service's name and help link and both times at their widest."""
    rooms: list[SummaryRoom] = []
    for service in config.services:
        facts = first_post_facts(config, service, summary="")
        for network in config.default_channels(service):
            settings = config.channels.get(network) or ChannelConfig()
            try:
                text = drafter.render(facts, network, links=settings.links).text
            except TemplateError:  # the draft itself will say so, to the person declaring
                continue
            check = measure(config, network, text)
            rooms.append(SummaryRoom(min(max(check.limit - check.length, 0), SUMMARY_MAX), network))
    return min(rooms, key=lambda room: room.characters, default=SummaryRoom(SUMMARY_MAX, Network.X))
