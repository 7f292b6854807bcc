"""The Tasking API v2 routes: authentication, then orders, captures, pricing, imaging windows and bulk."""

from __future__ import annotations

import base64
import uuid
from functools import partial
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import parse_qsl, urlsplit

from sandbox.accounts import Account
from sandbox.errors import ApiError, detail, not_found
from sandbox.planet_tasking import VERSION, bulk, captures, demo, lifecycle, windows
from sandbox.planet_tasking.cancellation import cancel_order
from sandbox.planet_tasking.captures import render_capture
from sandbox.planet_tasking.listing import FilterSpec, build_predicates, order_objects, paginate, select_fields
from sandbox.planet_tasking.orders import create_order, edit_order, render_order
from sandbox.planet_tasking.pricing import PRICING_ERROR, model_for_values, pricing_document
from sandbox.planet_tasking.replacement import conflicting_assured_orders, replaced_entries
from sandbox.planet_tasking.states import CAPTURE_STATUSES, ORDER_STATUSES
from sandbox.planet_tasking.validation import ORDER_TYPES, SCHEDULING_TYPES, validate_order
from sandbox.simulation import Simulation

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
    choices={"status": CAPTURE_STATUSES, "assessment": ("SUCCESS", "INVALID")},
    times=("created_time", "updated_time", "acquired_time", "published_time"),
    uuid_lists=("order_id", "id"),
    booleans=("fulfilling",),
    orderable=("created_time", "updated_time", "acquired_time", "published_time", "status", "cloud_cover",
               "assessment", "id"),
)
BULK_FILTERS = FilterSpec(choices={"status": ("PENDING", "RUNNING", "COMPLETE"), "operation_type": bulk.OPERATIONS},
                          orderable=("start_time", "end_time", "created_time"))


def authenticate(sim: Simulation, authorization: Optional[str]) -> Account:
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
    account = sim.account(key) if key else None
    if account is None:
        raise ApiError(401, {"detail": "Invalid API key."}, {"WWW-Authenticate": 'Basic realm="api"'})
    return account


def _owned_list(sim: Simulation, kind: str, account: Account, params: Dict[str, str], spec: FilterSpec) -> List[dict]:
    """This key's objects of a kind that pass the query's filters, in the query's (or the default) order."""
    predicates = build_predicates(params, spec)
    found = [o for o in sim.store.all(kind) if o["_key"] == account.api_key and all(p(o) for p in predicates)]
    return order_objects(found, params.get("ordering"), spec, "-created_time")


def _uuid_or_404(text: str) -> str:
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise not_found() from None


