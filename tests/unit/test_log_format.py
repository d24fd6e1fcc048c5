"""``CRIER_LOG_FORMAT=json``: one JSON object a line, masked of every configured secret."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.log_format import JsonLogFormatter, log_formatter
from bot.redaction import MASK, Redactor, redact_logs

ROOT = Path(__file__).resolve().parents[2]
SECRET = "xoxb-json-log-secret-8d41c2"


@pytest.fixture
def json_log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger of its own writing JSON lines to a buffer."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(log_formatter("json"))
    logger = logging.getLogger("crier.test.json")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    yield logger, buffer
    logger.removeHandler(handler)


def lines(buffer: io.StringIO) -> list[dict[str, str]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_a_record_is_one_json_object_on_one_line(
    json_log: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, buffer = json_log
    logger.warning("Slack said %s\nand then %s", "ratelimited", "café")
    (entry,) = lines(buffer)
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "crier.test.json"
    assert entry["message"] == "Slack said ratelimited\nand then café"
    assert entry["time"].endswith("Z")
    when = datetime.fromisoformat(entry["time"].replace("Z", "+00:00"))
    assert abs((datetime.now(UTC) - when).total_seconds()) < 60
    assert "exc_info" not in entry


def test_a_traceback_is_text_in_exc_info(json_log: tuple[logging.Logger, io.StringIO]) -> None:
    logger, buffer = json_log
    try:
        raise RuntimeError("the network went away")
    except RuntimeError:
        logger.exception("publishing failed")
    (entry,) = lines(buffer)
    assert entry["message"] == "publishing failed"
    assert entry["exc_info"].startswith("Traceback (most recent call last):")
    assert "RuntimeError: the network went away" in entry["exc_info"]


def test_a_configured_secret_is_masked_in_json(
    json_log: tuple[logging.Logger, io.StringIO],
) -> None:
    redact_logs(Redactor([SECRET]))  # what every crier command does first
    logger, buffer = json_log
    logger.warning("invalid token %s", SECRET)
    try:
        raise PermissionError(f"401: {SECRET} is not valid")
    except PermissionError:
        logger.exception("refused")
    assert SECRET not in buffer.getvalue()
    message, failure = lines(buffer)
    assert message["message"] == f"invalid token {MASK}"
    assert f"PermissionError: 401: {MASK} is not valid" in failure["exc_info"]


def test_text_stays_the_default() -> None:
    assert not isinstance(log_formatter("text"), JsonLogFormatter)


# What ``crier`` runs, in a process of its own: pytest's log capture holds the root logger here.
COMMAND = """
import argparse, logging, sys
from bot.cli import run

def command(args, settings):
    token = settings.slack_bot_token.get_secret_value()
    logging.getLogger("crier.test").warning("Slack answered: invalid_auth for %s", token)
    try:
        raise RuntimeError("refused " + token)
    except RuntimeError:
        logging.getLogger("crier.test").exception("it failed")
    return 0

sys.exit(run(argparse.Namespace(run=command)))
"""


def run_crier(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CRIER_", "SLACK_"))},
        "PYTHONPATH": str(ROOT),
        "CRIER_DATABASE_URL": f"sqlite:///{tmp_path / 'crier.db'}",
        "SLACK_BOT_TOKEN": SECRET,
        **env,
    }
    return subprocess.run(
        [sys.executable, "-c", COMMAND],
        env=environment,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def stderr_of(tmp_path: Path, **env: str) -> str:
    done = run_crier(tmp_path, **env)
    assert done.returncode == 0, done.stderr
    return done.stderr


def test_crier_logs_json_when_asked_and_masks_the_token(tmp_path: Path) -> None:
    err = stderr_of(tmp_path, CRIER_LOG_FORMAT="json")
    assert SECRET not in err
    warning, failure = (json.loads(line) for line in err.splitlines())
    assert warning["logger"] == "crier.test"
    assert warning["message"] == f"Slack answered: invalid_auth for {MASK}"
    assert failure["level"] == "ERROR"
    assert f"RuntimeError: refused {MASK}" in failure["exc_info"]


def test_crier_logs_text_by_default(tmp_path: Path) -> None:
    err = stderr_of(tmp_path)
    assert SECRET not in err
    assert f"WARNING crier.test: Slack answered: invalid_auth for {MASK}" in err
    assert not err.startswith("{")


def test_an_unknown_log_format_stops_start_up_naming_the_variable(tmp_path: Path) -> None:
    done = run_crier(tmp_path, CRIER_LOG_FORMAT="yaml")
    assert done.returncode == 2
    assert done.stderr.startswith("crier: cannot start: CRIER_LOG_FORMAT:"), done.stderr
