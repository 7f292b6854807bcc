"""Injected faults (status, delay, dropped connection, malformed body) and the log of API requests."""

from __future__ import annotations

import random
import re
import threading
from collections import deque
from typing import Any, Dict, List, Optional

from sandbox.errors import ApiError

FAULT_KINDS = ("status", "delay", "drop", "malformed")
FAULT_STATUSES = (429, 500, 502, 503, 504)
REQUEST_LOG_SIZE = 10_000


class Fault:
    """One rule: requests whose path matches `path` (and method) get the fault, N times or at a rate."""

    def __init__(self, fault_id: int, spec: Dict[str, Any], seed: int):
        self.id = fault_id
        self.spec = spec
        self.pattern = re.compile(spec["path"])
        self.method = (spec.get("method") or "").upper() or None
        self.kind = spec["kind"]
        self.status = int(spec.get("status") or 503)
        self.retry_after = spec.get("retry_after")
        self.delay_seconds = float(spec.get("delay_seconds") or 0.0)
        self.remaining: Optional[int] = int(spec["count"]) if spec.get("count") is not None else None
        self.rate: Optional[float] = float(spec["rate"]) if spec.get("rate") is not None else None
        self.when = spec.get("when") or "before"
        self.random = random.Random(f"fault:{seed}:{fault_id}")
        self.hits = 0

    def as_json(self) -> dict:
        return {"id": self.id, **self.spec, "remaining": self.remaining, "hits": self.hits}


def validate_fault(spec: Any) -> Dict[str, Any]:
    if not isinstance(spec, dict):
        raise ApiError(400, {"detail": "Expected a JSON object."})
    errors: Dict[str, List[str]] = {}
    if not isinstance(spec.get("path"), str):
        errors["path"] = ["A regular expression on the request path is required."]
    else:
        try:
            re.compile(spec["path"])
        except re.error as error:
            errors["path"] = [f"Invalid regular expression: {error}."]
    if spec.get("kind") not in FAULT_KINDS:
        errors["kind"] = [f"One of: {', '.join(FAULT_KINDS)}."]
    if spec.get("kind") == "status" and spec.get("status") not in FAULT_STATUSES:
        errors["status"] = [f"One of: {', '.join(map(str, FAULT_STATUSES))}."]
    if spec.get("when", "before") not in ("before", "after"):
        errors["when"] = ["One of: before, after."]
    if spec.get("count") is None and spec.get("rate") is None:
        spec = dict(spec, count=1)
    if spec.get("count") is not None and (not isinstance(spec["count"], int) or spec["count"] < 1):
        errors["count"] = ["A positive integer."]
    if spec.get("rate") is not None and not (isinstance(spec["rate"], (int, float)) and 0 < spec["rate"] <= 1):
        errors["rate"] = ["A number in (0, 1]."]
    if errors:
        raise ApiError(400, errors)
    return spec


class FaultBoard:
    """Active faults and the request log; thread-safe on its own lock."""

    def __init__(self, seed: int):
        self._lock = threading.Lock()
        self.seed = seed
        self.faults: List[Fault] = []
        self._next_id = 0
        self.requests: deque = deque(maxlen=REQUEST_LOG_SIZE)
        # Counts resets: a request that arrived before the latest one (held by a delay fault, say) is not
        # logged when it ends, since the log lists the requests received since the last reset.
        self.resets = 0

    def add(self, spec: Dict[str, Any]) -> Fault:
        with self._lock:
            self._next_id += 1
            fault = Fault(self._next_id, validate_fault(spec), self.seed)
            self.faults.append(fault)
            return fault

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()

    def reset(self) -> None:
        with self._lock:
            self.faults.clear()
            self._next_id = 0
            self.requests.clear()
            self.resets += 1

    def list(self) -> List[dict]:
        with self._lock:
            return [f.as_json() for f in self.faults]

    def match(self, method: str, path: str) -> Optional[Fault]:
        """The first fault that fires for this request (consuming one of its N), or None."""
        with self._lock:
            for fault in self.faults:
                if fault.method and fault.method != method:
                    continue
                if not fault.pattern.search(path):
                    continue
                if fault.remaining is not None:
                    if fault.remaining <= 0:
                        continue
                    if fault.rate is not None and fault.random.random() >= fault.rate:
                        continue
                    fault.remaining -= 1
                elif fault.random.random() >= (fault.rate or 0):
                    continue
                fault.hits += 1
                if fault.remaining == 0:
                    self.faults.remove(fault)
                return fault
        return None

    def log(self, method: str, path: str, query: str, status: Optional[int], arrived_after: int) -> None:
        """Log a request that arrived when `resets` was `arrived_after` (dropped if a reset came since)."""
        with self._lock:
            if arrived_after != self.resets:
                return
            self.requests.append({"method": method, "path": path, "query": query, "status": status})

    def log_json(self) -> dict:
        with self._lock:
            return {"count": len(self.requests), "requests": list(self.requests)}
