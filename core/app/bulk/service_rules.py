"""A service's bulk rules (fields, payload checks, limits, result matching), reached through the registry only."""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

from ...services import registry


def bulk_rules(service_id: Optional[str] = None) -> Any:
    """The bulk rules module of `service_id` (the active service by default): its descriptor's extras["bulk"].

    It offers MAPPABLE_FIELDS, FIELD_LABELS, MAX_BULK_PAYLOADS, order_fields_from_values, edit_problem,
    cancel_problem, edit_payload, cancel_payload, match_results, is_charge_refusal and cancellations_today.
    """
    descriptor = registry.service(service_id)
    rules = descriptor.extras.get("bulk")
    if rules is None:
        raise KeyError(f"{descriptor.title} offers no bulk orders")
    return rules


def mappable_fields(service_id: Optional[str] = None) -> Tuple[str, ...]:
    """The order fields a layer's attributes or expressions may fill, in the dialog's order."""
    return tuple(bulk_rules(service_id).MAPPABLE_FIELDS)


def field_labels(service_id: Optional[str] = None) -> Dict[str, str]:
    """Order field -> the label the dialog shows for it."""
    return dict(bulk_rules(service_id).FIELD_LABELS)


def active_service_id() -> str:
    """The id a new job is journaled under."""
    return registry.active_service_id()
