"""What can be ordered: a few fixed PSScene items, the key's own published tasking captures, basemap quads, bundles."""

from __future__ import annotations

import math
from typing import Dict, List, Optional, Tuple

from sandbox.simulation import Simulation

Bounds = Tuple[float, float, float, float]  # west, south, east, north (degrees)

# Fixed archive scenes: the document's own examples (around its clip AOI near Chamonix) and two more.
# Items whose id is in FAILING_ITEMS exist but their processing fails, so partial and failed orders can be
# produced on purpose (the real service fails items for reasons a client cannot see in advance).
PSSCENE_ITEMS: Dict[str, Bounds] = {
    "20220304_093300_37_2430": (6.30, 45.80, 6.38, 45.85),
    "20220305_093440_25_2429": (6.31, 45.79, 6.39, 45.84),
    "20220304_093257_90_2430": (6.28, 45.82, 6.36, 45.87),
    "20220628_101529_00_2262": (4.58, 52.33, 4.70, 52.41),
    "20220628_101531_25_2262_failing": (4.60, 52.35, 4.72, 52.43),
}
FAILING_ITEMS = {"20220628_101531_25_2262_failing"}
CAPTURE_ITEM_TYPES = ("SkySatCollect", "SkySatScene")

# Bundle -> its image assets: (file suffix, asset type, band count, bits per sample). Each item also gets
# a metadata JSON; "udm2" bundles add the 8-band usable-data mask.
BUNDLES: Dict[str, List[Tuple[str, str, int, int]]] = {
    "analytic_udm2": [("AnalyticMS", "ortho_analytic_4b", 4, 16), ("udm2", "ortho_udm2", 8, 8)],
    "analytic_sr_udm2": [("AnalyticMS_SR", "ortho_analytic_4b_sr", 4, 16), ("udm2", "ortho_udm2", 8, 8)],
    "analytic_8b_udm2": [("AnalyticMS_8b", "ortho_analytic_8b", 8, 16), ("udm2", "ortho_udm2", 8, 8)],
    "analytic_8b_sr_udm2": [("AnalyticMS_SR_8b", "ortho_analytic_8b_sr", 8, 16), ("udm2", "ortho_udm2", 8, 8)],
    "visual": [("Visual", "ortho_visual", 3, 8)],
    "basic_analytic_udm2": [("BasicAnalyticMS", "basic_analytic_4b", 4, 16), ("udm2", "basic_udm2", 8, 8)],
    "pansharpened_udm2": [("pansharpened", "ortho_pansharpened", 4, 16), ("udm2", "ortho_pansharpened_udm2", 8, 8)],
}
ITEM_TYPE_BUNDLES: Dict[str, Tuple[str, ...]] = {
    "PSScene": ("analytic_udm2", "analytic_sr_udm2", "analytic_8b_udm2", "analytic_8b_sr_udm2", "visual",
                "basic_analytic_udm2"),
    "SkySatCollect": ("analytic_udm2", "analytic_sr_udm2", "visual", "pansharpened_udm2"),
    "SkySatScene": ("analytic_udm2", "analytic_sr_udm2", "visual", "pansharpened_udm2", "basic_analytic_udm2"),
}
MOSAICS = ("global_monthly_2022_01_mosaic", "global_monthly_2022_02_mosaic", "global_quarterly_2022q1_mosaic")
QUAD_GRID = 2048  # quads per side of the Web Mercator square (the document's "1050-1374" is at Amsterdam)
MAX_QUADS = 100
_HALF_WORLD = 20037508.342789244


def _polygon_bounds(geometry: dict) -> Bounds:
    points = []
    coordinates = geometry["coordinates"]
    polygons = coordinates if geometry["type"] == "MultiPolygon" else [coordinates]
    for polygon in polygons:
        for ring in polygon:
            points.extend(ring)
    lons = [p[0] for p in points]
    lats = [p[1] for p in points]
    return min(lons), min(lats), max(lons), max(lats)


def item_bounds(sim: Simulation, api_key: str, item_type: str, item_id: str) -> Optional[Bounds]:
    """The item's footprint if this key may order it, None when it does not exist for this key."""
    if item_type == "PSScene":
        return PSSCENE_ITEMS.get(item_id)
    if item_type in CAPTURE_ITEM_TYPES:
        for capture in sim.store.all("capture"):
            if capture.get("strip_id") == item_id and capture["_key"] == api_key \
                    and capture["status"] == "PUBLISHED":
                return _polygon_bounds(capture["geometry"])
    return None


def quad_bounds(quad_id: str) -> Optional[Bounds]:
    """A quad "column-row" (row counted from the south) in the 2048 x 2048 Web Mercator grid."""
    column_text, _, row_text = quad_id.partition("-")
    if not (column_text.isdigit() and row_text.isdigit()):
        return None
    column, row = int(column_text), int(row_text)
    if column >= QUAD_GRID or row >= QUAD_GRID:
        return None
    size = 2 * _HALF_WORLD / QUAD_GRID

    def lat(y: float) -> float:
        return math.degrees(math.atan(math.sinh(y / 6378137.0)))

    west = -180.0 + column * 360.0 / QUAD_GRID
    south_y = -_HALF_WORLD + row * size
    return west, lat(south_y), west + 360.0 / QUAD_GRID, lat(south_y + size)


def quads_over(bounds: Bounds) -> List[str]:
    """Ids of the quads that cover `bounds`, west to east then south to north."""
    west, south, east, north = bounds

    def row(lat_deg: float) -> int:
        y = 6378137.0 * math.log(math.tan(math.pi / 4 + math.radians(max(-85.05, min(85.05, lat_deg))) / 2))
        return int((y + _HALF_WORLD) / (2 * _HALF_WORLD / QUAD_GRID))

    def column(lon: float) -> int:
        return min(QUAD_GRID - 1, int((lon + 180.0) / 360.0 * QUAD_GRID))

    return [f"{c}-{r}" for r in range(row(south), row(north) + 1) for c in range(column(west), column(east) + 1)]


def intersection(a: Bounds, b: Bounds) -> Optional[Bounds]:
    west, south = max(a[0], b[0]), max(a[1], b[1])
    east, north = min(a[2], b[2]), min(a[3], b[3])
    if west >= east or south >= north:
        return None
    return west, south, east, north


def geometry_bounds(geometry: dict) -> Bounds:
    return _polygon_bounds(geometry)


def bundles_spec() -> dict:
    """GET /compute/ops/bundles/spec: each bundle's assets per item type (the `planet` SDK validates with it)."""
    bundles: Dict[str, dict] = {}
    for item_type, names in ITEM_TYPE_BUNDLES.items():
        for name in names:
            assets = bundles.setdefault(name, {"assets": {}})["assets"]
            assets[item_type] = [asset for _, asset, _, _ in BUNDLES[name]]
    return {"bundles": bundles}
