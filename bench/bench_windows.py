"""Imaging-window search in the sandbox's orbital model: a 7-day search timed against its budget."""

from __future__ import annotations

import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

# Run as `python bench/bench_windows.py` from anywhere: the repository root holds the `sandbox` package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sandbox.planet_tasking import orbits  # noqa: E402

# A search answers in the background over simulated minutes, but the sandbox computes it in one go
# on a request thread: a 7-day search must stay well under a quarter of a second so polling clients
# and concurrent requests never notice it.
BUDGET_SECONDS = 0.25
ROUNDS = 5
NOW = datetime(2024, 7, 24, 9, 26, 41, tzinfo=timezone.utc)
CASES = [
    ("7 days, default limits, 45°S", {"type": "Point", "coordinates": [13.35, -45.0]}, {}),
    ("7 days, default limits, equator", {"type": "Point", "coordinates": [13.35, 0.0]}, {}),
    ("7 days, default limits, 52.5°N", {"type": "Point", "coordinates": [13.35, 52.5]}, {}),
    ("7 days, default limits, 70°N", {"type": "Point", "coordinates": [13.35, 70.0]}, {}),
    ("7 days, horizon to horizon, 52.5°N", {"type": "Point", "coordinates": [13.35, 52.5]},
     {"sat_elevation_angle_min": 0.0, "off_nadir_angle_max": 90.0}),
]


def timed(geometry, constraints):
    started = time.perf_counter()
    windows = orbits.find_windows(geometry, NOW, NOW + timedelta(days=7), now=NOW, seed=1, **constraints)
    return time.perf_counter() - started, len(windows)


def main() -> int:
    print(f"imaging-window search, best/median of {ROUNDS} rounds, budget {BUDGET_SECONDS:.2f} s")
    for label, geometry, constraints in CASES:
        timed(geometry, constraints)  # warm imports and caches
        runs = [timed(geometry, constraints) for _ in range(ROUNDS)]
        seconds = [t for t, _ in runs]
        median = statistics.median(seconds)
        print(f"{label:38s} {runs[0][1]:4d} windows  best {min(seconds) * 1000:6.1f} ms  "
              f"median {median * 1000:6.1f} ms  ratio to budget {median / BUDGET_SECONDS:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
