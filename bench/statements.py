"""Counting the SQL statements a process runs, by kind and table, for the cost benchmarks.

``count_statements()`` listens on every engine of the process (SQLAlchemy's
``before_cursor_execute``, and ``commit`` for transactions); a benchmark's worker process writes
the tally to a JSON file at exit (``CRIER_BENCH_STATEMENTS``, see ``bench.unpaced_worker``).

    tally = count_statements()
    ...
    tally.total(), tally.by_shape.most_common(10)
"""

from __future__ import annotations

import atexit
import json
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event

# The verb and the first table it names: "SELECT job", "UPDATE delivery", "INSERT audit_event".
SHAPE = re.compile(
    r"^\s*(?:(SELECT)\b.*?\bFROM\s+\"?(\w+)|(INSERT)\s+INTO\s+\"?(\w+)|(UPDATE)\s+\"?(\w+)"
    r"|(DELETE)\s+FROM\s+\"?(\w+)|(\w+))",
    re.IGNORECASE | re.DOTALL,
)
TRANSACTIONS = "transactions (commit)"
OURS = ("/bot/", "/handlers/")  # where a statement is said to come from: Crier's own code


def origin() -> str:
    """The innermost function of Crier's own code on the caller's stack."""
    frame = sys._getframe(2)
    while frame is not None:
        path = frame.f_code.co_filename
        if any(part in path for part in OURS) and "/bot/storage/store.py" not in path:
            return f"{frame.f_code.co_qualname} ({'/'.join(path.split('/')[-2:])})"
        frame = frame.f_back  # type: ignore[assignment]
    return "?"


def shape_of(statement: str) -> str:
    match = SHAPE.match(statement)
    if match is None:
        return "other"
    words = [g for g in match.groups() if g]
    return " ".join([words[0].upper(), *words[1:]])


@dataclass
class StatementTally:
    by_shape: Counter[str] = field(default_factory=Counter)
    by_origin: Counter[str] = field(default_factory=Counter)  # "SELECT job <- _refresh (…)"

    def total(self) -> int:
        return sum(n for shape, n in self.by_shape.items() if shape != TRANSACTIONS)

    def write(self, path: Path) -> None:
        path.write_text(json.dumps({"shape": self.by_shape, "origin": self.by_origin}))

    @classmethod
    def read(cls, path: Path) -> StatementTally:
        """The tally a process wrote to ``path`` (empty if it wrote none)."""
        if not path.exists():
            return cls()
        data = json.loads(path.read_text())
        return cls(Counter(data["shape"]), Counter(data["origin"]))


def count_statements() -> StatementTally:
    """Count from now on every statement of every engine in this process."""
    tally = StatementTally()

    def executed(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        shape = shape_of(statement)
        tally.by_shape[shape] += 1
        tally.by_origin[f"{shape} <- {origin()}"] += 1

    def committed(_conn: Any) -> None:
        tally.by_shape[TRANSACTIONS] += 1

    event.listen(Engine, "before_cursor_execute", executed)
    event.listen(Engine, "commit", committed)
    return tally


def count_to_file_at_exit(path: Path) -> None:
    """In a worker process: count its statements and write the tally to ``path`` at exit."""
    tally = count_statements()
    atexit.register(tally.write, path)
