"""What the simulated Slack workspace records: each Web API call with its answer, and each POST
to a response_url, in order, for tests to look at and the sandbox page to show."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from handlers.sandbox.workspace_state import JsonDict


@dataclass
class RecordedCall:
    """One Web API request and the answer it got."""

    method: str
    args: JsonDict
    headers: dict[str, str]
    status: int = 200
    response: JsonDict = field(default_factory=dict)
    at: float = field(default_factory=time.time)

    @property
    def ok(self) -> bool:
        """Whether Slack said ``"ok": true``."""
        return self.status == 200 and bool(self.response.get("ok"))


@dataclass
class RecordedResponse:
    """One POST to a response_url."""

    url: str
    body: JsonDict
    headers: dict[str, str]
    status: int = 200
    at: float = field(default_factory=time.time)


WorkspaceEvent = RecordedCall | RecordedResponse
