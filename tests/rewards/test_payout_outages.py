"""Payouts while the chain node does not answer: the distributor and the admin's payouts panel carry on and log it,
without the API key that the RPC URL carries (a node provider's key in the path, as Infura and Alchemy have it)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import pytest

from backend.auth.acl import Role
from backend.chain.anvil import free_port
from backend.chain.client import reset_clients
from backend.db import utcnow
from backend.rewards import payouts
from tests.factories import make_allocated_payout, make_brand, make_campaign, make_user

API_KEY = "Zk3vQ9xL2mN8pR4tW7yB1cF5hJ6dG0sA"


@pytest.fixture
def node_down(configure: Callable[..., None]) -> Iterator[None]:
    """The chain's RPC URL, with its key, points at a local port nobody listens on."""
    configure(CHAIN_RPC_URL=f"http://127.0.0.1:{free_port()}/v3/{API_KEY}")
    reset_clients()
    yield
    reset_clients()


def test_an_unreachable_node_is_logged_without_the_rpc_urls_key(node_down, caplog: pytest.LogCaptureFixture) -> None:
    brand = make_brand()
    admin = make_user(Role.BRAND_ADMIN, brand)
    reward_id = make_allocated_payout(admin, make_campaign(brand), ["0x" + "11" * 20], 10)  # a deployed vault

    with caplog.at_level(logging.WARNING, logger="backend.rewards.payouts"):
        assert payouts.distributor_pass(now=utcnow()).claims == 0
        assert payouts.payout_overview(admin, reward_id).balances is None  # the panel shows "unknown"
    warnings = [r.getMessage() for r in caplog.records if r.name == "backend.rewards.payouts"]
    assert any("chain local unreachable" in m for m in warnings), warnings
    assert any("balances unavailable" in m for m in warnings), warnings
    assert not [m for m in warnings if API_KEY in m]


def test_the_transaction_monitor_keeps_the_rpc_urls_key_out_of_its_warning_and_result(
        node_down, caplog: pytest.LogCaptureFixture) -> None:
    from backend.chain.models import TxPurpose
    from backend.chain.txmanager import enqueue, monitor_pass
    from backend.db import session_scope

    with session_scope() as session:
        enqueue(session, purpose=TxPurpose.TRANSFER, key="outage-probe", chain="local", to="0x" + "22" * 20)

    with caplog.at_level(logging.WARNING, logger="backend.chain.txmanager"):
        result = monitor_pass("local", hooks={})
    warnings = [r.getMessage() for r in caplog.records if r.name == "backend.chain.txmanager"]
    assert result.rpc_error and any("unreachable, will retry" in m for m in warnings), (result, warnings)
    assert API_KEY not in result.rpc_error
    assert not [m for m in warnings if API_KEY in m]
