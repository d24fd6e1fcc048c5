"""One process starting up on a database, for the schema race test: it opens the store and
brings the schema up to date, as ``crier serve`` and ``crier worker`` do when they start.

python -m tests.schema_starter <database-url>

It prints ``ready`` once imported and waits for a line on stdin before it opens the store and
calls ``ensure_current``, so that the test can release every process at one moment; then it
prints what ``ensure_current`` said.
"""

from __future__ import annotations

import sys

from bot.storage.schema import ensure_current
from bot.storage.store import open_store


def main(url: str) -> None:
    print("ready", flush=True)
    sys.stdin.readline()  # the start signal, sent once every process is ready
    store = open_store(url)
    try:
        print(ensure_current(store), flush=True)
    finally:
        store.dispose()


if __name__ == "__main__":
    main(sys.argv[1])
