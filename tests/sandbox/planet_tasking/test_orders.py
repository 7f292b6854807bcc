"""Orders: validation wording, listing filters and pages, every cell of the edit and cancel state table."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta

import pytest
import requests

from tests.sandbox.helpers import (
    Client,
    advance_until,
    assured_order,
    assured_window,
    future,
    iso,
    parse,
    point,
    sim_now,
    start_server,
    stop_server,
)

LON_MESSAGE = "Geometry longitude coordinate needs to be within -180.0 and 180.0"


# ---- authentication and isolation -----------------------------------------------------------------------


def test_missing_key_is_401(sandbox):
    response = Client(sandbox.tasking_url, None).get("orders/")
    assert response.status_code == 401 and "detail" in response.json()


def test_unknown_key_is_401(sandbox):
    assert Client(sandbox.tasking_url, "nope").get("orders/").status_code == 401
    client = Client(sandbox.tasking_url, None)
    assert client.get("orders/", auth=("nope", "")).status_code == 401
    assert client.get("orders/", auth=(sandbox.api_key, "")).status_code == 200


def test_keys_are_separate_organisations(api, other_api, sandbox):
    mine = api.create(name="mine")
    assert other_api.get("orders/").json()["count"] == 0
    for call in (lambda: other_api.get(f"orders/{mine['id']}/"), lambda: other_api.put(f"orders/{mine['id']}/", {"name": "x"}),
                 lambda: other_api.delete(f"orders/{mine['id']}/"), lambda: other_api.get(f"orders/{mine['id']}/pricing/")):
        response = call()
        assert response.status_code == 404 and response.json() == {"detail": "Not found."}
    assert api.order(mine["id"])["status"] == "RECEIVED"
    advance_until(sandbox, lambda: api.order(mine["id"])["capture_status_published_count"] > 0)
    assert other_api.get(f"captures/?order_id={mine['id']}").json()["count"] == 0
    capture_id = api.captures(mine["id"])[0]["id"]
    assert other_api.get(f"captures/{capture_id}/").status_code == 404
    search = api.search(point(13.35, 52.51)).json()
    assert other_api.get(f"imaging-windows/search/{search['id']}/").status_code == 404


def test_other_keys_window_cannot_be_ordered(api, other_api, sandbox):
    search = api.search(point(13.35, 52.51)).json()
    sandbox.advance(300)
    window = api.get(f"imaging-windows/search/{search['id']}/").json()["imaging_windows"][0]
    response = other_api.post("orders/", {"name": "x", "imaging_window": window["id"], "product": "Assured Tasking"})
    assert response.status_code == 400 and "imaging_window" in response.json()


def test_unknown_path_and_method(api):
    assert api.get("nothing/").status_code == 404
    response = api.session.patch(api.url("pricing/"), json={})
    assert response.status_code == 405 and response.json()["detail"] == 'Method "PATCH" not allowed.'
    assert api.get("orders/not-a-uuid/").status_code == 404


# ---- create: validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize("payload, field, message", [
    ({"geometry": point(181, 40)}, "geometry", LON_MESSAGE),
    ({"geometry": point(-180.5, 40)}, "geometry", LON_MESSAGE),
    ({"geometry": point(10, 91)}, "geometry", "Geometry latitude coordinate needs to be within -90.0 and 90.0"),
    ({"geometry": None}, "geometry", "This field is required."),
    ({"name": None}, "name", "This field is required."),
    ({"name": ""}, "name", "This field may not be blank."),
    ({"order_type": "STEREO", "n_stereo_pov": 4}, "n_stereo_pov", "n_stereo_pov must be either 2 or 3."),
    ({"order_type": "STEREO", "n_stereo_pov": "two"}, "n_stereo_pov", "n_stereo_pov must be either 2 or 3."),
    ({"order_type": "STEREO", "n_stereo_pov": 1}, "n_stereo_pov", "n_stereo_pov must be either 2 or 3."),
    ({"order_type": "PANORAMA"}, "order_type", '"PANORAMA" is not a valid choice.'),
    ({"start_time": "yesterday"}, "start_time", None),
    ({"start_time": "2030-01-02T00:00:00Z", "end_time": "2030-01-01T00:00:00Z"}, "end_time",
     "End time must be after start time."),
    ({"end_time": "2001-01-01T00:00:00Z", "start_time": "2000-01-01T00:00:00Z"}, "end_time",
     "End time must be in the future."),
    ({"sat_elevation_angle_min": 95}, "sat_elevation_angle_min", "Ensure this value is less than or equal to 90."),
    ({"sat_elevation_angle_min": 80, "sat_elevation_angle_max": 70}, "sat_elevation_angle_min", None),
    ({"exclusivity_days": 31}, "exclusivity_days", None),
    ({"pl_number": "PL-000"}, "pl_number", None),
    ({"product": "no_such_product"}, "product", None),
    ({"scheduling_type": "ASSURED"}, "imaging_window", "This field is required for assured tasking orders."),
    ({"rrule": "FREQ=DAILY"}, "rrule", None),
    ({"geometry": {"type": "MultiPoint", "coordinates": [[1, 2]]}}, "geometry", None),
    ({"geometry": {"type": "LineString", "coordinates": [[10.0, 48.0], [10.01, 48.0]]}}, "geometry",
     None),  # ~0.7 km: under the 6 km minimum
    ({"geometry": {"type": "LineString", "coordinates": [[10.0, 48.0], [12.0, 48.0]]}}, "geometry",
     None),  # ~149 km: over 100 km
    ({"geometry": {"type": "LineString", "coordinates": [[10.0, 48.0], [10.05, 48.0], [10.1, 48.0]]}},
     "geometry", None),
    ({"geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}}, "geometry",
     None),  # ~12,300 km2 over the 3,000 km2 contract maximum
    ({"geometry": {"type": "Polygon", "coordinates": [[[0, 0], [0.1, 0.1], [0.1, 0], [0, 0.1], [0, 0]]]}},
     "geometry", None),  # a bow tie
    ({"geometry": {"type": "Polygon", "coordinates": [[[0, 0], [0.1, 0], [0.1, 0.1], [0, 0.1]]]}},
     "geometry", None),  # not closed
])
def test_create_validation(api, payload, field, message):
    body = {"name": "validation", "geometry": point(), **payload}
    body = {k: v for k, v in body.items() if v is not None}
    response = api.post("orders/", body)
    assert response.status_code == 400, response.text
    errors = response.json()
    assert field in errors and isinstance(errors[field], list) and all(isinstance(m, str) for m in errors[field])
    if message:
        assert message in errors[field]
    assert api.get("orders/").json()["count"] == 0


def test_strip_bounds_accepted(api):
    order = api.create(geometry={"type": "LineString", "coordinates": [[10.0, 48.0], [10.1, 48.0]]})  # ~7.4 km
    assert 35 < order["requested_sqkm"] < 40


def test_stereo_three_and_numeric(api):
    assert api.create(order_type="STEREO", n_stereo_pov=3)["n_stereo_pov"] == 3
    assert api.create(order_type="STEREO", n_stereo_pov="3")["n_stereo_pov"] == 3


def test_optional_fields_kept(api):
    order = api.create(start_time="2031-01-01T00:00:00Z", end_time="2031-02-01T00:00:00Z",
                       sat_elevation_angle_min=65, sat_elevation_angle_max=85, exclusivity_days=7)
    assert order["start_time"] == "2031-01-01T00:00:00.000000Z" and order["end_time"] == "2031-02-01T00:00:00.000000Z"
    assert order["sat_elevation_angle_min"] == 65.0 and order["exclusivity_days"] == 7


def test_monitoring_order(api, sandbox):
    order = api.create(product="monitoring_tasking", rrule="FREQ=DAILY;INTERVAL=1;COUNT=3")
    assert order["scheduling_type"] == "MONITORING" and order["rrule"] == "FREQ=DAILY;INTERVAL=1;COUNT=3"
    sandbox.advance(5 * 86400)
    assert len(api.captures(order["id"])) == 3


def test_max_sqkm_option():
    process, root = start_server(["--db", ":memory:", "--speed", "0", "--max-sqkm", "50"])
    try:
        client = Client(root + "/tasking/v2/", "sandbox")
        area = {"type": "Polygon", "coordinates": [[
            [-111.02062225341797, 39.58637603706183], [-110.9095573425293, 39.58637603706183],
            [-110.9095573425293, 39.670992062375056], [-111.02062225341797, 39.670992062375056],
            [-111.02062225341797, 39.58637603706183]]]}
        response = client.post("orders/", {"name": "too big", "geometry": area})
        assert response.status_code == 400 and "geometry" in response.json()
        assert client.post("orders/", {"name": "ok", "geometry": point()}).status_code == 201
    finally:
        stop_server(process)


def test_second_contract_and_assured_product(api, account):
    second = account["pl_numbers"][1]
    assert api.create(pl_number=second)["pl_number"] == second
    assert account["default_product"] == "one_time_tasking"
    assert {"name": "Assured Tasking", "scheduling_type": "ASSURED"} in account["products"]


def test_malformed_json_is_400(api):
    response = api.session.post(api.url("orders/"), data="{not json", timeout=10)
    assert response.status_code == 400 and "JSON parse error" in response.json()["detail"]


# ---- list: filters, ordering, fields, pages ----------------------------------------------------------------


@pytest.fixture
def three_orders(api, sandbox):
    alpha = api.create(name="Alpha test", start_time="2031-01-01T00:00:00Z", end_time="2031-03-01T00:00:00Z")
    sandbox.advance(10)
    beta = api.create(name="beta", order_type="STEREO", n_stereo_pov=2)
    sandbox.advance(10)
    gamma = api.create(name="Gamma TEST", pl_number=api.get("orders/").json()["results"][0]["pl_number"])
    return alpha, beta, gamma


def names(response) -> list:
    assert response.status_code == 200, response.text
    return [o["name"] for o in response.json()["results"]]


def test_default_ordering_newest_first(api, three_orders):
    assert names(api.get("orders/")) == ["Gamma TEST", "beta", "Alpha test"]


def test_name_filters(api, three_orders):
    assert names(api.get("orders/?name=beta")) == ["beta"]
    assert names(api.get("orders/?name=Beta")) == []
    assert sorted(names(api.get("orders/?name__icontains=test"))) == ["Alpha test", "Gamma TEST"]


def test_status_filters(api, three_orders, sandbox):
    api.delete(f"orders/{three_orders[1]['id']}/")
    assert names(api.get("orders/?status=CANCELLED")) == ["beta"]
    assert sorted(names(api.get("orders/?status__in=CANCELLED,RECEIVED"))) == ["Alpha test", "Gamma TEST", "beta"]
    response = api.get("orders/?status=NOPE")
    assert response.status_code == 400
    assert response.json() == {"status": ["Select a valid choice. NOPE is not one of the available choices."]}


@pytest.mark.parametrize("path, name", [("orders/", "id"), ("captures/", "order_id"), ("captures/", "id")])
@pytest.mark.parametrize("value", ["not-a-uuid", "", ",", "%20", "{uuid},not-a-uuid"])
def test_malformed_id_filters_are_400_like_other_malformed_filters(api, three_orders, path, name, value):
    # A blank status or date is a 400 on the orders listing; an id filter with no valid id in it is too,
    # on both listings, instead of a 200 that silently matches nothing.
    query = value.replace("{uuid}", three_orders[0]["id"])
    response = api.get(f"{path}?{name}={query}")
    assert response.status_code == 400, response.text
    assert response.json() == {name: ["Enter a valid UUID."]}
    for blank in ("status", "created_time__gt"):
        assert api.get(f"orders/?{blank}=").status_code == 400


def test_id_filters_take_valid_lists(api, three_orders, sandbox):
    first, second = three_orders[0]["id"], three_orders[1]["id"]
    assert sorted(o["id"] for o in api.get(f"orders/?id={first},,{second}").json()["results"]) == sorted([first, second])
    sandbox.advance(20 * 86400)
    wanted = api.get(f"captures/?order_id={first},{second}&limit=1000").json()
    assert wanted["count"] > 0 and {c["order_id"] for c in wanted["results"]} <= {first, second}
    # Dashless UUIDs are UUIDs too (Django's UUIDField reads them).
    dashless = api.get(f"captures/?order_id={first.replace('-', '')}&limit=1000").json()
    assert dashless["count"] == len([c for c in wanted["results"] if c["order_id"] == first])


def test_type_and_contract_filters(api, three_orders, account):
    assert names(api.get("orders/?order_type=STEREO")) == ["beta"]
    assert len(names(api.get("orders/?scheduling_type=FLEXIBLE"))) == 3
    assert names(api.get("orders/?scheduling_type=ASSURED")) == []
    assert len(names(api.get(f"orders/?pl_number={account['default_pl_number']}"))) == 3
    assert names(api.get("orders/?pl_number=PL-1")) == []


@pytest.mark.parametrize("field", ["created_time", "start_time", "end_time", "updated_time"])
def test_time_filters(api, three_orders, field):
    values = sorted(o[field] for o in three_orders)
    middle = values[1]
    assert len(names(api.get(f"orders/?{field}__gt={middle}"))) == sum(v > middle for v in values)
    assert len(names(api.get(f"orders/?{field}__gte={middle}"))) == sum(v >= middle for v in values)
    assert len(names(api.get(f"orders/?{field}__lt={middle}"))) == sum(v < middle for v in values)
    assert len(names(api.get(f"orders/?{field}__lte={middle}"))) == sum(v <= middle for v in values)
    response = api.get(f"orders/?{field}__gt=not-a-date")
    assert response.status_code == 400 and response.json() == {f"{field}__gt": ["Enter a valid date/time."]}


def test_date_only_filter(api, three_orders):
    assert len(names(api.get("orders/?created_time__gt=2000-01-01"))) == 3
    assert api.get("orders/?created_time__gt=2000-13-01").status_code == 400


def test_ordering_several_keys(api, three_orders):
    assert names(api.get("orders/?ordering=name")) == ["Alpha test", "Gamma TEST", "beta"]
    assert names(api.get("orders/?ordering=-name")) == ["beta", "Gamma TEST", "Alpha test"]
    assert names(api.get("orders/?ordering=order_type,-created_time")) == ["Gamma TEST", "Alpha test", "beta"]
    assert names(api.get("orders/?ordering=-start_time,created_time"))[0] == "Alpha test"
    assert names(api.get("orders/?ordering=unknown")) == ["Gamma TEST", "beta", "Alpha test"]


def test_fields_parameter(api, three_orders):
    results = api.get("orders/?fields=name,id,listing").json()["results"]
    assert all(set(r) == {"name", "id"} for r in results)


def test_pages_walk_without_loss(api):
    made = {api.create(name=f"o{i}")["id"] for i in range(23)}
    seen, url = [], "orders/?limit=5&status=RECEIVED"
    while url:
        body = api.get(url).json()
        assert body["count"] == 23
        seen += [o["id"] for o in body["results"]]
        url = body["next"]
        if url:
            assert url.startswith("http://") and "status=RECEIVED" in url
    assert len(seen) == 23 and set(seen) == made


# ---- edit: the state table ---------------------------------------------------------------------------------


def _received(api, sandbox):
    return api.create(name="received")


def _pending(api, sandbox):
    order = api.create(name="pending", start_time=iso(sim_now(sandbox) + timedelta(days=2)))
    sandbox.advance(61)
    assert api.order(order["id"])["status"] == "PENDING"
    return order


def _in_progress(api, sandbox):
    order = api.create(name="in progress")
    sandbox.advance(120)
    assert api.order(order["id"])["status"] == "IN_PROGRESS"
    return order


def _fulfilled(api, sandbox):
    order = api.create(name="fulfilled")
    assert advance_until(sandbox, lambda: api.order(order["id"])["status"] == "FULFILLED")
    return order


def _cancelled(api, sandbox):
    order = api.create(name="cancelled")
    assert api.delete(f"orders/{order['id']}/").status_code == 204
    return order


def _expired(api, sandbox):
    now = sim_now(sandbox)
    order = api.create(name="expired", start_time=iso(now + timedelta(hours=1)),
                       end_time=iso(now + timedelta(hours=1, minutes=1)))
    sandbox.advance(3 * 3600)
    assert api.order(order["id"])["status"] == "EXPIRED"
    return order


def _pending_cancellation(api, sandbox):
    order = assured_order(api, sandbox)
    assert api.delete(f"orders/{order['id']}/").status_code == 204
    assert api.order(order["id"])["status"] == "PENDING_CANCELLATION"
    return order


def _failed(api, sandbox):
    order = assured_order(api, sandbox, "failed")
    assert advance_until(sandbox, lambda: api.order(order["id"])["status"] in ("FULFILLED", "FAILED"),
                         limit=9 * 86400)
    if api.order(order["id"])["status"] == "FULFILLED":
        capture = api.captures(order["id"], fulfilling="true")[0]
        # A manual review rejecting an assured order's only capture fails the order: it has no other chance.
        sandbox.control("POST", f"captures/{capture['id']}/reassess", {"assessment": "INVALID"})
    assert api.order(order["id"])["status"] == "FAILED"
    return order


def _rejected(api, sandbox):
    window = assured_window(api, sandbox, index=0)
    sandbox.advance((parse(window["start_time"]) - sim_now(sandbox)).total_seconds() - 600)
    order = assured_order(api, sandbox, "rejected", window)
    sandbox.advance(60)
    assert api.order(order["id"])["status"] == "REJECTED"
    return order


STATES = {
    "RECEIVED": _received, "PENDING": _pending, "IN_PROGRESS": _in_progress, "FULFILLED": _fulfilled,
    "CANCELLED": _cancelled, "EXPIRED": _expired, "PENDING_CANCELLATION": _pending_cancellation,
    "FAILED": _failed, "REJECTED": _rejected,
}
EDIT_TABLE = {
    # state: (start_time editable, end_time editable)
    "RECEIVED": (True, True), "PENDING": (True, True), "IN_PROGRESS": (False, True),
    "FULFILLED": (False, False), "CANCELLED": (False, False), "EXPIRED": (False, False),
    "PENDING_CANCELLATION": (False, False), "FAILED": (False, False), "REJECTED": (False, False),
}


@pytest.mark.parametrize("state", list(EDIT_TABLE))
@pytest.mark.parametrize("field", ["start_time", "end_time"])
def test_edit_state_table(api, sandbox, state, field):
    order = STATES[state](api, sandbox)
    now = sim_now(sandbox)
    value = iso(now + timedelta(days=3)) if field == "start_time" else iso(now + timedelta(days=40))
    response = api.put(f"orders/{order['id']}/", {field: value})
    editable = EDIT_TABLE[state][0 if field == "start_time" else 1]
    if editable:
        assert response.status_code == 200, response.text
        assert response.json()[field] == value.replace("Z", ".000000Z")
        assert api.order(order["id"])[field] == value.replace("Z", ".000000Z")
    else:
        assert response.status_code == 400, response.text
        assert api.order(order["id"])[field] == order[field]


@pytest.mark.parametrize("state", list(EDIT_TABLE))
def test_edit_name_by_state(api, sandbox, state):
    order = STATES[state](api, sandbox)
    response = api.put(f"orders/{order['id']}/", {"name": "renamed", "rank": 3})
    if state in ("RECEIVED", "PENDING", "IN_PROGRESS"):
        assert response.status_code == 200 and response.json()["name"] == "renamed"
        assert api.order(order["id"])["rank"] == 3
    else:
        assert response.status_code == 400 and f"status {state}" in response.json()["detail"]


def test_geometry_cannot_be_edited(api):
    order = api.create()
    response = api.put(f"orders/{order['id']}/", {"geometry": point(1, 1)})
    assert response.status_code == 400 and "geometry" in response.json()


def test_edit_validation(api):
    order = api.create()
    assert api.put(f"orders/{order['id']}/", {"end_time": "soon"}).status_code == 400
    response = api.put(f"orders/{order['id']}/", {"end_time": "2001-01-01T00:00:00Z"})
    assert response.status_code == 400 and "end_time" in response.json()


def test_assured_times_fixed(api, sandbox):
    order = assured_order(api, sandbox)
    response = api.put(f"orders/{order['id']}/", {"end_time": iso(sim_now(sandbox) + timedelta(days=9))})
    assert response.status_code == 400 and "end_time" in response.json()
    assert api.put(f"orders/{order['id']}/", {"name": "renamed"}).status_code == 200


# ---- cancel: the state table -------------------------------------------------------------------------------

CANCEL_TABLE = {"RECEIVED": True, "PENDING": True, "IN_PROGRESS": True, "FULFILLED": False, "CANCELLED": False,
                "EXPIRED": False, "PENDING_CANCELLATION": False, "FAILED": False, "REJECTED": False}


@pytest.mark.parametrize("state", list(CANCEL_TABLE))
def test_cancel_state_table(api, sandbox, state):
    order = STATES[state](api, sandbox)
    before = api.order(order["id"])
    assert before["is_cancellable"] is CANCEL_TABLE[state]
    response = api.delete(f"orders/{order['id']}/")
    if CANCEL_TABLE[state]:
        assert response.status_code == 204
        after = api.order(order["id"])
        assert after["status"] == "CANCELLED" and after["cancelled_time"]
        assert after["is_cancellable"] is False
    else:
        assert response.status_code == 400 and "cannot be cancelled" in response.json()["detail"]
        assert api.order(order["id"])["status"] == before["status"]


def _requested_order(tmp_path):
    """A server whose database holds one PENDING order turned REQUESTED (a status the sandbox never produces).

    Returns (process, root, order id); the order is stored again with status REQUESTED between two runs."""
    db = str(tmp_path / "requested.sqlite3")
    args = ["--db", db, "--speed", "0", "--seed", "3"]
    process, root = start_server(args)
    try:
        client = Client(root + "/tasking/v2/", "sandbox")
        order = client.create(name="requested", start_time=future(days=2), end_time=future(days=9))
        requests.post(root + "/sandbox/clock", json={"advance_seconds": 120}, timeout=30)
        assert client.order(order["id"])["status"] == "PENDING"
    finally:
        assert stop_server(process) == 0
    with sqlite3.connect(db) as connection:
        (data,) = connection.execute("SELECT data FROM objects WHERE kind = 'order' AND id = ?",
                                     (order["id"],)).fetchone()
        stored = json.loads(data)
        stored["status"] = "REQUESTED"
        connection.execute("UPDATE objects SET data = ? WHERE kind = 'order' AND id = ?",
                           (json.dumps(stored), order["id"]))
    process, root = start_server(args)
    return process, root, order["id"]


def test_requested_orders_cannot_be_cancelled_but_can_be_edited(tmp_path):
    # planet-tasking-api.txt: "Tasking Orders can be deleted or cancelled only when the Tasking Order is in one
    # of the following states: PENDING, IN_PROGRESS and RECEIVED." facts.md: start_time is editable while
    # PENDING or REQUESTED (and RECEIVED); end_time also while IN_PROGRESS.
    process, root, order_id = _requested_order(tmp_path)
    try:
        client = Client(root + "/tasking/v2/", "sandbox")
        before = client.order(order_id)
        assert before["status"] == "REQUESTED" and before["is_cancellable"] is False
        refused = client.delete(f"orders/{order_id}/")
        assert refused.status_code == 400
        assert refused.json() == {"detail": "Orders in status REQUESTED cannot be cancelled."}
        assert client.delete(f"orders/{order_id}/?accept_cancellation_charge=true").status_code == 400
        bulk = client.post("bulk/", {"order_payloads": [{"id": order_id}], "operation_type": "CANCEL"})
        assert bulk.status_code == 202
        requests.post(root + "/sandbox/clock", json={"advance_seconds": 5}, timeout=30)
        done = client.get(bulk.headers["Location"]).json()
        assert done["status"] == "COMPLETE" and done["failed_payload_count"] == 1
        assert client.order(order_id)["status"] == "REQUESTED"
        start = future(days=3)
        edited = client.put(f"orders/{order_id}/", {"start_time": start, "end_time": future(days=10)})
        assert edited.status_code == 200, edited.text
        assert client.order(order_id)["start_time"] == start.replace("Z", ".000000Z")
    finally:
        stop_server(process)


def test_assured_cancel_goes_through_pending_cancellation(api, sandbox):
    order = _pending_cancellation(api, sandbox)
    assert api.order(order["id"])["cancelled_time"] is None
    sandbox.advance(600)
    done = api.order(order["id"])
    assert done["status"] == "CANCELLED" and done["cancelled_time"]


def test_charged_cancellation():
    process, root = start_server(["--db", ":memory:", "--speed", "0", "--seed", "4", "--free-cancellations", "1"])
    try:
        client = Client(root + "/tasking/v2/", "sandbox")

        class Control:
            """The slice of the fixture's SandboxServer that the helpers use, for this private server."""

            def advance(self, seconds):
                requests.post(root + "/sandbox/clock", json={"advance_seconds": seconds}, timeout=30)

            def clock(self):
                return requests.get(root + "/sandbox/clock", timeout=30).json()

        control = Control()
        first = assured_order(client, control, "first")
        assert client.delete(f"orders/{first['id']}/").status_code == 204
        second = assured_order(client, control, "second")
        refused = client.delete(f"orders/{second['id']}/")
        assert refused.status_code == 400
        assert "accept_cancellation_charge=true" in refused.json()["detail"]
        assert client.order(second["id"])["status"] != "PENDING_CANCELLATION"
        assert client.delete(f"orders/{second['id']}/?accept_cancellation_charge=true").status_code == 204
        listing = client.get("orders/?status__in=CANCELLED,PENDING_CANCELLATION&scheduling_type=ASSURED"
                             "&fields=name,cancelled_time,id").json()
        assert sorted(o["name"] for o in listing["results"]) == ["first", "second"]
        # Flexible orders are not counted against the free assured cancellations.
        flexible = client.create(name="flexible")
        assert client.delete(f"orders/{flexible['id']}/").status_code == 204
    finally:
        stop_server(process)


