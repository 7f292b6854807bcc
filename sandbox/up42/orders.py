"""UP42 tasking orders: the request checked against the product's schema, estimates in credits, placement,
and the lifecycle on the simulated clock (placement, feasibility study, quotation, fulfilment)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Dict, List, Optional, Tuple

from sandbox import geo
from sandbox.accounts import Account
from sandbox.simulation import Simulation
from sandbox.timefmt import format_time, parse_time
from sandbox.up42 import catalog, jsonschema
from sandbox.up42.auth import account_id, problem, workspace_id

ORDER_KIND = "up42.order"
STUDY_KIND = "up42.feasibility"
QUOTATION_KIND = "up42.quotation"

STATUSES = ("CREATED", "BEING_PLACED", "PLACED", "BEING_FULFILLED", "FULFILLED", "FAILED_PERMANENTLY",
            "CANCELED", "PLACEMENT_FAILED")
SUB_STATUSES = ("FEASIBILITY_WAITING_UPLOAD", "FEASIBILITY_WAITING_RESPONSE", "QUOTATION_WAITING_UPLOAD",
                "QUOTATION_WAITING_RESPONSE", "QUOTATION_ACCEPTED", "QUOTATION_REJECTED")
CANCELLABLE = ("CREATED", "PLACEMENT_FAILED")  # what up42-py's Order.cancel allows

# Simulated durations of each step.
TO_BEING_PLACED = timedelta(seconds=30)
TO_PLACED = timedelta(seconds=90)
STUDY_UPLOAD = timedelta(hours=4)
QUOTATION_UPLOAD = timedelta(hours=2)
EARLIEST_CAPTURE = timedelta(hours=6)  # after the quotation is accepted
DELIVERY = timedelta(hours=6)  # from the capture to FULFILLED
MISSED_GRACE = timedelta(minutes=1)

# Order details up42-py reads (camelCase as the service names them) <- the product parameter that fills it.
DETAIL_SOURCES = {
    "acquisitionMode": ("acquisitionMode",),
    "maxCloudCover": ("cloudCoverage", "maxCloudCover"),
    "maxIncidenceAngle": ("incidenceAngle", "maxIncidenceAngle"),
    "geometricProcessing": ("geometricProcessing",),
    "projection": ("projection",),
    "pixelCoding": ("pixelCoding",),
    "radiometricProcessing": ("radiometricProcessing",),
    "spectralBands": ("spectralProcessing",),
    "priority": ("priority",),
    "minBH": ("minBH",),
    "maxBH": ("maxBH",),
    "resolution": ("resolution",),
    "polarization": ("polarization",),
    "sceneSize": ("sceneSize",),
    "looks": ("looks",),
}


class OrderRequest:
    """A checked POST /v2/orders(/estimate) body: the product, the name, the params and one geometry per order."""

    def __init__(self, body: Any):
        if not isinstance(body, dict):
            raise problem(400, "Bad Request", "The request body must be a JSON object.")
        product_id = body.get("dataProduct")
        if not isinstance(product_id, str) or not product_id:
            raise problem(400, "Bad Request", "dataProduct: is required")
        if product_id not in catalog.PRODUCTS:
            raise problem(400, "Bad Request", f"dataProduct: no data product with id {product_id}")
        if catalog.collection_of(product_id)["type"] != "TASKING":
            raise problem(400, "Bad Request",
                          f"dataProduct: {product_id} is an archive product; the sandbox emulates tasking orders only")
        self.product_id = product_id
        self.product = catalog.PRODUCTS[product_id]
        params = body.get("params", {})
        if not isinstance(params, dict):
            raise problem(400, "Bad Request", "params: must be an object")
        self.params: Dict[str, Any] = params
        name = body.get("displayName", params.get("displayName"))
        if not isinstance(name, str) or not name.strip():
            raise problem(400, "Bad Request", "displayName: is required")
        self.display_name = name
        tags = body.get("tags")
        if tags is not None and (not isinstance(tags, list) or not all(isinstance(t, str) for t in tags)):
            raise problem(400, "Bad Request", "tags: must be a list of strings")
        self.tags: Optional[List[str]] = tags
        self.geometries = self._geometries(body.get("featureCollection"), params.get("geometry"))
        # The params are the same for every order of the batch: checked once, however many features.
        self.params_problems = jsonschema.validate(params, self.product["schema"], "params")

    @staticmethod
    def _geometries(collection: Any, params_geometry: Any) -> List[Tuple[str, Any]]:
        """(parameter path, geometry) per order: each feature of featureCollection, else params.geometry."""
        if collection is None:
            if params_geometry is None:
                raise problem(400, "Bad Request", "featureCollection: is required (or params.geometry)")
            return [("params.geometry", params_geometry)]
        if not isinstance(collection, dict) or collection.get("type") != "FeatureCollection":
            raise problem(400, "Bad Request", "featureCollection: must be a GeoJSON FeatureCollection")
        features = collection.get("features")
        if not isinstance(features, list) or not features:
            raise problem(400, "Bad Request", "featureCollection.features: must hold at least one feature")
        found = []
        for index, feature in enumerate(features):
            path = f"featureCollection.features[{index}]"
            if not isinstance(feature, dict) or feature.get("type") != "Feature":
                raise problem(400, "Bad Request", f"{path}: must be a GeoJSON Feature")
            found.append((path + ".geometry", feature.get("geometry")))
        return found

    def problems(self, index: int, account: Account, now: datetime) -> List[Tuple[str, str]]:
        """Everything wrong with the order at `index`: schema, geometry, window, area."""
        found = list(self.params_problems)
        path, geometry = self.geometries[index]
        geometry_problem = _geometry_problem(geometry)
        if geometry_problem:
            found.append((path, geometry_problem))
        elif self.product["unit"] == "SQ_KM" and area_sqkm(geometry) > account.max_sqkm:
            found.append((path, f"covers {area_sqkm(geometry):.1f} km², more than the {account.max_sqkm:g} km² "
                                "an order may cover"))
        start = parse_time(self.params.get("acquisitionStart"))
        end = parse_time(self.params.get("acquisitionEnd"))
        if start is not None and end is not None:
            if end <= start:
                found.append(("params.acquisitionEnd", "must be after params.acquisitionStart"))
            elif end <= now:
                found.append(("params.acquisitionEnd", f"must be in the future (now is {format_time(now)})"))
        return found

    def cost(self, index: int) -> Dict[str, Any]:
        """{"index", "credits", "size", "unit"} of the order at `index` (its geometry is valid)."""
        product = self.product
        multiplier = {"stereo": 2.0, "tristereo": 3.0}.get(self.params.get("acquisitionMode"), 1.0)
        multiplier *= {"PRIORITY": 1.5, "SELECT": 2.0}.get(self.params.get("priority"), 1.0)
        if product["unit"] == "SCENE":
            size = float(self.params.get("revisits", 1))
            multiplier *= 1.5 if self.params.get("resolution") == "0.5m" else 1.0
        else:
            size = round(max(area_sqkm(self.geometries[index][1]), product["minimum"]), 2)
        return {"index": index, "credits": round(size * product["credits"] * multiplier), "size": size,
                "unit": product["unit"]}


def _geometry_problem(geometry: Any) -> Optional[str]:
    if not isinstance(geometry, dict):
        return "is required"
    kind = geometry.get("type")
    if kind == "Polygon":
        polygons = [geometry.get("coordinates")]
    elif kind == "MultiPolygon" and isinstance(geometry.get("coordinates"), list) and geometry["coordinates"]:
        polygons = geometry["coordinates"]
    else:
        return f"must be a Polygon or MultiPolygon, not {kind!r}"
    for polygon in polygons:
        valid, reason = geo.polygon_is_valid(polygon)
        if not valid:
            return f"is not a valid polygon: {reason}"
    return None


def area_sqkm(geometry: Dict[str, Any]) -> float:
    polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    return sum(geo.geodesic_area_sqkm(p) for p in polygons)


def error_item(index: int, problems: List[Tuple[str, str]]) -> Dict[str, Any]:
    """One entry of `errors`: the message names the first parameter at fault, details list them all (a line each)."""
    lines = [f"{path}: {message}" for path, message in problems]
    return {"index": index, "message": f"Invalid order parameters: {lines[0]}", "details": "\n".join(lines)}


def estimate(request: OrderRequest, account: Account, now: datetime) -> Dict[str, Any]:
    results, errors = [], []
    for index in range(len(request.geometries)):
        problems = request.problems(index, account, now)
        if problems:
            errors.append(error_item(index, problems))
        else:
            results.append(request.cost(index))
    return {"summary": {"totalCredits": sum(r["credits"] for r in results),
                        "totalSize": round(sum(r["size"] for r in results), 2),
                        "unit": request.product["unit"]},
            "results": results, "errors": errors}


def place(sim: Simulation, request: OrderRequest, account: Account) -> Dict[str, Any]:
    now = sim.now()
    results, errors = [], []
    for index in range(len(request.geometries)):
        problems = request.problems(index, account, now)
        if problems:
            errors.append(error_item(index, problems))
            continue
        order = _new_order(sim, request, index, account, now)
        results.append({"index": index, "id": order["id"]})
    return {"results": results, "errors": errors}


def _new_order(sim: Simulation, request: OrderRequest, index: int, account: Account, now: datetime) -> dict:
    params = request.params
    details: Dict[str, Any] = {
        "acquisitionStart": params.get("acquisitionStart"),
        "acquisitionEnd": params.get("acquisitionEnd"),
        "geometry": request.geometries[index][1],
        "extraDescription": params.get("extraDescription"),
        "subStatus": None,
    }
    for detail, sources in DETAIL_SOURCES.items():
        for source in sources:
            if source in params:
                details[detail] = params[source]
                break
    order = sim.store.add(ORDER_KIND, {
        "id": sim.new_id(),
        "_key": account.api_key,
        "_params": params,
        "_credits": request.cost(index)["credits"],
        "_feasibility": request.product["feasibility"],
        "displayName": request.display_name,
        "status": "CREATED",
        "workspaceId": workspace_id(account),
        "accountId": account_id(account),
        "type": "TASKING",
        "dataProductId": request.product_id,
        "tags": request.tags,
        "budgetId": None,
        "createdAt": format_time(now),
        "updatedAt": format_time(now),
        "orderDetails": details,
    })
    sim.schedule(ORDER_KIND, order, now + TO_BEING_PLACED, "placing")
    return order


def _set(sim: Simulation, order: dict, at: datetime, status: Optional[str] = None,
         sub_status: Optional[str] = "unchanged") -> None:
    if status is not None:
        order["status"] = status
    if sub_status != "unchanged":
        order["orderDetails"]["subStatus"] = sub_status
    order["updatedAt"] = format_time(at)
    sim.store.touch(ORDER_KIND, order)


def order_event(sim: Simulation, order: dict, event: str, at: datetime, _target: datetime) -> None:
    """One scheduled step of an order's life (see sandbox/README.md, UP42)."""
    if event == "placing":
        _set(sim, order, at, "BEING_PLACED")
        sim.schedule(ORDER_KIND, order, at + TO_PLACED, "placed")
    elif event == "placed":
        if order["_feasibility"]:
            _set(sim, order, at, "PLACED", "FEASIBILITY_WAITING_UPLOAD")
            sim.schedule(ORDER_KIND, order, at + STUDY_UPLOAD, "study")
        else:
            _set(sim, order, at, "PLACED", "QUOTATION_WAITING_UPLOAD")
            sim.schedule(ORDER_KIND, order, at + QUOTATION_UPLOAD, "quotation")
    elif event == "study":
        _new_study(sim, order, at)
        _set(sim, order, at, sub_status="FEASIBILITY_WAITING_RESPONSE")
        _lapse_at_window_end(sim, order, at)
    elif event == "quotation":
        _new_quotation(sim, order, at)
        _set(sim, order, at, sub_status="QUOTATION_WAITING_RESPONSE")
        _lapse_at_window_end(sim, order, at)
    elif event == "lapsed":
        _set(sim, order, at, "FAILED_PERMANENTLY")
    elif event == "capture":
        _set(sim, order, at, "BEING_FULFILLED")
        sim.schedule(ORDER_KIND, order, at + DELIVERY, "delivered")
    elif event == "delivered":
        _set(sim, order, at, "FULFILLED")
    elif event == "missed":
        _set(sim, order, at, "FAILED_PERMANENTLY")


