"""Polling a long-running job at the service until it is finished: backoff, timeout and a prompt cancel."""

from __future__ import annotations

import random
import time
from typing import Any, Callable, Optional

from .errors import Cancelled, WaitTimeout

Progress = Optional[Callable[[float], Any]]
IsCanceled = Optional[Callable[[], bool]]

# A sleep is cut into slices of at most this many seconds, so a cancel is honoured quickly.
SLEEP_SLICE = 0.5
# The shortest wait between two reads: full jitter may draw close to zero, which would read twice at once.
MIN_POLL_STEP = 0.05


def completed_share(done: int, total: Optional[int], complete: bool) -> float:
    """0–100 for a job of `total` items of which `done` are finished (99 at most until it says complete)."""
    if complete:
        return 100.0
    if not total:
        return 0.0
    return min(99.0, 100.0 * done / total)


def poll_until(fetch: Callable[[], Any], finished: Callable[[Any], bool], *,
               percent: Optional[Callable[[Any, float], float]] = None, poll: float = 1.0, max_poll: float = 10.0,
               progress: Progress = None, is_canceled: IsCanceled = None, timeout: Optional[float] = None,
               sleep: Optional[Callable[[float], Any]] = None, what: str = "job",
               cancelled_note: str = "", timeout_note: str = ", check it again later.",
               random_fraction: Callable[[], float] = random.random) -> Any:
    """Call `fetch` until `finished(state)`, backing off from `poll` to `max_poll` seconds; the last state.

    The back-off ceiling grows 1.5-fold per read and each wait is drawn anywhere below it (full jitter,
    at least MIN_POLL_STEP), so many tasks polling one service do not come back in step.

    `progress` gets `percent(state, waited)` after every read. Raises Cancelled when `is_canceled` says so
    (asked between polls and during the sleeps) and WaitTimeout once `timeout` seconds were waited. Time
    waited is counted from the sleeps asked for, not the wall clock, so a test that replaces `sleep` (or
    advances a simulated clock in it) sees the same timeout logic as real use.
    """
    sleep = sleep or time.sleep
    cancelled_text = f"Waiting for the {what} was cancelled" + (f"; {cancelled_note}" if cancelled_note else ".")

    def check_cancel() -> None:
        if is_canceled is not None and is_canceled():
            raise Cancelled(cancelled_text)

    waited = 0.0
    delay = max(0.05, poll)
    while True:
        check_cancel()
        state = fetch()
        if progress is not None and percent is not None:
            progress(percent(state, waited))
        if finished(state):
            return state
        if timeout is not None and waited >= timeout:
            raise WaitTimeout(f"The {what} had not finished after {waited:.0f} s; it goes on at the service{timeout_note}")
        jittered = max(MIN_POLL_STEP, random_fraction() * delay)
        step = jittered if timeout is None else max(0.0, min(jittered, timeout - waited))
        remaining = step
        while remaining > 1e-9:
            check_cancel()
            piece = min(SLEEP_SLICE, remaining)
            sleep(piece)
            remaining -= piece
        waited += step
        delay = min(max_poll, delay * 1.5)
