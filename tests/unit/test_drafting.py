"""Drafting: templates render each network's post, with the time it is published."""

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from jinja2.exceptions import SecurityError, UndefinedError

from bot.config import Network, Organisation, Severity
from bot.drafting.drafter import Drafter, PostFacts
from bot.drafting.post_times import NEXT_UPDATE, TIME, fill_times, widest
from bot.drafting.textrules import check_text
from bot.storage.models import IncidentStatus, PostKind

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


# --- rendering ---------------------------------------------------------------------------------


def published(text: str, at: datetime = JANUARY, minutes: int | None = 30) -> str:
    return fill_times(text, zone=NEW_YORK, at=at, next_update_minutes=minutes)


def test_first_post_on_x_says_we_know_with_the_time_and_the_next_update(drafter):
    draft = drafter.render(make_facts(), Network.X)
    assert draft.text.startswith(f"Investigating · {TIME}\n")
    assert f"Next update by {NEXT_UPDATE}." in draft.text
    text = published(draft.text)
    assert text.startswith("Investigating · 2:45 PM EST\n")
    assert "Blackboard: cannot log in." in text
    assert "Next update by 3:15 PM." in text
    assert HELP in text
    assert draft.notes == ()


def test_summer_post_says_edt(drafter):
    draft = drafter.render(make_facts(), Network.MASTODON)
    assert "Investigating · 2:45 PM EDT" in published(draft.text, JULY)


@pytest.mark.parametrize(
    ("status", "wording"),
    [
        (IncidentStatus.INVESTIGATING, "still investigating"),
        (IncidentStatus.IDENTIFIED, "found the cause"),
        (IncidentStatus.MONITORING, "monitoring"),
    ],
)
def test_update_says_what_changed(drafter, status, wording):
    draft = drafter.render(make_facts(PostKind.UPDATE, status=status), Network.X)
    assert published(draft.text).startswith("Update · 2:45 PM EST\n")
    assert wording in draft.text


def test_all_clear_gives_next_steps_and_promises_nothing(drafter):
    facts = make_facts(PostKind.RESOLUTION, what_users_see="", what_we_are_doing="")
    draft = drafter.render(facts, Network.FACEBOOK)
    assert published(draft.text, minutes=None).startswith("Resolved · 2:45 PM EST\n")
    assert "working normally again" in draft.text
    assert "Sign out and back in" in draft.text
    assert HELP in draft.text
    assert NEXT_UPDATE not in draft.text and "update by" not in draft.text


@pytest.mark.parametrize("kind", list(PostKind))
@pytest.mark.parametrize("network", list(Network))
def test_every_kind_fits_every_network_with_typical_facts(drafter, kind, network):
    for summary in ("cannot log in", LONG_SUMMARY):
        draft = drafter.render(make_facts(kind, summary=summary), network)
        check = check_text(network, widest(draft.text, NEW_YORK))
        assert check.ok, f"{kind}/{network}: {check.problem}\n{draft.text}"
        assert "  " not in draft.text and "\n\n\n" not in draft.text


def test_a_long_summary_keeps_the_summary_whole_and_says_what_gave_way(drafter):
    facts = make_facts(summary=LONG_SUMMARY)
    short = drafter.render(facts, Network.X)
    assert LONG_SUMMARY in short.text
    assert "Students see an error page after entering their password." in short.text
    assert short.notes == ("left out optional wording", "left out the help link")
    assert check_text(Network.X, widest(short.text, NEW_YORK)).ok
    long = drafter.render(facts, Network.FACEBOOK)
    assert "Students see an error page after entering their password." in long.text
    assert long.notes == ()


def test_the_updates_news_is_kept_or_cut_with_a_note_never_dropped_silently(drafter):
    doing = "We're restoring the sign-in service from last night's backup. " * 6
    facts = make_facts(PostKind.UPDATE, what_we_are_doing=doing)
    for network in (Network.X, Network.BLUESKY):
        draft = drafter.render(facts, network)
        assert "We're restoring the sign-in service" in draft.text, draft.text
        assert "shortened what we are doing" in draft.notes
        assert check_text(network, widest(draft.text, NEW_YORK)).ok