class _Control:
    """The slice of the fixture's SandboxServer the helpers use (advance, clock), for a private server."""

    def __init__(self, root):
        self.root = root

    def advance(self, seconds):
        requests.post(self.root + "/sandbox/clock", json={"advance_seconds": seconds}, timeout=30)

    def clock(self):
        return requests.get(self.root + "/sandbox/clock", timeout=30).json()


def _documented_count(client, contract, now):
    """Today's assured cancellations by planet-tasking-api.txt's recipe, with the documented query as is."""
    day = now.strftime("%Y-%m-%d")
    listing = client.get(
        f"orders/?updated_time__gt={day}&pl_number={contract}&status__in=CANCELLED,PENDING_CANCELLATION"
        "&scheduling_type=ASSURED&quota_units=CREDITS&fields=name,cancelled_time,id,listing&limit=50&offset=0")
    assert listing.status_code == 200 and listing.json()["next"] is None
    # "check that the cancelled_time is after midnight UTC of the requested day. Orders in status
    # PENDING_CANCELLATION do not have cancelled_time but they still count"
    midnight = f"{day}T00:00:00"
    return sum(1 for o in listing.json()["results"] if o["cancelled_time"] is None or o["cancelled_time"] >= midnight)


def _assured_windows(client, control, count):
    contract = client.contract()
    search = client.post("imaging-windows/search/", {"geometry": point(13.350097, 52.514511), "pl_number": contract,
                                                     "product": "Assured Tasking"}).json()
    control.advance(300)
    found = client.get(f"imaging-windows/search/{search['id']}/").json()["imaging_windows"]
    ahead = [w for w in found if parse(w["start_time"]) > sim_now(control) + timedelta(hours=2)]
    assert len(ahead) >= count, found
    return contract, ahead[:count]


