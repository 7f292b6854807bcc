"""Latest answer wins: tokens that drop late answers, a holder for a worker's newest value, request keys."""

from __future__ import annotations

import json
import threading
from typing import Any, Generic, Optional, Tuple, TypeVar


def request_key(body: Any) -> str:
    """A stable text of a request body: equal keys mean the same question to the service.

    Bodies come from the service's forms module already as JSON values; `default=str` only keeps a
    stray datetime from raising.
    """
    return json.dumps(body, sort_keys=True, default=str)


class LatestOnly:
    """Hands out tokens; only the last one handed out is current, so late answers to old requests are dropped."""

    def __init__(self) -> None:
        self._counter = 0

    def next(self) -> int:
        self._counter += 1
        return self._counter

    def invalidate(self) -> None:
        self._counter += 1

    def is_current(self, token: int) -> bool:
        return token == self._counter


T = TypeVar("T")


class LatestValue(Generic[T]):
    """The newest value a worker thread produced, for the main thread to pick up when it looks.

    A task's run() must not touch widgets or emit signals of its own, so it only put()s here; the panel
    reads on the main thread. Only the newest value is kept (an older partial search is a subset of a
    newer one), and the version number lets a reader skip what it has already shown.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._version = 0
        self._value: Optional[T] = None

    def put(self, value: T) -> None:
        with self._lock:
            self._version += 1
            self._value = value

    def newer_than(self, version: int) -> Tuple[int, Optional[T]]:
        """(version, value) if something newer than `version` was put, else (version, None)."""
        with self._lock:
            if self._version > version:
                return self._version, self._value
            return version, None
