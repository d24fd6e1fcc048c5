"""Secrets never leave Crier: every configured secret is masked wherever text could carry it.

Secrets are held as ``SecretStr``, so Crier's own code never prints them; but a network may echo
a token back in an error ("invalid token xoxb-…"), and that text travels into a delivery's
``last_error``, the audit log, the thread, the log and what the CLI prints. Three nets catch it:

- the HTTP client masks every answer before anyone reads it; ``http_client`` is the one place
  that builds it, and it cannot be built without a redactor;
- a log-record factory masks log lines and tracebacks, whoever wrote them (defence in depth);
- every ``crier`` command runs with ``sys.stdout`` and ``sys.stderr`` masked
  (``masked_output``), so nothing it prints, tracebacks included, can carry a secret::

    redact = Redactor.from_settings(settings, NetworkCredentials())
    redact("401: token xoxb-123 is invalid")  # "401: token [redacted] is invalid"
    http = http_client(settings, credentials)
    redact_logs(redact)
    with masked_output(redact):
        ...
"""

from __future__ import annotations

import io
import logging
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from typing import Any, TextIO, cast
from urllib.parse import unquote, urlsplit

from pydantic import SecretStr
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.publishing.credentials import NetworkCredentials
from bot.publishing.http import HttpClient
from bot.settings import URL_PASSWORD, Settings

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
        except (ArgumentError, ValueError):  # not a URL, or its port is not a number
            found = URL_PASSWORD.search(settings.database_url)
            password = found.group(2) if found else None
        passwords = [str(password)] if password else []
        if settings.smtp_url is not None:  # the relay's password alone, as a refusal may echo it
            relay_password = urlsplit(settings.smtp_url.get_secret_value()).password
            passwords += [relay_password, unquote(relay_password)] if relay_password else []
        return cls([*secrets, *passwords])

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return text

    def unfinished(self, text: str) -> int:
        """How many characters at the end of ``text`` could be the start of a secret."""
        longest = 0
        for secret in self.secrets:
            for size in range(min(len(secret) - 1, len(text)), longest, -1):
                if text.endswith(secret[:size]):
                    longest = size
                    break
        return longest


def http_client(settings: Settings, credentials: NetworkCredentials) -> HttpClient:
    """The HTTP client Crier talks to the networks with (serve, ``crier worker``, ``crier
    channels check``): every answer is masked of every configured secret before anyone reads
    it, so an echoed token never reaches an error, the database, chat or the terminal."""
    return HttpClient(redact=Redactor.from_settings(settings, credentials))


class MaskedStream(io.TextIOBase):
    """A text stream that masks secrets in what is written to it before passing it on.

    Whole lines at a time: a secret written in two pieces (``print`` writes the text, then the
    newline) is masked once its line is complete. ``flush`` passes on the rest of the line but
    for an end that could be the start of a secret, which waits for what follows it."""

    def __init__(self, stream: TextIO, redact: Redactor) -> None:
        super().__init__()
        self._stream, self._redact = stream, redact
        self._pending = ""
        self._lock = threading.Lock()  # serve prints and logs from several threads

    def write(self, text: str) -> int:
        with self._lock:
            self._pending += text
            if "\n" in self._pending:
                lines, _, self._pending = self._pending.rpartition("\n")
                self._stream.write(self._redact(lines + "\n"))
        return len(text)

    def flush(self, *, everything: bool = False) -> None:
        """With ``everything``, pass on all that is held back: the stream is being given back."""
        with self._lock:
            held = 0 if everything else self._redact.unfinished(self._pending)
            ready = self._pending[: len(self._pending) - held]
            self._pending = self._pending[len(ready) :]
            if ready:
                self._stream.write(self._redact(ready))
        self._stream.flush()

    def close(self) -> None:
        """Nothing to close: the stream it writes to is not its own (``io``'s ``__del__`` calls
        this, perhaps after that stream is gone)."""

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return self._stream.isatty()

    def fileno(self) -> int:
        return self._stream.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self._stream.encoding

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return self._stream.errors


@contextmanager
def masked_output(redact: Redactor) -> Iterator[None]:
    """``sys.stdout`` and ``sys.stderr`` masked while it lasts: what a command prints, what its
    log handlers write to them, and any traceback printed there."""
    out, err = MaskedStream(sys.stdout, redact), MaskedStream(sys.stderr, redact)
    try:
        with redirect_stdout(cast(TextIO, out)), redirect_stderr(cast(TextIO, err)):
            yield
    finally:
        out.flush(everything=True)
        err.flush(everything=True)


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


def mask(text: str) -> str:
    """``text`` masked of the secrets this process masks in its log (``redact_logs``). For code
    that shortens text it did not write: mask first, then cut, or a cut secret escapes."""
    return _log_redactor(text) if _log_redactor is not None else text


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