def _order(client, window, name):
    return assured_order(client, None, name, window)


def test_the_charge_counts_by_cancelled_time_as_the_documented_recipe(tmp_path):
    # An assured cancellation requested at 23:56 becomes CANCELLED (cancelled_time) after midnight: the
    # recipe counts it on the new day, so the server charges by that count too.
    process, root = start_server(["--db", ":memory:", "--speed", "0", "--seed", "4", "--free-cancellations", "2",
                                  "--start", "2030-06-01T23:30:00Z"])
    try:
        client, control = Client(root + "/tasking/v2/", "sandbox"), _Control(root)
        contract, windows = _assured_windows(client, control, 3)
        first, second, third = (_order(client, w, f"assured {n}") for n, w in enumerate(windows))
        control.advance(120)
        control.advance((parse("2030-06-01T23:56:00Z") - sim_now(control)).total_seconds())
        assert client.delete(f"orders/{first['id']}/").status_code == 204
        assert client.order(first["id"])["status"] == "PENDING_CANCELLATION"
        assert _documented_count(client, contract, sim_now(control)) == 1
        control.advance(9 * 60)  # 00:05 on 2 June; the cancellation completed at 00:01
        cancelled = client.order(first["id"])
        assert cancelled["status"] == "CANCELLED" and cancelled["cancelled_time"].startswith("2030-06-02T00:01")
        assert _documented_count(client, contract, sim_now(control)) == 1
        assert client.delete(f"orders/{second['id']}/").status_code == 204
        assert _documented_count(client, contract, sim_now(control)) == 2
        refused = client.delete(f"orders/{third['id']}/")
        assert refused.status_code == 400 and "accept_cancellation_charge=true" in refused.json()["detail"]
        assert client.delete(f"orders/{third['id']}/?accept_cancellation_charge=true").status_code == 204
        assert _documented_count(client, contract, sim_now(control)) == 3
    finally:
        stop_server(process)


