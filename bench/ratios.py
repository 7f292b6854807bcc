"""What the listing benches share: a client and a plain requests loop timed in alternating rounds, as a ratio."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Callable


@dataclass
class Rounds:
    """The seconds of each round of the two ways; the ratio is of the best round of each (the cost of the work,
    not of whatever else the machine was doing), and the ratio of the medians is printed beside it."""

    plain: list[float]
    client: list[float]

    @property
    def plain_best(self) -> float:
        return min(self.plain)

    @property
    def client_best(self) -> float:
        return min(self.client)

    @property
    def plain_median(self) -> float:
        return statistics.median(self.plain)

    @property
    def client_median(self) -> float:
        return statistics.median(self.client)

    @property
    def ratio(self) -> float:
        return self.client_best / self.plain_best

    @property
    def median_ratio(self) -> float:
        return self.client_median / self.plain_median


def timed(function: Callable[..., int], args: tuple, expected: int) -> float:
    """Seconds `function(*args)` takes; it must have listed `expected` orders, or the figure means nothing."""
    started = time.perf_counter()
    listed = function(*args)
    elapsed = time.perf_counter() - started
    if listed != expected:
        raise SystemExit(f"{function.__name__} listed {listed} orders, not {expected}")
    return elapsed


def alternate(plain_loop: Callable[..., int], through_client: Callable[..., int], args: tuple, *, rounds: int,
              expected: int) -> Rounds:
    """`rounds` rounds, each a plain listing then one through the client, so that a slow moment of the machine
    hits both alike."""
    plain, client = [], []
    for _ in range(rounds):
        plain.append(timed(plain_loop, args, expected))
        client.append(timed(through_client, args, expected))
    return Rounds(plain, client)


def print_ratio(result: Rounds, target: float) -> int:
    """The ratio line every listing bench ends with; 0 when the ratio is within `target`, else 1."""
    verdict = "OK" if result.ratio <= target else "OVER TARGET"
    print(f"ratio client/plain: {result.ratio:.2f}x (target <= {target}x) {verdict}; "
          f"ratio of medians {result.median_ratio:.2f}x")
    return 0 if result.ratio <= target else 1
