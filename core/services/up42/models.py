"""Typed results of UP42's tasking API (v2): data products, estimates, placements, orders, studies, quotations."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Dict, List, Optional, Tuple

from ...errors import ValidationError
from ...http import as_utc, optional_float, optional_int, parse_time

# Order statuses and tasking sub-statuses (facts.md, UP42).
ORDER_STATUSES = ("CREATED", "BEING_PLACED", "PLACED", "BEING_FULFILLED", "FULFILLED", "FAILED_PERMANENTLY",
                  "CANCELED", "PLACEMENT_FAILED")
SUB_STATUSES = ("FEASIBILITY_WAITING_UPLOAD", "FEASIBILITY_WAITING_RESPONSE", "QUOTATION_WAITING_UPLOAD",
                "QUOTATION_WAITING_RESPONSE", "QUOTATION_ACCEPTED", "QUOTATION_REJECTED")
# What each sub-status means for the user, in a few words (UP42's own names stay beside them: its console and
# support use those).
SUB_STATUS_MEANINGS = {
    "FEASIBILITY_WAITING_UPLOAD": "feasibility study being prepared",
    "FEASIBILITY_WAITING_RESPONSE": "feasibility study: pick an option",
    "QUOTATION_WAITING_UPLOAD": "quotation being prepared",
    "QUOTATION_WAITING_RESPONSE": "quotation: accept or reject it",
    "QUOTATION_ACCEPTED": "quotation accepted",
    "QUOTATION_REJECTED": "quotation rejected",
}
FINAL_ORDER_STATUSES = frozenset({"FULFILLED", "FAILED_PERMANENTLY", "CANCELED", "PLACEMENT_FAILED"})
# What POST /v2/orders/{id}/cancellation accepts: before placement starts, or after it failed (up42-py's
# Order.cancel allows the same; any other status answers 409).
CANCELLABLE_STATUSES = ("CREATED", "PLACEMENT_FAILED")
# Sub-statuses at which an order waits for the user: a feasibility option or a quotation to decide.
DECISION_SUB_STATUSES = ("FEASIBILITY_WAITING_RESPONSE", "QUOTATION_WAITING_RESPONSE")
QUOTATION_DECISIONS = ("ACCEPTED", "REJECTED")

# "params.cloudCoverage: 150 is greater than ..." — a parameter path, then its message.
_PARAMETER_LINE = re.compile(r"^\s*([A-Za-z_][\w.\[\]-]*)\s*:\s*(.+?)\s*$")


def format_time(value: datetime) -> str:
    """An aware datetime as UP42 writes it (ISO 8601 in UTC with milliseconds, e.g. 2022-08-01T00:00:00.000Z)."""
    value = as_utc(value)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def parameter_errors(text: Any) -> Dict[str, List[str]]:
    """The per-parameter messages in a UP42 error text, one "path: message" a line
    ({"params.cloudCoverage": ["150 is greater than the maximum of 100"]}); a line naming no parameter is
    kept under "non_field_errors"."""
    errors: Dict[str, List[str]] = {}
    for line in str(text or "").splitlines():
        if not line.strip():
            continue
        match = _PARAMETER_LINE.match(line)
        # "Invalid order parameters: params.x: ..." starts with words, not a path: the regex needs a path
        # without spaces before the first colon, which a sentence does not have.
        if match:
            errors.setdefault(match.group(1), []).append(match.group(2))
        else:
            errors.setdefault("non_field_errors", []).append(line.strip())
    return errors


@dataclass
class DataProduct:
    """One data product of the glossary (GET /v2/collections), with the collection it belongs to."""

    id: str
    name: str
    title: str
    collection: str
    collection_title: str
    collection_type: str  # TASKING or ARCHIVE
    description: str = ""
    integrations: Tuple[str, ...] = ()
    providers: Tuple[str, ...] = ()

    @property
    def is_tasking(self) -> bool:
        return self.collection_type == "TASKING"

    @property
    def needs_feasibility_study(self) -> bool:
        return "FEASIBILITY_STUDY_REQUIRED" in self.integrations

    @property
    def label(self) -> str:
        """How a list names it: "Pléiades — Analytic"."""
        return f"{self.collection_title} — {self.title}"

    @classmethod
    def from_collection(cls, collection: Dict[str, Any]) -> List["DataProduct"]:
        providers = tuple(str(p.get("title") or p.get("name") or "") for p in collection.get("providers") or ())
        return [
            cls(id=str(p["id"]), name=str(p.get("name") or ""), title=str(p.get("title") or p.get("name") or ""),
                collection=str(collection.get("name") or ""),
                collection_title=str(collection.get("title") or collection.get("name") or ""),
                collection_type=str(collection.get("type") or ""), description=str(p.get("description") or ""),
                integrations=tuple(collection.get("integrations") or ()), providers=providers)
            for p in collection.get("dataProducts") or ()
        ]


@dataclass
class OrderProblem:
    """One entry of an estimate's or a placement's `errors`: the order at `index` was refused, and why."""

    index: int
    message: str
    details: str = ""

    @property
    def field_errors(self) -> Dict[str, List[str]]:
        return parameter_errors(self.details or self.message)

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "OrderProblem":
        return cls(index=int(data.get("index", 0)), message=str(data.get("message") or ""),
                   details=str(data.get("details") or ""))


class OrderParametersRefused(ValidationError):
    """UP42 refused an order's parameters (an entry of `errors`); `field_errors` by parameter path
    ("params.cloudCoverage", "featureCollection.features[0].geometry"), `problems` as the service sent them."""

    default_message = "UP42 refused the order's parameters."

    def __init__(self, problems: List[OrderProblem], **kwargs: Any):
        merged: Dict[str, List[str]] = {}
        for problem in problems:
            for name, messages in problem.field_errors.items():
                merged.setdefault(name, []).extend(messages)
        message = "UP42 refused the order: " + "; ".join(p.message for p in problems)
        super().__init__(message, field_errors=merged, **kwargs)
        self.problems = list(problems)


@dataclass
class Estimate:
    """POST /v2/orders/estimate: the price in credits of each order of the request and their total."""

    total_credits: int
    total_size: float
    unit: str
    results: List[Dict[str, Any]] = field(default_factory=list)
    errors: List[OrderProblem] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "Estimate":
        summary = data.get("summary") or {}
        return cls(total_credits=int(summary.get("totalCredits") or 0), total_size=float(summary.get("totalSize") or 0),
                   unit=str(summary.get("unit") or ""), results=list(data.get("results") or ()),
                   errors=[OrderProblem.from_json(e) for e in data.get("errors") or ()])


@dataclass
class Placement:
    """POST /v2/orders: the id of each order made (by index of the request) and the refused ones."""

    ids: Dict[int, str]
    errors: List[OrderProblem] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "Placement":
        return cls(ids={int(r["index"]): str(r["id"]) for r in data.get("results") or ()},
                   errors=[OrderProblem.from_json(e) for e in data.get("errors") or ()])


@dataclass
class Order:
    """A UP42 order (GET /v2/orders/{id}); `sub_status` is the tasking step it waits at."""

    id: str
    name: Optional[str] = None
    status: Optional[str] = None
    sub_status: Optional[str] = None
    workspace_id: Optional[str] = None
    data_product_id: Optional[str] = None
    type: Optional[str] = None
    tags: Optional[List[str]] = None
    created_at: Optional[datetime] = None
    updated_at: Optional[datetime] = None
    details: Dict[str, Any] = field(default_factory=dict)

    @property
    def geometry(self) -> Optional[Dict[str, Any]]:
        return self.details.get("geometry")

    @property
    def acquisition_start(self) -> Optional[datetime]:
        return parse_time(self.details.get("acquisitionStart"))

    @property
    def acquisition_end(self) -> Optional[datetime]:
        return parse_time(self.details.get("acquisitionEnd"))

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_ORDER_STATUSES

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "Order":
        details = data.get("orderDetails") or {}
        return cls(id=str(data["id"]), name=data.get("displayName"), status=data.get("status"),
                   sub_status=details.get("subStatus"), workspace_id=data.get("workspaceId"),
                   data_product_id=data.get("dataProductId"), type=data.get("type"), tags=data.get("tags"),
                   created_at=parse_time(data.get("createdAt")), updated_at=parse_time(data.get("updatedAt")),
                   details=dict(details))


@dataclass
class Page:
    """One page of a v2 listing (Spring's `{"content", "totalPages"}`, `page` from 0)."""

    results: List[Any]
    count: Optional[int]
    number: int
    total_pages: int

    @property
    def is_last(self) -> bool:
        return self.number + 1 >= self.total_pages


@dataclass
class FeasibilityOption:
    """One way the provider can image the order, with its window and price factor."""

    id: str
    description: str
    acquisition_start: Optional[datetime]
    acquisition_end: Optional[datetime]
    price_factor: Optional[float]

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "FeasibilityOption":
        return cls(id=str(data["id"]), description=str(data.get("description") or ""),
                   acquisition_start=parse_time(data.get("acquisitionStart")),
                   acquisition_end=parse_time(data.get("acquisitionEnd")),
                   price_factor=optional_float(data.get("priceFactor")))


@dataclass
class FeasibilityStudy:
    """GET /v2/tasking/feasibility-studies: the options offered for an order and which was accepted."""

    id: str
    order_id: str
    decision: str
    options: List[FeasibilityOption]
    decision_at: Optional[datetime] = None
    decision_option_id: Optional[str] = None
    created_at: Optional[datetime] = None

    @property
    def is_decided(self) -> bool:
        return self.decision != "NOT_DECIDED"

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "FeasibilityStudy":
        chosen = data.get("decisionOption") or {}
        return cls(id=str(data["id"]), order_id=str(data.get("orderId") or ""),
                   decision=str(data.get("decision") or "NOT_DECIDED"),
                   options=[FeasibilityOption.from_json(o) for o in data.get("options") or ()],
                   decision_at=parse_time(data.get("decisionAt")),
                   decision_option_id=chosen.get("id") if isinstance(chosen, dict) else None,
                   created_at=parse_time(data.get("createdAt")))


@dataclass
class Quotation:
    """GET /v2/tasking/quotation: the provider's price for an order, accepted or rejected by the user."""

    id: str
    order_id: str
    credits_price: Optional[int]
    decision: str
    decision_at: Optional[datetime] = None
    created_at: Optional[datetime] = None
    updated_at: Optional[datetime] = None

    @property
    def is_decided(self) -> bool:
        return self.decision != "NOT_DECIDED"

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "Quotation":
        return cls(id=str(data["id"]), order_id=str(data.get("orderId") or ""),
                   credits_price=optional_int(data.get("creditsPrice")),
                   decision=str(data.get("decision") or "NOT_DECIDED"), decision_at=parse_time(data.get("decisionAt")),
                   created_at=parse_time(data.get("createdAt")), updated_at=parse_time(data.get("updatedAt")))
