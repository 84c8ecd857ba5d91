"""The Operations page: daemons, scheduler heartbeat, outbox backlog, dead letters (retry), the paged error log
(refreshed every few seconds while the page is open), and the entity-history lookup."""

from __future__ import annotations

import asyncio

import reflex as rx

from backend.db import utcnow
from backend.errors import DomainError, Forbidden, NotAuthenticated
from backend.operations.service import ErrorView, Overview, error_log, overview, retry_dead_letter
from backend.workflow.machines import MACHINES
from backend.workflow.transitions import history
from primsell import routes
from primsell.components.timeline import timeline_rows
from primsell.format import utc_datetime
from primsell.state.polling import SAME, PollingMixin, Schedule
from primsell.state.session import SessionState, current_actor
from primsell.state.table import PagedTableMixin

REFRESH = Schedule(every_s=5)
DEAD_LETTER_LIMIT = 50
ENTITY_TYPES = list(MACHINES)  # order, contract, reward, kyc_case


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{seconds / 60:.1f} min"


def age_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.0f} s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"


def _short(text: str, limit: int = 240) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _error_rows(errors: list[ErrorView]) -> list[dict[str, str]]:
    return [
        {
            "id": str(e.id),
            "source": e.source,
            "exc_type": e.exc_type,
            "message": _short(e.message),
            "count": f"{e.count:,}",
            "first_seen": utc_datetime(e.first_seen, seconds=True),
            "last_seen": utc_datetime(e.last_seen, seconds=True),
        }
        for e in errors
    ]


