"""Building an archive order's create request from what the user chose; bad input fails before sending."""

from __future__ import annotations

import re
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

from qgis.core import QgsGeometry

from ...aoi import AoiError, aoi_from_geometry
from ...errors import ValidationError
from .models import Delivery, OrderRequest, Product, Tools

ITEM_TYPES = ("PSScene", "SkySatCollect", "SkySatScene")
BUNDLES = ("analytic_udm2", "analytic_sr_udm2", "analytic_8b_udm2", "analytic_8b_sr_udm2", "visual",
           "basic_analytic_udm2", "pansharpened_udm2")
# An item id is one token of letters, digits, '_', '-' and '.': no spaces, commas or slashes, which are
# what a pasted list leaves behind when it was split wrongly.
ITEM_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{2,99}$")
CAPTURE_ITEM_TYPE = "SkySatCollect"  # a tasking capture's strip id is orderable as this item type


def _refuse(field: str, message: str) -> ValidationError:
    return ValidationError(message, field_errors={field: [message]})


def item_ids_from_text(text: str) -> List[str]:
    """Item ids typed or pasted: separated by commas, spaces or lines; duplicates dropped, order kept."""
    ids: List[str] = []
    for token in re.split(r"[\s,;]+", text or ""):
        if token and token not in ids:
            ids.append(token)
    return ids


def capture_item_ids(captures: Iterable[Any]) -> List[str]:
    """The orderable item ids (strip ids) of published tasking captures (objects or dicts)."""
    ids: List[str] = []
    for capture in captures:
        strip = capture.get("strip_id") if isinstance(capture, Mapping) else getattr(capture, "strip_id", None)
        if strip and strip not in ids:
            ids.append(str(strip))
    return ids


def clip_geojson(geometry: Optional[QgsGeometry], crs: Any, footprints: Sequence[QgsGeometry] = ()) -> Dict[str, Any]:
    """A clip AOI as the GeoJSON polygon to send, checked as a tasking AOI is (core.aoi); ValidationError
    when it is not an area, or misses every footprint given (EPSG:4326) so the order would make nothing."""
    try:
        aoi = aoi_from_geometry(geometry, crs, max_sqkm=None)
    except AoiError as error:
        raise _refuse("clip", f"The clip area cannot be used: {error.message}") from None
    if not aoi.is_area:
        raise _refuse("clip", "The clip area must be a polygon; a point or a line clips nothing.")
    if footprints and not any(aoi.geometry.intersects(f) for f in footprints):
        raise _refuse("clip", "The clip area does not overlap any of the items, so the order would deliver nothing.")
    return aoi.geojson()


def scenes_request(name: str, item_ids: Sequence[str], *, item_type: str = "PSScene",
                   product_bundle: str = "analytic_udm2", clip: Optional[Mapping[str, Any]] = None,
                   zip_archive: bool = False, single_archive: bool = False,
                   order_type: str = "partial") -> OrderRequest:
    """An order of archive scenes (`clip`: a GeoJSON polygon from clip_geojson); ValidationError, naming the
    field, for an empty name or selection, an unknown item type or bundle, or an id of no known shape."""
    name = (name or "").strip()
    if not name:
        raise _refuse("name", "The order needs a name.")
    if not item_ids:
        raise _refuse("item_ids", "Select at least one capture or type an item id to order.")
    bad = [i for i in item_ids if not ITEM_ID.match(str(i))]
    if bad:
        raise _refuse("item_ids", f"Not an item id: {', '.join(repr(b) for b in bad[:5])}. Item ids look like "
                      "20220304_093300_37_2430 (one per line or separated by commas).")
    if item_type not in ITEM_TYPES:
        raise _refuse("item_type", f"Unknown item type {item_type!r}; one of {', '.join(ITEM_TYPES)}.")
    bundles = [b.strip() for b in product_bundle.split(",") if b.strip()]
    unknown = [b for b in bundles if b not in BUNDLES]
    if not bundles or unknown:
        raise _refuse("product_bundle", f"Unknown product bundle {', '.join(unknown) or '(none)'}; one of "
                      f"{', '.join(BUNDLES)}.")
    if order_type not in ("partial", "full"):
        raise _refuse("order_type", "The order type is partial or full.")
    unique = list(dict.fromkeys(str(i) for i in item_ids))
    product = Product(item_ids=tuple(unique), item_type=item_type, product_bundle=",".join(bundles))
    return OrderRequest(name=name, products=(product,), tools=Tools(clip_aoi=clip),
                        delivery=Delivery(archive_type="zip" if zip_archive or single_archive else None,
                                          single_archive=single_archive),
                        order_type=order_type)


def basemap_request(name: str, mosaic_name: str, *, quad_ids: Sequence[str] = (),
                    geometry: Optional[Mapping[str, Any]] = None, clip: Optional[Mapping[str, Any]] = None) -> OrderRequest:
    """A basemap order by quads ("column-row") or by an area (GeoJSON); ValidationError otherwise."""
    name = (name or "").strip()
    if not name:
        raise _refuse("name", "The order needs a name.")
    if not mosaic_name:
        raise _refuse("mosaic_name", "Choose a basemap mosaic.")
    if bool(quad_ids) == (geometry is not None):
        raise _refuse("quad_ids", "Give either quad ids or an area for a basemap order, not both or neither.")
    bad = [q for q in quad_ids if not re.match(r"^\d+-\d+$", str(q))]
    if bad:
        raise _refuse("quad_ids", f"Not a quad id: {', '.join(bad[:5])}; quads are 'column-row', e.g. 1050-1374.")
    product = Product(mosaic_name=mosaic_name, quad_ids=tuple(quad_ids), geometry=geometry)
    return OrderRequest(name=name, products=(product,), tools=Tools(clip_aoi=clip))