def test_replaced_orders_count_but_a_replacement_is_never_refused(tmp_path):
    process, root = start_server(["--db", ":memory:", "--speed", "0", "--seed", "4", "--free-cancellations", "1",
                                  "--start", "2030-06-01T10:00:00Z"])
    try:
        client, control = Client(root + "/tasking/v2/", "sandbox"), _Control(root)
        contract, (shared, other) = _assured_windows(client, control, 2)
        booked, kept = _order(client, shared, "booked"), _order(client, other, "kept")
        control.advance(60)
        replacing = _order(client, shared, "replacing")
        control.advance(60)
        assert client.order(replacing["id"])["status"] == "PENDING"
        assert client.order(booked["id"])["status"] == "PENDING_CANCELLATION"
        # The replaced order is one of the day's cancellations in the documented count, and in the server's.
        assert _documented_count(client, contract, sim_now(control)) == 1
        refused = client.delete(f"orders/{kept['id']}/")
        assert refused.status_code == 400 and "accept_cancellation_charge=true" in refused.json()["detail"]
        # Over the limit, a replacement still goes through: there is no request to accept a charge on.
        again = _order(client, shared, "replacing again")
        control.advance(60)
        assert client.order(again["id"])["status"] == "PENDING"
        assert client.order(replacing["id"])["status"] == "PENDING_CANCELLATION"
        assert _documented_count(client, contract, sim_now(control)) == 2
        assert client.delete(f"orders/{kept['id']}/?accept_cancellation_charge=true").status_code == 204
        control.advance(600)
        assert _documented_count(client, contract, sim_now(control)) == 3
    finally:
        stop_server(process)


