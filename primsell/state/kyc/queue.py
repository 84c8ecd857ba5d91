"""The KYC review queue: identity checks waiting for a reviewer (the KYC service arrives with its own issue)."""

from __future__ import annotations

import reflex as rx

from primsell.state.table import PagedTableMixin


class KycQueueState(PagedTableMixin, rx.State):
    async def _fetch(self) -> None:
        # No KYC service exists yet: the table shows its empty state until backend.kyc provides the queue.
        self.rows, self.total = [], 0

    @rx.event
    async def load_queue(self):
        self.loading = True
        yield
        await self._refresh()
