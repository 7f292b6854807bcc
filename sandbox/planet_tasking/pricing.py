"""Quota pricing of orders: area-based (SQKM) with imaging-mode, tier and exclusivity multipliers."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

UNITS = "SQKM"
TIER_MULTIPLIERS = {"STANDARD": 1.0, "EXPRESS": 1.5}
PRICING_ERROR = {"message": {"error": "Failed to calculate order pricing."}}


def exclusivity_multiplier(days: int) -> Optional[Dict[str, Any]]:
    if not days:
        return None
    value = 1.25 if days <= 7 else 1.5
    return {"name": "exclusivity", "value": value, "description": f"{days} days"}


def pricing_model(*, requested_sqkm: float, order_type: str, n_stereo_pov: Optional[int], scheduling_type: str,
                  exclusivity_days: int = 0, tier: Optional[str] = None) -> Dict[str, Any]:
    multipliers: List[Dict[str, Any]] = []
    if order_type == "STEREO":
        multipliers.append({"name": "imaging_mode", "value": float(n_stereo_pov or 2),
                            "description": f"stereo-{n_stereo_pov or 2}-pov"})
    else:
        multipliers.append({"name": "imaging_mode", "value": 1.0, "description": "single-image"})
    if scheduling_type == "ASSURED":
        tier = tier or "STANDARD"
        multipliers.append({"name": "tasking_tier", "value": TIER_MULTIPLIERS.get(tier, 1.0),
                            "description": "express" if tier == "EXPRESS" else "normal"})
    extra = exclusivity_multiplier(exclusivity_days)
    if extra:
        multipliers.append(extra)
    return {"base_price": round(float(requested_sqkm), 3), "multipliers": multipliers}


def model_cost(model: Dict[str, Any]) -> float:
    cost = model["base_price"]
    for multiplier in model["multipliers"]:
        cost *= multiplier["value"]
    return round(cost, 3)


def pricing_document(model: Dict[str, Any], replaced: Optional[List[Dict[str, Any]]] = None) -> Dict[str, Any]:
    """The documented pricing answer (without order_id): determined by the model or by replaced orders."""
    if replaced:
        return {
            "units": UNITS,
            "estimated_quota_cost": round(sum(r["cost"] for r in replaced), 3),
            "determined_by": "replaced_orders",
            "pricing_model": model,
            "replaced_orders": replaced,
        }
    return {"units": UNITS, "estimated_quota_cost": model_cost(model), "determined_by": "pricing_model",
            "pricing_model": model}


def order_cost(order: dict) -> float:
    pricing = order.get("_pricing")
    if pricing:
        return float(pricing["estimated_quota_cost"])
    return model_cost(model_for_values(order))


def model_for_values(values: dict) -> Dict[str, Any]:
    window = values.get("_window") or {}
    return pricing_model(
        requested_sqkm=values["requested_sqkm"], order_type=values["order_type"],
        n_stereo_pov=values.get("n_stereo_pov"), scheduling_type=values["scheduling_type"],
        exclusivity_days=values.get("exclusivity_days") or 0, tier=window.get("assured_tasking_tier"),
    )
