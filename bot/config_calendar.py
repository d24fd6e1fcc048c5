"""``crier.yml``'s content calendar: one-off ``calendar`` posts, the recurring
``calendar_series`` (an iCalendar RRULE read by python-dateutil, and a bank of posts, a folder
beside crier.yml or listed), and ``maintenance``'s word on the calendar.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated

import yaml
from dateutil.rrule import rrule, rrulestr
from pydantic import Field, PrivateAttr, ValidationInfo, model_validator

from bot.config_base import Network, Strict


class MaintenanceConfig(Strict):
    """crier.yml's ``maintenance``: planned work (``bot.maintenance``)."""

    # Planned work is routine, so the tips go out as usual; ``true`` holds calendar posts due
    # while a maintenance is under way, and offers them (post now or skip) once it is complete.
    pauses_calendar: bool = False


class CalendarItem(Strict):
    """A scheduled post from crier.yml: ``at`` is in the organisation's time zone."""

    text: str = Field(min_length=1, max_length=3000)
    at: datetime
    channels: list[Network] = Field(min_length=1)


CALENDAR_TEXT_MAX = 3000
# A status page (Statuspage, or Crier's own site) is for incidents, not tips.
NOT_FOR_CALENDAR = (Network.STATUSPAGE, Network.SITE)
# Where a series' rule counts from when it names no ``starts``: a Monday long past, so that
# INTERVAL=2 falls on the same weeks on every start-up (it must never depend on "now").
SERIES_ANCHOR = date(2024, 1, 1)
BANK_SUFFIXES = (".md", ".txt", ".yml", ".yaml")


def _rule_problem(text: str, dtstart: datetime) -> str | None:
    """What is wrong with ``text`` as a series' rule (one iCalendar RRULE), or None."""
    if "DTSTART" in text.upper() or len(text.strip().splitlines()) != 1:
        return "give one RRULE line, like 'FREQ=WEEKLY;BYDAY=MO,WE,FR;BYHOUR=10;BYMINUTE=0'"
    try:
        parsed = rrulestr(text.strip(), dtstart=dtstart)
    except TypeError:  # dateutil's way of saying FREQ is missing
        return "FREQ is missing (FREQ=WEEKLY, DAILY, …)"
    except ValueError as exc:
        if "UNTIL" in text.upper() and "UTC" in str(exc):
            return "give UNTIL in the organisation's time, without a Z (UNTIL=20270630T235900)"
        return f"not an iCalendar RRULE: {exc}"
    if not isinstance(parsed, rrule):
        return "give one RRULE, not a set of rules"
    first = list(itertools.islice(parsed, 60))
    if not first:
        return "it never happens"
    gaps = [later - earlier for earlier, later in itertools.pairwise(first)]
    if gaps and min(gaps) < timedelta(hours=1):
        minutes = max(1, int(min(gaps).total_seconds() // 60))
        return f"it repeats every {minutes} minute(s): a series posts at most once an hour"
    # Without BYHOUR a daily or weekly rule takes the hour of its start: midnight.
    if "BYHOUR" not in text.upper() and "FREQ=HOURLY" not in text.upper():
        return "say at what time with BYHOUR (and BYMINUTE), like BYHOUR=10;BYMINUTE=0"
    return None


def _read_bank_file(path: Path) -> str:
    """One post of a bank: a Markdown or text file as written, or a YAML file's ``text``."""
    written = path.read_text(encoding="utf-8")
    if path.suffix in (".yml", ".yaml"):
        try:
            loaded = yaml.safe_load(written)
        except yaml.YAMLError as exc:
            raise ValueError(f"{path.name}: not valid YAML: {exc}") from None
        if isinstance(loaded, dict):
            loaded = loaded.get("text")
        if not isinstance(loaded, str):
            raise ValueError(f"{path.name}: expected the post under 'text:'")
        written = loaded
    text = written.strip()
    if not text:
        raise ValueError(f"{path.name} is empty")
    if len(text) > CALENDAR_TEXT_MAX:
        raise ValueError(f"{path.name} has {len(text)} characters (at most {CALENDAR_TEXT_MAX})")
    return text


def _read_bank(folder: Path) -> tuple[tuple[str, str], ...]:
    """A bank folder's posts, one a file, in the order of their names (01-…, 02-…): each
    with its file's name."""
    if not folder.is_dir():
        raise ValueError(f"bank {str(folder)!r} is not a folder")
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    strange = [p.name for p in files if p.suffix not in BANK_SUFFIXES]
    if strange:
        said = ", ".join(BANK_SUFFIXES)
        raise ValueError(f"bank {str(folder)!r} holds {', '.join(strange)}: only {said} files")
    return tuple((p.name, _read_bank_file(p)) for p in files)


class CalendarSeries(Strict):
    """A recurring series of the content calendar: at each time of ``rule`` (an iCalendar
    RRULE, its wall-clock times in the organisation's zone), the next post of its bank, in
    turn. Each is drafted a week ahead and waits for an approver (``bot.scheduling.
    calendar_series``). The bank is a folder (``bank``, relative to crier.yml: every .md, .txt,
    .yml file one post, in the order of their names) or the posts themselves (``posts``)."""

    name: str = Field(min_length=1, max_length=80)
    rule: str = Field(min_length=1, max_length=500)
    channels: list[Network] = Field(min_length=1)
    # The first day of the series (the organisation's date): what INTERVAL counts from.
    starts: date | None = None
    bank: Path | None = None
    posts: list[Annotated[str, Field(min_length=1, max_length=CALENDAR_TEXT_MAX)]] = []
    _texts: tuple[str, ...] = PrivateAttr(default=())
    _sources: tuple[str, ...] = PrivateAttr(default=())  # where each text was written

    @model_validator(mode="after")
    def _rule_and_bank(self, info: ValidationInfo) -> CalendarSeries:
        problem = _rule_problem(self.rule, self.dtstart)
        if problem:
            raise ValueError(f"series {self.name!r}: rule {self.rule!r}: {problem}")
        if self.bank is not None and self.posts:
            raise ValueError(f"series {self.name!r}: give 'bank' (a folder) or 'posts', not both")
        written = tuple((f"posts[{n}]", text) for n, text in enumerate(self.posts))
        if self.bank is not None:
            # Relative to crier.yml (``load_config`` says where it is), else to where Crier runs.
            here = (info.context or {}).get("config_dir") or Path()
            try:
                written = _read_bank(Path(here) / self.bank)
            except ValueError as exc:
                raise ValueError(f"series {self.name!r}: {exc}") from None
        if not written:
            raise ValueError(f"series {self.name!r}: its bank has no posts")
        self._sources = tuple(source for source, _ in written)
        self._texts = tuple(text for _, text in written)
        return self

    @property
    def sources(self) -> tuple[str, ...]:
        """Where each of ``texts`` was written: its bank file's name, or ``posts[N]``."""
        return self._sources

    @property
    def texts(self) -> tuple[str, ...]:
        """The bank's posts, in the order they take turns."""
        return self._texts

    @property
    def dtstart(self) -> datetime:
        """Where the rule counts from: ``starts`` at midnight, the organisation's (naive)."""
        return datetime.combine(self.starts or SERIES_ANCHOR, time())

    def recurrence(self) -> rrule:
        """The rule, parsed: it yields naive wall-clock times of the organisation's zone."""
        parsed = rrulestr(self.rule.strip(), dtstart=self.dtstart)
        assert isinstance(parsed, rrule)  # checked when crier.yml was loaded
        return parsed
