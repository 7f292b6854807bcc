"""The simulated clock: simulated seconds run at `speed` per real second and jump on demand."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone


class SimulatedClock:
    """UTC time of the simulation; speed 0 freezes it so only `advance` moves it (deterministic tests)."""

    def __init__(self, start: datetime, speed: float):
        self._lock = threading.Lock()
        self.speed = float(speed)
        self.start = start
        self._anchor_sim = start
        self._anchor_real = time.monotonic()

    def now(self) -> datetime:
        with self._lock:
            elapsed = (time.monotonic() - self._anchor_real) * self.speed
            return self._anchor_sim + timedelta(seconds=elapsed)

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            self._anchor_sim += timedelta(seconds=float(seconds))
        return self.now()

    def set(self, moment: datetime) -> None:
        with self._lock:
            self._anchor_sim = moment
            self._anchor_real = time.monotonic()

    def reset(self) -> None:
        self.set(self.start)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)
