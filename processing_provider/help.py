"""The Toolbox help of each algorithm: what it does, every parameter, an example (shortHelpString)."""

from __future__ import annotations

import html
from typing import Dict, List, Tuple

SERVICE_URL_HELP = ("Service URL (advanced, optional): a base URL used instead of the one in the plugin settings, "
                    "e.g. a sandbox's http://127.0.0.1:8765/tasking/v2/ (https, or plain http on this computer only). The API key is always the one stored in "
                    "QGIS's authentication database (Web ▸ Satellite Tasking ▸ Settings…); it is never a parameter.")
FIELDS_HELP = ("Name, Start time (UTC), End time (UTC), Order type, Stereo points of view, Exclusivity days, "
               "Contract (PL number), Product (optional expressions, as in Bulk order from layer…): a field name or "
               "any QGIS expression per order field; empty takes an attribute named like the order field, and for "
               "the name the layer name followed by the feature id.")

ORDER_IDS_HELP = ("Order ids (comma or space separated), and/or Orders layer (e.g. Tasking orders; its selected "
                  "features only, if so chosen) with its Order id field (default id): which orders.")

UP42_PARAMETERS_HELP = [
    "Areas to task: a point, line or polygon layer in any CRS (selected features only, if so chosen).",
    "Data product: the product's id or name in UP42's glossary (e.g. pleiades-analytic-tasking, or "
    "bd102407-1814-4f92-8b5a-7697b7a73f5a); a text, so that it can be typed in qgis_process and fed by a model. "
    "An unknown one fails listing the tasking products there are.",
    "Product parameters: one JSON object of the product's order parameters (acquisitionStart, acquisitionEnd, "
    "cloudCoverage, …; not the geometry, which is each feature's), checked against the product's JSON Schema; "
    "a problem is named by its parameter path (e.g. \"cloudCoverage: 150 is greater than the maximum of 100\").",
    "Per-feature parameters (optional): a field or expression giving a JSON object (or a map) whose keys replace "
    "those of Product parameters for that feature; not valid JSON, the feature is not sent.",
    "Order name (optional): a field or expression; empty names each order after the layer and the feature id.",
]
UP42_SERVICE_URL_HELP = ("Service URL (advanced, optional): UP42's base URL instead of the one in the plugin settings, "
                         "e.g. a sandbox's http://127.0.0.1:8765/ (https, or plain http on this computer only). The "
                         "UP42 user name and password are always the ones stored in QGIS's authentication database "
                         "(Web ▸ Satellite Tasking ▸ Settings…); never parameters, never logged.")

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
    "create_orders_from_layer": (
        "Orders every valid feature of a point, line or polygon layer in any CRS, as Bulk order from layer… does: "
        "each feature is checked (an invalid one is skipped with its reason, nothing sent for it), the valid ones "
        "are priced, then created in bulk requests of up to 1,000. The job is written to the plugin's bulk journal "
        "before anything is sent, so after a crash, a kill or a cancel, running the algorithm again on the same "
        "layer with the same expressions resumes it: what was sent is followed, never sent again; what was not is "
        "sent now. A feature already ordered with the same values is not ordered again; change a value (e.g. the "
        "name expression) to order it anew. The output is the input's features with order_id, error and "
        "estimated_cost.",
        ["Areas to task: the layer (selected features only, if so chosen).", FIELDS_HELP,
         "Stop if any feature is invalid: order nothing unless every feature is valid (the error names the first "
         "invalid feature and why); default: skip invalid features.", SERVICE_URL_HELP,
         "Bulk order results: the output layer."],
        "qgis_process run satellite_tasking:create_orders_from_layer -- INPUT=fields.gpkg NAME='\"field_name\"' "
        "END_TIME='\"deadline\"' OUTPUT=ordered.gpkg"),
    "search_windows": (
        "Searches the imaging windows of an assured order for each point or strip of a layer in any CRS (one "
        "search per feature, each followed to its end) and writes every window found to a temporal polygon layer "
        "in EPSG:4326, drawn as the footprint the feature tasks, with the id of the feature it was found for "
        "(source_fid). Every feature is checked before any search is sent; an invalid one stops the run naming "
        "the feature and why.",
        ["Points or strips to search windows for: the layer (points are 5 × 5 km squares, lines 5 km wide strips).",
         "Earliest start / Latest end: the time range searched (UTC), optional; the service searches at most "
         "seven days ahead.",
         "Contract (PL number): required by the service; empty takes the one in the plugin settings.",
         "Product: empty searches Assured Tasking.",
         "Exclusivity days priced: 0, 7 or 30, the exclusivity the windows' prices are for.",
         "Include windows that would replace your own orders: also list windows taken by your own orders.",
         SERVICE_URL_HELP, "Imaging windows: the output layer."],
        "qgis_process run satellite_tasking:search_windows -- INPUT=sites.gpkg PL_NUMBER=PL-123456 "
        "OUTPUT=windows.gpkg"),
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
    "edit_orders": (
        "Changes the name, start time or end time of orders given by id, as the Orders tab's edit does: each order "
        "is read first and checked against the service's rules for its state (an order that may not change is "
        "listed with the reason and nothing is sent for it), then edited and read back. The output table says "
        "what became of each order.",
        [ORDER_IDS_HELP, "New name / New start time / New end time: what to change (empty: unchanged).",
         SERVICE_URL_HELP, "Edit results: a table of order_id, name, result and reason."],
        "qgis_process run satellite_tasking:edit_orders -- ORDERS=orders.gpkg ID_FIELD=id "
        "END_TIME=2030-01-31T00:00:00 OUTPUT=edited.csv"),
    "cancel_orders": (
        "Cancels orders given by id, as the Orders tab does. Orders the service's rules do not allow cancelling "
        "are listed with the reason and not sent. When the contract's free cancellations are used up, a "
        "cancellation is charged: unless Accept the cancellation charge is ticked, those orders are not "
        "cancelled and the output says what each would cost.",
        [ORDER_IDS_HELP,
         "Accept the cancellation charge: cancel even when it is charged (default: refuse and report the cost).",
         SERVICE_URL_HELP, "Cancellation results: a table of order_id, name, result, reason and cost."],
        "qgis_process run satellite_tasking:cancel_orders -- ORDER_IDS=1a2b…,3c4d… ACCEPT_CHARGE=false "
        "OUTPUT=cancelled.csv"),
    "order_archive_imagery": (
        "Orders the archive imagery of published tasking captures, or of item ids, from Planet's Orders API "
        "(the plugin's Order imagery dialog as an algorithm): one order is placed, followed until Planet has "
        "finished it, and its files downloaded into the output folder as the order lays them out (checked "
        "against the order's manifest); the rasters' footprints are written beside them, and from the QGIS "
        "window the rasters are added to the map in Archive imagery / <order name>. Everything is checked "
        "before the order is sent (an item id of no known shape, no published capture, a clip area that misses "
        "every capture): a bad input orders nothing. The order is never placed twice: the output folder keeps "
        "a small journal (.satellite_tasking_archive_orders.json) naming the order placed for these inputs, so "
        "running the algorithm again with the same inputs and folder after a crash, a kill or a cancel follows "
        "that order and resumes its download (finished files are kept, partial .part files continued). "
        "Cancelling stops the waiting or the download, not the order.",
        ["Captures: a layer of captures (the plugin's Captures layer, a Load captures output, or any layer "
         "with an item id field; selected features only, if so chosen). Where the layer has a status field, "
         "only PUBLISHED captures are ordered (the others have no imagery yet).",
         "Item id field: the field holding the orderable item id (default strip_id, the capture's strip id).",
         "Item ids (optional): item ids typed or pasted, separated by commas, spaces or lines; ordered besides "
         "the layer's.",
         "Item type: SkySatCollect for tasking captures (default); PSScene or SkySatScene for other ids.",
         "Product bundle: what Planet delivers of each item (visual: RGB ready to view; analytic_udm2 etc.).",
         "Clip: No clip (whole items); The captures' tasking order areas (the tasking orders of the captures, "
         "read from the tasking service); or A polygon layer (its features, or its selection, merged).",
         "Clip layer: the polygon layer for Clip = A polygon layer.",
         "Order name (optional): empty names it after the first item (\"Imagery of <id> and N more\").",
         "Service URL (advanced, optional): the Orders API's base URL instead of the one in the plugin settings, "
         "e.g. a sandbox's http://127.0.0.1:8765/compute/ops/ (https, or plain http on this computer only). "
         "The API key is the one stored in QGIS's authentication database, never a parameter.",
         "Output folder: where the files go (<folder>/<order id>/…). Outputs: the folder, the footprints "
         "layer (footprints.gpkg beside the rasters), the rasters' paths, the order's id and state."],
        "qgis_process run satellite_tasking:order_archive_imagery -- CAPTURES=captures.gpkg CLIP=1 "
        "PRODUCT_BUNDLE=visual OUTPUT_FOLDER=/data/imagery"),
    "up42_estimate_orders": (
        "Estimates in UP42 credits a tasking order of a chosen data product for every feature of a point, line or "
        "polygon layer in any CRS (reprojected to EPSG:4326 and checked as the plugin's New order tab checks an "
        "AOI: points are 5 × 5 km squares, lines 5 km wide strips). The product parameters are one JSON object, "
        "optionally with per-feature overrides, checked against the product's JSON Schema before anything is "
        "sent: an invalid feature (bad geometry, a parameter the schema refuses, named by its path) gets its "
        "reason in the error field and is never sent. Valid features are estimated in requests of up to 100 "
        "features with the same parameters. The output is the input's features with credits, size, size_unit, "
        "aoi_kind and error; the log and the TOTAL_CREDITS output give the total. Nothing is ordered.",
        UP42_PARAMETERS_HELP + [UP42_SERVICE_URL_HELP, "Estimated orders: the output layer."],
        "qgis_process run satellite_tasking:up42_estimate_orders -- INPUT=sites.gpkg "
        "PRODUCT=pleiades-analytic-tasking PARAMS='{\"acquisitionStart\": \"2030-01-01T00:00:00Z\", "
        "\"acquisitionEnd\": \"2030-02-01T00:00:00Z\", \"acquisitionMode\": \"mono\", \"cloudCoverage\": 20, …}' "
        "NAME='\"site\"' OUTPUT=estimated.gpkg"),
    "up42_place_orders": (
        "Places a UP42 tasking order of a chosen data product for every valid feature of a layer, checked and "
        "estimated as UP42: estimate tasking orders from layer does (an invalid feature, or one the estimate "
        "refuses, is never sent). Money is spent only within Maximum credits to spend: the estimate of the "
        "orders this run would place is written to the log first, and when it is higher than the maximum "
        "nothing is ordered and the error says the amount (set the maximum to it to go on). Each order is one "
        "request, written to the plugin's journal (satellite_tasking_schema_orders.sqlite beside the bulk "
        "journal in the QGIS profile) before it is sent and after: running the algorithm again on the same "
        "layer, selection and product after a crash, a kill or a cancel places only what was not placed; an "
        "order whose answer was lost is looked up in the workspace's newest orders (same name, product and "
        "geometry, not there before) and never sent twice. A feature already ordered with the same values is "
        "not ordered again; change a value (e.g. the name) to order it anew. The output is the input's features "
        "with order_id, error (why a feature has no order) and credits (its estimate).",
        UP42_PARAMETERS_HELP + [
            "Maximum credits to spend: the most the orders this run places may cost by the estimate; higher, "
            "nothing is ordered (0, the default in the dialog, only reports the estimate).",
            UP42_SERVICE_URL_HELP, "Placed orders: the output layer."],
        "qgis_process run satellite_tasking:up42_place_orders -- INPUT=sites.gpkg "
        "PRODUCT=pleiades-analytic-tasking PARAMS='{…the same JSON as for the estimate…}' NAME='\"site\"' "
        "MAX_CREDITS=500000 "
        "OUTPUT=placed.gpkg"),
}


def help_html(algorithm_id: str) -> str:
    """The help as the Toolbox shows it: a paragraph, the parameters as a list, and an example."""
    if algorithm_id not in HELP:
        return ""
    text, parameters, example = HELP[algorithm_id]
    items = "".join(f"<li>{html.escape(p)}</li>" for p in parameters)
    return (f"<p>{html.escape(text)}</p><p><b>Parameters</b></p><ul>{items}</ul>"
            f"<p><b>Example</b></p><p><code>{html.escape(example)}</code></p>")
