"""/redeem/rewards ("My rewards"): a holder sees the perks their tokens carry, with the uses left, and uses them:
"Show QR" draws a signed code for the counter (re-drawn before it expires while shown), online perks are redeemed
right there for a code to give the brand's shop. Payouts: what the account's custodial wallet and the connected
wallet can claim from brands' reward vaults; Claim asks the connected wallet to send the vault's `claim` (the
custodial wallet's share is paid out by the brand).

Who holds: the signed-in account (`current_actor(self, "account")`; custodial tokens), and/or a wallet
proved with Sign-In with Ethereum (Connect wallet, then the wallet signs this site's message; the verified address
stays server-side in `_wallet`). A wallet's tokens are cross-checked with the chain (backend.rewards.holdings).
"""

from __future__ import annotations

import asyncio
import json
import time

import reflex as rx

from backend.auth import siwe
from backend.auth.acl import Actor
from backend.errors import DomainError, RateLimited
from backend.rewards.holdings import Holder, account_holder
from backend.rewards.payouts import Claimable, claimable
from backend.rewards.qr import qr_svg_data_url
from backend.rewards.redemption import (
    HolderPerk,
    issue_code,
    limit_online_redemptions,
    limit_qr_codes,
    my_perks,
    redeem_online,
)
from backend.settings import get_settings
from primsell.format import utc_time
from primsell.state.session import client_connected, client_ip, current_actor
from primsell.state.wallet import CONNECT_WALLET_SCRIPT, connected_address, send_transaction_script

PERIOD_TEXT = {"ever": "", "day": "today", "week": "this week", "month": "this month"}
REFRESH_BEFORE_S = 15  # draw a new code this long before the shown one expires
MAX_REFRESHES = 120  # a QR left open for about an hour stops refreshing


def sign_script(message: str, address: str) -> str:
    """Ask the wallet to sign `message` (EIP-191 personal_sign); resolves to {signature} or {error, code}."""
    hex_message = "0x" + message.encode().hex()
    return f"""(async () => {{
  const provider = window.ethereum;
  if (!provider || typeof provider.request !== "function") return {{error: "no_wallet"}};
  try {{
    const params = [{json.dumps(hex_message)}, {json.dumps(address)}];
    const signature = await provider.request({{method: "personal_sign", params}});
    return typeof signature === "string" ? {{signature}} : {{error: "failed"}};
  }} catch (e) {{
    return {{error: "failed", code: (e && typeof e.code === "number") ? e.code : null}};
  }}
}})()"""


def claim_row(item: Claimable) -> dict[str, str]:
    from primsell.state.admin.campaign_rewards import units_text

    native = item.currency_address == ""
    return {"key": f"{item.vault_address}:{item.holder}:{item.currency_address}", "vault": item.vault_address,
            "holder": item.holder, "currency": item.currency_address,
            "amount": units_text(item.amount, 18, "ETH") if native else f"{item.amount} base units",
            "custodial": "yes" if item.account_id is not None else ""}


def perk_row(perk: HolderPerk) -> dict[str, str]:
    left = f"{perk.uses_left} of {perk.uses_per_period} left {PERIOD_TEXT[perk.use_period.value]}".strip()
    return {
        "key": f"{perk.reward_id}:{perk.token_id}", "reward_id": str(perk.reward_id), "token_id": str(perk.token_id),
        "title": perk.title, "description": perk.description, "image": perk.image_url,
        "campaign": perk.campaign_name, "channel": perk.channel.value, "uses": left,
        "usable": "yes" if perk.uses_left > 0 and not perk.blocked else "", "blocked": perk.blocked,
        "where": ", ".join(perk.locations),
    }


