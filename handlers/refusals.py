"""Log lines about refused requests, kept short and few: whoever can reach the port can send as
many bad requests as they like, and each must not cost the disk a body or a traceback.

``RefusalLog`` writes at most ``most`` lines a minute, then one line saying how many more were
refused. ``quiet_malformed_http`` does the same for requests aiohttp itself refuses (a repeated
Content-Type, a header line too long): aiohttp answers them 400 and logs each at ERROR with a
traceback, which is noise about the caller, not a fault of Crier's; and it keeps aiohttp's access
lines of refused (4xx) requests to the same limit.

    refusals = RefusalLog(log)
    refusals.refused("refused a Slack request from %s: %s", request.remote, "replayed")
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field

from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

MOST_A_MINUTE = 20
WINDOW = 60.0
SUMMARY = (
    "refused %d more like those in the last %.0f s (at most %d such lines are logged a window)"
)


@dataclass(eq=False)
class RefusalLog:
    """At most ``most`` refusal lines per ``window`` seconds; then, once the window is over,
    one line with how many more were refused (at once if the loop runs, else with the next
    refusal)."""

    logger: logging.Logger
    _: KW_ONLY
    most: int = MOST_A_MINUTE
    window: float = WINDOW
    clock: Callable[[], float] = time.monotonic
    summary: str = SUMMARY
    level: int = logging.WARNING
    _ends: float = field(default=float("-inf"), init=False)
    _logged: int = field(default=0, init=False)
    _more: int = field(default=0, init=False)
    _timer: asyncio.TimerHandle | None = field(default=None, init=False)

    def refused(self, message: str, *args: object) -> None:
        if self.admits():
            self.logger.log(self.level, message, *args)

    def admits(self) -> bool:
        """Whether one more refusal may have its line now; if not, it is counted for the sum-up."""
        now = self.clock()
        if now >= self._ends:
            self.sum_up()
            self._ends, self._logged = now + self.window, 0
        if self._logged < self.most:
            self._logged += 1
            return True
        self._more += 1
        if self._timer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no loop: the next refusal after the window sums up
                return False
            self._timer = loop.call_later(max(self._ends - now, 0.0), self.sum_up)
        return False

    def sum_up(self) -> None:
        """Say how many refusals went unlogged in the window that ended (if any did)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._more:
            self.logger.log(self.level, self.summary, self._more, self.window, self.most)
        self._more = 0


class _MalformedHttp(logging.Filter):
    """On aiohttp's server logger: a request aiohttp could not parse becomes one short,
    rate-limited line without a traceback; everything else passes as it is."""

    def __init__(self) -> None:
        super().__init__()
        self.refusals = RefusalLog(logging.getLogger("handlers.refusals"))

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if record.msg == "Unhandled exception" and isinstance(error, RequestPayloadError):
            # A body aiohttp cannot decode (a Content-Encoding it does not have), found as it
            # reads what a handler left unread: after the answer, whatever the handler did.
            cause = error.__cause__
            if isinstance(cause, HttpProcessingError) and cause.code < 500:
                reason = " ".join(str(cause.message).split())[:120]
                self.refusals.refused("refused a malformed HTTP request body: %s", reason)
                return False
        if not isinstance(error, HttpProcessingError) or error.code >= 500:
            return True
        if record.msg != "Error handling request from %s" or not isinstance(record.args, tuple):
            return True
        remote = record.args[0] if record.args else "?"
        reason = " ".join(str(error.message).split())[:120]
        self.refusals.refused("refused a malformed HTTP request from %s: %s", remote, reason)
        return False


_MALFORMED_HTTP = _MalformedHttp()


class RefusedAccess(logging.Filter):
    """On aiohttp's access logger: the line of a request answered 4xx (a forgery, junk, a
    scanner's guess at a path) is kept to the refusals' limit, as the refusal's own line is;
    without it every refused request still cost the disk an access line. Any other answer is
    logged as it is (and so is every line when the access log's format leaves out the status)."""

    def __init__(self) -> None:
        super().__init__()
        self.refusals = RefusalLog(
            logging.getLogger("aiohttp.access"),
            # Not "refused …", and at the access lines' level: the summary is about the access
            # log, not another refusal.
            summary="left %d more 4xx answers out of the access log in the last %.0f s (at "
            "most %d a window)",
            level=logging.INFO,
        )

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "response_status", None)  # aiohttp's %s, passed as ``extra``
        if not isinstance(status, int) or not 400 <= status < 500:
            return True
        return self.refusals.admits()


_REFUSED_ACCESS = RefusedAccess()


def quiet_malformed_http() -> None:
    """Install the filters on ``aiohttp.server`` and ``aiohttp.access`` (once, however often it
    is called: ``addFilter`` adds a filter the logger has not got)."""
    logging.getLogger("aiohttp.server").addFilter(_MALFORMED_HTTP)
    logging.getLogger("aiohttp.access").addFilter(_REFUSED_ACCESS)
