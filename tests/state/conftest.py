"""The state tests' fixtures: the payments tests' app client (the sandbox pays through it) for worlds with paid
orders."""

from tests.payments.conftest import _quiet_background, client  # noqa: F401