class AdminOperationsState(PagedTableMixin, PollingMixin, rx.State):
    """The table mixin pages the error log; the rest of the overview is small and shown whole, re-read every few
    seconds while the page is open (PollingMixin)."""

    page_size: int = 10
    # First load: nothing is shown until the backend said whether this actor may see operations.
    loaded: bool = False
    forbidden: bool = False
    daemons: list[dict[str, str]] = []
    dead_letters: list[dict[str, str]] = []
    heartbeat_healthy: bool = False
    heartbeat_text: str = ""
    backlog: dict[str, str] = {}
    refreshed_at: str = ""
    refreshing: bool = False

    def _show(self, ov: Overview) -> None:
        self.daemons = [
            {
                "name": d.name,
                "schedule": d.schedule,
                "holder": d.lease_holder or "",
                "last_run": utc_datetime(d.last_started_at, seconds=True),
                "duration": duration_text(d.last_duration_s),
                "outcome": d.last_outcome or "",
                "items": "" if d.last_items is None else f"{d.last_items:,}",
                "error": _short(d.last_error),
                "next_run": utc_datetime(d.next_run_at, seconds=True),
            }
            for d in ov.daemons
        ]
        self.dead_letters = [
            {
                "event_id": str(x.event_id),
                "topic": x.topic,
                "entity": x.entity or "",
                "subscriber": x.subscriber,
                "attempts": str(x.attempts),
                "error": _short(x.last_error),
                "created_at": utc_datetime(x.created_at, seconds=True),
            }
            for x in ov.dead_letters
        ]
        hb = ov.scheduler
        self.heartbeat_healthy = hb.healthy
        if hb.last_beat_at is None:
            self.heartbeat_text = "No scheduler has ever reported in."
        else:
            runners = f"{hb.runners} runner{'s' if hb.runners != 1 else ''} alive"
            self.heartbeat_text = (
                f"Last beat {age_text(hb.age_s)} ({utc_datetime(hb.last_beat_at, seconds=True)}) · {runners}"
            )
        b = ov.backlog
        self.backlog = {"pending": f"{b.pending:,}", "due": f"{b.due:,}", "dead": f"{b.dead:,}",
                        "oldest": utc_datetime(b.oldest_pending_at, seconds=True)}
        self.rows, self.total = _error_rows(ov.errors), ov.errors_total
        self.refreshed_at = utc_datetime(utcnow(), seconds=True)

    async def _fetch(self) -> None:
        """Paging the error log reads that page only."""
        actor = await current_actor(self)
        if actor is None:
            return
        try:
            errors, total = await asyncio.to_thread(
                error_log, actor, limit=self.page_size, offset=self.offset)
        except DomainError as exc:
            self.rows, self.total, self.load_error = [], 0, exc.message
            return
        self.rows, self.total = _error_rows(errors), total

    async def _load_overview(self) -> bool:
        """Read the overview; False when the tab is signed out (the handler then sends it to sign in)."""
        actor = await current_actor(self)
        if actor is None:
            return False
        try:
            ov = await asyncio.to_thread(overview, actor, errors_limit=self.page_size, errors_offset=self.offset,
                                         dead_limit=DEAD_LETTER_LIMIT)
        except (Forbidden, NotAuthenticated):
            self.forbidden = True
        except DomainError as exc:
            self.load_error = exc.message
        else:
            self.forbidden, self.load_error = False, ""
            self._show(ov)
        self.loaded, self.loading = True, False
        return True

    @rx.event
    async def load_operations(self):
        """on_load: the overview, then the auto-refresh loop."""
        self.loaded, self.forbidden, self.loading, self.page, self.load_error = False, False, True, 1, ""
        if not await self._load_overview():
            return SessionState.to_sign_in
        if self.loaded and not self.forbidden:
            return AdminOperationsState.auto_refresh
        return None

    @rx.event
    async def refresh(self):
        """The Refresh button; it also restarts auto-refresh if it had stopped."""
        self.refreshing = True
        yield
        signed_in = await self._load_overview()
        self.refreshing = False
        if not signed_in:
            yield SessionState.to_sign_in
            return
        if not self.polling and not self.forbidden:
            yield AdminOperationsState.auto_refresh

    # -- re-reading while the page is open (PollingMixin) -----------------------------------------------------------

    def _poll_here(self) -> bool:
        return self.router.url.path.rstrip("/") == routes.ADMIN_OPERATIONS and not self.forbidden

    async def _poll_inputs(self):  # type: ignore[no-untyped-def]
        actor = await current_actor(self)
        return None if actor is None else (actor, self.page_size, self.offset)

    async def _poll_read(self, inputs) -> Overview:  # type: ignore[no-untyped-def]
        actor, limit, offset = inputs
        return await asyncio.to_thread(overview, actor, errors_limit=limit, errors_offset=offset,
                                       dead_limit=DEAD_LETTER_LIMIT)

    def _poll_show(self, inputs, reading: Overview) -> str:  # type: ignore[no-untyped-def]
        # A page change while the backend was asked would be undone by a stale error page.
        stale_page = inputs[2] != self.offset
        rows, total = self.rows, self.total
        self._show(reading)
        if stale_page:
            self.rows, self.total = rows, total
        return SAME

    @rx.event(background=True, supersedes=True)
    async def auto_refresh(self):
        """Re-read the overview every few seconds while the page is open (started by on_load and Refresh)."""
        await self._poll(REFRESH)

    @rx.event
    async def retry(self, event_id: str):
        actor = await current_actor(self)
        if actor is None:
            return SessionState.to_sign_in
        if not event_id.isdigit():
            return None
        try:
            count = await asyncio.to_thread(retry_dead_letter, actor, int(event_id))
        except DomainError as exc:
            return rx.toast.error(exc.message)
        await self._load_overview()
        plural = "delivery" if count == 1 else "deliveries"
        return rx.toast.success(f"Event {event_id} re-queued ({count} {plural}).")


class AdminOperationsHistoryState(rx.State):
    """The "Entity history" lookup: one entity's state-transition timeline."""

    entity_type: str = ENTITY_TYPES[0]
    entity_id: str = ""
    entries: list[dict[str, str]] = []
    looked_up: str = ""  # "order 42" once a lookup ran; "" before
    id_error: str = ""
    lookup_error: str = ""

    @rx.event
    def set_entity_type(self, value: str):
        self.entity_type = value if value in ENTITY_TYPES else ENTITY_TYPES[0]

    @rx.event
    def set_entity_id(self, value: str):
        self.entity_id = value
        self.id_error = ""

    @rx.event
    async def look_up(self, _form: dict | None = None):
        raw = self.entity_id.strip()
        self.entries, self.looked_up, self.lookup_error = [], "", ""
        if not raw.isdigit():
            self.id_error = "Enter a numeric id."
            return
        self.id_error = ""
        actor = await current_actor(self)
        if actor is None:
            yield SessionState.to_sign_in
            return
        # history() checks the actor: platform admins read any entity, brand admins their own brands' entities;
        # another brand's entity is "not found", exactly like one that does not exist.
        try:
            entries = await asyncio.to_thread(history, actor, self.entity_type, int(raw))
        except DomainError as exc:
            self.lookup_error = exc.message
            return
        self.entries = timeline_rows(entries)
        self.looked_up = f"{self.entity_type} {int(raw)}"