def test_head_and_options_never_change_an_order(api):
    order = api.create()
    assert api.session.head(api.url(f"orders/{order['id']}/"), timeout=10).status_code == 200
    assert api.session.options(api.url(f"orders/{order['id']}/"), timeout=10).status_code == 405
    assert api.order(order["id"])["status"] == "RECEIVED"


def test_area_orders_only_flexible(api):
    area = {"type": "Polygon", "coordinates": [[[10, 45], [10.05, 45], [10.05, 45.05], [10, 45.05], [10, 45]]]}
    response = api.post("orders/", {"name": "area", "geometry": area, "product": "monitoring_tasking",
                                    "rrule": "FREQ=DAILY;COUNT=2"})
    assert response.status_code == 400
    assert response.json() == {"geometry": ["Area orders can only be created as flexible tasking orders."]}


@pytest.mark.parametrize("rrule, expected_error", [
    (None, "This field is required for monitoring orders."),
    ("FREQ=SOMETIMES", None),
    ("COUNT=3", None),
    ("FREQ=DAILY;COUNT=x", None),
])
def test_monitoring_rrule_validation(api, rrule, expected_error):
    body = {"name": "m", "geometry": point(), "product": "monitoring_tasking"}
    if rrule:
        body["rrule"] = rrule
    response = api.post("orders/", body)
    assert response.status_code == 400 and "rrule" in response.json()
    if expected_error:
        assert response.json()["rrule"] == [expected_error]


def test_monitoring_until(api, sandbox):
    until = (sim_now(sandbox) + timedelta(days=2, hours=12)).strftime("%Y%m%dT%H%M%SZ")
    order = api.create(product="monitoring_tasking", rrule=f"RRULE:FREQ=DAILY;UNTIL={until}")
    sandbox.advance(10 * 86400)
    assert len(api.captures(order["id"])) == 3
