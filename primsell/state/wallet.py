"""Browser wallets (EIP-1193 providers such as MetaMask): the script that asks the wallet for its account, and the
reading of its answer, shared by every page that lets a visitor connect a wallet instead of pasting an address; and
the scripts that ask it to send a transaction (on the right chain) and to wait for one to be mined.

The script runs in the page (`rx.call_script(CONNECT_WALLET_SCRIPT, callback=...)`) and always resolves to a small
object, never throws, so the callback hears about a missing wallet or a refusal as well as about an account.
"""

from __future__ import annotations

import json
import re
from typing import Any

from backend.validation import check_address

CONNECT_WALLET_SCRIPT = """(async () => {
  const provider = window.ethereum;
  if (!provider || typeof provider.request !== "function") return {error: "no_wallet"};
  try {
    const accounts = await provider.request({method: "eth_requestAccounts"});
    const account = Array.isArray(accounts) && typeof accounts[0] === "string" ? accounts[0] : "";
    return account ? {address: account} : {error: "no_account"};
  } catch (e) {
    return {error: "failed", code: (e && typeof e.code === "number") ? e.code : null};
  }
})()"""

# EIP-1193 error codes a wallet answers with.
USER_REJECTED, REQUEST_PENDING = 4001, -32002

NO_WALLET = "No browser wallet was found. Install one (such as MetaMask), or paste your address."
NO_ACCOUNT = "Your wallet did not share an account. Unlock it and try again, or paste your address."
REJECTED = "You declined the connection in your wallet. Try again, or paste your address."
PENDING = "Your wallet is already asking for permission: open it to approve."
FAILED = "Your wallet could not connect. Try again, or paste your address."


def connected_address(result: Any) -> str:
    """The checksummed account from CONNECT_WALLET_SCRIPT's answer; ValueError with what to tell the visitor."""
    if not isinstance(result, dict):
        raise ValueError(FAILED)
    error = result.get("error")
    if error == "no_wallet":
        raise ValueError(NO_WALLET)
    if error == "no_account":
        raise ValueError(NO_ACCOUNT)
    if error:
        raise ValueError({USER_REJECTED: REJECTED, REQUEST_PENDING: PENDING}.get(result.get("code"), FAILED))
    address = result.get("address")
    if not isinstance(address, str):
        raise ValueError(FAILED)
    try:
        return check_address(address)
    except ValueError as exc:
        raise ValueError(f"Your wallet answered with an address that {exc}.") from exc


def send_transaction_script(sender: str, to: str, data: str, value: int = 0, chain_id: int | None = None) -> str:
    """Ask the wallet to send one transaction from `sender`; with `chain_id`, only if it is on that chain (else it
    resolves to {error: "wrong_chain", chain_id: <the wallet's>} without asking); resolves to {hash} or
    {error, code}."""
    tx = json.dumps({"from": sender, "to": to, "data": data, "value": hex(value)})
    chain_check = "" if chain_id is None else f"""
    const current = Number(await provider.request({{method: "eth_chainId"}}));
    if (current !== {int(chain_id)}) {{
      return {{error: "wrong_chain", chain_id: Number.isFinite(current) ? current : null}};
    }}"""
    return f"""(async () => {{
  const provider = window.ethereum;
  if (!provider || typeof provider.request !== "function") return {{error: "no_wallet"}};
  try {{{chain_check}
    const hash = await provider.request({{method: "eth_sendTransaction", params: [{tx}]}});
    return typeof hash === "string" ? {{hash}} : {{error: "failed"}};
  }} catch (e) {{
    return {{error: "failed", code: (e && typeof e.code === "number") ? e.code : null}};
  }}
}})()"""


def wait_receipt_script(tx_hash: str, timeout_s: int = 300) -> str:
    """Ask the wallet's node for the receipt of `tx_hash` until it is mined; resolves to {status: 1 | 0} or
    {error: "timeout" | "failed"}. The wallet's own node, as it is the one that checks the next transaction."""
    return f"""(async () => {{
  const provider = window.ethereum;
  if (!provider || typeof provider.request !== "function") return {{error: "no_wallet"}};
  const until = Date.now() + {int(timeout_s) * 1000};
  try {{
    while (Date.now() < until) {{
      const receipt = await provider.request({{method: "eth_getTransactionReceipt", params: [{json.dumps(tx_hash)}]}});
      if (receipt && receipt.blockNumber) return {{status: Number(receipt.status)}};
      await new Promise((resolve) => setTimeout(resolve, 1500));
    }}
    return {{error: "timeout"}};
  }} catch (e) {{
    return {{error: "failed", code: (e && typeof e.code === "number") ? e.code : null}};
  }}
}})()"""


TX_HASH = re.compile(r"0x[0-9a-fA-F]{64}")


def sent_hash(result: Any) -> str | None:
    """The transaction hash from send_transaction_script's answer, or None."""
    tx_hash = result.get("hash") if isinstance(result, dict) else None
    return tx_hash if isinstance(tx_hash, str) and TX_HASH.fullmatch(tx_hash) else None
