"""The Orders API v2 routes under /compute/ops/: orders, cancel, bulk cancel, stats and result downloads."""

from __future__ import annotations

import base64
import posixpath
import uuid
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Callable, Dict, List, Optional, Tuple
from urllib.parse import parse_qsl, urlencode

from sandbox.accounts import Account
from sandbox.errors import ApiError
from sandbox.planet_orders import catalog, demo, files
from sandbox.planet_orders.orders import (
    DELIVERY_FIELDS,
    KIND,
    SETTINGS_KIND,
    STATES,
    TIFF_SIZE,
    cancel,
    create_order,
    general,
    order_event,
)
from sandbox.planet_tasking.routes import authenticate
from sandbox.simulation import Simulation
from sandbox.timefmt import format_time, parse_time

Response = Tuple[int, Any, Dict[str, str]]
PAGE_SIZE = 20   # orders per page unless page_size asks otherwise
MAX_PAGE_SIZE = 500
LISTED_DAYS = 92  # "the last three months"
SORTABLE = ("created_on", "last_modified", "name", "state", "id")


def _not_found(order_id: str) -> ApiError:
    return general(404, f"Order {order_id} not found")


def _interval(name: str, value: str) -> Callable[[Optional[str]], bool]:
    """`a/b`, `../b` or `a/..` (inclusive ends), or one instant; a malformed one is a 400."""
    start_text, slash, end_text = value.partition("/")
    if not slash:
        start_text = end_text = value
    bounds = []
    for text in (start_text, end_text):
        if text in ("..", ""):
            bounds.append(None)
            continue
        moment = parse_time(text, allow_date_only=True)
        if moment is None:
            raise general(400, f"Invalid {name}: {value!r}; use an interval a/b, ../b or a/.. of RFC 3339 times.")
        bounds.append(format_time(moment))
    low, high = bounds
    return lambda stamp: stamp is not None and (low is None or stamp >= low) and (high is None or stamp <= high)


