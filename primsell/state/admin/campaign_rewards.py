"""/admin/campaigns/<id>/rewards: define, change and end a campaign's rewards; per reward its statistics
(redemptions per day, by location and staff member, refused attempts and why) and its change history; per payout its
payouts panel (the brand's vault with its balance, outstanding and unallocated amounts, "Fund from my wallet" (the
admin's browser wallet sends the vault's fundEth, or the token's approve then fundToken), the platform admin's Fund
from the platform signer, each period's
snapshot, amount, transactions and claimed vs unclaimed, its allocations paged, Push for a holder who never claims,
Push all for every holder with an unclaimed allocation, batch by batch with its progress).

Every handler asks `current_actor(self)` for the actor as it is now and calls one backend service; the
service checks the brand (another brand's campaign is "not found") and validates the whole reward.
"""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation, localcontext
from typing import Any

import reflex as rx

from backend.errors import DomainError, NotFound
from backend.rewards.models import Reward
from backend.rewards.payouts import (
    PayoutOverview,
    WalletFunding,
    fund_vault,
    payout_overview,
    period_allocations,
    push_payout,
    push_payouts_batch,
    retry_period,
    retry_vault_deployment,
    wallet_funding,
)
from backend.rewards.service import define_reward, end_reward, list_rewards, reward_stats, update_reward
from primsell.format import datetime_local, utc_date, utc_datetime
from primsell.state.session import SessionState, current_actor
from primsell.state.wallet import (
    CONNECT_WALLET_SCRIPT,
    USER_REJECTED,
    connected_address,
    send_transaction_script,
    sent_hash,
    wait_receipt_script,
)

FORM_FIELDS = ("kind", "title", "description", "image_url", "starts_at", "ends_at", "token_ranges", "requires_kyc",
               "channel", "use_period", "uses_per_period", "locations", "payout_mode", "amount_per_token",
               "currency_address", "currency_decimals", "currency_symbol", "royalty_share_bps", "payout_period")
PAYOUT_FORM_FIELDS = ("payout_mode", "amount_per_token", "currency_address", "currency_decimals", "currency_symbol",
                      "royalty_share_bps", "payout_period")
PERK_FORM_FIELDS = ("channel", "use_period", "uses_per_period", "locations")
PERIOD_TEXT = {"ever": "in all", "day": "a day", "week": "a week", "month": "a month"}


def parse_ranges(text: str) -> list[list[int]]:
    """ "1-100, 250, 300-310" -> [[1, 100], [250, 250], [300, 310]]; ValueError with what to fix."""
    ranges: list[list[int]] = []
    for part in text.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        first, _, last = part.partition("-")
        if not first.strip().isdigit() or (last and not last.strip().isdigit()):
            raise ValueError("use token ids and ranges like 1-100, 250")
        ranges.append([int(first), int(last) if last else int(first)])
    return ranges


def format_ranges(ranges: list[Any]) -> str:
    return ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in ranges)


def _utc(value: str) -> str | None:
    """A datetime-local input (read as UTC) -> ISO-8601 with its zone; "" -> None."""
    value = value.strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return value  # the service names the field
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).isoformat()


