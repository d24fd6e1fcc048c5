"""How Crier's processes share a busy machine: the work process gives way to serve, and neither
spends its pauses on the garbage collector walking objects that live as long as the process."""

from __future__ import annotations

import gc
import logging
import os

log = logging.getLogger(__name__)
WORK_NICENESS = 19  # where SCHED_IDLE is not available: the lowest CPU priority nice gives


def give_way() -> None:
    """Run this process (its threads, and those it starts later) only on CPU nobody else wants.

    Linux's SCHED_IDLE policy: a waking serve preempts it at once, where a nice-19 task may
    first finish its time slice (which showed in serve's slowest acks). Elsewhere, nice 19.
    """
    idle = getattr(os, "SCHED_IDLE", None)
    if idle is not None:
        try:
            for thread in _threads():  # the policy is each thread's own
                os.sched_setscheduler(thread, idle, os.sched_param(0))
            return
        except OSError as exc:
            log.info("SCHED_IDLE refused (%s); running at nice %d instead", exc, WORK_NICENESS)
    os.nice(WORK_NICENESS)


def _threads() -> list[int]:
    try:
        return [int(tid) for tid in os.listdir("/proc/self/task")]
    except OSError:
        return [0]  # 0: the calling thread


def freeze_startup_objects() -> None:
    """Once built: keep what exists so far (modules, the app, its config) out of every later
    collection. Without it each full collection walked all of it, pausing serve for about
    100 ms under a flood of requests (measured 2026-12-01). For a process's entry point only:
    cyclic garbage made before the freeze but freed after it is never collected."""
    gc.collect()
    gc.freeze()
