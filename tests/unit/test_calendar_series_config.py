"""crier.yml's ``calendar_series``: each rule checked with dateutil when crier.yml is loaded, its
channels and its bank (a folder relative to crier.yml, or the posts themselves) checked too, and
every problem named with its series."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from bot.config import STARTER_CONFIG, ConfigError, load_config, problems
from tests.conftest import make_config

MWF_10 = "FREQ=WEEKLY;BYDAY=MO,WE,FR;BYHOUR=10;BYMINUTE=0"


def refusal(**series: Any) -> str:
    tips = {"name": "Tech tips", "rule": MWF_10, "channels": ["x"], "posts": ["Lock it."]}
    with pytest.raises(ValidationError) as refused:
        make_config(calendar_series=[{**tips, **series}])
    return problems(refused.value)


@pytest.mark.parametrize(
    ("series", "said"),
    [
        pytest.param(
            {"rule": "FREQ=WEEKLY;BYDAY=MO,XX;BYHOUR=10"},
            "series 'Tech tips': rule 'FREQ=WEEKLY;BYDAY=MO,XX;BYHOUR=10': not an iCalendar "
            "RRULE: invalid 'BYDAY': MO,XX",
            id="not-a-rule",
        ),
        pytest.param({"rule": "BYDAY=MO;BYHOUR=10"}, "FREQ is missing", id="no-freq"),
        pytest.param({"rule": "FREQ=WEEKLY;BYDAY=MO"}, "say at what time", id="no-time"),
        pytest.param(
            {"rule": "FREQ=MINUTELY;INTERVAL=30"},
            "it repeats every 30 minute(s): a series posts at most once an hour",
            id="every-30-minutes",
        ),
        pytest.param(
            {"rule": "FREQ=DAILY;BYHOUR=10;BYMINUTE=0,15"}, "every 15 minute(s)", id="twice-hourly"
        ),
        pytest.param({"rule": "FREQ=DAILY;BYHOUR=10;COUNT=0"}, "it never happens", id="never"),
        pytest.param(
            {"rule": "FREQ=DAILY;BYHOUR=10;UNTIL=20270101T000000Z"}, "without a Z", id="utc-until"
        ),
        pytest.param(
            {"rule": "DTSTART:20260101T000000\nRRULE:FREQ=DAILY;BYHOUR=10"},
            "give one RRULE line",
            id="dtstart",
        ),
        pytest.param({"posts": []}, "series 'Tech tips': its bank has no posts", id="empty-bank"),
        pytest.param({"posts": [""]}, "at least 1 character", id="empty-post"),
        pytest.param(
            {"channels": ["statuspage"]}, "a status page is for incidents only", id="statuspage"
        ),
        pytest.param({"channels": ["site"]}, "'Tech tips' posts to 'site'", id="site"),
        pytest.param(
            {"channels": ["instagram"]},  # off in the starter crier.yml
            "'Tech tips' posts to 'instagram', which is not enabled under 'channels'",
            id="disabled-channel",
        ),
        pytest.param({"channels": []}, "at least 1 item", id="no-channel"),
        pytest.param({"bank": "tips/"}, "give 'bank' (a folder) or 'posts', not both", id="both"),
    ],
)
def test_a_series_crier_yml_cannot_run_is_refused_at_load(
    series: dict[str, Any], said: str
) -> None:
    assert said in refusal(**series)


def test_two_series_of_one_name_are_refused() -> None:
    tips = {"name": "Tech tips", "rule": MWF_10, "channels": ["x"], "posts": ["Lock it."]}
    with pytest.raises(ValidationError, match="'Tech tips' and 'tech TIPS' name the same series"):
        make_config(calendar_series=[tips, {**tips, "name": "tech TIPS"}])


def test_hourly_is_as_often_as_a_series_goes() -> None:
    [series] = make_config(
        calendar_series=[
            {"name": "Status", "rule": "FREQ=HOURLY", "channels": ["x"], "posts": ["Up."]}
        ]
    ).calendar_series
    assert series.texts == ("Up.",)


def write_crier_yml(folder: Path, **series: Any) -> Path:
    raw = yaml.safe_load(STARTER_CONFIG.read_text())
    raw["calendar_series"] = [{"name": "Tech tips", "rule": MWF_10, "channels": ["x"], **series}]
    path = folder / "crier.yml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def test_a_bank_folder_next_to_crier_yml_is_read_in_the_order_of_its_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bank = tmp_path / "tips"
    bank.mkdir()
    (bank / "02-passphrase.md").write_text("**Tip:** a long passphrase beats a password.\n")
    (bank / "01-lock.txt").write_text("  Lock your screen when you step away.\n\n")
    (bank / "03-phishing.yml").write_text("text: Report phishing with the Report button.\n")
    (bank / ".DS_Store").write_bytes(b"\x00\x01")  # hidden: not a post
    monkeypatch.chdir("/")  # relative to crier.yml, not to where Crier runs
    [series] = load_config(write_crier_yml(tmp_path, bank="tips/")).calendar_series
    assert series.texts == (
        "Lock your screen when you step away.",
        "**Tip:** a long passphrase beats a password.",
        "Report phishing with the Report button.",
    )


@pytest.mark.parametrize(
    ("files", "said"),
    [
        pytest.param({}, "its bank has no posts", id="empty-folder"),
        pytest.param({"01.md": "  \n"}, "01.md is empty", id="empty-file"),
        pytest.param({"01.yml": "title: no text\n"}, "01.yml: expected the post under 'text:'"),
        pytest.param({"01.docx": "…"}, "holds 01.docx: only .md, .txt, .yml, .yaml files"),
        pytest.param({"01.md": "a" * 3001}, "01.md has 3001 characters (at most 3000)"),
    ],
)
def test_a_bank_folder_crier_cannot_use_is_refused_at_load(
    tmp_path: Path, files: dict[str, str], said: str
) -> None:
    bank = tmp_path / "tips"
    bank.mkdir()
    for name, text in files.items():
        (bank / name).write_text(text)
    with pytest.raises(ConfigError) as refused:
        load_config(write_crier_yml(tmp_path, bank="tips"))
    assert "calendar_series.0" in str(refused.value) and "series 'Tech tips'" in str(refused.value)
    assert said in str(refused.value)


def test_a_missing_bank_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"bank '.*/nowhere' is not a folder"):
        load_config(write_crier_yml(tmp_path, bank="nowhere/"))


def test_a_bank_post_too_long_for_a_channel_is_refused_naming_its_file(tmp_path: Path) -> None:
    """A calendar post goes out as written: a tip too long for X is refused when crier.yml is
    loaded, not approved and then refused by X at 10:00 on Monday."""
    bank = tmp_path / "tips"
    bank.mkdir()
    (bank / "01-lock.md").write_text("Lock your screen when you step away.")
    (bank / "02-long.md").write_text("Passphrases. " * 30)  # 390 characters
    with pytest.raises(ConfigError) as refused:
        load_config(write_crier_yml(tmp_path, bank="tips"))
    said = str(refused.value)
    assert "calendar_series: 'Tech tips', 02-long.md: X: 389/280 weighted characters" in said
    assert "01-lock.md" not in said


def test_a_post_too_long_for_bluesky_is_refused_naming_its_place() -> None:
    refused = refusal(channels=["bluesky"], posts=["Short.", "é" * 301])
    assert "'Tech tips', posts[1]: Bluesky: 301/300 graphemes: 1 over Bluesky's limit" in refused


def test_a_one_off_calendar_post_too_long_for_its_channel_is_refused() -> None:
    with pytest.raises(ValidationError) as refused:
        make_config(calendar=[{"text": "x" * 600, "at": "2027-01-04T10:00", "channels": ["x"]}])
    assert "calendar[0]: X: 600/280 weighted characters" in problems(refused.value)
