"""The process: CLI contract, persistence across a restart, and concurrent clients losing nothing."""

from __future__ import annotations

import signal
import threading
import time
import uuid

import requests

from tests.sandbox.helpers import Client, point, start_server, stop_server


def _control(root: str, method: str, path: str, body=None):
    response = requests.request(method, root + "/sandbox/" + path, json=body, timeout=30)
    return response.json() if response.content else None


def test_default_key_and_clean_sigterm():
    process, root = start_server(["--db", ":memory:", "--speed", "0"])
    try:
        assert root.startswith("http://127.0.0.1:")
        assert Client(root + "/tasking/v2/", "sandbox").get("orders/").status_code == 200
        assert Client(root + "/tasking/v2/", "other").get("orders/").status_code == 401
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


def test_speed_moves_the_clock():
    process, root = start_server(["--db", ":memory:", "--speed", "3600"])
    try:
        first = _control(root, "GET", "clock")
        assert first["speed"] == 3600
        client = Client(root + "/tasking/v2/", "sandbox")
        order = client.create(name="fast")
        # Real time has to pass here (the point is that nothing else moves the clock), but how much a
        # busy machine needs is not ours to guess: poll, with a generous deadline, until the order moved
        # on by itself (~18 simulated minutes, 0.3 s at this speed).
        seen = [order["status"]]
        deadline = time.monotonic() + 30
        while seen[-1] != "IN_PROGRESS" and time.monotonic() < deadline:
            time.sleep(0.02)
            status = client.order(order["id"])["status"]
            if status != seen[-1]:
                seen.append(status)
        assert seen[0] == "RECEIVED" and seen[-1] == "IN_PROGRESS", seen
        assert _control(root, "GET", "clock")["now"] > first["now"]
    finally:
        stop_server(process)


def test_state_survives_a_restart(tmp_path):
    db = str(tmp_path / "sandbox.sqlite3")
    args = ["--db", db, "--speed", "0", "--seed", "9", "--api-key", "sandbox", "--api-key", "other-org"]
    process, root = start_server(args)
    try:
        client = Client(root + "/tasking/v2/", "sandbox")
        orders = [client.create(name=f"kept {i}") for i in range(5)]
        client.delete(f"orders/{orders[0]['id']}/")
        _control(root, "POST", "clock", {"advance_seconds": 5 * 86400})
        search = client.search(point(13.35, 52.51)).json()
        bulk_id = str(uuid.uuid4())
        client.post("bulk/", {"id": bulk_id, "order_payloads": [{"name": "b", "geometry": point(1, 1)}]})
        _control(root, "POST", "clock", {"advance_seconds": 300})
        before_orders = client.get("orders/?limit=100").json()
        before_captures = client.get("captures/?limit=1000").json()
        before_search = client.get(f"imaging-windows/search/{search['id']}/").json()
        before_bulk = client.get(f"bulk/{bulk_id}/payloads/").json()
        before_clock = _control(root, "GET", "clock")["now"]
        assert before_captures["count"] > 0 and before_search["status"] == "DONE"
    finally:
        assert stop_server(process) == 0
    process, root = start_server(args)
    try:
        client = Client(root + "/tasking/v2/", "sandbox")
        assert _control(root, "GET", "clock")["now"] == before_clock

        def same(url, before):
            after = client.get(url).json()
            assert after["count"] == before["count"]
            assert [r["id"] for r in after["results"]] == [r["id"] for r in before["results"]]
            return after

        after_orders = client.get("orders/?limit=100").json()
        assert after_orders["results"] == before_orders["results"]
        same("captures/?limit=1000", before_captures)
        after_bulk = client.get(f"bulk/{bulk_id}/payloads/").json()
        assert after_bulk["results"] == before_bulk["results"]
        assert client.get(f"imaging-windows/search/{search['id']}/").json() == before_search
        # The simulation carries on from where it stopped, and new ids never collide with stored ones.
        _control(root, "POST", "clock", {"advance_seconds": 30 * 86400})
        assert all(client.order(o["id"])["status"] in ("FULFILLED", "EXPIRED", "CANCELLED") for o in orders)
        fresh = client.create(name="after restart")
        assert fresh["id"] not in {o["id"] for o in before_orders["results"]}
    finally:
        stop_server(process)


