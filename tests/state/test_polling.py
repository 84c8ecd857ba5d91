"""The web pages' re-read loop (primsell/state/polling.py): a constant schedule re-reads every few seconds for its
watch time, a back-off schedule slows down while nothing changes, and a step that says stop ends the loop at once.
The clock is the test's (a sleep that records)."""

from __future__ import annotations

import asyncio

from primsell.state.polling import CHANGED, SAME, STOP, Schedule, poll


def _run(schedule: Schedule, ticks: list[str]) -> tuple[list[float], int]:
    delays: list[float] = []
    steps = 0

    async def sleep(seconds: float) -> None:
        delays.append(seconds)

    async def step() -> str:
        nonlocal steps
        steps += 1
        return ticks[steps - 1] if steps <= len(ticks) else SAME

    asyncio.run(poll(schedule, step, sleep=sleep))
    return delays, steps


def test_a_constant_schedule_rereads_every_few_seconds_until_its_watch_time_is_over() -> None:
    assert _run(Schedule(every_s=5, for_s=30), []) == ([5] * 6, 6)


def test_a_back_off_schedule_slows_down_and_speeds_up_again_after_a_change() -> None:
    delays, _ = _run(Schedule(every_s=1, max_s=4, for_s=20), [SAME, SAME, SAME, CHANGED, SAME])
    assert delays[:7] == [1, 2, 4, 4, 1, 2, 4]


def test_a_step_that_says_stop_ends_the_loop() -> None:
    assert _run(Schedule(every_s=2, for_s=3600), [SAME, STOP]) == ([2, 2], 2)
