"""The campaign page's Contract section: deploy and retry, the deployment status (re-read every few seconds while
the page is open), the deployment history, minted vs supply, and the campaign's tokens paged from the backend."""

from __future__ import annotations

import asyncio

import reflex as rx

from backend.auth.acl import Actor
from backend.campaigns.service import CONTRACT_KEPT
from backend.chain.mints import MintedCount, TokenRow
from backend.chain.service import (
    DeploymentStatus,
    deployment_status,
    list_tokens,
    minted_count,
    request_deploy,
    retry_deploy,
)
from backend.errors import DomainError
from primsell import routes
from primsell.components.timeline import timeline_rows
from primsell.format import short_hex
from primsell.state.polling import SAME, STOP, PollingMixin, Schedule
from primsell.state.session import SessionState, current_actor
from primsell.state.table import PagedTableMixin

REFRESH = Schedule(every_s=2)


def stage_of(state: str, tx_hash: str) -> str:
    """The contract machine's state as the page tells it: queued -> sent -> deployed, or failed.

    `deploying` means a deploy transaction exists; until it is signed it has no hash and is still queued.
    """
    if state == "deploy_requested" or (state == "deploying" and not tx_hash):
        return "queued"
    if state == "deploying":
        return "sent"
    if state in ("deployed", "failed"):
        return state
    return "not_deployed"


def token_rows(tokens: list[TokenRow]) -> list[dict[str, str]]:
    return [
        {"token_id": str(t.token_id), "owner": t.owner, "owner_short": short_hex(t.owner),
         "tx_hash": t.tx_hash or "", "tx_short": short_hex(t.tx_hash), "tx_url": t.tx_url or ""}
        for t in tokens
    ]