class OrdersApi:
    """Routes one request below /compute/ops/; called with the lock held and the simulation up to date."""

    def __init__(self, sim: Simulation):
        self.sim = sim
        sim.register(KIND, partial(order_event, sim))

    def handle(self, method: str, path: str, query: str, body: Any, headers: Dict[str, str], root: str) -> Response:
        parts: List[str] = [p for p in path.split("/") if p]
        params = dict(parse_qsl(query, keep_blank_values=True))
        sim = self.sim
        now = sim.now()
        if parts == ["download"]:
            self._allow(method, "GET")
            return self._download(params.get("token", ""), now, headers.get("range"))
        if parts == ["bundles", "spec"]:
            self._allow(method, "GET")
            return 200, catalog.bundles_spec(), {}
        account = authenticate(sim, headers.get("authorization"))
        orders_url = root + "orders/v2"
        if parts == ["orders", "v2"]:
            self._allow(method, "GET", "POST")
            if method == "POST":
                order = create_order(sim, account, body, now)
                return 202, self._render(order, orders_url, root, now), {"Location": f"{orders_url}/{order['id']}"}
            return 200, self._list(account, params, orders_url, root, now), {}
        if parts in (["bulk", "orders", "v2", "cancel"], ["orders", "v2", "cancel"]):
            self._allow(method, "POST")
            return 200, self._bulk_cancel(account, body, now), {}
        if len(parts) == 3 and parts[:2] == ["orders", "v2"]:
            self._allow(method, "GET", "PUT")
            order = self._owned(account, parts[2])
            if method == "PUT":
                refusal = cancel(sim, order, now)
                if refusal:
                    raise general(409, refusal)
            return 200, self._render(order, orders_url, root, now), {}
        if parts == ["stats", "orders", "v2"]:
            self._allow(method, "GET")
            counts = {"queued_orders": 0, "running_orders": 0}
            for order in sim.store.all(KIND):
                if order["_key"] == account.api_key and order["state"] in ("queued", "running"):
                    counts[f"{order['state']}_orders"] += 1
            # Every sandbox key is an organisation of one user, so both counts agree.
            return 200, {"organization": dict(counts), "user": dict(counts)}, {}
        raise general(404, "Not found")

    @staticmethod
    def _allow(method: str, *allowed: str) -> None:
        if method not in allowed:
            raise ApiError(405, {"field": {}, "general": [{"message": f"Method {method} not allowed"}]},
                           {"Allow": ", ".join(allowed)})

    def _owned(self, account: Account, order_id: str) -> dict:
        try:
            canonical = str(uuid.UUID(order_id))
        except ValueError:
            raise _not_found(order_id) from None
        order = self.sim.store.get(KIND, canonical)
        if order is None or order["_key"] != account.api_key:
            raise _not_found(order_id)
        return order

    def _render(self, order: dict, orders_url: str, root: str, now: datetime) -> dict:
        document = {k: v for k, v in order.items() if not k.startswith("_")}
        links: Dict[str, Any] = {"_self": f"{orders_url}/{order['id']}"}
        if order["_results"]:
            direct = not any(k in DELIVERY_FIELDS for k in (order.get("delivery") or {}))
            expires = files.link_expiry(now)
            results = []
            for index, result in enumerate(order["_results"]):
                entry = {"name": result["name"], "delivery": "success"}
                if direct:  # a cloud delivery has no download link to follow
                    entry["expires_at"] = files.expires_text(expires)
                    token = files.make_token(self.sim.seed, order["id"], index, expires)
                    entry["location"] = f"{root}download/?token={token}"
                results.append(entry)
            links["results"] = results
        document["_links"] = links
        return document

    def _list(self, account: Account, params: Dict[str, str], orders_url: str, root: str, now: datetime) -> dict:
        predicates: List[Callable[[dict], bool]] = []
        state = params.get("state")
        if state:
            wanted = state.split(",")
            bad = [s for s in wanted if s not in STATES]
            if bad:
                raise general(400, f"Invalid state: {bad[0]}; one of {', '.join(STATES)}.")
            predicates.append(lambda o: o["state"] in wanted)
        source_type = params.get("source_type")
        if source_type and source_type != "all":
            if source_type not in ("scenes", "basemaps"):
                raise general(400, f"Invalid source_type: {source_type}; one of scenes, basemaps, all.")
            predicates.append(lambda o: o["source_type"] == source_type)
        for field in ("created_on", "last_modified"):
            if params.get(field):
                within = _interval(field, params[field])
                predicates.append(lambda o, f=field, w=within: w(o[f]))
        hosting = params.get("hosting")
        if hosting:
            if hosting.lower() not in ("true", "false"):
                raise general(400, f"Invalid hosting: {hosting}; true or false.")
            hosted = hosting.lower() == "true"
            predicates.append(lambda o: ("hosting" in o) == hosted)
        field, descending = "created_on", True
        if params.get("sort_by"):
            field, _, direction = params["sort_by"].strip().partition(" ")
            direction = direction.strip().upper() or "ASC"
            if field not in SORTABLE or direction not in ("ASC", "DESC"):
                raise general(400, f"Invalid sort_by: {params['sort_by']!r}; \"<field> ASC|DESC\" with a field of "
                                   f"{', '.join(SORTABLE)}.")
            descending = direction == "DESC"
        # The document: "Only orders created within the last three months will be returned."
        oldest = format_time(now - timedelta(days=LISTED_DAYS))
        predicates.append(lambda o: o["created_on"] >= oldest)
        found = [o for o in self.sim.store.all(KIND) if o["_key"] == account.api_key and all(p(o) for p in predicates)]
        found.sort(key=lambda o: (o[field], o["_seq"]), reverse=descending)
        try:
            size = int(params.get("page_size") or PAGE_SIZE)
            start = int(base64.urlsafe_b64decode(params["page_marker"]).decode()) if params.get("page_marker") else 0
            if size < 1 or start < 0:
                raise ValueError
        except (ValueError, UnicodeDecodeError):
            raise general(400, "Invalid page_size or page_marker.") from None
        size = min(size, MAX_PAGE_SIZE)
        page = found[start: start + size]
        links: Dict[str, str] = {"_self": orders_url + ("?" + urlencode(params) if params else "")}
        if start + size < len(found):
            kept = {k: v for k, v in params.items() if k != "page_marker"}
            kept["page_marker"] = base64.urlsafe_b64encode(str(start + size).encode()).decode()
            links["next"] = orders_url + "?" + urlencode(kept)
        return {"_links": links, "orders": [self._render(o, orders_url, root, now) for o in page]}

    def _bulk_cancel(self, account: Account, body: Any, now: datetime) -> dict:
        if body is None:
            body = {}
        if not isinstance(body, dict):
            raise general(400, "The request body must be a JSON object.")
        ids = body.get("order_ids")
        failures = []
        succeeded = 0
        if ids is None:
            targets = [o for o in self.sim.store.all(KIND) if o["_key"] == account.api_key and o["state"] == "queued"]
            for order in targets:
                cancel(self.sim, order, now)
            succeeded = len(targets)
        else:
            if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
                raise general(400, "order_ids must be a list of order ids.")
            for order_id in ids:
                try:
                    order = self._owned(account, order_id)
                except ApiError:
                    failures.append({"order_id": order_id, "message": f"Order {order_id} not found"})
                    continue
                refusal = cancel(self.sim, order, now)
                if refusal:
                    failures.append({"order_id": order_id, "message": refusal})
                else:
                    succeeded += 1
        return {"result": {"succeeded": {"count": succeeded},
                           "failed": {"count": len(failures), "failures": failures}}}

    def _download(self, token: str, now: datetime, range_header: Optional[str]) -> Response:
        """The link is checked under the lock; the file is made (first time) and sent after it is released,
        by the deferred answer returned here, so a big download neither holds up the simulation nor fills
        memory."""
        claim, reason = files.read_token(self.sim.seed, token, now)
        if claim is None:
            raise ApiError(401, {"message": reason})
        order_id, index = claim
        order = self.sim.store.get(KIND, order_id)
        if order is None or not 0 <= index < len(order["_results"]):
            raise ApiError(404, {"message": "The result no longer exists."})
        # A finished order's results never change, so the list can be read after the lock is released.
        return 200, partial(_serve_file, order_id, list(order["_results"]), index, range_header), {}

    def seed_demo(self) -> int:
        """`--demo`: archive orders, after the Tasking API's demo so its captures can be ordered."""
        return demo.seed_demo(self.sim)

    def control(self, method: str, parts: List[str], body: Any) -> Optional[Tuple[int, Any]]:
        """POST /sandbox/orders/raster-size {"pixels": N}: the longer side of rasters of orders finished from now
        on (64 by default; a reset restores it), so benchmarks can download big files. None for other paths."""
        if parts != ["orders", "raster-size"]:
            return None
        with self.sim.lock:
            if method == "POST":
                pixels = (body or {}).get("pixels")
                if not isinstance(pixels, int) or not 2 <= pixels <= 20000:
                    return 400, {"pixels": ["An integer from 2 to 20000."]}
                setting = self.sim.store.get(SETTINGS_KIND, "raster-size")
                if setting is None:
                    setting = self.sim.store.add(SETTINGS_KIND, {"id": "raster-size"})
                setting["pixels"] = pixels
                self.sim.store.touch(SETTINGS_KIND, setting)
                self.sim.store.commit()
            setting = self.sim.store.get(SETTINGS_KIND, "raster-size")
            return 200, {"pixels": setting["pixels"] if setting else TIFF_SIZE}