def test_concurrent_clients_lose_nothing(sandbox):
    threads, created, errors = [], [], []
    lock = threading.Lock()

    def creator(index: int) -> None:
        client = Client(sandbox.tasking_url, sandbox.api_key)
        for number in range(25):
            response = client.post("orders/", {"name": f"t{index}-{number}", "geometry": point(10 + index, 45)})
            with lock:
                (created if response.status_code == 201 else errors).append(response.json())

    def lister() -> None:
        client = Client(sandbox.tasking_url, sandbox.api_key)
        for _ in range(25):
            response = client.get("orders/?limit=1000")
            body = response.json()
            ids = [o["id"] for o in body["results"]]
            with lock:
                if response.status_code != 200 or len(ids) != len(set(ids)) or body["count"] != len(ids):
                    errors.append(body)

    for index in range(8):
        threads.append(threading.Thread(target=creator, args=(index,)))
    for _ in range(3):
        threads.append(threading.Thread(target=lister))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    listed = Client(sandbox.tasking_url, sandbox.api_key).get("orders/?limit=1000").json()
    assert listed["count"] == 200 == len(created)
    assert {o["id"] for o in listed["results"]} == {o["id"] for o in created}
    assert sorted(o["name"] for o in listed["results"]) == sorted(o["name"] for o in created)


def test_concurrent_bulks_with_one_id(sandbox):
    bulk_id = str(uuid.uuid4())
    statuses = []

    def post() -> None:
        client = Client(sandbox.tasking_url, sandbox.api_key)
        statuses.append(client.post("bulk/", {"id": bulk_id, "order_payloads": [
            {"name": "once", "geometry": point(1, 1)}]}).status_code)

    threads = [threading.Thread(target=post) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [202] + [400] * 5
    sandbox.advance(5)
    assert Client(sandbox.tasking_url, sandbox.api_key).get("orders/").json()["count"] == 1


def test_start_option_fixes_the_clock():
    process, root = start_server(["--db", ":memory:", "--speed", "0", "--start", "2030-06-01T10:00:00Z"])
    try:
        assert _control(root, "GET", "clock")["now"] == "2030-06-01T10:00:00.000000Z"
    finally:
        stop_server(process)


def test_work_in_flight_resumes_after_a_restart(tmp_path):
    args = ["--db", str(tmp_path / "flight.sqlite3"), "--speed", "0", "--seed", "5"]
    process, root = start_server(args)
    try:
        client = Client(root + "/tasking/v2/", "sandbox")
        location = client.post("bulk/", {"order_payloads": [{"name": f"b{i}", "geometry": point(1, 1)}
                                                            for i in range(200)]}).headers["Location"]
        search = client.search(point(13.35, 52.51)).json()
        order = client.create(name="pending work")
    finally:
        assert stop_server(process) == 0
    process, root = start_server(args)
    try:
        client = Client(root + "/tasking/v2/", "sandbox")
        assert client.get(location.split("/tasking/v2/", 1)[1]).json()["status"] == "PENDING"
        _control(root, "POST", "clock", {"advance_seconds": 300})
        assert client.get(location.split("/tasking/v2/", 1)[1]).json()["successful_payload_count"] == 200
        assert client.get(f"imaging-windows/search/{search['id']}/").json()["status"] == "DONE"
        assert client.order(order["id"])["status"] == "IN_PROGRESS"
    finally:
        stop_server(process)


def test_demo_replays_a_week_including_an_assured_order():
    # --demo seeds through the same rules as the API: its imaging-window search sends the required fields.
    process, root = start_server(["--db", ":memory:", "--speed", "0", "--seed", "1", "--demo",
                                  "--start", "2030-06-01T10:00:00Z"])
    try:
        client = Client(root + "/tasking/v2/", "sandbox")
        orders = client.get("orders/?limit=1000").json()["results"]
        names = {o["name"] for o in orders}
        assert {"Demo: cancelled", "Demo: just received", "Demo: Berlin assured"} <= names
        assert {o["status"] for o in orders} >= {"CANCELLED", "RECEIVED"}
    finally:
        assert stop_server(process) == 0
