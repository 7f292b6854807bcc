"""Injected faults: retries honour Retry-After and back off, creates are reconciled, errors stay clear."""

from __future__ import annotations

import time
from typing import List

import pytest
import requests

from core.errors import (
    MalformedResponseError,
    NetworkError,
    OrderCreationUncertain,
    RateLimitedError,
    RequestTimeoutError,
    ServerError,
)
from core.services.planet_tasking.client import TaskingClient

POINT = {"type": "Point", "coordinates": [13.350097, 52.514511]}
ORDERS = r"^/tasking/v2/orders/$"
BULK = r"^/tasking/v2/bulk/$"


class Waits:
    """A `sleep` that only records: retries run at once and the waits can be inspected."""

    def __init__(self):
        self.waits: List[float] = []
        self.hook = None

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.hook is not None:
            self.hook()


@pytest.fixture
def waits() -> Waits:
    return Waits()


@pytest.fixture
def client(sandbox, waits) -> TaskingClient:
    return TaskingClient(sandbox.tasking_url, sandbox.api_key, sleep=waits, timeout=5.0, max_retries=4)


def seen(sandbox, method: str, path_end: str = "/orders/"):
    return [r for r in sandbox.requests_seen() if r["method"] == method and r["path"].endswith(path_end)]


def order_count(sandbox) -> int:
    # Counted by a separate client that has no faults in its way, straight from the sandbox.
    return TaskingClient(sandbox.tasking_url, sandbox.api_key, sleep=lambda s: None).count_orders()


# --- safe requests: retried --------------------------------------------------------------------------


def test_429_retry_after_is_honoured(client, sandbox, waits):
    sandbox.fault(path=ORDERS, method="GET", kind="status", status=429, retry_after=3, count=2)
    page = client.list_orders()
    assert page.count == 0
    assert len(waits.waits) == 2 and all(3.0 <= w <= 3.3 for w in waits.waits)
    assert [r["status"] for r in seen(sandbox, "GET")] == [429, 429, 200]


def test_5xx_is_retried_with_growing_backoff(client, sandbox, waits):
    sandbox.fault(path=ORDERS, method="GET", kind="status", status=503, count=3)
    client.list_orders()
    assert len(waits.waits) == 3
    # Exponential with full jitter: each wait lies in [0, base*2^n].
    for attempt, wait in enumerate(waits.waits):
        assert 0 <= wait <= 0.5 * 2 ** attempt
    assert [r["status"] for r in seen(sandbox, "GET")] == [503, 503, 503, 200]
    # The ceiling doubles with every retry: drawn at its top, the waits are exactly base*2^n.
    client.transport.random_fraction = lambda: 1.0
    sandbox.fault(path=ORDERS, method="GET", kind="status", status=503, count=3)
    client.list_orders()
    assert waits.waits[3:] == [0.5, 1.0, 2.0]


def test_retry_after_on_a_503_is_honoured_too(client, sandbox, waits):
    sandbox.fault(path=ORDERS, method="GET", kind="status", status=503, retry_after=4, count=1)
    client.list_orders()
    assert len(waits.waits) == 1 and 4.0 <= waits.waits[0] <= 4.4


def test_persistent_5xx_ends_in_a_clear_server_error(sandbox, waits):
    client = TaskingClient(sandbox.tasking_url, sandbox.api_key, sleep=waits, max_retries=2)
    sandbox.fault(path=ORDERS, method="GET", kind="status", status=500, count=10)
    with pytest.raises(ServerError) as raised:
        client.list_orders()
    assert raised.value.status == 500 and "Try again later" in str(raised.value)
    assert len(seen(sandbox, "GET")) == 3 and len(waits.waits) == 2


def test_rate_limit_that_persists_is_a_rate_limited_error(sandbox, waits):
    client = TaskingClient(sandbox.tasking_url, sandbox.api_key, sleep=waits, max_retries=1)
    sandbox.fault(path=ORDERS, method="GET", kind="status", status=429, retry_after=2, count=5)
    with pytest.raises(RateLimitedError) as raised:
        client.list_orders()
    assert raised.value.retry_after == 2 and "Wait 2 s" in str(raised.value)


def test_a_long_retry_after_is_left_to_the_user(client, sandbox, waits):
    sandbox.fault(path=ORDERS, method="GET", kind="status", status=429, retry_after=3600, count=1)
    with pytest.raises(RateLimitedError) as raised:
        client.list_orders()
    assert raised.value.retry_after == 3600 and waits.waits == []


def test_dropped_connection_on_a_read_is_retried(client, sandbox, waits):
    sandbox.fault(path=ORDERS, method="GET", kind="drop", count=2)
    assert client.list_orders().count == 0
    assert len(waits.waits) == 2


