"""Every network's publisher states the API facts it relies on, in one place, with a date."""

from __future__ import annotations

import importlib
from datetime import date

import pytest

from bot.config import Network
from bot.publishing import MODULES
from bot.publishing.facts import ApiFacts

# The webhook is Crier's own format (documented in its module) and the site is Crier's own
# pages: neither is a network's API.
NETWORKS = [network for network in MODULES if network not in (Network.WEBHOOK, Network.SITE)]


@pytest.mark.parametrize("network", NETWORKS, ids=lambda network: network.value)
def test_each_publisher_states_its_api_facts_with_the_date_they_were_checked(
    network: Network,
) -> None:
    module = importlib.import_module(MODULES[network])
    facts = getattr(module, "FACTS", None)
    assert isinstance(facts, ApiFacts), f"{MODULES[network]} has no FACTS = ApiFacts(…)"
    assert facts.network is network
    assert date(2026, 1, 1) <= date.fromisoformat(facts.checked)
    for field in (facts.api, facts.limits, facts.idempotency, facts.rate_limits):
        assert field.strip()
    assert facts.lines()[-1] == f"last checked: {facts.checked}"