def _lapse_at_window_end(sim: Simulation, order: dict, at: datetime) -> None:
    """A study or quotation still undecided when the window ends fails the order (a decision supersedes it)."""
    sim.schedule(ORDER_KIND, order, max(_window(order)[1], at), "lapsed")


def _waiting(sim: Simulation, order_id: str, sub_status: str) -> dict:
    """The order a decision is for, which must still wait for it (409 otherwise: it lapsed or was decided)."""
    order = sim.store.get(ORDER_KIND, order_id)
    if order is None or order["status"] != "PLACED" or order["orderDetails"]["subStatus"] != sub_status:
        state = "gone" if order is None else f"{order['status']} ({order['orderDetails']['subStatus']})"
        raise problem(409, "Conflict", f"Order {order_id} is {state}: this can no longer be decided.")
    return order


def _window(order: dict) -> Tuple[datetime, datetime]:
    details = order["orderDetails"]
    return parse_time(details["acquisitionStart"]), parse_time(details["acquisitionEnd"])


def _new_study(sim: Simulation, order: dict, at: datetime) -> dict:
    start, end = _window(order)
    first = max(start, at)
    half = first + (end - first) / 2 if end > first else end
    options = [
        {"id": sim.new_id(), "description": "Standard tasking: acquisition attempts over the whole window.",
         "acquisitionStart": format_time(first), "acquisitionEnd": format_time(end), "priceFactor": 1.0},
        {"id": sim.new_id(), "description": "Priority tasking: acquisition in the first half of the window, "
                                            "price × 1.5.",
         "acquisitionStart": format_time(first), "acquisitionEnd": format_time(half), "priceFactor": 1.5},
    ]
    study = sim.store.add(STUDY_KIND, {
        "id": sim.new_id(), "_key": order["_key"], "createdAt": format_time(at), "updatedAt": format_time(at),
        "accountId": order["accountId"], "workspaceId": order["workspaceId"], "orderId": order["id"],
        "decision": "NOT_DECIDED", "options": options, "decisionAt": None, "decisionOption": None,
    })
    order["_study"] = study["id"]
    return study


