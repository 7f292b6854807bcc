"""An in-memory bulk service: a client that takes bulk requests and completes them at once, and its descriptor."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional

from core.errors import NotFoundError
from core.services.base import Capability, ServiceDescriptor


@dataclass
class FakeBulkStatus:
    """What get_bulk answers: every payload done."""

    id: str
    payload_count: int
    status: str = "COMPLETE"
    raw: Dict[str, Any] = field(default_factory=dict)

    @property
    def successful_payload_count(self) -> int:
        return self.payload_count

    failed_payload_count = 0

    @property
    def is_complete(self) -> bool:
        return self.status == "COMPLETE"


@dataclass
class FakeBulkPayload:
    """One listed payload with the order it made."""

    payload: Dict[str, Any]
    order_id: Optional[str]
    error: Optional[str] = None


class FakeBulkClient:
    """Takes bulk requests under the caller's id and makes one order per payload at once."""

    def __init__(self, base_url: str = "http://fake.test/bulk/"):
        self.base_url = base_url
        self.bulks: Dict[str, List[Dict[str, Any]]] = {}
        self._ids = itertools.count(1)

    def sleep(self, seconds: float) -> None:  # nothing to wait for: every bulk is complete at once
        pass

    def create_bulk(self, payloads: Iterable[Mapping[str, Any]], operation_type: str = "CREATE", *,
                    bulk_id: Optional[str] = None, **_: Any) -> str:
        bulk_id = bulk_id or f"bulk-{next(self._ids)}"
        self.bulks[bulk_id] = [dict(p) for p in payloads]
        return bulk_id

    def get_bulk(self, bulk_id: str) -> FakeBulkStatus:
        if bulk_id not in self.bulks:
            raise NotFoundError(f"no bulk {bulk_id}")
        return FakeBulkStatus(bulk_id, len(self.bulks[bulk_id]))

    def iter_bulk_payloads(self, bulk_id: str, **_: Any) -> Iterator[FakeBulkPayload]:
        for position, payload in enumerate(self.bulks[bulk_id]):
            yield FakeBulkPayload(payload, f"{bulk_id}-order-{position}")


def _match_by_position(operation: str, items: Any, results: Any) -> Dict[int, Any]:
    return {item.position: (result.order_id, result.error) for item, result in zip(items, results)}


# The bulk rules a fake service offers through its descriptor (what core.app.bulk asks of a service).
FAKE_BULK_RULES = SimpleNamespace(
    MAPPABLE_FIELDS=("name",), FIELD_LABELS={"name": "Name"}, MAX_BULK_PAYLOADS=1000,
    match_results=_match_by_position, is_charge_refusal=lambda error: False,
    order_fields_from_values=lambda values, now=None: {"name": str(values.get("name"))},
)


def fake_descriptor(service_id: str = "fake_bulk") -> ServiceDescriptor:
    """A registrable service that can only do bulk jobs, with FakeBulkClient as its client."""
    return ServiceDescriptor(id=service_id, title="Fake bulk service", capabilities=frozenset({Capability.BULK}),
                             connect=lambda base_url, api_key: FakeBulkClient(base_url),
                             extras={"bulk": FAKE_BULK_RULES})
