"""The Reconciliation page: the last run, its totals by currency, its exceptions (paged, linked to the order
timeline), and "Run now" with the run's progress. Platform admins see every brand; brand admins their own."""

from __future__ import annotations

import asyncio

import reflex as rx

from backend.errors import DomainError, Forbidden, NotAuthenticated
from backend.money import money_text
from backend.reconciliation.report import age_text
from backend.reconciliation.service import (
    Report,
    RunView,
    Totals,
    latest_report,
    reconcile_now,
    run_reconciliation,
    run_view,
)
from primsell import routes
from primsell.format import utc_datetime, utc_time
from primsell.state.session import SessionState, current_actor, current_brand
from primsell.state.table import PagedTableMixin

PROGRESS_EVERY_S = 1.0
KIND_LABELS = {
    "paid_not_minted": "Paid, not minted", "minted_twice": "Minted twice", "refunded_and_minted": "Refunded and minted",
    "amount_mismatch": "Amount mismatch", "wrong_recipient": "Wrong recipient", "orphan_transfer": "Orphan transfer",
    "orphan_charge": "Orphan charge", "supply_mismatch": "Supply mismatch",
}


def _run_row(run: RunView | None) -> dict[str, str]:
    if run is None:
        return {}
    return {
        "id": str(run.id),
        "status": run.status,
        "trigger": run.trigger,
        "scope": run.scope,
        "since": utc_datetime(run.since, seconds=True),
        "started_at": utc_datetime(run.started_at, seconds=True),
        "finished_at": utc_datetime(run.finished_at, seconds=True),
        "provider": run.provider,
        "orders": f"{run.orders_checked:,}",
        "error": run.error,
        "stage": run.stage,
    }


def _totals_rows(totals: dict[str, Totals]) -> list[dict[str, str]]:
    rows = []
    for currency, t in totals.items():
        def money(amount: int, currency: str = currency) -> str:
            return money_text(amount, currency)

        # Money ties when the provider and our orders agree; tokens when our rows and the chain do (tokens sold and
        # not minted yet are the orders in flight, shown beside).
        ties = (t.money_in_minor == t.orders_paid_minor and t.refunded_minor == t.orders_refunded_minor
                and t.tokens_minted == t.tokens_on_chain)
        rows.append({
            "currency": currency, "money_in": money(t.money_in_minor), "orders_paid": money(t.orders_paid_minor),
            "refunded": money(t.refunded_minor), "orders_refunded": money(t.orders_refunded_minor),
            "net": money(t.net_minor), "tokens_sold": f"{t.tokens_sold:,}", "tokens_minted": f"{t.tokens_minted:,}",
            "tokens_on_chain": f"{t.tokens_on_chain:,}", "supply": f"{t.collections_supply:,}",
            "orders": f"{t.orders_paid:,}", "minted": f"{t.orders_minted:,}",
            "refunded_orders": f"{t.orders_refunded:,}", "in_flight": f"{t.orders_in_flight:,}",
            "oldest": age_text(t.oldest_in_flight_s) if t.oldest_in_flight_s is not None else "",
            "ties": "yes" if ties else "no",
        })
    return rows


def _exception_rows(report: Report) -> list[dict[str, str]]:
    return [{"id": str(e.id), "kind": e.kind, "kind_label": KIND_LABELS.get(e.kind, e.kind), "reason": e.reason,
             "order": str(e.order_id or ""), "order_url": routes.admin_order(e.order_id) if e.order_id else "",
             "campaign": str(e.campaign_id or "")} for e in report.exceptions]


class AdminReconciliationState(PagedTableMixin, rx.State):
    """The table mixin pages the last run's exceptions; the run and its totals are small and shown whole."""

    page_size: int = 20
    loaded: bool = False
    forbidden: bool = False
    last_run: dict[str, str] = {}
    totals: list[dict[str, str]] = []
    running: bool = False
    progress: str = ""
    # The run this tab started (server-side only, so a client cannot name another): follow_run executes it.
    _run_id: int = 0
    _execute: bool = False

    def _show(self, report: Report) -> None:
        self.last_run = _run_row(report.run)
        self.totals = _totals_rows(report.totals)
        self.rows, self.total = _exception_rows(report), report.exceptions_total
        if report.running is not None and not self.running:
            self.progress = f"A run started {utc_time(report.running.started_at)} is going on: {report.running.stage}"

    async def _fetch(self) -> None:
        actor = await current_actor(self)
        if actor is None:
            return
        try:
            brand = await current_brand(self) or None
            report = await asyncio.to_thread(latest_report, actor, brand, limit=self.page_size, offset=self.offset)
        except (Forbidden, NotAuthenticated):
            self.forbidden = True
            return
        except DomainError as exc:
            self.load_error = exc.message
            return
        self.forbidden = False
        self._show(report)

    @rx.event
    async def load_reconciliation(self):
        """on_load: the last run's report."""
        self.loaded, self.forbidden, self.loading, self.page, self.load_error = False, False, True, 1, ""
        self.progress = ""
        refresh = await self._refresh()
        self.loaded = True
        return refresh

    @rx.event
    async def run_now(self):
        """Record a run (the backend checks who may: a platform admin runs every brand, a brand admin their own),
        then follow it in the background."""
        if self.running:
            return None
        actor = await current_actor(self)
        if actor is None:
            return SessionState.to_sign_in
        try:
            run_id, new = await asyncio.to_thread(reconcile_now, actor, await current_brand(self) or None)
        except DomainError as exc:
            self.load_error = exc.message
            return rx.toast.error(exc.message)
        self._run_id, self._execute = run_id, new
        self.running, self.progress = True, "Starting…"
        return AdminReconciliationState.follow_run

    @rx.event(background=True)
    async def follow_run(self):
        """Execute the run `run_now` recorded (or, when one was going on already, wait for it), showing its stage;
        then show its report. Each tick reads the run as the person signed in now: signed out or no longer allowed,
        the tab stops following it (a run it executes still finishes: it was asked for while allowed)."""
        async with self:
            run_id, execute = self._run_id, self._execute
            self._run_id, self._execute = 0, False
            actor = await current_actor(self)
            brand = await current_brand(self) or None
        if not run_id or actor is None:
            async with self:
                self.running = False
            return
        work = asyncio.create_task(asyncio.to_thread(run_reconciliation, run_id=run_id)) if execute else None
        outcome = ""
        while True:
            await asyncio.sleep(PROGRESS_EVERY_S)
            async with self:
                actor = await current_actor(self)
            if actor is None:
                break
            try:
                view = await asyncio.to_thread(run_view, actor, run_id, brand)
            except DomainError as exc:
                outcome = exc.message
                break
            async with self:
                self.progress = view.stage or "Finishing…"
            if view.status != "running" and (work is None or work.done()):
                outcome = view.status
                break
        if work is not None:
            try:
                await work
            except Exception:  # noqa: BLE001  (stored on the run and in the error log; the report says it failed)
                outcome = "failed"
        async with self:
            self.running, self.progress, self.page = False, "", 1
            signed_out = await self._refresh()
        if signed_out is not None:
            yield signed_out
        elif outcome == "failed":
            yield rx.toast.error("The reconciliation run failed; see its error below.")
        elif outcome == "exceptions":
            yield rx.toast.warning("The reconciliation run found exceptions.")
        elif outcome == "clean":
            yield rx.toast.success("The reconciliation run is clean.")
