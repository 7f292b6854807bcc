"""The Toolbox help of each algorithm: what it does, every parameter, an example (shortHelpString)."""

from __future__ import annotations

import html
from typing import Dict, List, Tuple

SERVICE_URL_HELP = ("Service URL (advanced, optional): a base URL used instead of the one in the plugin settings, "
                    "e.g. a sandbox's http://127.0.0.1:8765/tasking/v2/. The API key is always the one stored in "
                    "QGIS's authentication database (Web ▸ Satellite Tasking ▸ Settings…); it is never a parameter.")
FIELDS_HELP = ("Name, Start time (UTC), End time (UTC), Order type, Stereo points of view, Exclusivity days, "
               "Contract (PL number), Product (optional expressions, as in Bulk order from layer…): a field name or "
               "any QGIS expression per order field; empty takes an attribute named like the order field, and for "
               "the name the layer name followed by the feature id.")

# algorithm id -> (what it does, [(parameter, what it is)], example)
HELP: Dict[str, Tuple[str, List[str], str]] = {
    "price_aois": (
        "Prices every feature of a point, line or polygon layer in any CRS as a tasking order, the way Bulk order "
        "from layer… does: each feature is checked first (an invalid one gets its reason in price_error and is "
        "never sent), then the valid ones are priced through the service's list pricing, up to 1,000 features "
        "per request. The output is the input's features with price, price_units, aoi_kind, tasked_sqkm and "
        "price_error; the log gives the total.",
        ["Areas to task: the layer (points are 5 × 5 km squares, lines 5 km wide strips, polygons as drawn).",
         FIELDS_HELP, SERVICE_URL_HELP, "Priced AOIs: the output layer."],
        "qgis_process run satellite_tasking:price_aois -- INPUT=fields.gpkg NAME='\"field_name\"' "
        "OUTPUT=priced.gpkg"),
    "load_orders": (
        "Loads your tasking orders matching the filters (all of them, page after page) into a polygon layer in "
        "EPSG:4326 with the same fields as the plugin's Tasking orders layer.",
        ["Order status: one or more statuses (none: every status).",
         "Created on or after / Created on or before: the order's creation time (UTC), optional.",
         "Name contains: part of the order name, any case, optional.", SERVICE_URL_HELP,
         "Tasking orders: the output layer."],
        "qgis_process run satellite_tasking:load_orders -- STATUS=0 NAME_CONTAINS=field OUTPUT=orders.gpkg"),
    "load_captures": (
        "Loads every capture of the orders matching the filters into a polygon layer in EPSG:4326 with the same "
        "fields as the plugin's Captures layer (acquired_time makes it temporal).",
        ["Order status, Created on or after, Created on or before, Name contains: which orders' captures, as in "
         "Load orders.", SERVICE_URL_HELP, "Captures: the output layer."],
        "qgis_process run satellite_tasking:load_captures -- NAME_CONTAINS=field OUTPUT=captures.gpkg"),
}


def help_html(algorithm_id: str) -> str:
    """The help as the Toolbox shows it: a paragraph, the parameters as a list, and an example."""
    if algorithm_id not in HELP:
        return ""
    text, parameters, example = HELP[algorithm_id]
    items = "".join(f"<li>{html.escape(p)}</li>" for p in parameters)
    return (f"<p>{html.escape(text)}</p><p><b>Parameters</b></p><ul>{items}</ul>"
            f"<p><b>Example</b></p><p><code>{html.escape(example)}</code></p>")
