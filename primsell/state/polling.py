"""PollingMixin: a page that re-reads what it shows while it is open (an order moving, a withdrawal confirming, a
contract deploying, the daemons running), on a Schedule, in a background handler that never holds the state lock
while it reads the backend."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import reflex as rx

from backend.errors import DomainError
from primsell.state.session import client_connected

# What one re-read tells the loop: stop, or go on (sooner again when what it read had changed).
STOP, CHANGED, SAME = "stop", "changed", "same"


@dataclass(frozen=True)
class Schedule:
    """Re-read after `every_s`; with `max_s`, each next read twice as late while nothing changes (at most `max_s`
    apart) and after `every_s` again once something did. A tab left open (or a loop Reflex failed to cancel) stops
    after `for_s`; a reload or the page's Refresh starts it again."""

    every_s: float
    max_s: float | None = None
    for_s: float = 3600.0

    def next_delay(self, previous: float | None, changed: bool) -> float:
        if previous is None or changed or self.max_s is None:
            return self.every_s
        return min(self.max_s, previous * 2)


async def poll(schedule: Schedule, step: Callable[[], Awaitable[str]], *,
               sleep: Callable[[float], Awaitable[object]] = asyncio.sleep) -> None:
    """Sleep, then `step()` (STOP, CHANGED or SAME), on `schedule` until a step says STOP or `for_s` has passed."""
    delay: float | None = None
    changed, waited = False, 0.0
    while waited < schedule.for_s:
        delay = schedule.next_delay(delay, changed)
        await sleep(delay)
        waited += delay
        tick = await step()
        if tick == STOP:
            return
        changed = tick == CHANGED


class PollingMixin(rx.State, mixin=True):
    """One re-read loop per tab and page. It stops when the page unmounts (`stop_polling`), when the tab's route is
    another page or the tab is gone, and when a newer loop starts (each loop remembers the generation it started in;
    handlers that start one are `supersedes=True`, so Reflex also cancels the chain that started it).

    A page states where it is (`_poll_here`) and, for a plain re-read loop (`_poll`), what to read: `_poll_inputs`
    (inside the lock: the actor, ids, page; None stops), `_poll_read` (outside it: the backend call; a DomainError
    stops) and `_poll_show` (inside it again: show the reading, answer STOP, CHANGED or SAME)."""

    polling: bool = False
    _poll_generation: int = 0

    def _poll_here(self) -> bool:  # pragma: no cover - every polling state overrides it
        raise NotImplementedError

    async def _poll_inputs(self) -> Any:  # pragma: no cover - states using _poll override it
        raise NotImplementedError

    async def _poll_read(self, inputs: Any) -> Any:  # pragma: no cover - states using _poll override it
        raise NotImplementedError

    def _poll_show(self, inputs: Any, reading: Any) -> str:  # pragma: no cover - states using _poll override it
        raise NotImplementedError

    @rx.event
    def stop_polling(self):
        """on_unmount: the user left the page."""
        self._poll_generation += 1
        self.polling = False

    def _still_polling(self, generation: int) -> bool:
        return generation == self._poll_generation and self._poll_here() and client_connected(self)

    @asynccontextmanager
    async def _polling(self) -> AsyncIterator[int]:
        """Inside a background handler: a new loop's generation, with `polling` shown while it runs."""
        async with self:
            self._poll_generation += 1
            generation = self._poll_generation
            self.polling = True
        try:
            yield generation
        finally:
            async with self:
                if generation == self._poll_generation:
                    self.polling = False

    async def _poll(self, schedule: Schedule) -> None:
        """The whole body of a plain re-read loop's background handler."""
        async with self._polling() as generation:

            async def step() -> str:
                async with self:
                    if not self._still_polling(generation):
                        return STOP
                    inputs = await self._poll_inputs()
                if inputs is None:
                    return STOP
                try:
                    reading = await self._poll_read(inputs)
                except DomainError:
                    return STOP
                async with self:
                    if not self._still_polling(generation):
                        return STOP
                    return self._poll_show(inputs, reading)

            await poll(schedule, step)
