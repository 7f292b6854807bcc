"""Archive orders: validation, creation, the queued -> running -> success/partial/failed lifecycle, cancel, results."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, List, Optional

from sandbox.accounts import Account
from sandbox.errors import ApiError
from sandbox.planet_orders import catalog
from sandbox.simulation import Simulation
from sandbox.timefmt import format_time

KIND = "planet_orders.order"  # store kinds carry the API's prefix (sandbox/README.md, Adding an API)
SETTINGS_KIND = "planet_orders.setting"  # sandbox knobs kept as objects, so a reset clears them too
STATES = ("queued", "running", "success", "partial", "failed", "cancelled")
SOURCE_TYPES = ("scenes", "basemaps")
TOOLS = ("clip", "composite", "bandmath", "reproject", "tile", "toar", "harmonize", "coregister", "file_format")
DELIVERY_FIELDS = {
    "google_cloud_storage": ("bucket", "credentials"),
    "amazon_s3": ("bucket", "aws_region", "aws_access_key_id", "aws_secret_access_key"),
    "azure_blob_storage": ("account", "container", "sas_token"),
    "oracle_cloud_storage": ("bucket", "region", "namespace", "customer_access_key_id", "customer_secret_key"),
    "google_earth_engine": ("project", "collection"),
}
DELIVERY_OPTIONS = ("archive_type", "single_archive", "archive_filename", "path_prefix")
HOSTING = ("sentinel_hub",)
QUEUED_SECONDS = 30       # simulated time an order waits in the queue (the only time it can be cancelled)
RUN_SECONDS = 60          # simulated processing time per order, plus per item below
RUN_SECONDS_PER_ITEM = 30
TIFF_SIZE = 64            # pixels along the longer side of a delivered GeoTIFF


def unable(field: str, message: str) -> ApiError:
    """The service's 400: the field's messages, and the general "Unable to accept order"."""
    return ApiError(400, {"field": {field: [{"message": message}]}, "general": [{"message": "Unable to accept order"}]})


def general(status: int, message: str) -> ApiError:
    return ApiError(status, {"field": {}, "general": [{"message": message}]})


def _is_polygon(value: Any) -> bool:
    return isinstance(value, dict) and value.get("type") in ("Polygon", "MultiPolygon") \
        and isinstance(value.get("coordinates"), list) and bool(value["coordinates"])


def _validate_tools(tools: Any) -> List[dict]:
    if tools is None:
        return []
    if not isinstance(tools, list):
        raise unable("Tools", "tools must be a list of tool objects.")
    for tool in tools:
        if not isinstance(tool, dict) or len(tool) != 1:
            raise unable("Tools", "Each tool must be an object with exactly one tool name.")
        (name, parameters), = tool.items()
        if name not in TOOLS:
            raise unable("Tools", f"Unsupported tool: {name}. Supported tools: {', '.join(TOOLS)}.")
        if not isinstance(parameters, dict):
            raise unable("Tools", f"The {name} tool's parameters must be an object.")
        if name == "clip" and not _is_polygon(parameters.get("aoi")):
            raise unable("Tools", "clip: aoi must be a GeoJSON Polygon or MultiPolygon.")
        if name == "file_format" and parameters.get("format") not in ("COG", "PL_NITF"):
            raise unable("Tools", "file_format: format must be one of COG, PL_NITF.")
        if name == "reproject" and not parameters.get("projection"):
            raise unable("Tools", "reproject: projection is required.")
    return tools


def _validate_delivery(delivery: Any) -> Optional[dict]:
    if delivery is None:
        return None
    if not isinstance(delivery, dict):
        raise unable("Delivery", "delivery must be an object.")
    targets = [k for k in delivery if k in DELIVERY_FIELDS]
    unknown = [k for k in delivery if k not in DELIVERY_FIELDS and k not in DELIVERY_OPTIONS]
    if unknown:
        raise unable("Delivery", f"Unsupported delivery option: {unknown[0]}.")
    if len(targets) > 1:
        raise unable("Delivery", "Only one cloud delivery destination may be given.")
    for target in targets:
        block = delivery[target]
        missing = [f for f in DELIVERY_FIELDS[target] if not isinstance(block, dict) or not block.get(f)]
        if missing:
            raise unable("Delivery", f"{target}: {missing[0]} is required.")
    if delivery.get("archive_type") not in (None, "zip"):
        raise unable("Delivery", "archive_type must be zip.")
    return delivery


def _validate_hosting(hosting: Any, sim: Simulation) -> Optional[dict]:
    if hosting is None:
        return None
    if not isinstance(hosting, dict) or list(hosting) != ["sentinel_hub"] or not isinstance(hosting["sentinel_hub"], dict):
        raise unable("Hosting", "hosting must be {\"sentinel_hub\": {...}}.")
    block = dict(hosting["sentinel_hub"])
    block.setdefault("collection_id", sim.new_id())  # the document: one is created on your behalf
    return {"sentinel_hub": block}


def _scene_products(sim: Simulation, account: Account, products: List[Any]) -> List[dict]:
    for product in products:
        if not isinstance(product, dict):
            raise unable("Products", "Each product must be an object.")
        item_type = product.get("item_type")
        if item_type not in catalog.ITEM_TYPE_BUNDLES:
            raise unable("Products", f"Unsupported item type: {item_type}.")
        bundle_text = product.get("product_bundle")
        if not isinstance(bundle_text, str) or not bundle_text:
            raise unable("Products", "product_bundle is required.")
        # A comma-separated list is a list of fallbacks: the first one the item type has is used.
        usable = [b for b in (p.strip() for p in bundle_text.split(",")) if b in catalog.ITEM_TYPE_BUNDLES[item_type]]
        if not usable:
            raise unable("Products", f"Bundle type/s: {bundle_text} are not supported for item type {item_type}.")
        item_ids = product.get("item_ids")
        if not isinstance(item_ids, list) or not item_ids or not all(isinstance(i, str) for i in item_ids):
            raise unable("Products", "item_ids must be a non-empty list of item ids.")
        missing = [i for i in item_ids if catalog.item_bounds(sim, account.api_key, item_type, i) is None]
        if missing:
            assets = " ".join(asset for _, asset, _, _ in catalog.BUNDLES[usable[0]])
            raise unable("Details", f"No access to assets: {item_type}/{missing[0]}/[{assets}]")
        product["_bundle"] = usable[0]
    return products


def _basemap_products(products: List[Any]) -> List[dict]:
    for product in products:
        if not isinstance(product, dict):
            raise unable("Products", "Each product must be an object.")
        if product.get("mosaic_name") not in catalog.MOSAICS:
            raise unable("Products", f"Unknown mosaic: {product.get('mosaic_name')}.")
        has_geometry, has_quads = "geometry" in product, "quad_ids" in product
        if has_geometry == has_quads:
            raise unable("Products", "A basemap product needs either geometry or quad_ids, not both.")
        if has_geometry:
            if not _is_polygon(product["geometry"]):
                raise unable("Products", "geometry must be a GeoJSON Polygon or MultiPolygon.")
            quads = catalog.quads_over(catalog.geometry_bounds(product["geometry"]))
        else:
            quads = product["quad_ids"]
            if not isinstance(quads, list) or not quads:
                raise unable("Products", "quad_ids must be a non-empty list.")
            bad = [q for q in quads if not isinstance(q, str) or catalog.quad_bounds(q) is None]
            if bad:
                raise unable("Products", f"Invalid quad id: {bad[0]}.")
        if len(quads) > catalog.MAX_QUADS:
            raise unable("Products", f"The order covers {len(quads)} quads; at most {catalog.MAX_QUADS} are allowed.")
        product["_quads"] = list(quads)
    return products


def create_order(sim: Simulation, account: Account, body: Any, now: datetime) -> dict:
    if not isinstance(body, dict):
        raise general(400, "The order request must be a JSON object.")
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise unable("Name", "name is required.")
    source_type = body.get("source_type", "scenes")
    if source_type not in SOURCE_TYPES:
        raise unable("Source_type", f"source_type must be one of {', '.join(SOURCE_TYPES)}.")
    products = body.get("products")
    if not isinstance(products, list) or not products:
        raise unable("Products", "products is required and must not be empty.")
    products = [dict(p) if isinstance(p, dict) else p for p in products]
    if source_type == "scenes":
        products = _scene_products(sim, account, products)
    else:
        products = _basemap_products(products)
    tools = _validate_tools(body.get("tools"))
    delivery = _validate_delivery(body.get("delivery"))
    hosting = _validate_hosting(body.get("hosting"), sim)
    if delivery and hosting and any(k in DELIVERY_FIELDS for k in delivery):
        raise unable("Hosting", "An order may be delivered to cloud storage or hosted, not both.")
    if body.get("order_type", "partial") not in ("partial", "full"):
        raise unable("Order_type", "order_type must be one of partial, full.")
    notifications = body.get("notifications")
    if notifications is not None and not isinstance(notifications, dict):
        raise unable("Notifications", "notifications must be an object.")
    stamp = format_time(now)
    order = {
        "id": sim.new_id(),
        "name": name,
        "source_type": source_type,
        "products": [{k: v for k, v in p.items() if not k.startswith("_")} for p in products],
        "created_on": stamp,
        "last_modified": stamp,
        "state": "queued",
        "last_message": "Preparing order",
        "error_hints": [],
        "order_type": body.get("order_type", "partial"),
        "_key": account.api_key,
        "_products": products,
        "_results": [],
    }
    for field, value in (("tools", tools or None), ("delivery", delivery), ("hosting", hosting),
                         ("notifications", notifications), ("metadata", body.get("metadata"))):
        if value is not None:
            order[field] = value
    sim.store.add(KIND, order)
    sim.schedule(KIND, order, now + timedelta(seconds=QUEUED_SECONDS), "start")
    return order


def _units(order: dict) -> List[dict]:
    """What the order processes: one unit per item (scenes) or per quad (basemaps)."""
    units = []
    for product in order["_products"]:
        if order["source_type"] == "basemaps":
            units += [{"mosaic": product["mosaic_name"], "quad": q} for q in product["_quads"]]
        else:
            units += [{"item_type": product["item_type"], "item_id": i, "bundle": product["_bundle"]}
                      for i in product["item_ids"]]
    return units


def _clip_bounds(order: dict) -> Optional[catalog.Bounds]:
    for tool in order.get("tools") or []:
        if "clip" in tool:
            return catalog.geometry_bounds(tool["clip"]["aoi"])
    return None


def _tiff(name: str, bounds: catalog.Bounds, bands: int, bits: int, seed: int, size: int) -> dict:
    west, south, east, north = bounds
    ratio = (east - west) / max(north - south, 1e-9)
    width = size if ratio >= 1 else max(2, round(size * ratio))
    height = size if ratio < 1 else max(2, round(size / ratio))
    return {"name": name, "_file": {"type": "tif", "bounds": list(bounds), "width": width, "height": height,
                                    "bands": bands, "bits": bits, "seed": seed}}


def _unit_results(sim: Simulation, order: dict, unit: dict, clip: Optional[catalog.Bounds]) -> List[dict]:
    """The files one unit delivers, or raises ValueError with the hint when the unit fails."""
    prefix = order["id"]
    suffix = "_clip" if clip else ""
    setting = sim.store.get(SETTINGS_KIND, "raster-size")
    size = setting["pixels"] if setting else TIFF_SIZE
    if "quad" in unit:
        bounds = catalog.quad_bounds(unit["quad"])
        assert bounds is not None
        if clip:
            bounds = catalog.intersection(bounds, clip)
            if bounds is None:
                raise ValueError(f"Quad {unit['quad']}: the clip AOI does not intersect it.")
        return [_tiff(f"{prefix}/{unit['mosaic']}/quads/{unit['quad']}{suffix}.tif", bounds, 4, 8, len(unit["quad"]), size)]
    item_id = unit["item_id"]
    if item_id in catalog.FAILING_ITEMS:
        raise ValueError(f"{unit['item_type']}/{item_id}: processing failed (asset could not be activated).")
    bounds = catalog.item_bounds(sim, order["_key"], unit["item_type"], item_id)
    if bounds is None:
        raise ValueError(f"{unit['item_type']}/{item_id}: the item is no longer available.")
    if clip:
        bounds = catalog.intersection(bounds, clip)
        if bounds is None:
            raise ValueError(f"{unit['item_type']}/{item_id}: the clip AOI does not intersect the item.")
    folder = f"{prefix}/{unit['item_type']}"
    seed = sum(map(ord, item_id))
    files = [_tiff(f"{folder}/{item_id}_3B_{asset}{suffix}.tif", bounds, bands, bits, seed + n, size)
             for n, (asset, _, bands, bits) in enumerate(catalog.BUNDLES[unit["bundle"]])]
    files.append({"name": f"{folder}/{item_id}_metadata.json",
                  "_file": {"type": "metadata", "item_type": unit["item_type"], "item_id": item_id,
                            "bounds": list(bounds)}})
    return files


def _unit_zip_name(order: dict, unit: dict) -> str:
    if "quad" in unit:
        return f"{order['id']}/{unit['mosaic']}/quads/{unit['quad']}.zip"
    return f"{order['id']}/{unit['item_type']}/{unit['item_id']}.zip"


def _zip(order: dict, name: str, members: List[dict]) -> dict:
    """One archive of `members`, each stored under its path inside the order folder."""
    folder = order["id"] + "/"
    return {"name": name, "_file": {"type": "zip", "members": [
        {"name": m["name"][len(folder):], "_file": m["_file"]} for m in members]}}


def order_event(sim: Simulation, order: dict, event: str, at: datetime, target: datetime) -> None:
    """queued -> running ("start"), running -> success / partial / failed ("finish")."""
    stamp = format_time(at)
    if event == "start" and order["state"] == "queued":
        order["state"] = "running"
        units = _units(order)
        order["last_message"] = f"Processing {len(units)} item(s)"
        order["last_modified"] = stamp
        sim.schedule(KIND, order, at + timedelta(seconds=RUN_SECONDS + RUN_SECONDS_PER_ITEM * len(units)), "finish")
    elif event == "finish" and order["state"] == "running":
        clip = _clip_bounds(order)
        results: List[dict] = []
        hints: List[str] = []
        units = _units(order)
        delivery = order.get("delivery") or {}
        zipped = delivery.get("archive_type") == "zip"
        for unit in units:
            try:
                produced = _unit_results(sim, order, unit, clip)
            except ValueError as failure:
                hints.append(str(failure))
                continue
            if zipped and not delivery.get("single_archive"):
                produced = [_zip(order, _unit_zip_name(order, unit), produced)]
            results += produced
        if zipped and delivery.get("single_archive") and results:
            template = delivery.get("archive_filename") or "{{name}}_{{order_id}}.zip"
            filename = template.replace("{{name}}", order["name"]).replace("{{order_id}}", order["id"])
            results = [_zip(order, f"{order['id']}/{filename}", results)]
        failed = len(hints)
        # A "full" order is all or nothing; a "partial" one (the default) delivers what could be processed.
        if failed == len(units) or (failed and order["order_type"] == "full"):
            order["state"] = "failed"
            order["last_message"] = ("Order failed: no item could be processed" if failed == len(units)
                                     else "Order failed: a full order delivers all of its items or none")
            results = []
        else:
            results.append({"name": f"{order['id']}/manifest.json", "_file": {"type": "manifest"}})
            order["state"] = "partial" if failed else "success"
            order["last_message"] = "Manifest delivery completed"
        order["error_hints"] = hints
        order["_results"] = results
        order["last_modified"] = stamp
    sim.store.touch(KIND, order)


def cancel(sim: Simulation, order: dict, now: datetime) -> Optional[str]:
    """Cancel a queued order; otherwise the reason it cannot be (the order is left as it is)."""
    if order["state"] != "queued":
        return f"Order {order['id']} cannot be cancelled: it is {order['state']}; only queued orders can be cancelled."
    order["state"] = "cancelled"
    order["last_message"] = "Order cancelled"
    order["last_modified"] = format_time(now)
    sim.schedule(KIND, order, None)
    return None
