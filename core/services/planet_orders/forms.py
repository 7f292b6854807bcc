"""Building an archive order's create request from what the user chose; bad input fails before sending."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple
from urllib.parse import urlsplit

from qgis.core import QgsGeometry

from ...aoi import AoiError, aoi_from_geometry
from ...errors import ValidationError
from ...log import register_secret
from .models import Delivery, OrderRequest, Product, Tools

ITEM_TYPES = ("PSScene", "SkySatCollect", "SkySatScene")
BUNDLES = ("analytic_udm2", "analytic_sr_udm2", "analytic_8b_udm2", "analytic_8b_sr_udm2", "visual",
           "basic_analytic_udm2", "pansharpened_udm2")
# An item id is one token of letters, digits, '_', '-' and '.': no spaces, commas or slashes, which are
# what a pasted list leaves behind when it was split wrongly.
ITEM_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{2,99}$")
CAPTURE_ITEM_TYPE = "SkySatCollect"  # a tasking capture's strip id is orderable as this item type
# The bundles each item type offers (the sandbox's catalogue, as Planet's bundle spec lists them).
ITEM_TYPE_BUNDLES: Dict[str, Tuple[str, ...]] = {
    "PSScene": ("analytic_udm2", "analytic_sr_udm2", "analytic_8b_udm2", "analytic_8b_sr_udm2", "visual",
                "basic_analytic_udm2"),
    "SkySatCollect": ("analytic_udm2", "analytic_sr_udm2", "visual", "pansharpened_udm2"),
    "SkySatScene": ("analytic_udm2", "analytic_sr_udm2", "visual", "pansharpened_udm2", "basic_analytic_udm2"),
}
MOSAICS = ("global_monthly_2022_01_mosaic", "global_monthly_2022_02_mosaic", "global_quarterly_2022q1_mosaic")
FILE_FORMATS = ("COG", "PL_NITF")
HARMONIZE_TARGET = "Sentinel-2"  # the one target sensor Planet's harmonize tool offers
# Cloud destinations and the fields each requires, in the order a form asks for them; (api name, label, secret).
CLOUD_DESTINATIONS: Dict[str, Tuple[str, Tuple[Tuple[str, str, bool], ...]]] = {
    "amazon_s3": ("Amazon S3", (("bucket", "Bucket", False), ("aws_region", "AWS region", False),
                                ("aws_access_key_id", "Access key id", False),
                                ("aws_secret_access_key", "Secret access key", True))),
    "google_cloud_storage": ("Google Cloud Storage", (("bucket", "Bucket", False),
                                                      ("credentials", "Service account key (base64)", True))),
    "azure_blob_storage": ("Azure Blob Storage", (("account", "Storage account", False),
                                                  ("container", "Container", False),
                                                  ("sas_token", "SAS token", True))),
    "oracle_cloud_storage": ("Oracle Cloud Storage", (("bucket", "Bucket", False), ("region", "Region", False),
                                                      ("namespace", "Namespace", False),
                                                      ("customer_access_key_id", "Customer access key id", False),
                                                      ("customer_secret_key", "Customer secret key", True))),
    "google_earth_engine": ("Google Earth Engine", (("project", "Cloud project", False),
                                                    ("collection", "Image collection", False))),
}


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
    if not any(b in ITEM_TYPE_BUNDLES[item_type] for b in bundles):
        raise _refuse("product_bundle", f"{item_type} items come in none of {', '.join(bundles)}; one of "
                      f"{', '.join(ITEM_TYPE_BUNDLES[item_type])}.")
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


# --- tools, cloud delivery, hosting and notifications -------------------------------------------------------

def other_tools(*, composite: bool = False, harmonize: bool = False, toar_scale: Optional[int] = None,
                reproject: Optional[str] = None, file_format: Optional[str] = None,
                coregister_anchor: Optional[str] = None) -> Tuple[Dict[str, Any], ...]:
    """The tools besides clip, in the order Planet applies them; ValidationError naming the tool's field."""
    tools: List[Dict[str, Any]] = []
    if composite:
        tools.append({"composite": {}})
    if coregister_anchor is not None:
        anchor = coregister_anchor.strip()
        if not ITEM_ID.match(anchor):
            raise _refuse("coregister", "Co-registration needs the id of the item to align the others to.")
        tools.append({"coregister": {"anchor_item": anchor}})
    if toar_scale is not None:
        if int(toar_scale) < 1:
            raise _refuse("toar", "The reflectance scale factor must be a positive whole number (Planet's default is 10000).")
        tools.append({"toar": {"scale_factor": int(toar_scale)}})
    if harmonize:
        tools.append({"harmonize": {"target_sensor": HARMONIZE_TARGET}})
    if reproject is not None:
        projection = reproject.strip()
        if not re.match(r"^EPSG:\d+$", projection, re.IGNORECASE):
            raise _refuse("reproject", "Choose the coordinate reference system to reproject to (an EPSG code).")
        tools.append({"reproject": {"projection": projection.upper()}})
    if file_format is not None:
        if file_format not in FILE_FORMATS:
            raise _refuse("file_format", f"The file format is one of {', '.join(FILE_FORMATS)}.")
        tools.append({"file_format": {"format": file_format}})
    return tuple(tools)