def _new_quotation(sim: Simulation, order: dict, at: datetime) -> dict:
    factor = 1.0
    study = sim.store.get(STUDY_KIND, order.get("_study") or "")
    if study is not None and study["decisionOption"] is not None:
        chosen = next(o for o in study["options"] if o["id"] == study["decisionOption"]["id"])
        factor = chosen["priceFactor"]
    quotation = sim.store.add(QUOTATION_KIND, {
        "id": sim.new_id(), "_key": order["_key"], "createdAt": format_time(at), "updatedAt": format_time(at),
        "decisionAt": None, "accountId": order["accountId"], "workspaceId": order["workspaceId"],
        "orderId": order["id"], "creditsPrice": int(round(order["_credits"] * factor)), "decision": "NOT_DECIDED",
    })
    order["_quotation"] = quotation["id"]
    return quotation


def decide_study(sim: Simulation, study: dict, body: Any) -> dict:
    """PATCH /v2/tasking/feasibility-studies/{id} {"acceptedOptionId"}: the order goes on to its quotation."""
    option_id = body.get("acceptedOptionId") if isinstance(body, dict) else None
    if not isinstance(option_id, str) or not option_id:
        raise problem(400, "Bad Request", "acceptedOptionId: is required")
    option = next((o for o in study["options"] if o["id"] == option_id), None)
    if option is None:
        raise problem(400, "Bad Request", f"acceptedOptionId: {option_id} is not an option of this feasibility study")
    if study["decision"] != "NOT_DECIDED":
        raise problem(409, "Conflict", "This feasibility study has already been decided.")
    order = _waiting(sim, study["orderId"], "FEASIBILITY_WAITING_RESPONSE")
    now = sim.now()
    study.update({"decision": "ACCEPTED", "decisionAt": format_time(now), "updatedAt": format_time(now),
                  "decisionOption": {"id": option["id"], "description": option["description"]}})
    sim.store.touch(STUDY_KIND, study)
    _set(sim, order, now, sub_status="QUOTATION_WAITING_UPLOAD")
    sim.schedule(ORDER_KIND, order, now + QUOTATION_UPLOAD, "quotation")
    return study


