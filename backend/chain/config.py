"""Chain configurations (key, chain id, RPC URL, confirmations, explorer), one per network, from settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from backend.errors import NotFound
from backend.settings import get_settings

LOCAL_CHAIN = "local"
LOCAL_RPC_URL = "http://127.0.0.1:8545"
LOCAL_CHAIN_ID = 31337  # anvil's default; only a hint, the node is asked when CHAIN_ID is not set


@dataclass(frozen=True)
class ChainConfig:
    key: str
    rpc_url: str = field(repr=False)  # may carry an API key
    chain_id: int | None
    confirmations: int
    explorer_url: str = ""
    dev_funding: bool = False  # fund the signer from the node's prefunded account (local chains only)

    def tx_url(self, tx_hash: str | None) -> str | None:
        if not self.explorer_url or not tx_hash:
            return None
        return f"{self.explorer_url.rstrip('/')}/tx/{tx_hash}"

    def address_url(self, address: str | None) -> str | None:
        if not self.explorer_url or not address:
            return None
        return f"{self.explorer_url.rstrip('/')}/address/{address}"


def chains() -> dict[str, ChainConfig]:
    """Every configured chain by key. Today one, named by CHAIN_KEY (default "local": anvil on 127.0.0.1)."""
    s = get_settings()
    local = s.chain_key == LOCAL_CHAIN
    config = ChainConfig(
        key=s.chain_key,
        rpc_url=s.chain_rpc_url or (LOCAL_RPC_URL if local else ""),
        chain_id=s.chain_id,
        confirmations=s.chain_confirmations,
        explorer_url=s.chain_explorer_url,
        dev_funding=local and s.chain_dev_funding and not s.is_production,
    )
    return {config.key: config}


def chain_config(key: str) -> ChainConfig:
    try:
        return chains()[key]
    except KeyError:
        raise NotFound(f"No chain is configured under {key!r}.") from None
