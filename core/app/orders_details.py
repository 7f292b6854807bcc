"""The selected order read in full: the order, its captures and its pricing (or why there is none)."""

from __future__ import annotations

from typing import Any, List, Optional, Tuple

from ..errors import ApiError
from .orders_background import error_text


def read_details(client, order_id: str, feedback: Any) -> Tuple[Any, List[Any], Optional[Any], Optional[str]]:
    """(order, captures, pricing, why there is no pricing), read in a task; `feedback` gets progress and cancel."""
    fresh = client.get_order(order_id)
    feedback.set_progress(30)
    captures = list(client.iter_captures(order_id, page_size=500, is_canceled=feedback.is_canceled))
    feedback.set_progress(70)
    pricing, pricing_error = None, None
    try:
        pricing = client.order_pricing(order_id)
    except ApiError as error:
        pricing_error = f"No pricing: {error_text(error)}"
    return fresh, captures, pricing, pricing_error