def share_bps(part: int, whole: int) -> int:
    """`part` of `whole` in basis points (0..10000), integer arithmetic."""
    if whole <= 0:
        return 0
    return max(0, min(10_000, part * 10_000 // whole))


def bps_percent(bps: int) -> str:
    return f"{bps // 100}.{bps % 100:02d}%"


def _read_section(actor: Actor, campaign_id: int, limit: int, offset: int, tokens: bool):  # type: ignore[no-untyped-def]
    """One thread hop for the whole section; the token page is read only when asked (on load, minted moved)."""
    status = deployment_status(actor, campaign_id)
    count = minted_count(actor, campaign_id)
    page = list_tokens(actor, campaign_id, limit=limit, offset=offset) if tokens else None
    return status, count, page


class AdminCampaignChainState(PagedTableMixin, PollingMixin, rx.State):
    """The table mixin pages the tokens; the rest of the section is small and shown whole, re-read every few seconds
    while the page is open (PollingMixin)."""

    campaign_id: int = 0
    loaded: bool = False
    # Why the section could not be read (the tokens table has its own load_error).
    section_error: str = ""
    # The contract (DeploymentStatus, display-ready).
    chain: str = ""
    contract_state: str = "draft"
    tx_hash: str = ""
    tx_url: str = ""
    contract_address: str = ""
    contract_url: str = ""
    error: str = ""
    entries: list[dict[str, str]] = []
    # Minted vs supply (MintedCount).
    minted: int = 0
    pending: int = 0
    supply_cap: int = 0
    # A deploy or retry request is on its way.
    requesting: bool = False

    @rx.var
    def stage(self) -> str:
        return stage_of(self.contract_state, self.tx_hash)

    @rx.var
    def keeps_contract(self) -> bool:
        """A deploy is requested, under way or done: the draft can no longer be deleted (the service refuses it too)."""
        return self.contract_state in CONTRACT_KEPT  # StrEnum members equal their values

    @rx.var
    def stage_step(self) -> int:
        """How far along queued (0) -> sent (1) -> deployed (2) it got; a failure stops after "sent"."""
        return {"queued": 0, "sent": 1, "deployed": 2, "failed": 1}.get(stage_of(self.contract_state, self.tx_hash), -1)

    @rx.var
    def minted_share(self) -> str:
        return bps_percent(share_bps(self.minted, self.supply_cap))

    @rx.var
    def pending_share(self) -> str:
        # The bar never runs past 100 %: pending tokens fill at most what minted ones left.
        minted = share_bps(self.minted, self.supply_cap)
        return bps_percent(min(10_000 - minted, share_bps(self.pending, self.supply_cap)))

    # -- reading ---------------------------------------------------------------------------------------------------

    def _campaign_from_url(self) -> int:
        raw = self.router.url.path.rstrip("/").rsplit("/", 1)[-1]
        return int(raw) if raw.isdigit() else 0

    def _here(self) -> bool:
        return bool(self.campaign_id) and self.router.url.path.rstrip("/") == routes.admin_campaign(self.campaign_id)

    def _show_status(self, status: DeploymentStatus) -> None:
        self.chain = status.chain
        self.contract_state = status.state
        self.tx_hash, self.tx_url = status.tx_hash or "", status.tx_url or ""
        self.contract_address, self.contract_url = status.contract_address or "", status.contract_url or ""
        self.error = status.error
        self.entries = timeline_rows(status.history)

    def _show_count(self, count: MintedCount) -> None:
        self.minted, self.pending, self.supply_cap = count.minted, count.pending, count.supply_cap

    async def _load(self, actor: Actor) -> bool:
        try:
            status, count, page = await asyncio.to_thread(
                _read_section, actor, self.campaign_id, self.page_size, self.offset, True)
        except DomainError as exc:
            self.section_error = exc.message
            return False
        self.section_error = ""
        self._show_status(status)
        self._show_count(count)
        self.rows, self.total = token_rows(page.items), page.total
        self.loading = False
        return True

    @rx.event
    async def load_contract(self):
        """on_mount of the section (it mounts once the campaign is loaded): read it, then keep it fresh."""
        self.campaign_id = self._campaign_from_url()
        self.loaded, self.loading, self.page, self.requesting = False, True, 1, False
        self.rows, self.total, self.entries = [], 0, []
        actor = await current_actor(self)
        if actor is None:
            return SessionState.to_sign_in
        if not self.campaign_id:
            return None
        ok = await self._load(actor)
        self.loaded = True
        return AdminCampaignChainState.auto_refresh if ok else None

    # -- re-reading while the page is open (PollingMixin) -----------------------------------------------------------

    def _poll_here(self) -> bool:
        return self._here()

    async def _poll_inputs(self):  # type: ignore[no-untyped-def]
        actor = await current_actor(self)
        if actor is None:
            return None
        return actor, self.campaign_id, self.page, self.minted, self.page_size, self.offset

    async def _poll_read(self, inputs):  # type: ignore[no-untyped-def]
        """The contract and the mint count; the token page only when the minted count moved."""
        actor, campaign_id, _, minted, limit, offset = inputs
        status, count, _ = await asyncio.to_thread(_read_section, actor, campaign_id, limit, offset, False)
        tokens = None
        if count.minted != minted:
            tokens = await asyncio.to_thread(list_tokens, actor, campaign_id, limit=limit, offset=offset)
        return status, count, tokens

    def _poll_show(self, inputs, reading) -> str:  # type: ignore[no-untyped-def]
        _, campaign_id, page, *_ = inputs
        status, count, tokens = reading
        if campaign_id != self.campaign_id:
            return STOP
        self._show_status(status)
        self._show_count(count)
        if tokens is not None and page == self.page:  # a page change meanwhile has its own rows
            self.rows, self.total = token_rows(tokens.items), tokens.total
        return SAME

    @rx.event(background=True, supersedes=True)
    async def auto_refresh(self):
        """Re-read the contract and the mint count every few seconds while this campaign's page is open."""
        await self._poll(REFRESH)

    # -- the tokens table (PagedTableMixin pages it) -------------------------------------------------------------

    async def _fetch(self) -> None:
        actor = await current_actor(self)
        if actor is None:
            return
        try:
            page = await asyncio.to_thread(list_tokens, actor, self.campaign_id, limit=self.page_size,
                                           offset=self.offset)
        except DomainError as exc:
            self.rows, self.total, self.load_error = [], 0, exc.message
        else:
            self.rows, self.total = token_rows(page.items), page.total

    # -- commands ------------------------------------------------------------------------------------------------------

    async def _command(self, command, done: str):  # type: ignore[no-untyped-def]
        actor = await current_actor(self)
        if actor is None:
            yield SessionState.to_sign_in
            return
        if not self.campaign_id or self.requesting:
            return
        self.requesting = True
        yield
        try:
            status = await asyncio.to_thread(_run_and_read, command, actor, self.campaign_id)
        except DomainError as exc:
            self.requesting = False
            yield rx.toast.error(exc.message)
            return
        self._show_status(status)
        self.requesting = False
        yield rx.toast.success(done)
        if not self.polling:
            yield AdminCampaignChainState.auto_refresh

    @rx.event
    async def deploy_contract(self):
        async for update in self._command(request_deploy, "Deployment requested: it is sent in a few seconds."):
            yield update

    @rx.event
    async def retry_deployment(self):
        async for update in self._command(retry_deploy, "Deployment queued again."):
            yield update


def _run_and_read(command, actor: Actor, campaign_id: int) -> DeploymentStatus:  # type: ignore[no-untyped-def]
    """Run the deploy command, then read back what the page shows (the command returns the bare row)."""
    command(actor, campaign_id)
    return deployment_status(actor, campaign_id)
