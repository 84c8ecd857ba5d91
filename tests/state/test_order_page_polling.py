"""The order page's polling (primsell/state/checkout/order.py): re-reads back off from 1 s to every 10 s while the
order shows no change, come back to 1 s after a change, and stop once the order is settled or after the watch time.
The reads are the real get_order_public on a real order; only the clock is the test's (a sleep that records)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import update

from backend.db import session_scope
from backend.orders import service
from backend.orders.models import Order
from backend.orders.service import OrderView
from backend.workflow.machines import OrderState
from primsell.state.checkout.order import POLL_FIRST_S, POLL_MAX_S, follow_order, next_poll_delay
from tests.factories import make_brand, make_campaign

WALLET = "0x8ba1f109551bD432803012645Ac136ddd64DBA72"


def test_the_schedule_doubles_up_to_ten_seconds_and_restarts_after_a_change() -> None:
    delays: list[float] = []
    delay = None
    for changed in (False, False, False, False, False, False, True, False):
        delay = next_poll_delay(delay, changed)
        delays.append(delay)
    assert delays == [1, 2, 4, 8, 10, 10, 1, 2]
    assert (POLL_FIRST_S, POLL_MAX_S) == (1, 10)


def _set_state(public_id: str, state: OrderState) -> None:
    with session_scope() as session:
        session.execute(update(Order).where(Order.public_id == public_id).values(state=state))


def _follow(public_id: str, on_sleep: Callable[[int], None],
            watch_for_s: float = 3600) -> tuple[list[float], list[str]]:
    """Run follow_order from the order as it is now; `on_sleep(n)` runs during the n-th sleep (1-based)."""
    delays: list[float] = []
    shown: list[str] = []

    async def sleep(seconds: float) -> None:
        delays.append(seconds)
        on_sleep(len(delays))

    async def read() -> OrderView:
        return await asyncio.to_thread(service.get_order_public, public_id)

    async def show(view: OrderView) -> bool:
        shown.append(view.status)
        return True

    first = service.get_order_public(public_id)
    with ThreadPoolExecutor(max_workers=1) as pool:  # the browser tests keep an event loop in the main thread
        pool.submit(asyncio.run, follow_order(first, read, show, sleep=sleep, watch_for_s=watch_for_s)).result()
    return delays, shown


def test_polling_backs_off_speeds_up_after_a_change_and_stops_when_the_order_is_final() -> None:
    public_id = service.start_checkout(make_campaign(make_brand()).slug, 1, "p@example.com", WALLET,
                                       "192.0.2.9").public_id

    def the_order_moves(n: int) -> None:
        if n == 6:
            _set_state(public_id, OrderState.MINTING)  # paid and minting: the page shows it after this sleep
        if n == 9:
            _set_state(public_id, OrderState.FULFILLED)

    delays, shown = _follow(public_id, the_order_moves)
    assert delays == [1, 2, 4, 8, 10, 10, 1, 2, 4]
    assert shown == ["awaiting_payment"] * 5 + ["minting"] * 3 + ["fulfilled"]  # and not one read after it


def test_polling_gives_up_after_the_watch_time_and_never_starts_on_a_final_order() -> None:
    public_id = service.start_checkout(make_campaign(make_brand()).slug, 1, "q@example.com", WALLET,
                                       "192.0.2.9").public_id
    delays, shown = _follow(public_id, lambda n: None, watch_for_s=30)
    assert delays == [1, 2, 4, 8, 10, 10] and len(shown) == 6  # 35 s watched: no seventh read
    _set_state(public_id, OrderState.EXPIRED)
    assert _follow(public_id, lambda n: None) == ([], [])