def test_a_brief_all_clear_stays_coherent(drafter):
    help_url = "https://it.northfield.example.edu/help/" + "a" * 150
    facts = make_facts(
        PostKind.RESOLUTION, what_users_see="", service_help_url=help_url, summary=LONG_SUMMARY
    )
    for network in (Network.X, Network.BLUESKY):
        text = drafter.render(facts, network).text
        if "Still having trouble?" not in text or "Sign out" not in text:
            assert "If that doesn't help" not in text, text


def test_a_long_help_link_is_left_out_on_bluesky_not_the_summary(drafter):
    help_url = "https://it.northfield.example.edu/help/services/" + "b" * 120
    draft = drafter.render(make_facts(service_help_url=help_url), Network.BLUESKY)
    assert help_url not in draft.text
    assert "Blackboard: cannot log in." in draft.text
    assert "left out the help link" in draft.notes
    assert help_url in drafter.render(make_facts(service_help_url=help_url), Network.X).text


def test_a_cut_ends_between_words_with_an_ellipsis(drafter):
    summary = "students cannot open their course pages " + "or submit assignments " * 8
    draft = drafter.render(make_facts(summary=summary.strip()), Network.X)
    line = draft.text.splitlines()[1]
    assert "shortened the summary" in draft.notes
    cut = line.split(": ", 1)[1].split("…")[0]
    assert summary.startswith(cut) and summary[len(cut)] == " "


def test_chinese_is_cut_between_ideographs(drafter):
    summary = "学生无法登录课程平台" * 12
    draft = drafter.render(make_facts(summary=summary, what_users_see=""), Network.X)
    assert "…" in draft.text
    assert check_text(Network.X, widest(draft.text, NEW_YORK)).ok


def test_a_typed_placeholder_is_refused(drafter):
    from bot.errors import InvalidInput

    with pytest.raises(InvalidInput, match="write the time out"):
        drafter.render(make_facts(summary="down since {time}"), Network.X)


def test_statuspage_body_is_prose_without_a_stamp(drafter):
    draft = drafter.render(make_facts(), Network.STATUSPAGE)
    assert "·" not in draft.text and TIME not in draft.text
    assert "by 3:15 PM" in published(draft.text)


def test_help_link_falls_back_to_the_organisation_then_to_none(drafter):
    facts = make_facts(PostKind.RESOLUTION, service_help_url=None)
    assert ORG.help_url is not None
    assert ORG.help_url in drafter.render(facts, Network.X).text
    no_links = replace(facts, organisation=ORG.model_copy(update={"help_url": None}))
    text = drafter.render(no_links, Network.X).text
    assert "https://" not in text
    assert "contact the help desk." in text


def test_text_typed_by_staff_is_not_run_as_a_template(drafter):
    draft = drafter.render(make_facts(summary="{{ 7 * 7 }} errors"), Network.X)
    assert "{{ 7 * 7 }} errors" in draft.text


# --- templates that staff edit -----------------------------------------------------------------


def test_an_organisations_template_replaces_only_its_own_file(tmp_path):
    folder = write_template(tmp_path, "initial/x.j2", "{{ service }} is down · {{ stamp_time }}")
    drafter = Drafter(templates_dir=folder)
    draft = drafter.render(make_facts(), Network.X)
    assert published(draft.text) == "Blackboard is down · 2:45 PM EST"
    built_in = drafter.render(make_facts(), Network.MASTODON)
    assert "#ITStatus" in built_in.text


def test_a_network_without_its_own_template_uses_default(drafter):
    webhook = drafter.render(make_facts(), Network.WEBHOOK)
    facebook = drafter.render(make_facts(), Network.FACEBOOK)
    assert webhook.text == facebook.text


def test_a_misspelled_variable_is_an_error_not_a_blank(tmp_path):
    folder = write_template(tmp_path, "initial/x.j2", "{{ servce }} is down")
    with pytest.raises(UndefinedError, match="servce"):
        Drafter(templates_dir=folder).render(make_facts(), Network.X)


def test_the_sandbox_refuses_attribute_escapes(tmp_path):
    folder = write_template(tmp_path, "initial/x.j2", "{{ ''.__class__.__mro__ }}")
    with pytest.raises(SecurityError):
        Drafter(templates_dir=folder).render(make_facts(), Network.X)


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
    draft = drafter.render(facts, Network.FACEBOOK)
    assert "Restart the Blackboard app." in draft.text
    assert "The vendor replaced a faulty certificate." in draft.text
    assert "Sign out and back in" not in draft.text
