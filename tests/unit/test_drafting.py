"""Drafting: templates render each network's post, with the time it is published."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from jinja2.exceptions import SecurityError, UndefinedError

from bot.config import Network, Organisation, Severity
from bot.drafting import Drafter, PostFacts, format_time
from bot.models import IncidentStatus, PostKind
from bot.textrules import check_text

NEW_YORK = ZoneInfo("America/New_York")
JANUARY = datetime(2025, 1, 15, 19, 45, tzinfo=UTC)  # 2:45 PM EST
JULY = datetime(2025, 7, 15, 18, 45, tzinfo=UTC)  # 2:45 PM EDT
HELP = "https://it.northfield.example.edu/help/blackboard"
# About as long as a summary gets: the drafts for X and Bluesky must still fit.
LONG_SUMMARY = (
    "the sign-in page shows an error after you enter your password, "
    "and some students are logged out"
)

ORG = Organisation(
    name="Northfield University IT Services",
    short_name="Northfield IT",
    time_zone="America/New_York",
    help_url="https://it.northfield.example.edu/help",
)

STATUS_OF = {
    PostKind.INITIAL: IncidentStatus.INVESTIGATING,
    PostKind.UPDATE: IncidentStatus.IDENTIFIED,
    PostKind.RESOLUTION: IncidentStatus.RESOLVED,
}


def make_facts(kind: PostKind = PostKind.INITIAL, **changes: object) -> PostFacts:
    facts = PostFacts(
        organisation=ORG,
        service="Blackboard",
        service_help_url=HELP,
        summary="cannot log in",
        severity=Severity.SEV1,
        severity_label="Critical",
        status=STATUS_OF[kind],
        kind=kind,
        what_users_see="students see an error page after entering their password",
        what_we_are_doing="We're working with the vendor to restore the sign-in service.",
        next_update_minutes=None if kind is PostKind.RESOLUTION else 30,
        incident_id=7,
        number=1 if kind is PostKind.INITIAL else 2,
    )
    return replace(facts, **changes)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def drafter() -> Drafter:
    return Drafter()


def write_template(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")
    return folder


# --- times -------------------------------------------------------------------------------------


def test_time_in_new_york_is_est_in_january_and_edt_in_july():
    assert format_time(JANUARY, NEW_YORK) == "2:45 PM EST"
    assert format_time(JULY, NEW_YORK) == "2:45 PM EDT"


@pytest.mark.parametrize(
    ("hour", "minute", "expected"),
    [(0, 5, "12:05 AM"), (9, 5, "9:05 AM"), (12, 0, "12:00 PM"), (23, 59, "11:59 PM")],
)
def test_time_has_no_leading_zero_and_a_twelve_hour_clock(hour, minute, expected):
    at = datetime(2025, 1, 15, hour, minute, tzinfo=NEW_YORK)
    assert format_time(at, NEW_YORK, with_zone=False) == expected


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="aware"):
        format_time(datetime(2025, 1, 15, 19, 45), NEW_YORK)


# --- rendering ---------------------------------------------------------------------------------


def test_first_post_on_x_says_we_know_with_the_time_and_the_next_update(drafter):
    draft = drafter.render(make_facts(), Network.X, at=JANUARY)
    assert draft.text.startswith("Investigating · 2:45 PM EST\n")
    assert "Blackboard: cannot log in." in draft.text
    assert "Next update by 3:15 PM." in draft.text
    assert HELP in draft.text
    assert draft.time_tokens == {"stamp": "2:45 PM EST", "next_update": "3:15 PM"}


def test_summer_post_says_edt(drafter):
    draft = drafter.render(make_facts(), Network.MASTODON, at=JULY)
    assert "Investigating · 2:45 PM EDT" in draft.text
    assert draft.time_tokens["stamp"] == "2:45 PM EDT"


@pytest.mark.parametrize(
    ("status", "wording"),
    [
        (IncidentStatus.INVESTIGATING, "still investigating"),
        (IncidentStatus.IDENTIFIED, "found the cause"),
        (IncidentStatus.MONITORING, "monitoring"),
    ],
)
def test_update_says_what_changed(drafter, status, wording):
    draft = drafter.render(make_facts(PostKind.UPDATE, status=status), Network.X, at=JANUARY)
    assert draft.text.startswith("Update · 2:45 PM EST\n")
    assert wording in draft.text


def test_all_clear_gives_next_steps_and_promises_nothing(drafter):
    facts = make_facts(PostKind.RESOLUTION, what_users_see="", what_we_are_doing="")
    draft = drafter.render(facts, Network.FACEBOOK, at=JANUARY)
    assert draft.text.startswith("Resolved · 2:45 PM EST\n")
    assert "working normally again" in draft.text
    assert "Sign out and back in" in draft.text
    assert HELP in draft.text
    assert "update by" not in draft.text
    assert draft.time_tokens == {"stamp": "2:45 PM EST"}


@pytest.mark.parametrize("kind", list(PostKind))
@pytest.mark.parametrize("network", list(Network))
def test_every_kind_fits_every_network_with_typical_facts(drafter, kind, network):
    for summary in ("cannot log in", LONG_SUMMARY):
        draft = drafter.render(make_facts(kind, summary=summary), network, at=JANUARY)
        slack = drafter.time_slack(draft.time_tokens, text=draft.text)
        check = check_text(network, draft.text, time_slack=slack)
        assert check.ok, f"{kind}/{network}: {check.problem}\n{draft.text}"
        assert "{" not in draft.text and "  " not in draft.text and "\n\n\n" not in draft.text


def test_optional_detail_is_dropped_only_where_it_does_not_fit(drafter):
    facts = make_facts(summary=LONG_SUMMARY)
    short = drafter.render(facts, Network.X, at=JANUARY)
    assert "Students see an error page" not in short.text
    assert check_text(Network.X, short.text).ok
    long = drafter.render(facts, Network.FACEBOOK, at=JANUARY)
    assert "Students see an error page after entering their password." in long.text


def test_statuspage_body_is_prose_without_a_stamp(drafter):
    draft = drafter.render(make_facts(), Network.STATUSPAGE, at=JANUARY)
    assert "·" not in draft.text and "EST" not in draft.text
    assert draft.time_tokens == {"next_update": "3:15 PM"}


def test_help_link_falls_back_to_the_organisation_then_to_none(drafter):
    facts = make_facts(PostKind.RESOLUTION, service_help_url=None)
    assert ORG.help_url is not None
    assert ORG.help_url in drafter.render(facts, Network.X, at=JANUARY).text
    no_links = replace(facts, organisation=ORG.model_copy(update={"help_url": None}))
    text = drafter.render(no_links, Network.X, at=JANUARY).text
    assert "https://" not in text
    assert "contact the help desk." in text


def test_text_typed_by_staff_is_not_run_as_a_template(drafter):
    draft = drafter.render(make_facts(summary="{{ 7 * 7 }} errors"), Network.X, at=JANUARY)
    assert "{{ 7 * 7 }} errors" in draft.text


# --- restamping at publish time ----------------------------------------------------------------


def test_restamp_puts_the_publish_time_in_place_of_the_draft_time(drafter):
    draft = drafter.render(make_facts(), Network.X, at=JANUARY)
    published = drafter.restamp(
        draft.text,
        draft.time_tokens,
        facts_zone=NEW_YORK,
        at=JANUARY + timedelta(minutes=12),
        next_update_minutes=30,
    )
    assert "Investigating · 2:57 PM EST" in published
    assert "Next update by 3:27 PM." in published
    assert "2:45" not in published and "3:15" not in published


def test_restamp_survives_an_edit_that_removed_a_time(drafter):
    draft = drafter.render(make_facts(), Network.X, at=JANUARY)
    edited = draft.text.replace("Next update by 3:15 PM.", "We'll post again soon.")
    edited = edited.replace("We're looking into it now.", "Our team is on it.")
    published = drafter.restamp(
        edited,
        draft.time_tokens,
        facts_zone=NEW_YORK,
        at=JANUARY + timedelta(minutes=5),
        next_update_minutes=30,
    )
    assert published == edited.replace("2:45 PM EST", "2:50 PM EST")


def test_restamp_leaves_a_text_without_its_times_alone(drafter):
    text = "Blackboard is back. Thanks for bearing with us (since 2:45 PM)."
    assert (
        drafter.restamp(
            text,
            {"stamp": "2:45 PM EST"},
            facts_zone=NEW_YORK,
            at=JULY,
            next_update_minutes=None,
        )
        == text
    )


def test_restamp_prefers_the_longer_token_and_keeps_other_times(drafter):
    # A promise 24 hours out has the same clock time as the stamp; "12:45 PM" is a stranger.
    text = "Update · 2:45 PM EST\nNext update by 2:45 PM. Earlier post: 12:45 PM."
    tokens = {"stamp": "2:45 PM EST", "next_update": "2:45 PM"}
    published = drafter.restamp(
        text, tokens, facts_zone=NEW_YORK, at=JANUARY + timedelta(minutes=1), next_update_minutes=60
    )
    assert published == "Update · 2:46 PM EST\nNext update by 3:46 PM. Earlier post: 12:45 PM."


def test_time_slack_covers_what_restamp_can_add(drafter):
    nine_59 = datetime(2025, 1, 15, 14, 59, tzinfo=UTC)  # 9:59 AM EST
    facts = make_facts(next_update_minutes=1)
    draft = drafter.render(facts, Network.X, at=nine_59)
    assert draft.time_tokens == {"stamp": "9:59 AM EST", "next_update": "10:00 AM"}
    slack = drafter.time_slack(draft.time_tokens, text=draft.text)
    published = drafter.restamp(
        draft.text,
        draft.time_tokens,
        facts_zone=NEW_YORK,
        at=nine_59 + timedelta(minutes=1),
        next_update_minutes=1,
    )
    assert "10:00 AM EST" in published and "10:01 AM" in published
    assert len(published) - len(draft.text) <= slack


def test_time_slack_counts_each_occurrence(drafter):
    tokens = {"stamp": "2:45 PM EST", "next_update": "3:15 PM"}
    # Each clock may gain a digit; a zone abbreviation may gain two (CET → CEST, +11 → +1030).
    assert drafter.time_slack(tokens) == (1 + 2) + 1
    assert drafter.time_slack(tokens, text="2:45 PM EST, 2:45 PM EST, by 3:15 PM") == 2 * 3 + 1
    assert drafter.time_slack(tokens, text="edited away") == 0
    assert drafter.time_slack({"stamp": "12:45 PM EST"}) == 2
    assert drafter.time_slack({"other": "9:05 AM"}) == 0


# --- templates that staff edit -----------------------------------------------------------------


def test_an_organisations_template_replaces_only_its_own_file(tmp_path):
    folder = write_template(tmp_path, "initial/x.j2", "{{ service }} is down · {{ stamp_time }}")
    drafter = Drafter(templates_dir=folder)
    draft = drafter.render(make_facts(), Network.X, at=JANUARY)
    assert draft.text == "Blackboard is down · 2:45 PM EST"
    assert draft.time_tokens == {"stamp": "2:45 PM EST"}
    built_in = drafter.render(make_facts(), Network.MASTODON, at=JANUARY)
    assert "#ITStatus" in built_in.text


def test_a_network_without_its_own_template_uses_default(drafter):
    webhook = drafter.render(make_facts(), Network.WEBHOOK, at=JANUARY)
    facebook = drafter.render(make_facts(), Network.FACEBOOK, at=JANUARY)
    assert webhook.text == facebook.text


def test_a_misspelled_variable_is_an_error_not_a_blank(tmp_path):
    folder = write_template(tmp_path, "initial/x.j2", "{{ servce }} is down")
    with pytest.raises(UndefinedError, match="servce"):
        Drafter(templates_dir=folder).render(make_facts(), Network.X, at=JANUARY)


def test_the_sandbox_refuses_attribute_escapes(tmp_path):
    folder = write_template(tmp_path, "initial/x.j2", "{{ ''.__class__.__mro__ }}")
    with pytest.raises(SecurityError):
        Drafter(templates_dir=folder).render(make_facts(), Network.X, at=JANUARY)


def test_a_missing_templates_folder_is_reported(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        Drafter(templates_dir=tmp_path / "nowhere")


def test_template_names_lists_every_template(drafter):
    names = drafter.template_names()
    for kind in PostKind:
        assert f"{kind.value}/default.j2" in names
        assert f"{kind.value}/x.j2" in names
    assert "_wording.j2" in names
    assert all(name.endswith(".j2") for name in names)


def test_all_clear_carries_the_resolve_forms_words(drafter):
    facts = make_facts(
        PostKind.RESOLUTION,
        what_users_see="Restart the Blackboard app",
        what_we_are_doing="The vendor replaced a faulty certificate",
    )
    draft = drafter.render(facts, Network.FACEBOOK, at=JANUARY)
    assert "Restart the Blackboard app." in draft.text
    assert "The vendor replaced a faulty certificate." in draft.text
    assert "Sign out and back in" not in draft.text
