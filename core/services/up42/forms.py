"""Building a UP42 tasking request from the generated form's params and the map's AOI; checked against the
product's schema before anything is sent, each problem keyed by the form's field path."""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence

from ...errors import ValidationError
from . import schema as product_schema

# The AOI is the map's, not a form field: the schema's `geometry` parameter is filled from it.
AOI_PARAMETER = "geometry"
# The order's name is the request's own `displayName` (checked below), whatever the schema says of a param of it.
NAME_PARAMETER = "displayName"
# Where UP42 names the request's parts in its errors; the form's paths are below `params.`.
PARAMS_PREFIX = "params."
AOI_PATHS = ("featureCollection", "params.geometry")


def order_request(data_product_id: str, name: str, params: Mapping[str, Any], aoi_geojson: Mapping[str, Any],
                  *, tags: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """The body of POST /v2/orders (and /estimate) for one order: the AOI as the one feature of
    `featureCollection`, as up42-py sends it, the form's params without a geometry of their own."""
    body: Dict[str, Any] = {
        "dataProduct": data_product_id,
        "displayName": name,
        "params": {k: v for k, v in params.items() if k != AOI_PARAMETER},
        "featureCollection": {"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {}, "geometry": dict(aoi_geojson)}]},
    }
    if tags:
        body["tags"] = list(tags)
    return body


def check_params(schema: Mapping[str, Any], params: Mapping[str, Any], name: str) -> None:
    """Raise ValidationError keyed by field path (the form's, "cloudCoverage", "displayName") when the params or
    the order's name break the product's schema; the AOI is the map's to check."""
    problems: Dict[str, List[str]] = {}
    if not (name or "").strip():
        problems["displayName"] = ["is required"]
    for path, message in product_schema.validate(dict(schema), dict(params),
                                                 skip=(AOI_PARAMETER, NAME_PARAMETER)).items():
        problems.setdefault(path, []).append(message)
    if problems:
        listed = "; ".join(f"{path}: {' '.join(messages)}" for path, messages in problems.items())
        raise ValidationError(f"The order form has problems: {listed}", field_errors=problems)


def form_errors(field_errors: Mapping[str, Sequence[str]]) -> Dict[str, str]:
    """UP42's (or check_params') errors as the form shows them: {field path: message}, "params." dropped, the
    AOI's under "aoi" (the map's, said above the form) and the rest under their own names."""
    shown: Dict[str, str] = {}
    for path, messages in field_errors.items():
        text = " ".join(messages) if isinstance(messages, (list, tuple)) else str(messages)
        if path.startswith(AOI_PATHS):
            key = "aoi"
        elif path.startswith(PARAMS_PREFIX):
            key = path[len(PARAMS_PREFIX):]
        else:
            key = path
        shown[key] = f"{shown[key]} {text}" if key in shown else text
    return shown