def test_malformed_body_on_a_read_is_retried_then_reported(sandbox, waits):
    client = TaskingClient(sandbox.tasking_url, sandbox.api_key, sleep=waits, max_retries=1)
    sandbox.fault(path=ORDERS, method="GET", kind="malformed", count=1)
    assert client.list_orders().count == 0
    sandbox.fault(path=ORDERS, method="GET", kind="malformed", count=2)
    with pytest.raises(MalformedResponseError) as raised:
        client.list_orders()
    assert isinstance(raised.value, NetworkError) and "could not be read" in str(raised.value)


def test_delay_beyond_the_timeout_is_a_timeout_error(sandbox, waits):
    client = TaskingClient(sandbox.tasking_url, sandbox.api_key, sleep=waits, timeout=0.3, max_retries=0)
    sandbox.fault(path=ORDERS, method="GET", kind="delay", delay_seconds=1.5, count=1)
    session = client.transport.session
    calls = []
    real_request = session.request

    def recording(method, url, **kwargs):
        call = {"timeout": kwargs.get("timeout"), "raised": None}
        calls.append(call)
        try:
            return real_request(method, url, **kwargs)
        except requests.RequestException as exc:
            call["raised"] = exc
            raise

    session.request = recording
    with pytest.raises(RequestTimeoutError) as raised:
        client.list_orders()
    assert "did not answer within 0.3 s" in str(raised.value)
    # Gave up by itself at its own timeout (the socket's read timed out, the server's answer was still
    # 1.5 s away), once, rather than waiting for the answer or retrying: no stopwatch needed for that.
    assert [c["timeout"] for c in calls] == [0.3]
    assert isinstance(calls[0]["raised"], requests.exceptions.ReadTimeout)
    assert waits.waits == []


def test_delay_within_the_timeout_is_fine(sandbox, waits):
    client = TaskingClient(sandbox.tasking_url, sandbox.api_key, sleep=waits, timeout=3.0)
    sandbox.fault(path=ORDERS, method="GET", kind="delay", delay_seconds=0.3, count=1)
    assert client.list_orders().count == 0 and waits.waits == []


def test_refused_connection_is_a_clear_network_error():
    client = TaskingClient("http://127.0.0.1:9/tasking/v2/", "k" * 32, sleep=lambda s: None, max_retries=1)
    with pytest.raises(NetworkError) as raised:
        client.get_order("00000000-0000-4000-8000-000000000000")
    assert "Could not connect to 127.0.0.1:9" in str(raised.value) and raised.value.status is None


# --- creates: reconciled, never duplicated ---------------------------------------------------------------


@pytest.mark.parametrize("fault", [
    dict(kind="drop", when="after"),
    dict(kind="drop", when="before"),
    dict(kind="status", status=503, when="after"),
    dict(kind="status", status=502, when="before"),
    dict(kind="status", status=500, when="after"),
    dict(kind="malformed", when="after"),
])
def test_create_survives_the_fault_without_a_duplicate(client, sandbox, fault):
    sandbox.fault(path=ORDERS, method="POST", count=1, **fault)
    order = client.create_order({"name": "exactly once", "geometry": POINT})
    assert order.name == "exactly once"
    assert order_count(sandbox) == 1
    assert client.get_order(order.id).id == order.id
    processed = fault.get("when") == "after"
    assert len(seen(sandbox, "POST")) == (1 if processed else 2)


def until_logged(sandbox, method: str, deadline_seconds: float = 30.0) -> None:
    """Poll the sandbox's request log until a `method` request to /orders/ is in it (the server logs a
    request once it has handled it), with a deadline rather than a guess at how long that takes."""
    deadline = time.monotonic() + deadline_seconds
    while not seen(sandbox, method):
        assert time.monotonic() < deadline, f"the sandbox never finished the {method}"
        time.sleep(0.02)


def test_create_after_a_timeout_finds_the_order_the_server_went_on_to_make(sandbox, waits):
    client = TaskingClient(sandbox.tasking_url, sandbox.api_key, sleep=waits, timeout=0.5)
    sandbox.fault(path=ORDERS, method="POST", kind="delay", delay_seconds=1.0, count=1)
    # The client's pause before looking the order up lasts until the server went on to make it, so
    # the test does not depend on the backoff outlasting the delay on this machine.
    waits.hook = lambda: until_logged(sandbox, "POST")
    order = client.create_order({"name": "slow", "geometry": POINT})
    assert order.name == "slow" and order_count(sandbox) == 1
    assert len(seen(sandbox, "POST")) == 1 and len(waits.waits) >= 1


def test_rate_limited_create_is_sent_again(client, sandbox, waits):
    sandbox.fault(path=ORDERS, method="POST", kind="status", status=429, retry_after=1, count=1)
    order = client.create_order({"name": "after 429", "geometry": POINT})
    assert order.name == "after 429" and order_count(sandbox) == 1 and len(seen(sandbox, "POST")) == 2 and waits.waits[0] >= 1


