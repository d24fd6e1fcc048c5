"""One ``crier sandbox`` per folder: the one that runs holds a lock beside its database.

A second sandbox started in the same folder would otherwise delete the database that the first
one is using (each starts from an empty one). The lock is the operating system's (``flock``):
it goes with the process, however that ends, so a killed sandbox never blocks the next one.

    with sandbox_folder_lock(Path("crier-sandbox.db")) as say_where:
        say_where("http://127.0.0.1:8080")
        ...
"""

from __future__ import annotations

import fcntl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


class SandboxAlreadyRunning(Exception):
    """Another sandbox runs on this database; ``url`` is its page ("" if it did not say)."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


@contextmanager
def sandbox_folder_lock(database: Path) -> Iterator[Callable[[str], None]]:
    """Hold the lock of ``database`` (a file beside it, ``<name>.lock``) while the block runs;
    ``SandboxAlreadyRunning`` if another process holds it. The block gets ``say_where(url)``,
    which tells a second sandbox where this one is."""
    path = database.with_name(database.name + ".lock")
    # The file stays after the sandbox stops: removing it could let two processes each lock
    # a file of the same name, one of them already unlinked.
    with path.open("a+", encoding="utf-8") as file:
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.seek(0)
            raise SandboxAlreadyRunning(file.read().strip()) from None

        def say_where(url: str) -> None:
            file.seek(0)
            file.truncate()
            file.write(url + "\n")
            file.flush()

        yield say_where  # closing the file lets the lock go
