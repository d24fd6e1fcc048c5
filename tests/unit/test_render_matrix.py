"""Every hard input, every kind of post, every network, published at awkward instants.

Each sample incident is drafted for each network, and its times are filled in as if published
at several instants, some an hour or a day later, across both 2026 clock changes of New York,
London and Lord Howe Island (whose clock moves by half an hour). Every published text is judged
with the independent counters of ``tests/counters.py``, never with ``bot.drafting.textrules``:

- it is within every limit of its network (X's weighted length, Bluesky's graphemes and bytes,
  Instagram's characters and hashtags, LinkedIn's escaped length …);
- no grapheme cluster of the input was broken: every cluster of the text is one of the input's,
  of the templates' wording, or "…";
- the post's own time reads as the instant it was published, and the next-update time as the
  instant promised, never earlier: with a weekday when it falls on another local day, with the
  zone when the zone's abbreviation differs.

A draft is ``Drafter.render(facts, network).text`` with its times as placeholders; what goes
out is ``bot.drafting.post_times.fill_times`` of it at the moment of publishing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import Network, Organisation, Service, Severity
from bot.drafting.drafter import Drafter, PostFacts, default_templates_dir
from bot.drafting.post_times import fill_times
from bot.incidents.requests import DETAIL_MAX, SUMMARY_MAX, clean_text
from bot.storage.models import IncidentStatus, PostKind
from tests import counters

ELLIPSIS = "…"
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"
RAINBOW = "\U0001f3f3\ufe0f\u200d\U0001f308"
UKRAINE = "\U0001f1fa\U0001f1e6"
RLM = "\u200f"
# A help page's address as a service catalog may hold it: 165 characters.
LONG_HELP = (
    "https://it.northfield.example.edu/knowledge-base/teaching-and-learning/blackboard-learn/"
    "troubleshooting/sign-in-problems-after-password-change?audience=students&l=en"
)
assert len(LONG_HELP) == 165


def _up_to(limit: int, *pieces: str, sep: str = " ", exact: bool = False) -> str:
    """``pieces`` repeated in turn as long as the text stays within ``limit`` code points;
    ``exact``: then a last word of "x"s to make it exactly ``limit``."""
    text = ""
    index = 0
    while True:
        piece = pieces[index % len(pieces)]
        longer = f"{text}{sep}{piece}" if text else piece
        if len(longer) > limit:
            room = limit - len(text) - len(sep)
            return f"{text}{sep}{'x' * room}" if exact and room > 0 else text
        text, index = longer, index + 1


# ----- the inputs --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    name: str
    service: str
    summary: str
    what_users_see: str
    what_we_are_doing: str
    help_url: str | None


ZH_70 = ("学生登录黑板系统时页面显示错误\uff0c" * 5)[:70]  # one code point a character
ZH_150 = ("学生和教师登录黑板系统时页面显示错误信息\uff0c" * 8)[:150]
JA = _up_to(SUMMARY_MAX, "ログインすると「エラーが発生しました」と表示されます", sep="。")

SAMPLES = [
    Sample(
        "plain",
        "Blackboard",
        "cannot log in",
        "students see an error page after entering their password",
        "We're working with the vendor to restore the sign-in service.",
        "https://it.northfield.example.edu/help/blackboard",
    ),
    Sample(
        "longest latin",
        "Blackboard Learn Ultra with Collaborate Ultra: Virtual Rooms",  # 60, the most
        _up_to(SUMMARY_MAX, "the", "sign-in", "page", "shows", "an", "error", "after", exact=True),
        _up_to(DETAIL_MAX, "students", "see", "an", "error", "(code", "500)", "when", exact=True),
        _up_to(DETAIL_MAX, "we're", "rolling", "back", "the", "identity", "provider's", "patch"),
        LONG_HELP,
    ),
    Sample(
        "emoji",
        "Teams " + FAMILY,
        _up_to(SUMMARY_MAX, "sign-in", FAMILY, "fails", RAINBOW, "for", UKRAINE, "guests"),
        _up_to(DETAIL_MAX, FAMILY * 3, RAINBOW + UKRAINE, "calls", "drop", UKRAINE * 4),
        _up_to(DETAIL_MAX, RAINBOW * 5, "we", "restart", "the", "media", "relays", FAMILY),
        LONG_HELP,
    ),
    Sample(
        # Under 300 graphemes but over 3,000 bytes: Bluesky's byte limit is the one that binds.
        "emoji families",
        "Zoom",
        _up_to(SUMMARY_MAX, FAMILY * 5, RAINBOW * 4, UKRAINE * 6),
        _up_to(DETAIL_MAX, FAMILY * 12),
        _up_to(DETAIL_MAX, (FAMILY + RAINBOW) * 3),
        None,
    ),
    Sample(
        "chinese 70",
        "黑板系统",
        ZH_70,
        _up_to(DETAIL_MAX, "学生输入密码后看到错误页面", sep="。"),
        _up_to(DETAIL_MAX, "我们正在与供应商合作恢复登录服务", sep="。"),
        "https://it.northfield.example.edu/help/blackboard",
    ),
    Sample(
        "chinese 150",
        "黑板系统",
        ZH_150,
        _up_to(DETAIL_MAX, "学生输入密码后看到错误页面", sep="。"),
        "",
        LONG_HELP,
    ),
    Sample(
        "japanese",
        "ブラックボード",
        JA,
        _up_to(DETAIL_MAX, "パスワードを入力した後にエラーページが表示されます", sep="。"),
        _up_to(DETAIL_MAX, "ベンダーと協力して復旧作業を進めています", sep="。"),
        "https://it.northfield.example.edu/help/blackboard",
    ),
    Sample(
        "right to left",
        "Moodle " + RLM + "מודל",
        _up_to(SUMMARY_MAX, "لا يمكن تسجيل الدخول", RLM + "שָׁלוֹם", "אין כניסה" + RLM, "(Moodle)"),
        _up_to(DETAIL_MAX, "يرى الطلاب صفحة خطأ", RLM, "התלמידים רואים שגיאה", "क्षत्रिय"),
        _up_to(DETAIL_MAX, "نعمل مع المورد", "אנחנו עובדים על זה" + RLM, "Tiếng Việt"),
        "https://it.northfield.example.edu/help/moodle",
    ),
    Sample(
        "mentions and hashtags",
        "Canvas",
        _up_to(SUMMARY_MAX, "@helpdesk", "and", "@NorthfieldIT@mastodon.example.edu", "#outage"),
        _up_to(DETAIL_MAX, *(f"#Canvas{n}" for n in range(40)), "@servicedesk_team"),
        _up_to(DETAIL_MAX, "ask", "@helpdesk", "(not", "#general)", "*urgent*", "_now_", "~x~"),
        LONG_HELP,
    ),
]


# ----- organisations and instants ----------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    organisation: Organisation
    # Just before each 2026 clock change: drafts are made then and published then or later.
    drafted: tuple[datetime, ...]


PLACES = [
    Place(
        Organisation(
            name="Northfield University IT Services",
            short_name="Northfield IT",
            time_zone="America/New_York",
            help_url="https://it.northfield.example.edu/help",
        ),
        (
            datetime(2026, 3, 8, 6, 30, tzinfo=UTC),  # 1:30 AM EST; 3:00 AM EDT at 7:00 UTC
            datetime(2026, 11, 1, 5, 30, tzinfo=UTC),  # 1:30 AM EDT; 1:00 AM EST at 6:00 UTC
            datetime(2026, 11, 1, 6, 30, tzinfo=UTC),  # 1:30 AM EST, the second time
        ),
    ),
    Place(
        Organisation(
            name="University of Southwark Information Technology and Library Services",
            short_name="Southwark IT & Library Services Desk",
            time_zone="Europe/London",
        ),
        (
            datetime(2026, 3, 29, 0, 30, tzinfo=UTC),  # 12:30 AM GMT; 2:00 AM BST at 1:00 UTC
            datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # 1:30 AM BST; 1:00 AM GMT at 1:00 UTC
        ),
    ),
    Place(
        Organisation(
            name="Lord Howe Island Board",
            time_zone="Australia/Lord_Howe",
            help_url="https://lhib.example.gov.au/help",
        ),
        (
            datetime(2026, 4, 4, 14, 45, tzinfo=UTC),  # 1:45 AM +11; 1:30 AM +1030 at 15:00
            datetime(2026, 10, 3, 15, 15, tzinfo=UTC),  # 1:45 AM +1030; 2:30 AM +11 at 15:30
        ),
    ),
]
PUBLISHED_AFTER = (timedelta(0), timedelta(minutes=45), timedelta(minutes=75), timedelta(hours=25))
NEXT_UPDATE_MINUTES = (30, 90, 24 * 60)

STATUS_OF = {
    PostKind.INITIAL: IncidentStatus.INVESTIGATING,
    PostKind.UPDATE: IncidentStatus.IDENTIFIED,
    PostKind.RESOLUTION: IncidentStatus.RESOLVED,
}


def make_facts(sample: Sample, organisation: Organisation, kind: PostKind) -> PostFacts:
    service = Service(name=sample.service, help_url=sample.help_url)
    return PostFacts(
        organisation=organisation,
        service=service.name,
        service_help_url=service.help_url,
        summary=clean_text(sample.summary, field_name="summary", limit=SUMMARY_MAX, required=True),
        severity=Severity.SEV1,
        severity_label="Critical",
        status=STATUS_OF[kind],
        kind=kind,
        what_users_see=clean_text(
            sample.what_users_see, field_name="what_users_see", limit=DETAIL_MAX
        ),
        what_we_are_doing=clean_text(
            sample.what_we_are_doing, field_name="what_we_are_doing", limit=DETAIL_MAX
        ),
        next_update_minutes=None if kind is PostKind.RESOLUTION else 30,
        incident_id=7,
        number=1 if kind is PostKind.INITIAL else 2,
    )


def render(drafter: Drafter, facts: PostFacts, network: Network, at: datetime) -> str:
    """The draft as made at ``at`` (a draft does not depend on when it is made)."""
    return drafter.render(facts, network).text


# ----- reading the times back --------------------------------------------------------------------

TIME, NEXT_UPDATE = "{time}", "{next_update}"  # the placeholders of the drafter's contract
_PLACEHOLDER = re.compile(r"\{time\}|\{next_update\}")
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_TIME = re.compile(
    r"(?:(?P<weekday>Mon|Tue|Wed|Thu|Fri|Sat|Sun) )?"
    r"(?P<hour>1[0-2]|[1-9]):(?P<minute>[0-5]\d) (?P<half>AM|PM)"
    r"(?: (?P<zone>[A-Z]{2,5}|[+-]\d{2}(?:\d{2})?))?"
)


@dataclass(frozen=True)
class Reading:
    """One time as a reader of the post understands it."""

    span: tuple[int, int]
    weekday: str | None
    wall: clock_time
    zone: str | None


def readings(text: str) -> list[Reading]:
    found = []
    for match in _TIME.finditer(text):
        hour = int(match["hour"]) % 12 + (12 if match["half"] == "PM" else 0)
        found.append(
            Reading(
                match.span(),
                match["weekday"],
                clock_time(hour, int(match["minute"])),
                match["zone"],
            )
        )
    return found


def instants(day: date, wall: clock_time, abbreviation: str, zone: ZoneInfo) -> set[datetime]:
    """Every instant a reader in ``zone`` may mean by ``wall`` on ``day`` in ``abbreviation``."""
    meant = set()
    for fold in (0, 1):
        local = datetime.combine(day, wall, tzinfo=zone).replace(fold=fold)
        instant = local.astimezone(UTC)
        back = instant.astimezone(zone)
        if (back.date(), back.time()) == (day, wall) and back.tzname() == abbreviation:
            meant.add(instant)
    return meant


def check_times(
    text: str,
    *,
    placeholders: list[str],
    zone: ZoneInfo,
    published: datetime,
    promised: datetime | None,
) -> None:
    """The post's time reads as ``published``; the next-update time as ``promised``.

    ``placeholders`` are the draft's, in order ("{time}", "{next_update}"). A post without its
    own time (Statuspage, which shows its own) is read beside the instant it was published, in
    the organisation's zone.
    """
    found = readings(text)
    assert len(found) == len(placeholders), f"expected {placeholders} as times: {text!r}"
    local = published.astimezone(zone)
    floor = published.replace(second=0, microsecond=0)
    post_zone = local.tzname()
    for reading, placeholder in zip(found, placeholders, strict=True):
        if placeholder == TIME:
            assert reading.weekday is None and reading.zone is not None, (
                f"the post's time without its zone, or with a weekday: {text!r}"
            )
            meant = instants(local.date(), reading.wall, reading.zone, zone)
            assert meant == {floor}, f"the post's time reads as {meant}, not {floor}: {text!r}"
            post_zone = reading.zone
            continue
        assert promised is not None, f"a next-update time on a post that promises none: {text!r}"
        day = local.date()
        if reading.weekday is not None:
            wanted = _WEEKDAYS.index(reading.weekday)
            day += timedelta(days=(wanted - day.weekday() - 1) % 7 + 1)
        meant = instants(day, reading.wall, reading.zone or post_zone, zone)
        assert len(meant) == 1, f"the next-update time is ambiguous or impossible: {text!r}"
        [reads_as] = meant
        assert reads_as >= floor, f"the next update reads as earlier than the post: {text!r}"
        expected = promised.replace(second=0, microsecond=0)
        assert reads_as == expected, (
            f"the next update reads as {reads_as}, not {expected}: {text!r}"
        )


# ----- graphemes ---------------------------------------------------------------------------------


@cache
def template_graphemes() -> frozenset[str]:
    folder = Path(default_templates_dir())
    text = "".join(path.read_text(encoding="utf-8") for path in folder.rglob("*.j2"))
    return frozenset(counters.graphemes(text))


def input_graphemes(facts: PostFacts) -> frozenset[str]:
    texts = [
        facts.service,
        facts.summary,
        facts.what_users_see,
        facts.what_we_are_doing,
        facts.service_help_url or "",
        facts.organisation.display_name,
        facts.organisation.help_url or "",
    ]
    texts += [text[:1].upper() + text[1:] for text in texts]  # a sentence's capital
    return frozenset(g for text in texts for g in counters.graphemes(text))


def check_graphemes(text: str, allowed: frozenset[str]) -> None:
    spans = [reading.span for reading in readings(text)]
    for start, end in reversed(spans):
        text = text[:start] + " " + text[end:]  # times are Crier's, not the input's
    strange = {g for g in counters.graphemes(text) if g not in allowed and g != ELLIPSIS}
    assert not strange, f"broken or foreign grapheme clusters {strange!r} in {text!r}"


# ----- the matrix --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Published:
    text: str
    placeholders: list[str]  # the draft's, in order
    allowed: frozenset[str]  # the grapheme clusters the text may hold
    zone: ZoneInfo
    at: datetime
    promised: datetime | None


def published_texts(drafter: Drafter, network: Network, kind: PostKind) -> Iterator[Published]:
    for place in PLACES:
        zone = place.organisation.zone
        for sample in SAMPLES:
            facts = make_facts(sample, place.organisation, kind)
            allowed = template_graphemes() | input_graphemes(facts)
            promises: tuple[int | None, ...] = (
                (None,) if facts.next_update_minutes is None else NEXT_UPDATE_MINUTES
            )
            for drafted in place.drafted:
                text = render(drafter, facts, network, drafted)
                placeholders = _PLACEHOLDER.findall(text)
                for after in PUBLISHED_AFTER:
                    at = drafted + after
                    for minutes in promises:
                        filled = fill_times(text, zone=zone, at=at, next_update_minutes=minutes)
                        promised = None if minutes is None else at + timedelta(minutes=minutes)
                        yield Published(filled, placeholders, allowed, zone, at, promised)


@pytest.fixture(scope="module")
def drafter() -> Drafter:
    return Drafter()


def test_the_samples_are_as_long_as_the_forms_allow():
    assert max(len(s.summary) for s in SAMPLES) == SUMMARY_MAX
    assert max(len(s.what_users_see) for s in SAMPLES) == DETAIL_MAX
    assert len(ZH_70) == 70 and len(ZH_150) == 150
    assert max(len(s.service) for s in SAMPLES) == 60


def test_the_instants_are_within_an_hour_of_a_clock_change():
    for place in PLACES:
        zone = place.organisation.zone
        for drafted in place.drafted:
            around = (timedelta(hours=-1), *PUBLISHED_AFTER)
            names = {(drafted + after).astimezone(zone).tzname() for after in around}
            assert len(names) == 2, (place.organisation.time_zone, drafted)


@pytest.mark.parametrize("kind", list(PostKind))
@pytest.mark.parametrize("network", list(Network))
def test_every_published_text_keeps_every_rule(drafter, network, kind):
    failures: list[str] = []
    for post in published_texts(drafter, network, kind):
        when = f"published {post.at:%Y-%m-%d %H:%M}Z in {post.zone.key}"
        broken = counters.problems(network, post.text)
        if broken:
            failures.append(f"{broken} ({when}): {post.text!r}")
            continue
        try:
            check_graphemes(post.text, post.allowed)
            check_times(
                post.text,
                placeholders=post.placeholders,
                zone=post.zone,
                published=post.at,
                promised=post.promised,
            )
        except AssertionError as exc:
            failures.append(f"{exc} ({when})")
    assert not failures, f"{len(failures)} failures; the first: " + "\n".join(failures[:3])


# ----- the judges themselves ---------------------------------------------------------------------

NEW_YORK = ZoneInfo("America/New_York")
SECOND_130 = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # 1:30 AM EST, after 1:30 AM EDT


def test_a_broken_cluster_is_caught():
    allowed = frozenset(counters.graphemes(f"Teams {FAMILY} {UKRAINE}"))
    check_graphemes(f"Teams {FAMILY}{ELLIPSIS}", allowed)
    with pytest.raises(AssertionError):
        check_graphemes("Teams " + FAMILY[:5], allowed)  # man ZWJ woman: a cluster never typed
    with pytest.raises(AssertionError):
        check_graphemes("Teams " + UKRAINE[0], allowed)  # half a flag


def test_times_are_read_as_a_reader_would():
    times = [TIME, NEXT_UPDATE]
    promised = SECOND_130 + timedelta(minutes=30)
    fine = "Update · 1:30 AM EST. Next update by 2:00 AM."
    check_times(fine, placeholders=times, zone=NEW_YORK, published=SECOND_130, promised=promised)
    with pytest.raises(AssertionError, match="reads as"):  # the first 1:30 AM, EDT
        check_times(
            "Update · 1:30 AM EDT. Next update by 2:00 AM.",
            placeholders=times,
            zone=NEW_YORK,
            published=SECOND_130,
            promised=promised,
        )
    earlier = datetime(2026, 11, 1, 5, 45, tzinfo=UTC)  # 1:45 AM EDT, then 30 minutes
    with pytest.raises(AssertionError, match="earlier than the post"):
        check_times(
            "Update · 1:45 AM EDT. Next update by 1:15 AM.",  # 1:15 AM EST, without its zone
            placeholders=times,
            zone=NEW_YORK,
            published=earlier,
            promised=earlier + timedelta(minutes=30),
        )
    with pytest.raises(AssertionError, match="reads as"):  # tomorrow, without its weekday
        check_times(
            "Update · 1:30 AM EST. Next update by 1:30 AM.",
            placeholders=times,
            zone=NEW_YORK,
            published=SECOND_130,
            promised=SECOND_130 + timedelta(days=1),
        )
    check_times(
        "Update · 1:30 AM EST. Next update by Mon 1:30 AM.",
        placeholders=times,
        zone=NEW_YORK,
        published=SECOND_130,
        promised=SECOND_130 + timedelta(days=1),
    )
