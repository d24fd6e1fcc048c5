"""The API versions Crier calls, and when each network switches them off.

Facebook and Instagram share Meta's Graph API, versioned in the path (``/v26.0/…``); LinkedIn
takes ``Linkedin-Version: YYYYMM``. Both switch old versions off: LinkedIn then answers 426, Graph
refuses or quietly serves another version. ``crier channels check`` and the daily health check
warn ``health_check.version_warning_days`` (60) before the version in crier.yml ends, naming the
key to change and the version to change it to.

The dates, checked 2026-12-02 against the networks' documentation (the project's PLATFORMS
notes):

- Graph: v20.0 ended 2026-09-24; v21.0 ends 2027-01-21; v26.0, the current one, came out
  2026-07-29. Meta keeps each version at least two years. For a version with no published end
  Crier estimates, erring early so a warning comes too soon rather than too late: two years
  after its release when that is known, else no later than the end of the newest older version
  whose end Crier knows (versions end in order).
- LinkedIn: a version a month (202607 current mid-2026), each served at least 12 months from
  its month; Crier takes the first day of the same month a year later as its end.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from bot.ports import ApiVersionLife

GRAPH_API = "Graph API"
LINKEDIN_API = "LinkedIn API"
CURRENT_GRAPH = "v26.0"
CURRENT_LINKEDIN = "202607"
GRAPH_LIFE_YEARS = 2  # Meta keeps a version at least this long after its release
LINKEDIN_LIFE_MONTHS = 12  # LinkedIn serves a version at least this long from its month
WARN_DAYS = 60
GRAPH_CHANGELOG = "https://developers.facebook.com/docs/graph-api/changelog"
LINKEDIN_VERSIONS = "https://learn.microsoft.com/linkedin/marketing/versioning"


@dataclass(frozen=True)
class GraphVersion:
    major: int
    released: date | None = None
    ends: date | None = None  # None: Meta has not announced it (or Crier does not know it)


# Only what the documentation said; a version not here is estimated (``graph_life``).
GRAPH_VERSIONS = (
    GraphVersion(20, ends=date(2026, 9, 24)),
    GraphVersion(21, ends=date(2027, 1, 21)),
    GraphVersion(26, released=date(2026, 7, 29)),
)
GRAPH_VERSION = re.compile(r"^v?(\d+)(?:\.(\d+))?$")  # v26.0, 26.0, v26, 26
_LINKEDIN = re.compile(r"^(\d{4})(\d{2})(?:\.\d{2})?$")


def _years_later(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _graph_end(known: GraphVersion) -> date:
    """Its announced end, else (never later than) two years after its release."""
    if known.ends is not None:
        return known.ends
    assert known.released is not None  # every version in the table has one or the other
    return _years_later(known.released, GRAPH_LIFE_YEARS)


def graph_life(version: str, *, setting: str) -> ApiVersionLife | None:
    """When a Graph version ends (``v21.0`` or ``21.0``); None if it is not a version."""
    found = GRAPH_VERSION.match(version.strip())
    if found is None:
        return None
    major = int(found.group(1))
    shown = f"v{major}.0" if "." not in version else "v" + version.strip().removeprefix("v")

    def life(known: GraphVersion, basis: str = "") -> ApiVersionLife:
        exact = not basis and known.ends is not None
        return ApiVersionLife(GRAPH_API, shown, _graph_end(known), exact, setting, basis)

    for known in GRAPH_VERSIONS:
        if known.major == major:
            if known.ends is not None:
                return life(known)
            years = f"Meta keeps a version at least {GRAPH_LIFE_YEARS} years"
            return life(known, f"released {known.released}; {years}")
    older = [k for k in GRAPH_VERSIONS if k.major < major]
    if older:
        newest = max(older, key=lambda k: k.major)
        no_date = "Crier has no date for it; it ends no earlier than"
        return life(newest, f"{no_date} v{newest.major}.0, which is older")
    oldest = min(GRAPH_VERSIONS, key=lambda k: k.major)
    return life(oldest, f"older than v{oldest.major}.0, which ends {_graph_end(oldest)}")


def linkedin_life(version: str, *, setting: str) -> ApiVersionLife | None:
    """When a ``Linkedin-Version`` (``YYYYMM``) ends, at the earliest; None if it is not one."""
    found = _LINKEDIN.match(version.strip())
    if found is None or not 1 <= int(found.group(2)) <= 12:
        return None
    year, month = int(found.group(1)), int(found.group(2))
    ends = date(year + LINKEDIN_LIFE_MONTHS // 12, month, 1)
    basis = f"LinkedIn serves a version at least {LINKEDIN_LIFE_MONTHS} months from its month"
    return ApiVersionLife(LINKEDIN_API, version.strip(), ends, False, setting, basis)


def _month_before(today: date) -> str:
    last = today.replace(day=1) - timedelta(days=1)
    return f"{last.year:04d}{last.month:02d}"


def newest_version(api: str, *, today: date) -> str:
    """The version to move to: the newest Crier knows; for LinkedIn, once that one is near its
    end too, last month's (LinkedIn releases one a month)."""
    if api != LINKEDIN_API:
        return CURRENT_GRAPH
    current = linkedin_life(CURRENT_LINKEDIN, setting="")
    if current is not None and (current.ends - today).days > WARN_DAYS:
        return CURRENT_LINKEDIN
    return max(CURRENT_LINKEDIN, _month_before(today))


def in_days(count: int) -> str:
    return "less than a day" if count < 1 else "1 day" if count == 1 else f"{count} days"


def version_line(life: ApiVersionLife, *, today: date) -> str:
    """For ``crier channels check``: the version and its end."""
    days = (life.ends - today).days
    if days <= 0:
        return f"{life.api} {life.version}: ended {life.ends.isoformat()}"
    when = life.ends.isoformat() if life.exact else f"{life.ends.isoformat()} at the earliest"
    return f"{life.api} {life.version}: ends {when} (in {in_days(days)})"


def version_warning(life: ApiVersionLife, *, today: date, warn_days: int = WARN_DAYS) -> str | None:
    """What to say when the version ends within ``warn_days`` (or has ended); else None."""
    days = (life.ends - today).days
    if days > warn_days:
        return None
    newest = newest_version(life.api, today=today)
    change = f"Set {life.setting} in crier.yml to {newest}"
    if newest == life.version:
        where = GRAPH_CHANGELOG if life.api == GRAPH_API else LINKEDIN_VERSIONS
        change = f"Set {life.setting} in crier.yml to a newer version (see {where})"
    if days <= 0 and life.exact:
        return f"{life.api} {life.version} ended on {life.ends.isoformat()}. {change}."
    if life.exact:
        return (
            f"{life.api} {life.version} is switched off on {life.ends.isoformat()}, in "
            f"{in_days(days)}. {change}."
        )
    if days <= 0:
        return (
            f"{life.api} {life.version} may have been switched off already: from "
            f"{life.ends.isoformat()} on ({life.basis}). {change}."
        )
    return (
        f"{life.api} {life.version} may be switched off as early as {life.ends.isoformat()}, in "
        f"{in_days(days)} ({life.basis}). {change}."
    )