def form_to_reward(form: dict[str, Any], *, kind: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The form's strings -> the service's fields (only those of the reward's kind); errors the form can tell alone."""
    errors: dict[str, str] = {}
    text = {name: str(form.get(name, "") or "").strip() for name in FORM_FIELDS}
    data: dict[str, Any] = {"kind": kind, "title": text["title"], "description": text["description"],
                            "image_url": text["image_url"], "starts_at": _utc(text["starts_at"]),
                            "ends_at": _utc(text["ends_at"]), "requires_kyc": form.get("requires_kyc") in
                            (True, "on", "true")}
    try:
        data["token_ranges"] = parse_ranges(text["token_ranges"])
    except ValueError as exc:
        errors["token_ranges"] = str(exc)
    if kind == "perk":
        data["channel"] = text["channel"] or "in_store"
        data["use_period"] = text["use_period"] or "ever"
        data["uses_per_period"] = text["uses_per_period"] or "1"
        data["locations"] = [line.strip() for line in text["locations"].splitlines() if line.strip()]
    else:
        data["payout_mode"] = text["payout_mode"] or None
        data["payout_period"] = text["payout_period"] or None
        data["currency_address"] = text["currency_address"]
        for name in ("amount_per_token", "currency_decimals", "royalty_share_bps", "currency_symbol"):
            if text[name]:
                data[name] = text[name]
    return data, errors


def reward_row(reward: Reward) -> dict[str, str]:
    rule = ""
    if reward.kind.value == "perk":
        rule = f"{reward.uses_per_period} use(s) {PERIOD_TEXT[reward.use_period.value]}"
        rule += " · online" if reward.channel.value == "online" else (
            f" · {', '.join(reward.locations)}" if reward.locations else " · any location")
    elif reward.payout_mode is not None:
        period = reward.payout_period.value if reward.payout_period else ""
        rule = (f"{reward.amount_per_token} base units of {reward.currency_symbol or 'the native coin'} per token"
                if reward.payout_mode.value == "fixed_per_token" else
                f"{reward.royalty_share_bps} bps of royalties") + f" · {period}"
    return {
        "id": str(reward.id), "kind": reward.kind.value, "title": reward.title, "state": reward.state.value,
        "rule": rule, "tokens": format_ranges(reward.token_ranges) or "all tokens",
        "in_use": "yes" if reward.in_use else "", "kyc": "yes" if reward.requires_kyc else "",
        "window": " → ".join(x for x in (
            utc_date(reward.starts_at),
            utc_date(reward.ends_at)) if x) or "always",
    }


def _form_values(reward: Reward) -> dict[str, str]:
    return {
        "kind": reward.kind.value,
        "title": reward.title,
        "description": reward.description,
        "image_url": reward.image_url,
        "starts_at": datetime_local(reward.starts_at),
        "ends_at": datetime_local(reward.ends_at),
        "token_ranges": format_ranges(reward.token_ranges),
        "requires_kyc": "on" if reward.requires_kyc else "",
        "channel": reward.channel.value,
        "use_period": reward.use_period.value,
        "uses_per_period": str(reward.uses_per_period),
        "locations": "\n".join(reward.locations),
        "payout_mode": reward.payout_mode.value if reward.payout_mode else "fixed_per_token",
        "amount_per_token": "" if reward.amount_per_token is None else str(reward.amount_per_token),
        "currency_address": reward.currency_address or "",
        "currency_decimals": "" if reward.currency_decimals is None else str(reward.currency_decimals),
        "currency_symbol": reward.currency_symbol or "",
        "royalty_share_bps": "" if reward.royalty_share_bps is None else str(reward.royalty_share_bps),
        "payout_period": reward.payout_period.value if reward.payout_period else "month",
    }


EMPTY_FORM = {name: "" for name in FORM_FIELDS} | {
    "kind": "perk", "channel": "in_store", "use_period": "day", "uses_per_period": "1",
    "payout_mode": "fixed_per_token", "payout_period": "month"}


ALLOCATIONS_PER_PAGE = 25


def units_text(amount: int | None, decimals: int, symbol: str) -> str:
    """Base units as a decimal amount of the currency ("0.0025 ETH"); exact (Decimal, with as many digits as the
    amount has: the default 28 would round a wide one), trailing zeros dropped."""
    if amount is None:
        return "unknown"
    if decimals:
        with localcontext() as exact:
            exact.prec = len(str(abs(amount)))
            value = Decimal(amount).scaleb(-decimals).normalize()
    else:
        value = Decimal(amount)
    text = f"{value:f}"
    return f"{text} {symbol}".strip()


MAX_BASE_DIGITS = 78  # 2**256 - 1, the most a vault can hold, has 78 digits


def parse_units(text: str, decimals: int) -> int:
    """ "0.5" -> base units, exactly whatever the number of digits; ValueError with what to fix (never a float)."""
    try:
        value = Decimal(text.strip().replace(",", "."))  # exact: building a Decimal from text never rounds
    except InvalidOperation:
        raise ValueError("Enter an amount such as 0.5") from None
    if not value.is_finite() or value <= 0 or value.adjusted() + decimals < 0:  # NaN, negative, below one base unit
        raise ValueError(f"Enter a positive amount with at most {decimals} decimals")
    if value.adjusted() + decimals >= MAX_BASE_DIGITS:
        raise ValueError("Enter a smaller amount")
    with localcontext() as exact:
        exact.prec = len(value.as_tuple().digits)  # scaling keeps every digit: the default 28 would round them
        base = value.scaleb(decimals)
    if base != base.to_integral_value():
        raise ValueError(f"Enter a positive amount with at most {decimals} decimals")
    return int(base)


def _currency(reward: Reward | None) -> tuple[int, str]:
    if reward is None or not reward.currency_address:
        return 18, "ETH"
    return reward.currency_decimals or 0, reward.currency_symbol or ""


def overview_rows(overview: PayoutOverview, decimals: int, symbol: str) -> tuple[dict[str, str], list[dict[str, str]]]:
    b = overview.balances

    def money(value: int | None) -> str:
        return units_text(value, decimals, symbol)

    vault = {"state": overview.vault_state, "address": overview.vault_address or "", "url": overview.vault_url or "",
             "error": overview.vault_error, "balance": money(b.balance if b else None),
             "outstanding": money(b.outstanding if b else None), "unallocated": money(b.unallocated if b else None),
             "native": "" if overview.currency_address else "yes", "symbol": symbol}
    periods = [{"id": str(p.id), "index": str(p.period_index + 1),
                "window": f"{p.starts_at:%Y-%m-%d} → {p.ends_at:%Y-%m-%d}", "state": p.state,
                "block": "" if p.snapshot_block is None else str(p.snapshot_block), "holders": str(p.holders),
                "tokens": str(p.tokens), "amount": money(p.amount), "claimed": money(p.claimed),
                "unclaimed": money(p.unclaimed), "txs": ", ".join(h[:10] + "…" for h in p.tx_hashes),
                "error": p.error} for p in overview.periods]
    return vault, periods


class AdminCampaignRewardsState(rx.State):
    campaign_id: int = 0
    loaded: bool = False
    not_found: bool = False
    rewards: list[dict[str, str]] = []
    _rewards: dict[int, Reward] = {}  # as loaded, for the edit form (server-side only)
    # The define/edit dialog.
    form_open: bool = False
    editing_id: int = 0
    editing_in_use: bool = False
    kind: str = "perk"
    values: dict[str, str] = dict(EMPTY_FORM)
    field_errors: dict[str, str] = {}
    form_error: str = ""
    saving: bool = False
    notice: str = ""
    # The selected reward's statistics.
    selected_id: int = 0
    stats_loaded: bool = False
    stats_totals: dict[str, int] = {}
    stats_by_day: list[dict[str, Any]] = []
    stats_by_location: list[dict[str, str]] = []
    stats_by_staff: list[dict[str, str]] = []
    stats_refusals: list[dict[str, str]] = []
    stats_recent_refusals: list[dict[str, str]] = []
    stats_online_codes: list[dict[str, str]] = []
    # The selected payout's panel.
    payout_loaded: bool = False
    payout_vault: dict[str, str] = {}
    payout_periods: list[dict[str, str]] = []
    payout_notice: str = ""
    fund_amount: str = ""
    funding: bool = False
    push_all_open: bool = False  # the "Push all" confirmation
    pushing_all: bool = False
    period_id: int = 0
    allocations: list[dict[str, str]] = []
    allocations_offset: int = 0
    allocations_total: int = 0
    _fund_key: str = ""  # one Fund click funds once, however often the request is sent
    # "Fund from my wallet": the browser wallet sends the transactions; the amount and progress stay server-side.
    wallet_fund_amount: str = ""
    wallet_busy: bool = False
    wallet_notice: str = ""
    _wallet_amount: int = 0  # base units; 0 = no wallet funding under way
    _wallet_reward: int = 0
    _wallet_from: str = ""
    _wallet_step: int = 0  # the step the wallet is asked for
    _wallet_steps: int = 0  # 1 (the coin's fundEth) or 2 (a token's approve, then fundToken)
    _wallet_chain: str = ""  # "31337 (local)": the chain the wallet must be on

    def _campaign_from_url(self) -> int:
        parts = self.router.url.path.rstrip("/").split("/")
        raw = parts[-2] if len(parts) >= 2 else ""
        return int(raw) if raw.isdigit() and 0 < int(raw) < 2**31 else 0

    @rx.event
    async def load_rewards(self):
        actor = await current_actor(self)
        if actor is None:
            return SessionState.to_sign_in
        self.campaign_id = self._campaign_from_url()
        self.not_found = self.campaign_id == 0
        if not self.not_found:
            try:
                rewards = await asyncio.to_thread(list_rewards, actor, self.campaign_id)
            except NotFound:
                self.not_found = True
            else:
                self.rewards = [reward_row(r) for r in rewards]
                self._rewards = {r.id: r for r in rewards}
        self.loaded = True
        return None

    @rx.event
    def open_new(self, kind: str):
        self.editing_id, self.editing_in_use = 0, False
        self.kind = kind if kind in ("perk", "payout") else "perk"
        self.values = dict(EMPTY_FORM) | {"kind": self.kind}
        self.field_errors, self.form_error, self.form_open = {}, "", True

    @rx.event
    def open_edit(self, reward_id: str):
        reward = self._rewards.get(int(reward_id)) if reward_id.isdigit() else None
        if reward is None:
            return
        self.editing_id, self.editing_in_use, self.kind = reward.id, reward.in_use, reward.kind.value  # type: ignore[assignment]
        self.values = _form_values(reward)
        self.field_errors, self.form_error, self.form_open = {}, "", True

    @rx.event
    def set_form_open(self, value: bool):
        self.form_open = value

    @rx.event
    async def submit_reward(self, form: dict):
        actor = await current_actor(self)
        if actor is None:
            yield SessionState.to_sign_in
            return
        data, errors = form_to_reward(form, kind=self.kind)
        self.values = {name: str(form.get(name, "") or "") for name in FORM_FIELDS} | {"kind": self.kind}
        self.field_errors, self.form_error = errors, ""
        if errors:
            self.form_error = "Please fix the highlighted fields."
            return
        self.saving = True
        yield
        try:
            if self.editing_id:
                changes = {k: v for k, v in data.items() if k != "kind"}
                saved = await asyncio.to_thread(update_reward, actor, self.editing_id, changes)
            else:
                saved = await asyncio.to_thread(define_reward, actor, self.campaign_id, data)
        except DomainError as exc:
            self.form_error, self.field_errors = exc.message, dict(exc.fields)
        else:
            self.form_open = False
            self.notice = f"Saved “{saved.title}”."
            rewards = await asyncio.to_thread(list_rewards, actor, self.campaign_id)
            self.rewards = [reward_row(r) for r in rewards]
            self._rewards = {r.id: r for r in rewards}
        finally:
            self.saving = False

    @rx.event
    async def end_reward(self, reward_id: str):
        actor = await current_actor(self)
        if actor is None:
            return SessionState.to_sign_in
        if not reward_id.isdigit():
            return None
        try:
            ended = await asyncio.to_thread(end_reward, actor, int(reward_id), "Ended by an admin")
        except DomainError as exc:
            self.form_error, self.notice = exc.message, exc.message
            return None
        self.notice = f"“{ended.title}” has ended."
        rewards = await asyncio.to_thread(list_rewards, actor, ended.campaign_id)
        self.rewards = [reward_row(r) for r in rewards]
        self._rewards = {r.id: r for r in rewards}
        return None

    @rx.event
    async def show_stats(self, reward_id: str):
        actor = await current_actor(self)
        if actor is None:
            return SessionState.to_sign_in
        if not reward_id.isdigit():
            return None
        self.selected_id, self.stats_loaded = int(reward_id), False
        reward = self._rewards.get(int(reward_id))
        self.payout_loaded, self.payout_notice, self.period_id, self.allocations = False, "", 0, []
        if reward is not None and reward.kind.value == "payout":
            await self._load_payouts(actor)
        try:
            stats = await asyncio.to_thread(reward_stats, actor, int(reward_id))
        except NotFound:
            self.selected_id = 0
            return None
        self.stats_totals = {"redeemed": stats.redeemed, "refused": stats.refused}
        self.stats_by_day = [{"day": day[5:], "redemptions": n} for day, n in stats.by_day]
        self.stats_by_location = [{"name": name or "—", "count": str(n)} for name, n in stats.by_location]
        self.stats_by_staff = [{"name": name, "count": str(n)} for name, n in stats.by_staff]
        self.stats_refusals = [{"reason": reason.replace("_", " "), "count": str(n)} for reason, n in stats.refusals]
        self.stats_recent_refusals = [{"at": utc_datetime(at), "staff": staff or "—",
                                       "location": loc or "—", "message": msg}
                                      for at, staff, loc, msg in stats.recent_refusals]
        self.stats_online_codes = [{"at": utc_datetime(at), "token": str(token), "code": code}
                                   for at, token, code in stats.recent_online_codes]
        self.stats_loaded = True
        return None

    # -- payouts panel ---------------------------------------------------------------------------------------------

    async def _load_payouts(self, actor: Any) -> None:
        reward = self._rewards.get(self.selected_id)
        try:
            overview = await asyncio.to_thread(payout_overview, actor, self.selected_id)
        except DomainError as exc:
            self.payout_notice = exc.message
            return
        self.payout_vault, self.payout_periods = overview_rows(overview, *_currency(reward))
        self._fund_key = self._fund_key or secrets.token_hex(12)
        self.payout_loaded = True

    @rx.event
    async def refresh_payouts(self):
        actor = await current_actor(self)
        if actor is None:
            return SessionState.to_sign_in
        await self._load_payouts(actor)
        return None

    @rx.event
    def set_fund_amount(self, value: str):
        self.fund_amount = value[:40]

    @rx.event
    async def submit_fund(self, form: dict):
        actor = await current_actor(self)
        if actor is None:
            yield SessionState.to_sign_in
            return
        decimals, _ = _currency(self._rewards.get(self.selected_id))
        try:
            amount = parse_units(str(form.get("amount", "") or self.fund_amount), decimals)
        except ValueError as exc:
            self.payout_notice = str(exc)
            return
        self.funding = True
        self._fund_key = self._fund_key or secrets.token_hex(12)
        yield
        try:
            tx = await asyncio.to_thread(fund_vault, actor, self.selected_id, amount, self._fund_key)
        except DomainError as exc:
            self.payout_notice = self.form_error = exc.message
        else:
            self.payout_notice = f"Funding sent to the transaction manager (transaction {tx.id}); the balance " \
                                 "updates once it is confirmed."
            self._fund_key, self.fund_amount = secrets.token_hex(12), ""
            await self._load_payouts(actor)
        finally:
            self.funding = False

    # -- funding from the admin's own wallet ------------------------------------------------------------------------

    @rx.event
    def set_wallet_fund_amount(self, value: str):
        self.wallet_fund_amount = value[:40]

    def _stop_wallet(self, notice: str) -> None:
        self.wallet_notice, self.wallet_busy = notice, False
        self._wallet_amount, self._wallet_reward, self._wallet_from = 0, 0, ""
        self._wallet_step, self._wallet_steps, self._wallet_chain = 0, 0, ""

    @rx.event
    async def submit_wallet_fund(self, form: dict):
        """ "Fund from my wallet": check the amount and that the actor (as they are now) may write the campaign and the
        vault is deployed, then ask the browser wallet for its account."""
        actor = await current_actor(self)
        if actor is None:
            return SessionState.to_sign_in
        decimals, _ = _currency(self._rewards.get(self.selected_id))
        try:
            amount = parse_units(str(form.get("amount", "") or self.wallet_fund_amount), decimals)
        except ValueError as exc:
            self.wallet_notice = str(exc)
            return None
        try:
            await asyncio.to_thread(wallet_funding, actor, self.selected_id, amount)
        except DomainError as exc:
            self._stop_wallet(exc.message)
            self.form_error = exc.message
            return None
        self._stop_wallet("Connect your wallet…")
        self._wallet_amount, self._wallet_reward, self.wallet_busy = amount, self.selected_id, True
        return rx.call_script(CONNECT_WALLET_SCRIPT, callback=AdminCampaignRewardsState.wallet_fund_connected)

    async def _send_wallet_step(self) -> Any:
        """Prepare the funding again as the actor is now (a role taken away between the prompts stops it) and ask the
        wallet to send the current step, on the vault's chain."""
        actor = await current_actor(self)
        if actor is None:
            self._stop_wallet("")
            return SessionState.to_sign_in
        try:
            funding: WalletFunding = await asyncio.to_thread(wallet_funding, actor, self._wallet_reward,
                                                             self._wallet_amount)
        except DomainError as exc:
            self._stop_wallet(exc.message)
            self.form_error = exc.message
            return None
        if self._wallet_step >= len(funding.steps):
            self._stop_wallet("")
            return None
        step = funding.steps[self._wallet_step]
        self._wallet_steps, self._wallet_chain = len(funding.steps), f"{funding.chain_id} ({funding.chain})"
        if len(funding.steps) == 1:
            self.wallet_notice = "Confirm the funding in your wallet…"
        elif step.action == "approve":
            self.wallet_notice = "Step 1 of 2: approve the vault to take the amount from your wallet…"
        else:
            self.wallet_notice = "Step 2 of 2: confirm the funding in your wallet…"
        return rx.call_script(send_transaction_script(self._wallet_from, step.to, step.data, step.value,
                                                      funding.chain_id),
                              callback=AdminCampaignRewardsState.wallet_fund_sent)

    @rx.event
    async def wallet_fund_connected(self, result: dict):
        if not self._wallet_amount:  # nothing under way (or a forged call)
            return None
        try:
            self._wallet_from = connected_address(result)
        except ValueError as exc:
            self._stop_wallet(str(exc))
            return None
        self._wallet_step = 0
        return await self._send_wallet_step()

    @rx.event
    async def wallet_fund_sent(self, result: dict):
        if not self._wallet_amount:
            return None
        tx_hash = sent_hash(result)
        if tx_hash is None:
            error = result.get("error") if isinstance(result, dict) else None
            if error == "wrong_chain":
                got = result.get("chain_id")  # type: ignore[union-attr]
                where = f"chain {got}" if isinstance(got, int) and not isinstance(got, bool) else "another chain"
                self._stop_wallet(f"Your wallet is on {where}: switch it to the vault's chain, {self._wallet_chain}, "
                                  "and try again.")
            elif error == "no_wallet":
                self._stop_wallet("No browser wallet was found. Install one (such as MetaMask) and try again.")
            elif isinstance(result, dict) and result.get("code") == USER_REJECTED:
                self._stop_wallet("You declined the transaction in your wallet.")
            else:
                self._stop_wallet("Your wallet did not send the transaction. Try again.")
            return None
        if self._wallet_step + 1 < self._wallet_steps:
            self.wallet_notice = f"Approval sent: {tx_hash}. Waiting for it to be confirmed before the funding…"
            return rx.call_script(wait_receipt_script(tx_hash), callback=AdminCampaignRewardsState.wallet_fund_approved)
        self._stop_wallet(f"Sent: {tx_hash}; the balance updates once it is confirmed.")
        self.wallet_fund_amount = ""
        actor = await current_actor(self)
        if actor is not None:
            await self._load_payouts(actor)
        return None

    @rx.event
    async def wallet_fund_approved(self, result: dict):
        if not self._wallet_amount or self._wallet_step + 1 >= self._wallet_steps:
            return None
        status = result.get("status") if isinstance(result, dict) else None
        if status != 1:
            error = result.get("error") if isinstance(result, dict) else None
            self._stop_wallet("The approval was not confirmed in time: check your wallet, then fund again."
                              if error == "timeout" else
                              "The approval failed on chain (nothing was funded). Try again.")
            return None
        self._wallet_step += 1
        return await self._send_wallet_step()

    async def _load_allocations(self, actor: Any) -> None:
        decimals, symbol = _currency(self._rewards.get(self.selected_id))
        page = await asyncio.to_thread(period_allocations, actor, self.period_id, offset=self.allocations_offset,
                                       limit=ALLOCATIONS_PER_PAGE)
        self.allocations_total = page.total
        self.allocations = [{"holder": a.holder, "account": "" if a.account_id is None else f"account {a.account_id}",
                             "tokens": str(a.tokens), "amount": units_text(a.amount, decimals, symbol),
                             "batch": str(a.batch), "state": "claimed" if a.claimed_at else (
                                 "unclaimed" if a.allocated_block is not None else "pending")}
                            for a in page.items]

    @rx.event
    async def show_allocations(self, period_id: str):
        actor = await current_actor(self)
        if actor is None:
            return SessionState.to_sign_in
        if not period_id.isdigit():
            return None
        self.period_id, self.allocations_offset = int(period_id), 0
        try:
            await self._load_allocations(actor)
        except DomainError as exc:
            self.payout_notice, self.period_id = exc.message, 0
        return None

    @rx.event
    async def page_allocations(self, step: int):
        actor = await current_actor(self)
        if actor is None:
            return SessionState.to_sign_in
        offset = self.allocations_offset + step * ALLOCATIONS_PER_PAGE
        if self.period_id and 0 <= offset < max(self.allocations_total, 1):
            self.allocations_offset = offset
            await self._load_allocations(actor)
        return None

    @rx.event
    async def push_to_holder(self, holder: str):
        actor = await current_actor(self)
        if actor is None:
            return SessionState.to_sign_in
        try:
            tx = await asyncio.to_thread(push_payout, actor, self.selected_id, holder)
        except (DomainError, ValueError) as exc:
            self.payout_notice = self.form_error = getattr(exc, "message", str(exc))
        else:
            self.payout_notice = f"Payout to {holder[:10]}… queued (transaction {tx.id})."
        return None

    @rx.event
    def set_push_all_open(self, value: bool):
        self.push_all_open = bool(value) or self.pushing_all

    @rx.event
    async def push_all_payouts(self):
        """ "Push all", confirmed: one batch of payouts per step (each step re-reads who is signed in and their roles),
        the progress shown between batches. Holders already pushed for the same amount are not pushed again."""
        after, holders, queued, already, total = "", 0, 0, 0, -1
        self.pushing_all = True
        try:
            while True:
                actor = await current_actor(self)
                if actor is None:
                    yield SessionState.to_sign_in
                    return
                try:
                    batch = await asyncio.to_thread(push_payouts_batch, actor, self.selected_id, after=after)
                except DomainError as exc:
                    self.payout_notice = self.form_error = exc.message
                    return
                total = batch.remaining if total < 0 else total
                holders, queued, already = holders + batch.holders, queued + batch.queued, already + batch.already
                if batch.next_after is None:
                    break
                after = batch.next_after
                self.payout_notice = f"Pushing payouts… {holders} of {total} holders done."
                yield
            if holders == 0:
                self.payout_notice = ("Nothing to push: every allocation of this reward confirmed on chain is claimed "
                                      "or paid out.")
            else:
                self.payout_notice = (f"Push all: {queued} payout(s) queued for {holders} holder(s)"
                                      + (f", {already} already queued before (not sent again)" if already else "")
                                      + ". Holders are paid as the transactions confirm.")
            await self._load_payouts(actor)
        finally:
            self.pushing_all, self.push_all_open = False, False

    @rx.event
    async def retry_failed_period(self, period_id: str):
        actor = await current_actor(self)
        if actor is None:
            return SessionState.to_sign_in
        if not period_id.isdigit():
            return None
        try:
            await asyncio.to_thread(retry_period, actor, int(period_id))
        except DomainError as exc:
            self.payout_notice = self.form_error = exc.message
        else:
            self.payout_notice = "The failed batches are sent again."
            await self._load_payouts(actor)
        return None

    @rx.event
    async def retry_vault(self):
        actor = await current_actor(self)
        if actor is None:
            return SessionState.to_sign_in
        try:
            await asyncio.to_thread(retry_vault_deployment, actor, self.selected_id)
        except DomainError as exc:
            self.payout_notice = self.form_error = exc.message
        else:
            self.payout_notice = "The vault's deployment is requested again."
            await self._load_payouts(actor)
        return None
