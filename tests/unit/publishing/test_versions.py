"""API versions: when each Graph and LinkedIn version ends, the defaults, and what Crier says
about a version that is about to end (``crier channels check``, the publishers' refusals)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import yaml

from bot.config import ChannelConfig, Network
from bot.publishing import graph, linkedin
from bot.publishing.versions import (
    CURRENT_GRAPH,
    CURRENT_LINKEDIN,
    graph_life,
    linkedin_life,
    version_line,
    version_warning,
)
from tests.conftest import make_config

FB_KEY = "channels.facebook.api_version"
LI_KEY = "channels.linkedin.api_version"


def test_the_defaults_are_the_current_versions() -> None:
    assert CURRENT_GRAPH == "v26.0" and CURRENT_LINKEDIN == "202607"
    assert graph.DEFAULT_VERSION == CURRENT_GRAPH
    assert graph.graph_version(ChannelConfig()) == "v26.0"
    assert linkedin.DEFAULT_VERSION == CURRENT_LINKEDIN


@pytest.mark.parametrize(
    ("version", "ends", "exact"),
    [
        ("v20.0", date(2026, 9, 24), True),  # published end dates
        ("v21.0", date(2027, 1, 21), True),
        ("21.0", date(2027, 1, 21), True),  # written without the v
        # Released 2026-07-29: Meta keeps a version at least two years, so it ends no earlier.
        ("v26.0", date(2028, 7, 29), False),
        # Not in the table: newer than v21.0, so it ends no earlier than v21.0 does.
        ("v24.0", date(2027, 1, 21), False),
        ("v27.0", date(2028, 7, 29), False),  # newer than the newest Crier knows
        ("v19.0", date(2026, 9, 24), False),  # older than v20.0, which has ended
    ],
)
def test_graph_versions_end_dates_known_or_estimated_early(
    version: str, ends: date, exact: bool
) -> None:
    life = graph_life(version, setting=FB_KEY)
    assert life is not None
    assert (life.ends, life.exact, life.setting) == (ends, exact, FB_KEY)
    assert life.exact or life.basis  # an estimate says how it was made


def test_linkedin_versions_live_at_least_twelve_months_from_their_month() -> None:
    life = linkedin_life("202607", setting=LI_KEY)
    assert life is not None and life.ends == date(2027, 7, 1) and not life.exact
    assert linkedin_life("202511.01", setting=LI_KEY).ends == date(2026, 11, 1)  # type: ignore[union-attr]
    assert linkedin_life("July", setting=LI_KEY) is None
    assert graph_life("latest", setting=FB_KEY) is None


def test_a_version_ending_within_sixty_days_is_warned_about_with_the_key_and_the_value() -> None:
    life = graph_life("v21.0", setting=FB_KEY)
    assert life is not None
    today = date(2026, 12, 2)
    warning = version_warning(life, today=today, warn_days=60)
    assert warning is not None
    assert "v21.0" in warning and "2027-01-21" in warning and "in 50 days" in warning
    assert FB_KEY in warning and "v26.0" in warning
    assert version_warning(life, today=date(2026, 11, 21), warn_days=60) is None  # 61 days
    assert "ends 2027-01-21" in version_line(life, today=date(2026, 6, 1))
    ended = version_warning(life, today=date(2027, 1, 21), warn_days=60)
    assert ended is not None and "ended" in ended and FB_KEY in ended


def test_an_estimated_end_says_it_is_an_estimate() -> None:
    life = graph_life("v24.0", setting=FB_KEY)
    assert life is not None
    warning = version_warning(life, today=date(2026, 12, 2), warn_days=60)
    assert warning is not None and "as early as" in warning and "v26.0" in warning


def test_linkedin_suggests_a_version_it_still_serves() -> None:
    life = linkedin_life("202601", setting=LI_KEY)
    assert life is not None and life.ends == date(2027, 1, 1)
    warning = version_warning(life, today=date(2026, 12, 2), warn_days=60)
    assert warning is not None and LI_KEY in warning and "202607" in warning
    # Years on, the newest Crier knows has ended too: last month's version is suggested.
    later = linkedin_life("202607", setting=LI_KEY)
    assert later is not None
    said = version_warning(later, today=date(2028, 3, 10), warn_days=60)
    assert said is not None and "202802" in said


def test_linkedin_426_names_the_key_and_a_version_to_use() -> None:
    from multidict import CIMultiDict, CIMultiDictProxy

    from bot.publishing.http import Answer

    answer = Answer(
        426,
        CIMultiDictProxy(CIMultiDict()),
        {
            "status": 426,
            "code": "NONEXISTENT_VERSION",
            "message": "Requested version 202401 is not active",
        },
    )
    error = linkedin.linkedin_refusal(
        answer, version="202401", now=datetime(2026, 12, 2, tzinfo=UTC)
    )
    assert not error.transient
    assert LI_KEY in error.message and "202401" in error.message and "202607" in error.message


# ----- the version as a person writes it in crier.yml -------------------------------------------


def test_a_version_written_unquoted_in_crier_yml_is_taken_as_written() -> None:
    """The warning says "set channels.linkedin.api_version to 202607": typed as is, YAML reads a
    number (and 26.0 a float), which Crier takes rather than refusing to start."""
    raw = yaml.safe_load(
        "channels: {linkedin: {api_version: 202607}, facebook: {api_version: 26.0},"
        " instagram: {api_version: 26}}"
    )
    config = make_config(channels=raw["channels"], services=[{"name": "VPN"}])
    assert config.channels[Network.LINKEDIN].api_version == "202607"
    assert graph.graph_version(config.channels[Network.FACEBOOK]) == "v26.0"
    assert graph.graph_version(config.channels[Network.INSTAGRAM]) == "v26.0"
    life = linkedin_life(config.channels[Network.LINKEDIN].api_version or "", setting=LI_KEY)
    assert life is not None and life.ends == date(2027, 7, 1)


@pytest.mark.parametrize("written", ["v26.0", "26.0", "v26", "26", " v26.0 "])
def test_graph_is_called_with_the_version_in_the_form_its_path_takes(written: str) -> None:
    # Graph answers "Unknown path components" to /v26/: the path needs v26.0.
    assert graph.graph_version(ChannelConfig(api_version=written)) == "v26.0"
    assert graph.graph_version(ChannelConfig(api_version="latest")) == "latest"


def test_a_426_before_crier_expected_it_never_suggests_the_version_that_failed() -> None:
    """LinkedIn serves a version *about* a year: when it switches 202607 off before the
    estimate, the setting to change is named with where to find a served version, not 202607."""
    from multidict import CIMultiDict, CIMultiDictProxy

    from bot.publishing.http import Answer

    body = {"status": 426, "code": "NONEXISTENT_VERSION", "message": "Requested version 202607"}
    answer = Answer(426, CIMultiDictProxy(CIMultiDict()), body)
    error = linkedin.linkedin_refusal(
        answer, version="202607", now=datetime(2027, 3, 1, tzinfo=UTC)
    )
    assert LI_KEY in error.message and "to 202607" not in error.message
    assert "to a newer version" in error.message
    assert "learn.microsoft.com/linkedin/marketing/versioning" in error.message