def _serve_file(order_id: str, results: List[dict], index: int, range_header: Optional[str]) -> Response:
    made = files.result_file(order_id, results, index)
    filename = posixpath.basename(results[index]["name"])
    headers = {"Content-Type": made.media_type, "Content-Disposition": f'attachment; filename="{filename}"',
               "Accept-Ranges": "bytes", "ETag": f'"{made.md5}"'}
    if not range_header:
        return 200, files.FileSpan(made.path, 0, made.size), headers
    # One byte range (what a client resuming a download sends), as a storage bucket answers it.
    span = _byte_range(range_header, made.size)
    if span is None:
        return 416, {"message": "Requested range not satisfiable."}, {"Content-Range": f"bytes */{made.size}"}
    start, end = span
    headers["Content-Range"] = f"bytes {start}-{end}/{made.size}"
    return 206, files.FileSpan(made.path, start, end + 1 - start), headers


def _byte_range(header: str, total: int) -> Optional[Tuple[int, int]]:
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash:
        return None
    try:
        if first == "":
            length = int(last)
            if length <= 0:
                return None
            return max(0, total - length), total - 1
        start = int(first)
        end = int(last) if last else total - 1
    except ValueError:
        return None
    if start >= total or end < start:
        return None
    return start, min(end, total - 1)