def test_reconciliation_ignores_same_named_orders_that_existed_before(client, sandbox):
    older = client.create_order({"name": "twin", "geometry": POINT})
    sandbox.fault(path=ORDERS, method="POST", kind="drop", when="after", count=1)
    newer = client.create_order({"name": "twin", "geometry": POINT})
    assert newer.id != older.id and order_count(sandbox) == 2


def test_ambiguous_reconciliation_sends_nothing_more(client, sandbox, waits):
    other = TaskingClient(sandbox.tasking_url, sandbox.api_key, sleep=lambda s: None)

    def someone_else_creates_the_same_order():
        waits.hook = None
        other.create_order({"name": "clash", "geometry": POINT})

    sandbox.fault(path=ORDERS, method="POST", kind="drop", when="after", count=1)
    waits.hook = someone_else_creates_the_same_order
    with pytest.raises(OrderCreationUncertain) as raised:
        client.create_order({"name": "clash", "geometry": POINT})
    assert len(raised.value.candidates) == 2 and "Check the order list" in str(raised.value)
    assert order_count(sandbox) == 2 and len(seen(sandbox, "POST")) == 2


def test_an_unnamed_create_that_may_have_been_made_is_not_resent(client, sandbox):
    sandbox.fault(path=ORDERS, method="POST", kind="drop", when="after", count=1)
    with pytest.raises(OrderCreationUncertain):
        client.create_order({"geometry": POINT})
    assert len(seen(sandbox, "POST")) == 1


def test_create_gives_up_clearly_when_the_server_keeps_failing(sandbox, waits):
    client = TaskingClient(sandbox.tasking_url, sandbox.api_key, sleep=waits, max_retries=2)
    sandbox.fault(path=ORDERS, method="POST", kind="status", status=503, when="before", count=10)
    with pytest.raises(ServerError):
        client.create_order({"name": "never", "geometry": POINT})
    assert order_count(sandbox) == 0 and len(seen(sandbox, "POST")) == 3


# --- bulk: re-sent under its own id --------------------------------------------------------------------


@pytest.mark.parametrize("when", ["after", "before"])
def test_bulk_whose_answer_was_lost_is_not_duplicated(client, sandbox, when):
    sandbox.fault(path=BULK, method="POST", kind="drop", when=when, count=1)
    payloads = [{"name": f"bulk {i}", "geometry": POINT} for i in range(3)]
    bulk_id = client.create_bulk(payloads)
    status = TaskingClient(sandbox.tasking_url, sandbox.api_key, sleep=sandbox.advance).wait_bulk(bulk_id)
    assert status.successful_payload_count == 3
    assert order_count(sandbox) == 3
    # Looked up by its id before anything is sent again: a bulk the service received is not re-sent.
    assert len(seen(sandbox, "POST", "/bulk/")) == (1 if when == "after" else 2)


def test_bulk_after_a_gateway_error_is_not_duplicated(client, sandbox):
    sandbox.fault(path=BULK, method="POST", kind="status", status=502, when="after", count=1)
    bulk_id = client.create_bulk([{"name": "gw", "geometry": POINT}])
    TaskingClient(sandbox.tasking_url, sandbox.api_key, sleep=sandbox.advance).wait_bulk(bulk_id)
    assert order_count(sandbox) == 1


# --- cancel and edit -------------------------------------------------------------------------------------


def test_cancel_whose_answer_was_lost_is_checked_not_repeated(client, sandbox):
    order = client.create_order({"name": "cancel once", "geometry": POINT})
    sandbox.fault(path=r"^/tasking/v2/orders/[^/]+/$", method="DELETE", kind="drop", when="after", count=1)
    client.cancel_order(order.id)
    assert client.get_order(order.id).status in ("CANCELLED", "PENDING_CANCELLATION")
    assert len(seen(sandbox, "DELETE", f"/orders/{order.id}/")) == 1


def test_cancel_that_never_arrived_is_sent_again(client, sandbox):
    order = client.create_order({"name": "cancel twice", "geometry": POINT})
    sandbox.fault(path=r"^/tasking/v2/orders/[^/]+/$", method="DELETE", kind="status", status=503, when="before", count=1)
    client.cancel_order(order.id)
    assert client.get_order(order.id).status in ("CANCELLED", "PENDING_CANCELLATION")
    assert len(seen(sandbox, "DELETE", f"/orders/{order.id}/")) == 2


def test_edit_is_retried_because_put_is_idempotent(client, sandbox, waits):
    order = client.create_order({"name": "edit", "geometry": POINT})
    sandbox.fault(path=r"^/tasking/v2/orders/[^/]+/$", method="PUT", kind="drop", when="after", count=1)
    assert client.edit_order(order.id, name="edited").name == "edited"
    assert client.get_order(order.id).name == "edited"


def test_pricing_preview_is_retried(client, sandbox, waits):
    sandbox.fault(path=r"^/tasking/v2/pricing/$", method="POST", kind="status", status=503, count=1)
    assert client.preview_pricing({"geometry": POINT}).ok and len(waits.waits) == 1
