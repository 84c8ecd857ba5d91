"""The platform Chain page: the signer's balance per chain (read from the node in the background) and every chain
transaction, filtered by status and purpose and paged by the backend. Platform admins only."""

from __future__ import annotations

import asyncio
from decimal import ROUND_DOWN, Decimal, localcontext

import reflex as rx

from backend.chain.models import TxPurpose, TxState
from backend.chain.service import SignerBalance, TxRow, list_transactions, signer_balances
from backend.errors import DomainError, Forbidden, NotAuthenticated
from primsell.format import short_hex, utc_datetime
from primsell.state.session import SessionState, current_actor
from primsell.state.table import PagedTableMixin

WEI_PER_ETH = 10**18
ETH_PLACES = Decimal("0.000001")
STATUSES = [s.value for s in TxState]
PURPOSES = [p.value for p in TxPurpose]


def wei_to_eth(wei: int) -> str:
    """Wei as ETH with six decimals (rounded down, so a balance is never shown higher than it is), exact."""
    with localcontext() as ctx:
        ctx.prec = 100  # wei amounts are unbounded integers; the default 28 digits could round them
        eth = (Decimal(wei) / WEI_PER_ETH).quantize(ETH_PLACES, rounding=ROUND_DOWN)
    return f"{eth:,.6f}"


def balance_rows(balances: list[SignerBalance]) -> list[dict[str, str]]:
    return [
        {
            "chain": b.chain,
            "address": b.address,
            "balance": "" if b.balance_wei is None else wei_to_eth(b.balance_wei),
            "threshold": wei_to_eth(b.threshold_wei),
            "low": "yes" if b.low and b.balance_wei is not None else "",
            "error": b.error,
        }
        for b in balances
    ]


def tx_rows(items: list[TxRow]) -> list[dict[str, str]]:
    return [
        {
            "id": str(t.id),
            "purpose": t.purpose,
            "chain": t.chain,
            "status": t.status,
            "tx_hash": t.tx_hash or "",
            "tx_short": short_hex(t.tx_hash, 8),
            "tx_url": t.tx_url or "",
            "nonce": "" if t.nonce is None else str(t.nonce),
            "block": "" if t.block_number is None else f"{t.block_number:,}",
            "attempts": str(t.attempts),
            "error": t.error,
            "created_at": utc_datetime(t.created_at, seconds=True),
        }
        for t in items
    ]


class AdminChainState(PagedTableMixin, rx.State):
    """The mixin pages the transactions; the balances are a handful of rows."""

    page_size: int = 20
    loaded: bool = False
    forbidden: bool = False
    status_filter: str = ""
    purpose_filter: str = ""
    balances: list[dict[str, str]] = []
    balances_loading: bool = True
    balances_error: str = ""

    async def _fetch(self) -> None:
        actor = await current_actor(self)
        if actor is None:
            return
        try:
            page = await asyncio.to_thread(
                list_transactions, actor, status=self.status_filter or None, purpose=self.purpose_filter or None,
                limit=self.page_size, offset=self.offset)
        except (Forbidden, NotAuthenticated):
            self.forbidden = True
        except DomainError as exc:
            self.rows, self.total, self.load_error = [], 0, exc.message
        else:
            self.rows, self.total = tx_rows(page.items), page.total

    @rx.event
    async def load_chain(self):
        """on_load: the transactions first (the database answers at once), then the balances from the node."""
        self.loaded, self.forbidden, self.loading, self.page, self.load_error = False, False, True, 1, ""
        actor = await current_actor(self)
        if actor is None:
            return SessionState.to_sign_in
        if not actor.is_platform_admin:
            self.forbidden, self.loaded = True, True
            return None
        signed_out = await self._refresh()
        if signed_out is not None:
            return signed_out
        self.loaded = True
        return None if self.forbidden else AdminChainState.load_balances

    @rx.event(background=True)
    async def load_balances(self):
        """An RPC call per chain: outside the state lock, so the page stays usable while the node answers."""
        async with self:
            self.balances_loading, self.balances_error = True, ""
            actor = await current_actor(self)
        if actor is None:
            return
        try:
            balances = await asyncio.to_thread(signer_balances, actor)
        except DomainError as exc:
            async with self:
                self.balances, self.balances_error, self.balances_loading = [], exc.message, False
            return
        async with self:
            self.balances, self.balances_loading = balance_rows(balances), False

    @rx.event
    async def refresh(self):
        self.loading = True
        yield
        yield await self._refresh()
        yield AdminChainState.load_balances

    @rx.event
    async def set_status_filter(self, value: str):
        self.status_filter = value if value in STATUSES else ""
        self.page, self.loading = 1, True
        yield
        yield await self._refresh()

    @rx.event
    async def set_purpose_filter(self, value: str):
        self.purpose_filter = value if value in PURPOSES else ""
        self.page, self.loading = 1, True
        yield
        yield await self._refresh()
