"""``crier worker`` with Crier's own pacing of Statuspage (60 requests a minute per key) lifted,
for the scale-out benchmark only.

Statuspage allows a key one request a second, and Crier paces itself to that: 1,000 posts (two
requests each) take 33 minutes to Statuspage whatever else happens. The scale-out benchmark
measures how processes share the outbox, not that limit, so its workers run this instead of
the ``crier`` script (``--keep-statuspage-pacing`` runs ``crier worker`` itself). With
``CRIER_BENCH_STATEMENTS=FILE`` it also counts its SQL statements and writes them to FILE at
exit (``bench.delivery_cost``).

    python -m bench.unpaced_worker   # the environment as for crier worker
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import bot.publishing.statuspage
from bench.statements import count_to_file_at_exit
from handlers.main import main

if __name__ == "__main__":
    bot.publishing.statuspage.REQUESTS_PER_WINDOW = 1_000_000_000
    if tally_file := os.environ.get("CRIER_BENCH_STATEMENTS"):
        count_to_file_at_exit(Path(tally_file))
    sys.exit(main(["worker"]))
