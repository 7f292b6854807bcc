"""Planet Tasking as the registry sees it: its capabilities and how to connect."""

from __future__ import annotations

from ..base import Capability, ServiceDescriptor
from . import bulk, forms, layers, rules
from .cancellations import cancellations_today
from .client import TaskingClient
from .models import ORDER_STATUSES


def connect(base_url: str, api_key: str) -> TaskingClient:
    return TaskingClient(base_url, api_key)


DESCRIPTOR = ServiceDescriptor(
    id="planet_tasking",
    title="Planet Tasking",
    capabilities=frozenset({
        Capability.QUOTE, Capability.PLACE, Capability.WINDOW_SEARCH, Capability.EDIT, Capability.CANCEL,
        Capability.CHARGED_CANCELLATION, Capability.CAPTURES, Capability.BULK,
    }),
    connect=connect,
    rules=rules,
    layers=layers,
    forms=forms,
    order_statuses=ORDER_STATUSES,
    # core.app.bulk reaches the bulk rules (fields, payload checks, limits, result matching) here, and the
    # cancel workflow the count of today's (free, then charged) cancellations.
    extras={"bulk": bulk, "cancellations_today": cancellations_today},
)
