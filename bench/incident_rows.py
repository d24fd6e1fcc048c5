"""Many open incidents, quickly: a sample made by Crier's own core, then copied in bulk.

The sample goes through ``declare`` → ``approve`` → publishing (to the outbox), so its rows are
exactly what Crier writes: incident, post, renditions, deliveries, audit events and the jobs the
reminder hooks schedule (the approval reminder, cancelled; the next-update warning; the
stale-incident check). Copies get new ids (foreign keys, job keys and payloads follow) and their
times moved back by up to 20 minutes, so their reminders come due spread out, none during a run.

    await open_incidents(core, 10_000)
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, text
from sqlmodel import Session, SQLModel, select

from bench.crier_setup import analyst, approver
from bot.core import Core
from bot.incidents.requests import DeclareRequest
from bot.storage.models import AuditEvent, Delivery, Incident, Job, Post, Rendition
from bot.storage.store import Store

SAMPLE_SERVICES = ("Blackboard", "Email", "Wi-Fi", "VPN", "Printing")  # sev1, sev2 and sev3
TABLES: tuple[type[SQLModel], ...] = (Incident, Post, Rendition, Delivery, AuditEvent, Job)
CHUNK = 5_000
MAX_SHIFT = timedelta(minutes=20)


async def open_incidents(core: Core, count: int, *, sample: int = 20, seed: int = 7) -> None:
    """``count`` open incidents, each with its first post approved and published."""
    made = min(sample, count)
    for number in range(made):
        draft = await core.declare(
            analyst,
            DeclareRequest(
                service=SAMPLE_SERVICES[number % len(SAMPLE_SERVICES)],
                summary=f"cannot sign in (sample incident {number + 1})",
            ),
        )
        await core.approve(approver, draft.post.id)
    while await core.publishing.run_once():
        pass
    await core.settle()
    copies = -(-count // made) - 1  # ceil: the sample plus this many copies of it
    if copies > 0:
        keep = count - made
        await core.store.run(lambda s: _copy(s, copies=copies, keep=keep, seed=seed))
    await core.store.run(lambda s: _after_bulk_load(s, core.store))


def _rows(session: Session, table: type[SQLModel]) -> list[dict[str, Any]]:
    return [row.model_dump() for row in session.exec(select(table)).all()]


def _copy(session: Session, *, copies: int, keep: int, seed: int) -> None:
    rows = {table: _rows(session, table) for table in TABLES}
    stride = {table: max((r["id"] for r in rows[table]), default=0) for table in TABLES}
    by_incident: dict[int, list[tuple[type[SQLModel], dict[str, Any]]]] = {}
    for table in TABLES:
        for row in rows[table]:
            incident_id = row["id"] if table is Incident else row.get("incident_id")
            if incident_id is not None:  # rows of no incident (none yet) are not copied
                by_incident.setdefault(incident_id, []).append((table, row))
    randomness = random.Random(seed)
    pending: dict[type[SQLModel], list[dict[str, Any]]] = {table: [] for table in TABLES}
    made = 0
    for copy in range(1, copies + 1):
        for incident_id in sorted(by_incident):
            if made >= keep:
                break
            made += 1
            shift = -MAX_SHIFT * randomness.random()
            for table, row in by_incident[incident_id]:
                pending[table].append(_copied(table, row, copy, stride, shift))
        if copy == copies or any(len(p) >= CHUNK for p in pending.values()):
            for table in TABLES:  # parents first: incidents, posts, then what points at them
                _insert(session, table, pending[table])
                pending[table] = []


def _copied(
    table: type[SQLModel],
    row: dict[str, Any],
    copy: int,
    stride: dict[type[SQLModel], int],
    shift: timedelta,
) -> dict[str, Any]:
    def incident(old: int | None) -> int | None:
        return None if old is None else old + copy * stride[Incident]

    def post(old: int | None) -> int | None:
        return None if old is None else old + copy * stride[Post]

    new = {k: (v + shift if isinstance(v, datetime) else v) for k, v in row.items()}
    new["id"] = row["id"] + copy * stride[table]
    if "incident_id" in new:
        new["incident_id"] = incident(row["incident_id"])
    if "post_id" in new:
        new["post_id"] = post(row["post_id"])
    if table is Delivery:
        new["idempotency_key"] = f"{row['idempotency_key'][:50]}-{copy}"
    if table is Job:
        kind, _, number = (row["key"] or "").partition(":")
        if number.isdigit():
            mapped = post(int(number)) if kind == "approval" else incident(int(number))
            new["key"] = f"{kind}:{mapped}"
        payload = dict(row["payload"])
        if isinstance(payload.get("post_id"), int):
            payload["post_id"] = post(payload["post_id"])
        if "promised_at" in payload:
            promised = datetime.fromisoformat(payload["promised_at"]) + shift
            payload["promised_at"] = promised.isoformat()
        new["payload"] = payload
    return new


def _insert(session: Session, table: type[SQLModel], rows: list[dict[str, Any]]) -> None:
    for chunk in _chunks(rows, CHUNK):
        session.execute(insert(table.__table__), chunk)  # type: ignore[attr-defined]


def _chunks(rows: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _after_bulk_load(session: Session, store: Store) -> None:
    """What a long-lived database has: sequences past the copied ids, fresh statistics."""
    if store.is_postgres:
        for table in TABLES:
            name = _table_name(table)
            session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                    f'(SELECT max(id) FROM "{name}"))'
                )
            )
    session.execute(text("ANALYZE"))


def _table_name(table: Any) -> str:
    name = table.__tablename__
    assert isinstance(name, str)
    return name


def table_sizes(session: Session) -> dict[str, int]:
    return {
        _table_name(table): session.execute(
            text(f'SELECT count(*) FROM "{_table_name(table)}"')
        ).scalar_one()
        for table in TABLES
    }