def decide_quotation(sim: Simulation, quotation: dict, body: Any) -> dict:
    """PATCH /v2/tasking/quotation/{id} {"decision"}: accepted → fulfilled later; rejected → FAILED_PERMANENTLY."""
    decision = body.get("decision") if isinstance(body, dict) else None
    if decision not in ("ACCEPTED", "REJECTED"):
        raise problem(400, "Bad Request", f"decision: {decision!r} is not one of 'ACCEPTED', 'REJECTED'")
    if quotation["decision"] != "NOT_DECIDED":
        raise problem(409, "Conflict", f"This quotation has already been {quotation['decision'].lower()}.")
    order = _waiting(sim, quotation["orderId"], "QUOTATION_WAITING_RESPONSE")
    now = sim.now()
    quotation.update({"decision": decision, "decisionAt": format_time(now), "updatedAt": format_time(now)})
    sim.store.touch(QUOTATION_KIND, quotation)
    if decision == "REJECTED":
        sim.schedule(ORDER_KIND, order, None)
        _set(sim, order, now, "FAILED_PERMANENTLY", "QUOTATION_REJECTED")
        return quotation
    _set(sim, order, now, sub_status="QUOTATION_ACCEPTED")
    start, end = _window(order)
    study = sim.store.get(STUDY_KIND, order.get("_study") or "")
    if study is not None and study["decisionOption"] is not None:
        chosen = next(o for o in study["options"] if o["id"] == study["decisionOption"]["id"])
        end = parse_time(chosen["acquisitionEnd"])
    first = max(start, now + EARLIEST_CAPTURE)
    if first >= end:
        sim.schedule(ORDER_KIND, order, max(end, now + MISSED_GRACE), "missed")
        return quotation
    span = min(end - first, timedelta(hours=72))
    draw = sim.rng(order["id"], "capture").uniform(0.1, 0.6)
    sim.schedule(ORDER_KIND, order, first + span * draw, "capture")
    return quotation


def cancel(sim: Simulation, order: dict) -> Dict[str, str]:
    """POST /v2/orders/{id}/cancellation: only before placement starts (CREATED) or after it failed."""
    if order["status"] not in CANCELLABLE:
        raise problem(409, "Conflict", f"Order {order['id']} in status {order['status']} cannot be canceled.")
    now = sim.now()
    sim.schedule(ORDER_KIND, order, None)
    _set(sim, order, now, "CANCELED")
    return {"orderId": order["id"], "status": "CANCELED"}
