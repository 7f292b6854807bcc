"""The Tasking API v2 routes: authentication, then orders, captures, pricing, imaging windows and bulk."""

from __future__ import annotations

import base64
import uuid
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import parse_qsl

from sandbox import VERSION
from sandbox.accounts import Account
from sandbox.engine import ORDER_STATUSES, Sandbox
from sandbox.errors import ApiError, detail, not_found
from sandbox.planet_tasking import bulk, windows
from sandbox.planet_tasking.listing import FilterSpec, build_predicates, order_objects, paginate, select_fields
from sandbox.planet_tasking.pricing import PRICING_ERROR, model_for_values, order_cost, pricing_document
from sandbox.planet_tasking.validation import ORDER_TYPES, SCHEDULING_TYPES, validate_order

PREFIX = "/tasking/v2"
Response = Tuple[int, Any, Dict[str, str]]

ORDER_FILTERS = FilterSpec(
    exact=("name", "pl_number", "product", "imaging_window", "created_by"),
    icontains=("name",),
    choices={"status": ORDER_STATUSES, "scheduling_type": SCHEDULING_TYPES, "order_type": ORDER_TYPES},
    times=("created_time", "start_time", "end_time", "updated_time", "cancelled_time"),
    uuid_lists=("id",),
    orderable=("name", "status", "created_time", "updated_time", "start_time", "end_time", "cancelled_time",
               "requested_sqkm", "fulfilled_sqkm", "rank", "order_type", "scheduling_type", "pl_number",
               "last_acquired_time", "next_planned_acquisition_time", "id"),
)
CAPTURE_FILTERS = FilterSpec(
    exact=("strip_id",),
    choices={"status": ("QUEUED", "PROCESSING", "PUBLISHED", "FAILED"), "assessment": ("SUCCESS", "INVALID")},
    times=("created_time", "updated_time", "acquired_time", "published_time"),
    uuid_lists=("order_id", "id"),
    booleans=("fulfilling",),
    orderable=("created_time", "updated_time", "acquired_time", "published_time", "status", "cloud_cover",
               "assessment", "id"),
)
BULK_FILTERS = FilterSpec(choices={"status": ("PENDING", "RUNNING", "COMPLETE"), "operation_type": bulk.OPERATIONS},
                          orderable=("start_time", "end_time", "created_time"))


def authenticate(sb: Sandbox, authorization: Optional[str]) -> Account:
    if not authorization:
        raise ApiError(401, {"detail": "Authentication credentials were not provided."},
                       {"WWW-Authenticate": 'Basic realm="api"'})
    scheme, _, credentials = authorization.strip().partition(" ")
    key = None
    if scheme.lower() == "api-key":
        key = credentials.strip()
    elif scheme.lower() == "basic":
        try:
            key = base64.b64decode(credentials.strip(), validate=True).decode("utf-8").partition(":")[0]
        except ValueError:
            raise ApiError(401, {"detail": "Invalid basic header. Credentials not correctly base64 encoded."},
                           {"WWW-Authenticate": 'Basic realm="api"'}) from None
    account = sb.account(key) if key else None
    if account is None:
        raise ApiError(401, {"detail": "Invalid API key."}, {"WWW-Authenticate": 'Basic realm="api"'})
    return account


def _uuid_or_404(text: str) -> str:
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise not_found() from None


