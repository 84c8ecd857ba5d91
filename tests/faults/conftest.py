"""Fault tests: real processes (job runners, the web server, anvil) killed and restarted. The fixtures are those of
the chain tests (a fresh anvil per test), the payments tests (the app in this process, the sandbox through it) and
the runner crash tests (runner subprocesses on the same anvil and database)."""

from tests.chain.conftest import anvil, chain_env, configure, people  # noqa: F401
from tests.payments.conftest import _quiet_background, client  # noqa: F401