class TaskingApi:
    """Routes one request below the API's prefix; called with the lock held and the simulation up to date."""

    def __init__(self, sim: Simulation):
        self.sim = sim
        # The queue restores stored events kind by kind in this order: keep it (ties run in that order).
        sim.register("order", partial(lifecycle.order_event, sim))
        sim.register("capture", partial(captures.capture_event, sim))
        sim.register("search", partial(windows.search_event, sim))
        sim.register("bulk", partial(bulk.bulk_event, sim))

    def handle(self, method: str, path: str, query: str, body: Any, headers: Dict[str, str], root: str) -> Response:
        """`path` is below the prefix ("orders/<id>/"); `root` is the API's absolute URL, ending with "/"."""
        parts: List[str] = [p for p in path.split("/") if p]
        if parts == ["version.txt"]:
            self._allow(method, "GET")
            return 200, VERSION + "\n", {"Content-Type": "text/plain; charset=utf-8"}
        sim = self.sim
        account = authenticate(sim, headers.get("authorization"))
        now = sim.now()
        params = dict(parse_qsl(query, keep_blank_values=True))
        list_url = root + "/".join(parts) + "/"
        # Location headers carry a host-relative path (facts.md: Planet's examples poll
        # "https://api.planet.com" + location); paging links stay absolute, as documented.
        here = urlsplit(root).path
        if not parts:
            raise not_found()
        head = parts[0]
        if head == "orders" and len(parts) == 1:
            self._allow(method, "GET", "POST")
            if method == "POST":
                order = create_order(sim, account, body, now)
                return 201, render_order(order, now), {"Location": f"{here}orders/{order['id']}/"}
            return 200, self._list_orders(account, params, query, list_url, now), {}
        if head == "orders" and len(parts) == 2:
            order_id = _uuid_or_404(parts[1])
            self._allow(method, "GET", "PUT", "PATCH", "DELETE")
            if method == "GET":
                order = sim.owned("order", account, order_id)
                return 200, select_fields(render_order(order, now), params.get("fields")), {}
            if method in ("PUT", "PATCH"):
                return 200, edit_order(sim, account, order_id, body if body is not None else {}, now), {}
            accept = params.get("accept_cancellation_charge", "").lower() in ("true", "1")
            cancel_order(sim, account, order_id, now, accept_charge=accept)
            return 204, None, {}
        if head == "orders" and len(parts) == 3 and parts[2] == "pricing":
            self._allow(method, "GET")
            order = sim.owned("order", account, _uuid_or_404(parts[1]))
            pricing = order.get("_pricing") or pricing_document(model_for_values(order))
            return 200, {"order_id": order["id"], **pricing}, {}
        if head == "pricing" and len(parts) == 1:
            self._allow(method, "POST")
            return 200, self._pricing(account, body, now), {}
        if head == "captures" and len(parts) == 1:
            self._allow(method, "GET")
            found = _owned_list(sim, "capture", account, params, CAPTURE_FILTERS)
            fields = params.get("fields")
            return 200, paginate(found, query, list_url, lambda c: select_fields(render_capture(c), fields)), {}
        if head == "captures" and len(parts) == 2:
            self._allow(method, "GET")
            return 200, render_capture(sim.owned("capture", account, _uuid_or_404(parts[1]))), {}
        if head == "imaging-windows" and len(parts) >= 2 and parts[1] == "search":
            if len(parts) == 2:
                self._allow(method, "POST")
                search = windows.create_search(sim, account, body, now)
                location = f"{here}imaging-windows/search/{search['id']}/"
                return 201, windows.render_search(sim, account, search, now, {}), {"Location": location}
            if len(parts) == 3:
                self._allow(method, "GET")
                search = sim.owned("search", account, _uuid_or_404(parts[2]))
                return 200, windows.render_search(sim, account, search, now, params), {}
        if head == "bulk":
            if len(parts) == 1:
                self._allow(method, "GET", "POST")
                if method == "POST":
                    created = bulk.create_bulk(sim, account, body, now)
                    return 202, None, {"Location": f"{here}bulk/{created['id']}/"}
                found = _owned_list(sim, "bulk", account, params, BULK_FILTERS)
                return 200, paginate(found, query, list_url, bulk.render_bulk), {}
            found = sim.owned("bulk", account, _uuid_or_404(parts[1]))
            if len(parts) == 2:
                self._allow(method, "GET")
                return 200, bulk.render_bulk(found), {}
            if len(parts) == 3 and parts[2] == "payloads":
                self._allow(method, "GET")
                documents = bulk.payload_documents(found)
                return 200, paginate(documents, query, list_url,
                                     lambda d: {k: v for k, v in d.items() if k != "_seq"}), {}
        raise not_found()

    def control(self, method: str, parts: List[str], body: Any) -> Optional[Tuple[int, Any]]:
        """The API's own /sandbox/ endpoint: POST /sandbox/captures/{id}/reassess; None for any other path."""
        if not (len(parts) == 3 and parts[0] == "captures" and parts[2] == "reassess" and method == "POST"):
            return None
        assessment = (body or {}).get("assessment")
        if assessment not in ("SUCCESS", "INVALID"):
            return 400, {"assessment": ["One of: SUCCESS, INVALID."]}
        sim = self.sim
        with sim.lock:
            now = sim.sync()
            capture = sim.store.get("capture", parts[1])
            if capture is None:
                return 404, {"detail": "Not found."}
            captures.reassess_capture(sim, capture, assessment, now)
            sim.store.commit()
            return 200, render_capture(capture)

    def seed_demo(self) -> int:
        """`--demo`: replay a week of activity on an empty database (the caller holds the lock)."""
        return demo.seed_demo(self.sim)

    @staticmethod
    def _allow(method: str, *allowed: str) -> None:
        if method not in allowed:
            raise ApiError(405, {"detail": f'Method "{method}" not allowed.'}, {"Allow": ", ".join(allowed)})

    def _list_orders(self, account: Account, params: Dict[str, str], query: str, url: str, now) -> dict:
        orders = _owned_list(self.sim, "order", account, params, ORDER_FILTERS)
        fields = params.get("fields")
        return paginate(orders, query, url, lambda o: select_fields(render_order(o, now), fields))

    def _price_one(self, account: Account, payload: Any, now) -> dict:
        values = validate_order(account, payload, now, for_pricing=True,
                                window_lookup=lambda acc, wid: windows.find_window(self.sim, acc, wid))
        model = model_for_values(values)
        window = values.get("_window")
        conflicts = conflicting_assured_orders(self.sim, account, window) if window is not None else []
        return pricing_document(model, replaced_entries(conflicts))

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

