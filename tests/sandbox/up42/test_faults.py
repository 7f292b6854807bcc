"""Faults, the request log, reset and restart apply to UP42's routes as to every API of the sandbox."""

from __future__ import annotations

import requests

from tests.sandbox.helpers import start_server, stop_server
from tests.sandbox.up42.helpers import Up42, parse, v2_body


def test_a_status_fault_answers_it_with_retry_after(sandbox, up42):
    sandbox.fault(path=r"^/v2/orders/estimate$", kind="status", status=503, retry_after=7)
    answer = up42.post("/v2/orders/estimate", v2_body(sandbox.now()))
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "7"
    assert up42.post("/v2/orders/estimate", v2_body(sandbox.now())).status_code == 200  # count 1: once only


def test_a_fault_after_placing_loses_the_answer_but_not_the_order(sandbox, up42):
    sandbox.fault(path=r"^/v2/orders$", method="POST", kind="drop", when="after")
    try:
        up42.post("/v2/orders", v2_body(sandbox.now(), name="lost answer"), params={"workspaceId": up42.workspace})
        raise AssertionError("the connection should have been dropped")
    except requests.ConnectionError:
        pass
    listed = up42.get("/v2/orders").json()["content"]
    assert [o["displayName"] for o in listed] == ["lost answer"]


def test_malformed_and_delayed_answers_on_the_login_and_the_schema(sandbox):
    sandbox.fault(path=r"/openid-connect/token$", kind="malformed")
    broken = requests.post(sandbox.root + "/realms/public/protocol/openid-connect/token", timeout=30, data={
        "grant_type": "password", "username": sandbox.api_key, "password": sandbox.api_key, "client_id": "up42-sdk"})
    assert broken.status_code == 200
    try:
        broken.json()
        raise AssertionError("half a JSON body should not parse")
    except ValueError:
        pass
    up42 = Up42(sandbox.root, sandbox.api_key)
    sandbox.fault(path=r"^/orders/schema/", kind="status", status=429, count=2)
    assert up42.get("/orders/schema/bd102407-1814-4f92-8b5a-7697b7a73f5a").status_code == 429
    assert up42.get("/orders/schema/bd102407-1814-4f92-8b5a-7697b7a73f5a").status_code == 429
    assert up42.get("/orders/schema/bd102407-1814-4f92-8b5a-7697b7a73f5a").status_code == 200


def test_the_request_log_shows_up42_requests_and_reset_empties_its_orders(sandbox, up42):
    up42.place(v2_body(sandbox.now()))
    seen = [(r["method"], r["path"], r["status"]) for r in sandbox.requests_seen()]
    assert ("POST", "/realms/public/protocol/openid-connect/token", 200) in seen
    assert ("POST", "/v2/orders", 200) in seen
    sandbox.reset()
    assert up42.get("/v2/orders").json()["content"] == []


def test_orders_quotations_and_tokens_survive_a_restart(tmp_path):
    db = str(tmp_path / "up42.sqlite3")
    process, root = start_server(["--db", db, "--speed", "0", "--seed", "5"])
    try:
        up42 = Up42(root, "sandbox")
        (order_id,) = up42.place(v2_body(up42_now(root)))
        requests.post(root + "/sandbox/clock", json={"advance_seconds": 3 * 3600}, timeout=30)
        quotation = up42.only("/v2/tasking/quotation", orderId=order_id)
    finally:
        assert stop_server(process) == 0
    process, root = start_server(["--db", db, "--speed", "0"])
    try:
        up42.root = root  # the same token: signed with the seed the database remembers
        assert up42.only("/v2/tasking/quotation", orderId=order_id) == quotation
        assert up42.patch(f"/v2/tasking/quotation/{quotation['id']}", {"decision": "ACCEPTED"}).status_code == 200
        requests.post(root + "/sandbox/clock", json={"advance_seconds": 40 * 86400}, timeout=30)
        assert up42.order(order_id)["status"] == "FULFILLED"
    finally:
        assert stop_server(process) == 0


def up42_now(root):
    return parse(requests.get(root + "/sandbox/clock", timeout=30).json()["now"])


def test_demo_data_shows_every_step_of_tasking(tmp_path):
    process, root = start_server(["--db", str(tmp_path / "demo.sqlite3"), "--speed", "0", "--seed", "3", "--demo"])
    try:
        up42 = Up42(root, "sandbox")
        listed = up42.get("/v2/orders", params={"size": 50}).json()["content"]
        seen = {o["displayName"]: (o["status"], o["orderDetails"]["subStatus"]) for o in listed}
        assert seen == {
            "Demo: Hamburg, Capella SAR (just placed)": ("CREATED", None),
            "Demo: Lyon, SPOT (quotation to answer)": ("PLACED", "QUOTATION_WAITING_RESPONSE"),
            "Demo: Rotterdam, Pléiades Neo (feasibility study to answer)": ("PLACED", "FEASIBILITY_WAITING_RESPONSE"),
            "Demo: Vienna, WorldView (quotation rejected)": ("FAILED_PERMANENTLY", "QUOTATION_REJECTED"),
            "Demo: Berlin, Pléiades (fulfilled)": ("FULFILLED", "QUOTATION_ACCEPTED"),
        }
        assert [o["displayName"] for o in listed][0] == "Demo: Hamburg, Capella SAR (just placed)"
        assert up42.get("/v2/tasking/quotation", params={"decision": "NOT_DECIDED"}).json()["totalElements"] == 1
        planet = requests.get(root + "/tasking/v2/orders/", headers={"Authorization": "api-key sandbox"}, timeout=30)
        assert planet.json()["count"] > 0  # the other APIs' demo data is there too
    finally:
        assert stop_server(process) == 0
