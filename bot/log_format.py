"""How Crier's log lines look: text for a person at a terminal, or one JSON object per line for
a log collector (``CRIER_LOG_FORMAT=json``)::

    logging.basicConfig(level="INFO", handlers=[log_handler("json")])
    logging.getLogger("bot.core").warning("Slack said %s", "ratelimited")
    # {"time": "2026-01-15T19:45:00.123Z", "level": "WARNING", "logger": "bot.core",
    #  "message": "Slack said ratelimited"}

Secrets are masked before a record reaches any formatter (``bot.redaction.redact_logs`` replaces
the record's message and traceback text), so both formats print the masked text. The JSON
formatter is the standard library's, not python-json-logger's: that one formats the traceback
again from ``exc_info`` instead of using the record's ``exc_text``, which would print the
unmasked traceback.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any, Literal

LogFormat = Literal["text", "json"]
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonLogFormatter(logging.Formatter):
    """One JSON object per record, on one line: time (ISO 8601, UTC), level, logger, message,
    and ``exc_info`` (the traceback as text) and ``stack_info`` when the record has them."""

    converter = staticmethod(time.gmtime)
    default_time_format = "%Y-%m-%dT%H:%M:%S"
    default_msec_format = "%s.%03dZ"

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            # The masking record factory sets exc_text when the traceback held a secret.
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc_info"] = record.exc_text
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        # Newlines are escaped, so a record is one line. Other characters stay as they are,
        # so the masked stderr (bot.redaction.masked_output) still recognises a secret.
        return json.dumps(entry, ensure_ascii=False, default=str)


def log_formatter(log_format: LogFormat) -> logging.Formatter:
    """The formatter for ``CRIER_LOG_FORMAT``: ``"text"`` (the default) or ``"json"``."""
    return JsonLogFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)


def log_handler(log_format: LogFormat) -> logging.Handler:
    """A handler writing to ``sys.stderr`` as it is now (``crier`` masks it first), in
    ``log_format``."""
    handler = logging.StreamHandler()
    handler.setFormatter(log_formatter(log_format))
    return handler