class Api:
    """Routes one request; called with the engine lock held and the simulation brought up to date."""

    def __init__(self, sb: Sandbox):
        self.sb = sb
        sb.handlers["search"] = lambda obj, event, at, target: windows.search_event(sb, obj, event, at, target)
        sb.handlers["bulk"] = lambda obj, event, at, target: bulk.bulk_event(
            sb, obj, event, at, target, self._create_order)

    def _create_order(self, account: Account, payload: Any, now) -> dict:
        return self.sb.create_order(
            account, payload, now,
            window_lookup=lambda acc, wid: windows.find_window(self.sb, acc, wid),
            pricing=windows.assured_pricing_hook(self.sb),
        )

    def handle(self, method: str, path: str, query: str, body: Any, headers: Dict[str, str], base: str) -> Response:
        if not path.startswith(PREFIX + "/"):
            raise not_found()
        if method == "HEAD":
            method = "GET"  # same answer without the body (the transport drops it)
        parts: List[str] = [p for p in path[len(PREFIX):].split("/") if p]
        if parts == ["version.txt"]:
            self._allow(method, "GET")
            return 200, VERSION + "\n", {"Content-Type": "text/plain; charset=utf-8"}
        account = authenticate(self.sb, headers.get("authorization"))
        now = self.sb.now()
        params = dict(parse_qsl(query, keep_blank_values=True))
        list_url = base + PREFIX + "/" + "/".join(parts) + "/"
        sb = self.sb
        if not parts:
            raise not_found()
        head = parts[0]
        if head == "orders" and len(parts) == 1:
            self._allow(method, "GET", "POST")
            if method == "POST":
                order = self._create_order(account, body, now)
                return 201, sb.render_order(order, now), {"Location": f"{base}{PREFIX}/orders/{order['id']}/"}
            return 200, self._list_orders(account, params, query, list_url, now), {}
        if head == "orders" and len(parts) == 2:
            order_id = _uuid_or_404(parts[1])
            self._allow(method, "GET", "PUT", "PATCH", "DELETE")
            if method == "GET":
                order = sb.owned("order", account, order_id)
                return 200, select_fields(sb.render_order(order, now), params.get("fields")), {}
            if method in ("PUT", "PATCH"):
                return 200, sb.edit_order(account, order_id, body if body is not None else {}, now), {}
            accept = params.get("accept_cancellation_charge", "").lower() in ("true", "1")
            sb.cancel_order(account, order_id, now, accept_charge=accept)
            return 204, None, {}
        if head == "orders" and len(parts) == 3 and parts[2] == "pricing":
            self._allow(method, "GET")
            order = sb.owned("order", account, _uuid_or_404(parts[1]))
            pricing = order.get("_pricing") or pricing_document(model_for_values(order))
            return 200, {"order_id": order["id"], **pricing}, {}
        if head == "pricing" and len(parts) == 1:
            self._allow(method, "POST")
            return 200, self._pricing(account, body, now), {}
        if head == "captures" and len(parts) == 1:
            self._allow(method, "GET")
            predicates = build_predicates(params, CAPTURE_FILTERS)
            captures = [c for c in sb.store.all("capture")
                        if c["_key"] == account.api_key and all(p(c) for p in predicates)]
            captures = order_objects(captures, params.get("ordering"), CAPTURE_FILTERS, "-created_time")
            fields = params.get("fields")
            return 200, paginate(captures, query, list_url,
                                 lambda c: select_fields(sb.render_capture(c), fields)), {}
        if head == "captures" and len(parts) == 2:
            self._allow(method, "GET")
            return 200, sb.render_capture(sb.owned("capture", account, _uuid_or_404(parts[1]))), {}
        if head == "imaging-windows" and len(parts) >= 2 and parts[1] == "search":
            if len(parts) == 2:
                self._allow(method, "POST")
                search = windows.create_search(sb, account, body, now)
                location = f"{base}{PREFIX}/imaging-windows/search/{search['id']}/"
                return 201, windows.render_search(sb, account, search, now, {}), {"Location": location}
            if len(parts) == 3:
                self._allow(method, "GET")
                search = sb.owned("search", account, _uuid_or_404(parts[2]))
                return 200, windows.render_search(sb, account, search, now, params), {}
        if head == "bulk":
            if len(parts) == 1:
                self._allow(method, "GET", "POST")
                if method == "POST":
                    created = bulk.create_bulk(sb, account, body, now)
                    return 202, None, {"Location": f"{base}{PREFIX}/bulk/{created['id']}/"}
                predicates = build_predicates(params, BULK_FILTERS)
                bulks = [b for b in sb.store.all("bulk")
                         if b["_key"] == account.api_key and all(p(b) for p in predicates)]
                bulks = order_objects(bulks, params.get("ordering"), BULK_FILTERS, "-created_time")
                return 200, paginate(bulks, query, list_url, bulk.render_bulk), {}
            found = sb.owned("bulk", account, _uuid_or_404(parts[1]))
            if len(parts) == 2:
                self._allow(method, "GET")
                return 200, bulk.render_bulk(found), {}
            if len(parts) == 3 and parts[2] == "payloads":
                self._allow(method, "GET")
                documents = bulk.payload_documents(found)
                return 200, paginate(documents, query, list_url,
                                     lambda d: {k: v for k, v in d.items() if k != "_seq"}), {}
        raise not_found()

    @staticmethod
    def _allow(method: str, *allowed: str) -> None:
        if method not in allowed:
            raise ApiError(405, {"detail": f'Method "{method}" not allowed.'}, {"Allow": ", ".join(allowed)})

    def _list_orders(self, account: Account, params: Dict[str, str], query: str, url: str, now) -> dict:
        predicates = build_predicates(params, ORDER_FILTERS)
        orders = [o for o in self.sb.store.all("order") if o["_key"] == account.api_key]
        orders = [o for o in orders if all(p(o) for p in predicates)]
        orders = order_objects(orders, params.get("ordering"), ORDER_FILTERS, "-created_time")
        fields = params.get("fields")
        return paginate(orders, query, url, lambda o: select_fields(self.sb.render_order(o, now), fields))

    def _price_one(self, account: Account, payload: Any, now) -> dict:
        values = validate_order(account, payload, now, for_pricing=True,
                                        window_lookup=lambda acc, wid: windows.find_window(self.sb, acc, wid))
        model = model_for_values(values)
        window = values.get("_window")
        replaced = []
        if window is not None:
            conflicts = self.sb.conflicting_assured_orders(account, window)
            replaced = [{"order_id": o["id"], "name": o["name"], "cost": order_cost(o)} for o in conflicts]
        return pricing_document(model, replaced)

    def _pricing(self, account: Account, body: Any, now) -> dict:
        if isinstance(body, list):
            details, total = [], 0.0
            for payload in body:
                try:
                    priced = self._price_one(account, payload, now)
                except ApiError:
                    details.append(dict(PRICING_ERROR))
                    continue
                details.append(priced)
                total += priced["estimated_quota_cost"]
            return {"total_estimated_quota_cost": round(total, 3), "pricing_details": details}
        if not isinstance(body, dict):
            raise detail(400, "Expected an order payload object or a list of them.")
        return self._price_one(account, body, now)