class RedeemRewardsState(rx.State):
    loaded: bool = False
    account_email: str = ""
    wallet_address: str = ""
    perks: list[dict[str, str]] = []
    claims: list[dict[str, str]] = []
    claim_notice: str = ""
    error: str = ""
    connecting: bool = False
    # The QR dialog.
    qr_open: bool = False
    qr_image: str = ""
    qr_code: str = ""
    qr_title: str = ""
    qr_token: str = ""
    qr_expires_at: str = ""
    # An online redemption's code.
    online_code: str = ""
    online_title: str = ""
    _wallet: str = ""  # the address proved by SIWE (server-side only)
    _wallet_until: float = 0.0
    _pending_message: str = ""
    _qr_generation: int = 0

    async def _holder(self) -> tuple[Actor | None, Holder | None]:
        actor = await current_actor(self, "account")
        self.account_email = actor.email if actor is not None else ""
        if self._wallet and self._wallet_until < time.time():
            self._wallet, self.wallet_address = "", ""
        addresses: list[str] = []
        if actor is not None:
            addresses += account_holder(actor.user_id).addresses
        if self._wallet:
            addresses.append(self._wallet)
        if not addresses:
            return actor, None
        return actor, Holder(tuple(dict.fromkeys(addresses)), user_id=actor.user_id if actor else None,
                             wallet=bool(self._wallet))

    @rx.event
    async def load_perks(self):
        _, holder = await self._holder()
        self.error = ""
        if holder is None:
            self.perks, self.claims, self.loaded = [], [], True
            return
        self.claims = [claim_row(c) for c in await asyncio.to_thread(claimable, holder)]
        try:
            perks = await asyncio.to_thread(my_perks, holder)
        except DomainError as exc:
            self.error = exc.message
        except Exception:  # noqa: BLE001 - the chain could not be asked: say so rather than show nothing
            self.error = "Your wallet's tokens could not be checked on chain just now. Try again in a moment."
        else:
            self.perks = [perk_row(p) for p in perks]
        self.loaded = True

    @rx.event
    def connect_wallet(self):
        self.connecting, self.error = True, ""
        return rx.call_script(CONNECT_WALLET_SCRIPT, callback=RedeemRewardsState.wallet_connected)

    @rx.event
    async def wallet_connected(self, result: dict):
        try:
            address = connected_address(result)
        except ValueError as exc:
            self.connecting, self.error = False, str(exc)
            return None
        try:
            siwe.limit_nonces(client_ip(self))
            nonce, _ = await asyncio.to_thread(siwe.issue_nonce)
            message = (await asyncio.to_thread(siwe.build_message, address, nonce)).text()
        except (RateLimited, DomainError) as exc:
            self.connecting, self.error = False, exc.message
            return None
        self._pending_message = message
        return rx.call_script(sign_script(message, address), callback=RedeemRewardsState.wallet_signed)

    @rx.event
    async def wallet_signed(self, result: dict):
        message, self._pending_message = self._pending_message, ""
        signature = result.get("signature") if isinstance(result, dict) else None
        if not message or not isinstance(signature, str):
            self.connecting = False
            self.error = "You declined to sign in with your wallet." if isinstance(result, dict) and \
                result.get("code") == 4001 else "Your wallet did not sign the sign-in message. Try again."
            return None
        try:
            address = await asyncio.to_thread(siwe.verify, message, signature)
        except DomainError as exc:
            self.connecting, self.error = False, exc.message
            return None
        self._wallet, self._wallet_until = address, time.time() + get_settings().wallet_proof_ttl_s
        self.wallet_address, self.connecting = address, False
        return RedeemRewardsState.load_perks

    @rx.event
    async def disconnect_wallet(self):
        await current_actor(self, "account")
        self._wallet, self.wallet_address, self._wallet_until = "", "", 0.0
        return RedeemRewardsState.load_perks

    @rx.event
    async def show_qr(self, reward_id: str, token_id: str):
        _, holder = await self._holder()
        if holder is None or not reward_id.isdigit() or not token_id.isdigit():
            self.error = "Sign in or connect your wallet first."
            return None
        try:
            limit_qr_codes(client_ip(self))  # a click draws a code; keeping it fresh below does not count
            issued = await asyncio.to_thread(issue_code, holder, int(reward_id), int(token_id))
        except DomainError as exc:
            self.error = exc.message
            return RedeemRewardsState.load_perks
        self.qr_code, self.qr_image = issued.code, qr_svg_data_url(issued.code)
        self.qr_expires_at = utc_time(issued.expires_at, seconds=True)
        row = next((p for p in self.perks if p["key"] == f"{reward_id}:{token_id}"), None)
        self.qr_title = row["title"] if row else ""
        self.qr_token, self.qr_open = token_id, True
        self._qr_generation += 1
        return RedeemRewardsState.keep_qr_fresh(reward_id, token_id, self._qr_generation)

    @rx.event(background=True)
    async def keep_qr_fresh(self, reward_id: str, token_id: str, generation: int):
        """While the QR is shown, draw a fresh code before the shown one expires."""
        wait = max(5, get_settings().reward_qr_ttl_s - REFRESH_BEFORE_S)
        for _ in range(MAX_REFRESHES):
            await asyncio.sleep(wait)
            async with self:
                if not self.qr_open or self._qr_generation != generation or not client_connected(self):
                    return
                _, holder = await self._holder()
                if holder is None:
                    self.qr_open = False
                    return
            try:
                issued = await asyncio.to_thread(issue_code, holder, int(reward_id), int(token_id))
            except DomainError as exc:
                async with self:
                    self.qr_open, self.error = False, exc.message
                return
            async with self:
                if self._qr_generation != generation:
                    return
                self.qr_code, self.qr_image = issued.code, qr_svg_data_url(issued.code)
                self.qr_expires_at = utc_time(issued.expires_at, seconds=True)

    @rx.event
    async def set_qr_open(self, value: bool):
        self.qr_open = value
        if not value:
            self._qr_generation += 1
            return RedeemRewardsState.load_perks
        return None

    @rx.event
    async def redeem_online(self, reward_id: str, token_id: str):
        _, holder = await self._holder()
        if holder is None or not reward_id.isdigit() or not token_id.isdigit():
            self.error = "Sign in or connect your wallet first."
            return None
        try:
            limit_online_redemptions(client_ip(self))
            done = await asyncio.to_thread(redeem_online, holder, int(reward_id), int(token_id))
        except DomainError as exc:
            self.error = exc.message
        else:
            row = next((p for p in self.perks if p["key"] == f"{reward_id}:{token_id}"), None)
            self.online_code, self.online_title = done.redemption_code, row["title"] if row else ""
        return RedeemRewardsState.load_perks

    # -- payouts ---------------------------------------------------------------------------------------------------

    @rx.event
    def claim_payout(self, key: str):
        """The connected wallet sends claim(token) to the vault itself (the platform never signs for it)."""
        from backend.rewards.vault import token_arg, vault_contract

        row = next((c for c in self.claims if c["key"] == key), None)
        if row is None or not self._wallet or row["holder"] != self._wallet:
            self.claim_notice = "Connect the wallet this payout was allocated to, then claim."
            return None
        data = vault_contract().encode_abi("claim", args=[token_arg(row["currency"])])
        self.claim_notice = "Confirm the claim in your wallet…"
        return rx.call_script(send_transaction_script(self._wallet, row["vault"], data),
                              callback=RedeemRewardsState.claim_sent)

    @rx.event
    def claim_sent(self, result: dict):
        tx_hash = result.get("hash") if isinstance(result, dict) else None
        if isinstance(tx_hash, str):
            self.claim_notice = f"Claim sent ({tx_hash[:12]}…). It shows as claimed once the chain confirms it."
        elif isinstance(result, dict) and result.get("code") == 4001:
            self.claim_notice = "You declined the claim."
        else:
            self.claim_notice = "Your wallet did not send the claim. Try again."
