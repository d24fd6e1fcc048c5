"""Looking at the processes a test started (Linux /proc)."""

from __future__ import annotations

from pathlib import Path


def gone(pid: int) -> bool:
    """Dead: reaped (no /proc entry) or a zombie (its sockets are closed either way)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state == "Z"
