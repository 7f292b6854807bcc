"""The Orders tab's filters and ordering, and the list_orders query parameters (status__in, name__icontains, ...) they make."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Dict, List, Optional, Sequence

# Newest first; the id breaks ties, so offset pages neither overlap nor skip an order.
DEFAULT_ORDERING = ("-created_time", "id")


@dataclass
class OrdersQuery:
    """The view's filters and ordering as TaskingClient.list_orders keyword arguments."""

    statuses: List[str] = field(default_factory=list)
    name_contains: str = ""
    created_after: Optional[datetime] = None
    created_before: Optional[datetime] = None
    updated_after: Optional[datetime] = None
    updated_before: Optional[datetime] = None
    scheduling_type: Optional[str] = None
    order_type: Optional[str] = None
    ordering: Sequence[str] = DEFAULT_ORDERING

    def params(self) -> Dict[str, Any]:
        params: Dict[str, Any] = {"ordering": list(self.ordering)}
        if len(self.statuses) == 1:
            params["status"] = self.statuses[0]
        elif self.statuses:
            params["status__in"] = list(self.statuses)
        if self.name_contains.strip():
            params["name__icontains"] = self.name_contains.strip()
        for key, value in (("created_time__gte", self.created_after), ("created_time__lte", self.created_before),
                           ("updated_time__gte", self.updated_after), ("updated_time__lte", self.updated_before),
                           ("scheduling_type", self.scheduling_type), ("order_type", self.order_type)):
            if value:
                params[key] = value
        return params
