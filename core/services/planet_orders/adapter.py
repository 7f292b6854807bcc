"""Planet's Orders API v2 (archive imagery) as the registry sees it: its capabilities and how to connect."""

from __future__ import annotations

from ..base import Capability, ServiceDescriptor
from . import forms
from .client import OrdersClient
from .models import STATES


def connect(base_url: str, api_key: str) -> OrdersClient:
    return OrdersClient(base_url, api_key)


DESCRIPTOR = ServiceDescriptor(
    id="planet_orders",
    title="Planet archive (Orders API)",
    # No PLACE: it orders imagery that exists, so it is never "the tasking service" (registry.tasking_services).
    capabilities=frozenset({Capability.ARCHIVE_ORDER, Capability.DOWNLOAD, Capability.CANCEL}),
    connect=connect,
    forms=forms,
    order_statuses=STATES,
)
