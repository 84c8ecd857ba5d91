"""Web3 clients per chain, with an injection point (`use_web3`) so tests hand in the in-process EVM or anvil,
and the small set of RPC helpers the transaction manager needs (transient-error test, dev funding)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import requests
from web3 import Web3
from web3.exceptions import ProviderConnectionError, TimeExhausted, Web3RPCError

from backend.chain.config import ChainConfig, chain_config
from backend.errors import Unavailable
from backend.settings import get_settings

_lock = threading.Lock()
_clients: dict[str, Web3] = {}
_overrides: dict[str, Web3] = {}
_chain_ids: dict[str, int] = {}

# Network-level failures: retried later with backoff, never a reason to sign something different.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    ConnectionError,  # refused / reset
    TimeoutError,  # socket timeouts
    requests.exceptions.RequestException,
    ProviderConnectionError,
    TimeExhausted,
)


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, TRANSIENT_ERRORS):
        return True
    # A node overloaded or restarting answers with a JSON-RPC error that is not about the transaction.
    return isinstance(exc, Web3RPCError) and any(
        s in str(exc).lower() for s in ("timeout", "timed out", "rate limit", "too many requests", "-32005")
    )


def node_unavailable() -> Unavailable:
    """What a request answers (503) when the chain's node does not: the same words wherever it happens."""
    return Unavailable("The blockchain node is not answering. Try again in a minute.")


def _build(config: ChainConfig) -> Web3:
    if not config.rpc_url:
        raise RuntimeError(f"chain {config.key!r} has no RPC URL: set CHAIN_RPC_URL")
    provider = Web3.HTTPProvider(
        config.rpc_url,
        request_kwargs={"timeout": get_settings().chain_rpc_timeout_s},
        exception_retry_configuration=None,  # the transaction manager retries with its own backoff
    )
    return Web3(provider)


def get_web3(chain: str) -> Web3:
    """The client of `chain`: an injected one if a test set it, else an HTTP client to the configured RPC URL."""
    with _lock:
        if chain in _overrides:
            return _overrides[chain]
        client = _clients.get(chain)
        if client is None:
            client = _clients[chain] = _build(chain_config(chain))
        return client


def set_web3(chain: str, w3: Web3 | None) -> None:
    """Inject (or with None, remove) the client of `chain` for this process."""
    with _lock:
        _chain_ids.pop(chain, None)
        if w3 is None:
            _overrides.pop(chain, None)
        else:
            _overrides[chain] = w3


@contextmanager
def use_web3(chain: str, w3: Web3) -> Iterator[Web3]:
    previous = _overrides.get(chain)
    set_web3(chain, w3)
    try:
        yield w3
    finally:
        set_web3(chain, previous)


def reset_clients() -> None:
    with _lock:
        _clients.clear()
        _chain_ids.clear()


def chain_id(chain: str) -> int:
    """The configured chain id, else asked from the node once (never hard-coded: eth-tester's is not 1337)."""
    configured = chain_config(chain).chain_id
    if configured is not None:
        return configured
    cached = _chain_ids.get(chain)
    if cached is None:
        cached = _chain_ids[chain] = int(get_web3(chain).eth.chain_id)
    return cached


def fund_from_dev_account(w3: Web3, address: str, amount_wei: int) -> None:
    """Give `address` at least `amount_wei` on a local node: anvil's `anvil_setBalance`, else a transfer from
    the node's first (unlocked, prefunded) account, as the in-process EVM has. Callers check it is local."""
    if w3.eth.get_balance(address) >= amount_wei:
        return
    response = w3.provider.make_request("anvil_setBalance", [address, hex(amount_wei)])  # type: ignore[arg-type]
    if "error" not in response:
        return
    source = w3.eth.accounts[0]
    tx = w3.eth.send_transaction({"from": source, "to": address, "value": amount_wei})
    w3.eth.wait_for_transaction_receipt(tx, timeout=30)
