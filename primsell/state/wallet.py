"""Browser wallets (EIP-1193 providers such as MetaMask): the script that asks the wallet for its account, and the
reading of its answer, shared by every page that lets a visitor connect a wallet instead of pasting an address.

The script runs in the page (`rx.call_script(CONNECT_WALLET_SCRIPT, callback=...)`) and always resolves to a small
object, never throws, so the callback hears about a missing wallet or a refusal as well as about an account.
"""

from __future__ import annotations

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
