"""Fixtures for reconciliation: the checkout app with the sandbox through it (tests/payments), a real anvil chain with
the platform's collection deployed (tests/chain), and buyers who pay and get minted through the real services."""

from tests.chain.conftest import anvil, configure, people  # noqa: F401
from tests.orders.conftest import evm  # noqa: F401
from tests.payments.conftest import _quiet_background, client, fake_stripe  # noqa: F401
