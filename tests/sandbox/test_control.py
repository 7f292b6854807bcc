"""The /sandbox/ control endpoints: clock, reset, request log, faults and accounts."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from tests.sandbox.helpers import Client, parse


def test_clock_shape_and_advance(sandbox):
    before = sandbox.clock()
    assert set(before) == {"now", "speed"} and before["speed"] == 0
    after = sandbox.advance(3600)
    assert (parse(after["now"]) - parse(before["now"])).total_seconds() == 3600
    assert sandbox.clock()["now"] == after["now"]  # speed 0: time moves only on request


def test_negative_advance_refused(sandbox):
    response = requests.post(sandbox.root + "/sandbox/clock", json={"advance_seconds": -5}, timeout=10)
    assert response.status_code == 400


def test_reset_empties_everything(sandbox, api):
    start = sandbox.clock()["now"]
    api.create()
    sandbox.advance(100)
    sandbox.fault(path="orders", kind="status", status=500, count=5)
    sandbox.reset()
    assert sandbox.clock()["now"] == start
    assert sandbox.requests_seen() == []
    assert sandbox.control("GET", "faults")["faults"] == []
    assert api.get("orders/").json()["count"] == 0


def test_request_log(sandbox, api):
    api.create()
    api.get("orders/?limit=5")
    sandbox.clock()
    log = sandbox.control("GET", "requests")
    assert log["count"] == 2
    assert log["requests"] == [
        {"method": "POST", "path": "/tasking/v2/orders/", "query": "", "status": 201},
        {"method": "GET", "path": "/tasking/v2/orders/", "query": "limit=5", "status": 200},
    ]


def test_accounts(sandbox):
    accounts = sandbox.control("GET", "accounts")["accounts"]
    assert [a["api_key"] for a in accounts] == [sandbox.api_key, sandbox.other_key]
    for account in accounts:
        assert account["default_pl_number"].startswith("PL-") and account["default_pl_number"][3:].isdigit()
        assert account["default_pl_number"] in account["pl_numbers"]
        assert account["default_product"] == "one_time_tasking"
        assert account["max_sqkm"] == 3000 and isinstance(account["free_cancellations"], int)
    assert accounts[0]["default_pl_number"] != accounts[1]["default_pl_number"]


@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_status_fault_for_next_request(sandbox, api, status):
    fault = sandbox.fault(path=r"^/tasking/v2/orders/$", kind="status", status=status, retry_after=2, count=1)
    assert isinstance(fault["id"], int)
    response = api.get("orders/")
    assert response.status_code == status and "detail" in response.json()
    if status in (429, 503):
        assert response.headers["Retry-After"] == "2"
    assert api.get("orders/").status_code == 200
    assert [r["status"] for r in sandbox.requests_seen()] == [status, 200]


def test_fault_method_filter(sandbox, api):
    sandbox.fault(path="orders", method="POST", kind="status", status=500, count=1)
    assert api.get("orders/").status_code == 200
    assert api.post("orders/", {"name": "x", "geometry": {"type": "Point", "coordinates": [1, 1]}}).status_code == 500
    assert api.get("orders/").json()["count"] == 0


def test_delay_fault(sandbox, api):
    sandbox.fault(path="orders", kind="delay", delay_seconds=1.0, count=1)
    # Held back: a client with a shorter read timeout than the delay gets no answer in time.
    with pytest.raises(requests.exceptions.ReadTimeout):
        api.session.get(api.url("orders/"), timeout=0.25)
    # ...but only delayed, not dropped: the server still answers it normally (logged once handled).
    deadline = time.monotonic() + 30
    while not sandbox.requests_seen():
        assert time.monotonic() < deadline, "the delayed request was never answered"
        time.sleep(0.02)
    assert [(r["path"], r["status"]) for r in sandbox.requests_seen()] == [("/tasking/v2/orders/", 200)]
    assert api.get("orders/").status_code == 200  # used up: the next one is not delayed
    assert sandbox.control("GET", "faults")["faults"] == []


def test_a_request_held_across_a_reset_is_not_logged_after_it(sandbox, api):
    # A client killed while its request was held (or a test that ended first) must not leave an entry in the
    # next test's log: the log lists the requests received since the last reset.
    sandbox.fault(path="orders", method="GET", kind="delay", delay_seconds=1.0, count=1)
    held = threading.Thread(target=lambda: api.get("orders/"))
    held.start()
    deadline = time.monotonic() + 30
    while sandbox.control("GET", "faults")["faults"]:  # the fault is used up once the request has arrived
        assert time.monotonic() < deadline, "the held request never arrived"
        time.sleep(0.02)
    sandbox.reset()
    api.create()
    held.join(timeout=30)
    assert [(r["method"], r["path"]) for r in sandbox.requests_seen()] == [("POST", "/tasking/v2/orders/")]


def test_drop_fault(sandbox, api):
    sandbox.fault(path="orders", kind="drop", count=1)
    with pytest.raises(requests.ConnectionError):
        api.get("orders/")
    assert api.get("orders/").status_code == 200


def test_malformed_fault(sandbox, api):
    sandbox.fault(path="orders", kind="malformed", count=1)
    response = api.get("orders/")
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()


def test_fault_after_processing_creates_the_order(sandbox, api):
    sandbox.fault(path=r"/orders/$", method="POST", kind="status", status=502, when="after", count=1)
    response = api.post("orders/", {"name": "ghost", "geometry": {"type": "Point", "coordinates": [1, 1]}})
    assert response.status_code == 502
    assert [o["name"] for o in api.get("orders/").json()["results"]] == ["ghost"]


def test_drop_after_processing_creates_the_order(sandbox, api):
    sandbox.fault(path=r"/orders/$", method="POST", kind="drop", when="after", count=1)
    with pytest.raises(requests.ConnectionError):
        api.post("orders/", {"name": "ghost", "geometry": {"type": "Point", "coordinates": [1, 1]}})
    assert api.get("orders/").json()["count"] == 1


def test_rate_fault_is_deterministic(sandbox):
    def run() -> list:
        sandbox.reset()
        sandbox.fault(path="orders", kind="status", status=503, rate=0.5)
        client = Client(sandbox.tasking_url, sandbox.api_key)
        return [client.get("orders/").status_code for _ in range(30)]

    first, second = run(), run()
    assert first == second
    assert 0 < first.count(503) < 30


def test_faults_listing_and_clearing(sandbox, api):
    sandbox.fault(path="orders", kind="status", status=500, count=3)
    listed = sandbox.control("GET", "faults")["faults"]
    assert len(listed) == 1 and listed[0]["remaining"] == 3
    sandbox.clear_faults()
    assert sandbox.control("GET", "faults")["faults"] == []
    assert api.get("orders/").status_code == 200


def test_invalid_fault_spec(sandbox):
    response = requests.post(sandbox.root + "/sandbox/faults", json={"path": "(", "kind": "explode"}, timeout=10)
    assert response.status_code == 400 and {"path", "kind"} <= set(response.json())


def test_204_has_no_content_length_and_keeps_the_connection(sandbox, api):
    order = api.create()
    response = api.delete(f"orders/{order['id']}/")
    assert response.status_code == 204 and "Content-Length" not in response.headers
    assert api.get("orders/").status_code == 200  # the same kept-alive connection still works


def test_bad_control_bodies_are_400(sandbox):
    for body in ({"advance_seconds": "soon"}, {"speed": None}, ["not", "an", "object"]):
        response = requests.post(sandbox.root + "/sandbox/clock", json=body, timeout=10)
        assert response.status_code == 400, body
