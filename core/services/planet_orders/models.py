"""Typed pieces of the Planet Orders API v2: orders as read, and the parts of a create request."""

from __future__ import annotations

from collections import abc
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ...errors import MalformedResponseError

# Where an order rests for good; the service moves it no further.
FINISHED_STATES = frozenset({"success", "partial", "failed", "cancelled"})
# Finished with files to fetch.
DELIVERED_STATES = frozenset({"success", "partial"})
STATES = ("queued", "running", "success", "partial", "failed", "cancelled")


def _is_mapping(value: Any) -> bool:
    # JSON objects are dicts: checked first, since an isinstance of typing's Mapping goes through two layers
    # of subclass hooks (a third of what reading a listed order cost).
    return type(value) is dict or isinstance(value, abc.Mapping)


def parse_time(text: Any) -> Optional[datetime]:
    """An RFC 3339 time of the service ("...Z" or with an offset) as an aware datetime; None if absent."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None


@dataclass(frozen=True)
class OrderResult:
    """One file of a finished order: `name` its path relative to the download folder, `location` a
    key-less link that expires (None for a cloud delivery, which the service writes elsewhere)."""

    name: str
    location: Optional[str]
    expires_at: Optional[datetime]
    delivery: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "OrderResult":
        if not _is_mapping(data) or not data.get("name"):
            raise MalformedResponseError("The Planet orders service listed a result without a name.",
                                         body=str(data)[:500])
        return cls(name=str(data["name"]), location=data.get("location") or None,
                   expires_at=parse_time(data.get("expires_at")), delivery=str(data.get("delivery") or ""))

    @property
    def is_manifest(self) -> bool:
        return self.name.rsplit("/", 1)[-1] == "manifest.json"


@dataclass(frozen=True)
class Product:
    """What to order: archive items of one item type in one bundle, or basemap quads of a mosaic."""

    item_ids: Tuple[str, ...] = ()
    item_type: str = ""
    product_bundle: str = ""
    mosaic_name: str = ""
    quad_ids: Tuple[str, ...] = ()
    geometry: Optional[Mapping[str, Any]] = None

    @property
    def is_basemap(self) -> bool:
        return bool(self.mosaic_name)

    def to_json(self) -> Dict[str, Any]:
        if self.is_basemap:
            body: Dict[str, Any] = {"mosaic_name": self.mosaic_name}
            if self.quad_ids:
                body["quad_ids"] = list(self.quad_ids)
            if self.geometry is not None:
                body["geometry"] = dict(self.geometry)
            return body
        return {"item_ids": list(self.item_ids), "item_type": self.item_type, "product_bundle": self.product_bundle}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Product":
        return cls(item_ids=tuple(str(i) for i in data.get("item_ids") or ()),
                   item_type=str(data.get("item_type") or ""),
                   product_bundle=str(data.get("product_bundle") or ""),
                   mosaic_name=str(data.get("mosaic_name") or ""),
                   quad_ids=tuple(str(q) for q in data.get("quad_ids") or ()),
                   geometry=data.get("geometry"))


@dataclass(frozen=True)
class Delivery:
    """How the files come: direct download (the default), optionally zipped per item or as one archive."""

    archive_type: Optional[str] = None  # "zip" or None
    single_archive: bool = False
    archive_filename: Optional[str] = None

    def to_json(self) -> Optional[Dict[str, Any]]:
        if not self.archive_type:
            return None
        body: Dict[str, Any] = {"archive_type": self.archive_type}
        if self.single_archive:
            body["single_archive"] = True
            if self.archive_filename:
                body["archive_filename"] = self.archive_filename
        return body


@dataclass(frozen=True)
class Tools:
    """The processing tools of an order; only `clip` changes the files the sandbox makes."""

    clip_aoi: Optional[Mapping[str, Any]] = None
    others: Tuple[Mapping[str, Any], ...] = ()

    def to_json(self) -> List[Dict[str, Any]]:
        tools: List[Dict[str, Any]] = []
        if self.clip_aoi is not None:
            tools.append({"clip": {"aoi": dict(self.clip_aoi)}})
        tools.extend(dict(t) for t in self.others)
        return tools


@dataclass(frozen=True)
class OrderRequest:
    """A create request, checked by forms.py; `to_json` is the body POSTed."""

    name: str
    products: Tuple[Product, ...]
    tools: Tools = field(default_factory=Tools)
    delivery: Delivery = field(default_factory=Delivery)
    order_type: str = "partial"
    notifications: Optional[Mapping[str, Any]] = None

    @property
    def source_type(self) -> str:
        return "basemaps" if any(p.is_basemap for p in self.products) else "scenes"

    def to_json(self) -> Dict[str, Any]:
        body: Dict[str, Any] = {"name": self.name, "source_type": self.source_type,
                                "products": [p.to_json() for p in self.products], "order_type": self.order_type}
        tools = self.tools.to_json()
        if tools:
            body["tools"] = tools
        delivery = self.delivery.to_json()
        if delivery:
            body["delivery"] = delivery
        if self.notifications:
            body["notifications"] = dict(self.notifications)
        return body


@dataclass(frozen=True)
class ArchiveOrder:
    """An order of the Orders API as last read: its state, messages and (once finished) results."""

    id: str
    name: str
    state: str
    source_type: str = "scenes"
    created_on: Optional[datetime] = None
    last_modified: Optional[datetime] = None
    last_message: str = ""
    error_hints: Tuple[str, ...] = ()
    products: Tuple[Product, ...] = ()
    results: Tuple[OrderResult, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> "ArchiveOrder":
        if not _is_mapping(data) or not data.get("id") or not data.get("state"):
            raise MalformedResponseError("The Planet orders service sent an order without an id or state.",
                                         body=str(data)[:500])
        links = data.get("_links") if _is_mapping(data.get("_links")) else {}
        return cls(
            id=str(data["id"]), name=str(data.get("name") or ""), state=str(data["state"]),
            source_type=str(data.get("source_type") or "scenes"),
            created_on=parse_time(data.get("created_on")), last_modified=parse_time(data.get("last_modified")),
            last_message=str(data.get("last_message") or ""),
            error_hints=tuple(str(h) for h in data.get("error_hints") or ()),
            products=tuple(Product.from_json(p) for p in data.get("products") or () if _is_mapping(p)),
            results=tuple(OrderResult.from_json(r) for r in links.get("results") or ()),
            raw=dict(data),
        )

    @property
    def is_finished(self) -> bool:
        return self.state in FINISHED_STATES

    @property
    def has_files(self) -> bool:
        return self.state in DELIVERED_STATES and any(r.location for r in self.results)

    def same_products(self, products: Sequence[Mapping[str, Any]]) -> bool:
        """Whether this order asks for the products of a create body (order and fallbacks aside)."""
        def key(p: Mapping[str, Any]) -> Tuple[Any, ...]:
            return (tuple(sorted(p.get("item_ids") or ())), p.get("item_type") or "",
                    p.get("mosaic_name") or "", tuple(sorted(p.get("quad_ids") or ())))
        return sorted(key(p.to_json()) for p in self.products) == sorted(key(p) for p in products)
