"""The work process gives way to serve: every thread it has, not only the one that asked."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

# Run in a process of its own: the policy cannot be lifted again without privileges.
SCRIPT = """
import os, threading
from handlers.priorities import give_way
started, done = threading.Event(), threading.Event()
def wait():
    started.set()
    done.wait()
thread = threading.Thread(target=wait)
thread.start()
started.wait()
give_way()
later = threading.Thread(target=done.wait)
later.start()
tids = [int(t) for t in os.listdir("/proc/self/task")]
print(len(tids), sorted({os.sched_getscheduler(t) for t in tids}))
done.set()
"""


@pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="SCHED_IDLE is Linux's")
def test_threads_started_before_and_after_all_give_way() -> None:
    found = (
        subprocess.run(
            [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True, timeout=30
        )
        .stdout.strip()
        .split(maxsplit=1)
    )
    assert found == ["3", f"[{os.SCHED_IDLE}]"]
