"""Secrets never leave Crier: every configured secret is masked wherever text could carry it.

Secrets are held as ``SecretStr``, so Crier's own code never prints them; but a network may echo
a token back in an error ("invalid token xoxb-…"), and that text travels into a delivery's
``last_error``, the audit log, the thread and the log. Two nets catch it: the HTTP client masks
every answer before anyone reads it, and (defence in depth) a log-record factory masks log lines
and tracebacks, whoever wrote them::

    redact = Redactor.from_settings(settings, NetworkCredentials())
    redact("401: token xoxb-123 is invalid")  # "401: token [redacted] is invalid"
    redact_logs(redact)
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from pydantic import SecretStr
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.config import Settings
from bot.publishing.credentials import NetworkCredentials

MASK = "[redacted]"
MIN_LENGTH = 6  # a shorter "secret" would mask ordinary words; none of the real ones is


class Redactor:
    """Masks a fixed set of secret strings in any text."""

    def __init__(self, secrets: Iterable[str]) -> None:
        # Longest first, so a secret containing another is masked whole.
        found = {s for s in secrets if len(s) >= MIN_LENGTH}
        self.secrets: tuple[str, ...] = tuple(sorted(found, key=len, reverse=True))

    @classmethod
    def from_settings(cls, settings: Settings, credentials: NetworkCredentials) -> Redactor:
        """Every secret Crier is configured with: Slack's, Teams', the networks', the database's."""
        values: list[Any] = [*dict(settings).values(), *dict(credentials).values()]
        secrets = [v.get_secret_value() for v in values if isinstance(v, SecretStr)]
        try:
            password = make_url(settings.database_url).password
        except ArgumentError:
            password = None
        return cls([*secrets, *([str(password)] if password else [])])

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text


_log_redactor: Redactor | None = None


def redact_logs(redactor: Redactor) -> None:
    """Mask ``redactor``'s secrets in every log record from now on, in this process.

    A record factory, not a handler filter, so it holds whichever handlers are configured and
    whoever logs (aiohttp, slack_sdk, bolt, botbuilder); repeated calls add secrets.
    """
    global _log_redactor
    if _log_redactor is None:
        logging.setLogRecordFactory(_masking(logging.getLogRecordFactory()))
        _log_redactor = redactor
    else:
        _log_redactor = Redactor([*_log_redactor.secrets, *redactor.secrets])


def _masking(make_record: Any) -> Any:
    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = make_record(*args, **kwargs)
        redact = _log_redactor
        if redact is None or not redact.secrets:
            return record
        try:
            message = record.getMessage()
        except Exception:  # a malformed log call: logging reports it as usual when emitting
            return record
        if redact(message) != message:
            record.msg, record.args = redact(message), None
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            if redact(text) != text:
                record.exc_text = redact(text)  # formatters print exc_text when it is set
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return record

    return factory