@dataclass(frozen=True)
class CloudDelivery(Delivery):
    """A delivery to a cloud bucket: the destination's block (its secrets kept out of repr) and zip options."""

    destination: str = ""
    settings: Mapping[str, str] = field(default_factory=dict, repr=False)
    path_prefix: Optional[str] = None

    def to_json(self) -> Optional[Dict[str, Any]]:
        body = dict(super().to_json() or {})
        if self.destination:
            body[self.destination] = dict(self.settings)
        if self.path_prefix:
            body["path_prefix"] = self.path_prefix
        return body or None


def cloud_delivery(destination: str, values: Mapping[str, Any], *, path_prefix: str = "", zip_archive: bool = False,
                   single_archive: bool = False) -> CloudDelivery:
    """A cloud delivery block; ValidationError naming the first missing field (its API name) so a form can
    show the error at it. The secret values are registered for redaction from every log line."""
    if destination not in CLOUD_DESTINATIONS:
        raise _refuse("destination", f"Unknown cloud destination {destination!r}; one of "
                      f"{', '.join(CLOUD_DESTINATIONS)}.")
    title, fields = CLOUD_DESTINATIONS[destination]
    block: Dict[str, str] = {}
    for name, label, secret in fields:
        value = str(values.get(name) or "").strip()
        if not value:
            raise _refuse(name, f"{title} delivery needs the {label.lower()}.")
        if secret:
            register_secret(value)
        block[name] = value
    prefix = (path_prefix or "").strip().strip("/")
    return CloudDelivery(archive_type="zip" if zip_archive or single_archive else None,
                         single_archive=single_archive, destination=destination, settings=block,
                         path_prefix=prefix or None)


def hosting_block(collection_id: str = "") -> Dict[str, Any]:
    """Hosting on Sentinel Hub: into a collection (its id) or, without one, a new collection made for the order."""
    collection = (collection_id or "").strip()
    if collection and not re.match(r"^[0-9a-fA-F-]{8,64}$", collection):
        raise _refuse("collection_id", "A Sentinel Hub collection id looks like a UUID; leave it empty for a new collection.")
    return {"sentinel_hub": {"collection_id": collection} if collection else {}}


def notifications_block(email: bool = False, webhook_url: str = "") -> Optional[Dict[str, Any]]:
    """Planet's notifications: an email when the order ends, and/or a webhook called per order; None for none."""
    url = (webhook_url or "").strip()
    body: Dict[str, Any] = {}
    if url:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise _refuse("webhook_url", "The webhook must be an http(s) URL, e.g. https://example.com/hooks/planet.")
        body["webhook_url"] = url
        body["webhook_per_order"] = True
    if email:
        body["email"] = True
    return body or None


@dataclass(frozen=True)
class ArchiveOrderRequest(OrderRequest):
    """A create request with hosting too (the base request's body plus `hosting`)."""

    hosting: Optional[Mapping[str, Any]] = None

    def to_json(self) -> Dict[str, Any]:
        body = super().to_json()
        if self.hosting:
            body["hosting"] = dict(self.hosting)
        return body


def with_options(request: OrderRequest, *, tools: Sequence[Mapping[str, Any]] = (),
                 delivery: Optional[Delivery] = None, hosting: Optional[Mapping[str, Any]] = None,
                 notifications: Optional[Mapping[str, Any]] = None) -> ArchiveOrderRequest:
    """A request from scenes_request/basemap_request with the other tools, a cloud delivery, hosting and
    notifications; ValidationError for a cloud delivery with hosting (the service takes one or the other)."""
    if hosting and isinstance(delivery, CloudDelivery):
        raise _refuse("hosting", "An order is either delivered to a cloud bucket or hosted on Sentinel Hub, not both.")
    merged_tools = Tools(clip_aoi=request.tools.clip_aoi, others=tuple(request.tools.others) + tuple(tools))
    base = {name: getattr(request, name) for name in ("name", "products", "order_type")}
    full = ArchiveOrderRequest(**base, tools=merged_tools, delivery=delivery or request.delivery,
                               notifications=notifications if notifications is not None else request.notifications,
                               hosting=hosting)
    return full
