"""Errors the core raises for people: every message is fit to show to the person who acted."""

from __future__ import annotations

# What every chat says of a failure that is not the person's, whose details are in the log.
OOPS = (
    "Something went wrong on Crier's side and nothing was published. "
    "The details are in Crier's log; please try again."
)


class CrierError(Exception):
    """Base: ``message`` is shown to the person concerned."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(CrierError):
    pass


class NotAllowed(CrierError):
    pass


class Conflict(CrierError):
    """The thing changed under the person: already decided, an older revision, resolved."""


class InvalidInput(CrierError):
    """Bad input; ``fields`` maps a field name to what is wrong with it."""

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.fields = fields or {}


class TemplateProblem(CrierError):
    """A template staff edited could not draft a post: a mistake, or a reach outside the sandbox."""
