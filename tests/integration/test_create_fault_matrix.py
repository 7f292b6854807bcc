"""Every injected fault on a create, before and after the service made it, however slow: one order, never two."""

from __future__ import annotations

import email.utils
import time
from datetime import datetime, timedelta, timezone
from typing import List, Optional, Tuple

import pytest

from core.errors import Cancelled, OrderCreationUncertain, RateLimitedError, ServerError
from core.services.planet_tasking.client import TaskingClient

POINT = {"type": "Point", "coordinates": [13.350097, 52.514511]}
ORDERS = r"^/tasking/v2/orders/$"
BULK = r"^/tasking/v2/bulk/$"
# The client's timeout in the slow-service cases; the sandbox is made slower than it by various amounts.
CLIENT_TIMEOUT = 0.3


class Waits:
    """A `sleep` that records each wait and really sleeps a sliver of it (at most `pace` s).

    The waits asked for are what is checked (Retry-After, back-off); the sliver lets real time pass
    while a client keeps looking for an order a slow sandbox is still making, without the test lasting
    as long as the waits it records.
    """

    def __init__(self, pace: float = 0.05):
        self.waits: List[float] = []
        self.pace = pace

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        time.sleep(min(seconds, self.pace))


@pytest.fixture
def waits() -> Waits:
    return Waits()


def make_client(sandbox, waits: Waits, timeout: float = 5.0, **kwargs) -> TaskingClient:
    return TaskingClient(sandbox.tasking_url, sandbox.api_key, sleep=waits, timeout=timeout, max_retries=4, **kwargs)


def posts(sandbox, path_end: str = "/orders/") -> List[dict]:
    return [r for r in sandbox.requests_seen() if r["method"] == "POST" and r["path"].endswith(path_end)]


def orders_named(sandbox, name: str) -> int:
    # Counted by a separate client with no fault in its way, straight from the sandbox.
    return TaskingClient(sandbox.tasking_url, sandbox.api_key, sleep=lambda s: None).count_orders(name=name)


def until_posts_logged(sandbox, count: int, path_end: str = "/orders/", deadline_seconds: float = 30.0) -> None:
    """Wait until the sandbox has finished `count` POSTs (it logs a request once it is done with it), so a
    slow POST's late order is counted and cannot land in the next test."""
    deadline = time.monotonic() + deadline_seconds
    while len(posts(sandbox, path_end)) < count:
        assert time.monotonic() < deadline, "the sandbox never finished the POST"
        time.sleep(0.02)


def create_once(sandbox, client: TaskingClient, name: str, expected_posts: int):
    order = client.create_order({"name": name, "geometry": POINT})
    until_posts_logged(sandbox, expected_posts)
    return order


# --- answered faults: the server is done with the POST when its answer arrives ------------------------


ANSWERED_FAULTS: List[Tuple[str, dict]] = [
    ("429", dict(kind="status", status=429)),
    ("429 Retry-After", dict(kind="status", status=429, retry_after=2)),
    ("500", dict(kind="status", status=500)),
    ("502", dict(kind="status", status=502)),
    ("503", dict(kind="status", status=503)),
    ("503 Retry-After", dict(kind="status", status=503, retry_after=3)),
    ("dropped connection", dict(kind="drop")),
    ("malformed answer", dict(kind="malformed")),
]


@pytest.mark.parametrize("when", ["before", "after"])
@pytest.mark.parametrize("label,fault", ANSWERED_FAULTS, ids=[label for label, _ in ANSWERED_FAULTS])
def test_a_create_under_an_answered_fault_makes_exactly_one_order(sandbox, waits, label, fault, when):
    sandbox.fault(path=ORDERS, method="POST", count=1, when=when, **fault)
    name = f"matrix {label} {when}"
    processed = when == "after"
    order = create_once(sandbox, make_client(sandbox, waits), name, expected_posts=1 if processed else 2)
    assert order.name == name
    assert orders_named(sandbox, name) == 1
    # Made by the first POST: found by the look-up, never sent again. Not made: proved absent, sent once more.
    assert len(posts(sandbox)) == (1 if processed else 2)
    retry_after = fault.get("retry_after")
    if retry_after is not None:
        # The first wait (before the look-up) is the one the service asked for, plus at most 10 % jitter.
        assert retry_after <= waits.waits[0] <= retry_after * 1.1


# --- a service slower than the client's timeout: the POST may still be running when the client gives up --


@pytest.mark.parametrize("when", ["before", "after"])
@pytest.mark.parametrize("delay", [0.6, 1.5, 3.0])
def test_a_create_slower_than_the_timeout_is_found_not_sent_again(sandbox, waits, delay, when):
    # "before": the service sits on the POST for `delay` s and only then makes the order, long after the
    # client's timeout (and after the few seconds of looking the plugin used to allow); "after": the order
    # is made at once and the answer is late.
    sandbox.fault(path=ORDERS, method="POST", kind="delay", delay_seconds=delay, when=when, count=1)
    client = make_client(sandbox, waits, timeout=CLIENT_TIMEOUT)
    name = f"slow {delay} {when}"
    started = time.monotonic()
    order = create_once(sandbox, client, name, expected_posts=1)
    assert order.name == name and orders_named(sandbox, name) == 1
    assert len(posts(sandbox)) == 1
    if when == "before":
        # It kept looking until the service had made the order: that is, for at least the delay.
        assert time.monotonic() - started >= delay - 0.05
        assert len(waits.waits) >= 2


def test_a_create_the_service_has_not_made_within_the_patience_is_uncertain_not_resent(sandbox, waits):
    sandbox.fault(path=ORDERS, method="POST", kind="delay", delay_seconds=2.5, when="before", count=1)
    client = make_client(sandbox, waits, timeout=CLIENT_TIMEOUT, lookup_patience=0.8)
    with pytest.raises(OrderCreationUncertain) as raised:
        client.create_order({"name": "too slow", "geometry": POINT})
    message = str(raised.value)
    assert "may still be creating it" in message and "Check the order list" in message
    until_posts_logged(sandbox, 1)
    # The service did make it in the end: one order, from the one POST; the user was told to check.
    assert orders_named(sandbox, "too slow") == 1 and len(posts(sandbox)) == 1


# --- Retry-After on a create, in both of its forms, and its cap --------------------------------------


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_gateway_timeout_on_a_create_is_looked_for_and_never_sent_again(sandbox, waits, when):
    # 504: a gateway gave up waiting, so the service may still be making the order; no look-up can prove it
    # absent. Made ("after"): found. Not made ("before"): uncertain once the patience runs out, not re-sent.
    sandbox.fault(path=ORDERS, method="POST", kind="status", status=504, when=when, count=1)
    client = make_client(sandbox, waits, lookup_patience=0.8)
    name = f"gateway {when}"
    if when == "after":
        assert client.create_order({"name": name, "geometry": POINT}).name == name
    else:
        with pytest.raises(OrderCreationUncertain):
            client.create_order({"name": name, "geometry": POINT})
    until_posts_logged(sandbox, 1)
    assert len(posts(sandbox)) == 1
    assert orders_named(sandbox, name) == (1 if when == "after" else 0)


def test_retry_after_as_an_http_date_is_honoured_on_a_create(sandbox, waits):
    later = email.utils.format_datetime(datetime.now(timezone.utc) + timedelta(seconds=6), usegmt=True)
    sandbox.fault(path=ORDERS, method="POST", kind="status", status=503, retry_after=later, when="before", count=1)
    order = create_once(sandbox, make_client(sandbox, waits), "dated", expected_posts=2)
    assert orders_named(sandbox, "dated") == 1 and order.name == "dated"
    # The date is whole seconds, and some time passed before the answer was read: between 4 and 6.6 s.
    assert 4.0 <= waits.waits[0] <= 6.6


def test_a_retry_after_beyond_the_cap_is_not_waited_for_and_nothing_is_resent(sandbox, waits):
    sandbox.fault(path=ORDERS, method="POST", kind="status", status=429, retry_after=3600, when="before", count=1)
    with pytest.raises(RateLimitedError) as raised:
        make_client(sandbox, waits).create_order({"name": "capped", "geometry": POINT})
    assert "asked to wait 3600 s" in str(raised.value) and "nothing more was sent" in str(raised.value)
    assert all(w < 120 for w in waits.waits)
    assert orders_named(sandbox, "capped") == 0 and len(posts(sandbox)) == 1


def test_a_capped_429_after_the_order_was_made_still_finds_it(sandbox, waits):
    sandbox.fault(path=ORDERS, method="POST", kind="status", status=429, retry_after=3600, when="after", count=1)
    order = make_client(sandbox, waits).create_order({"name": "made anyway", "geometry": POINT})
    assert order.name == "made anyway" and orders_named(sandbox, "made anyway") == 1
    assert len(posts(sandbox)) == 1 and all(w < 120 for w in waits.waits)


def test_the_wait_the_service_asked_for_is_reported(sandbox, waits):
    told: List[Tuple[float, str]] = []
    sandbox.fault(path=ORDERS, method="POST", kind="status", status=429, retry_after=4, when="before", count=1)
    client = make_client(sandbox, waits, on_wait=lambda seconds, text: told.append((seconds, text)))
    create_once(sandbox, client, "reported", expected_posts=2)
    asked = [(seconds, text) for seconds, text in told if "as the service asked" in text]
    assert len(asked) == 1 and 4.0 <= asked[0][0] <= 4.4 and "waiting 4 s" in asked[0][1]
    last: Optional[Tuple[float, str]] = client.last_wait
    assert last is not None and last == told[-1]


def test_repeated_5xx_on_a_create_back_off_exponentially(sandbox, waits):
    client = make_client(sandbox, waits)
    client.transport.random_fraction = lambda: 1.0  # the top of each full-jitter range
    sandbox.fault(path=ORDERS, method="POST", kind="status", status=503, when="before", count=3)
    create_once(sandbox, client, "backing off", expected_posts=4)
    assert waits.waits == [0.5, 1.0, 2.0]
    assert orders_named(sandbox, "backing off") == 1


def test_a_create_that_keeps_failing_ends_in_the_servers_error_with_one_order_at_most(sandbox, waits):
    client = TaskingClient(sandbox.tasking_url, sandbox.api_key, sleep=waits, max_retries=2)
    sandbox.fault(path=ORDERS, method="POST", kind="status", status=500, when="after", count=1)
    # Made by the first POST although the answer was a 500: found, not sent again.
    assert client.create_order({"name": "made once", "geometry": POINT}).name == "made once"
    # Never made: sent again after each proof of absence, max_retries times, then the server's error.
    sandbox.fault(path=ORDERS, method="POST", kind="status", status=500, when="before", count=5)
    with pytest.raises(ServerError):
        client.create_order({"name": "never made", "geometry": POINT})
    assert orders_named(sandbox, "made once") == 1 and orders_named(sandbox, "never made") == 0
    assert len(posts(sandbox)) == 1 + 3


# --- bulk: the same rule, looked up by its own id ---------------------------------------------------------


def test_a_503_with_retry_after_on_a_bulk_is_waited_out_before_it_is_sent_again(sandbox, waits):
    sandbox.fault(path=BULK, method="POST", kind="status", status=503, retry_after=3, when="before", count=1)
    bulk_id = make_client(sandbox, waits).create_bulk([{"name": "bulk wait", "geometry": POINT}])
    assert 3.0 <= waits.waits[0] <= 3.3
    assert len(posts(sandbox, "/bulk/")) == 2
    TaskingClient(sandbox.tasking_url, sandbox.api_key, sleep=sandbox.advance).wait_bulk(bulk_id)
    assert orders_named(sandbox, "bulk wait") == 1


@pytest.mark.parametrize("fault", [dict(kind="status", status=429), dict(kind="delay", delay_seconds=1.0)],
                         ids=["429", "slower than the timeout"])
def test_a_bulk_the_service_received_is_not_sent_again(sandbox, waits, fault):
    sandbox.fault(path=BULK, method="POST", when="after", count=1, **fault)
    client = make_client(sandbox, waits, timeout=CLIENT_TIMEOUT)
    bulk_id = client.create_bulk([{"name": "bulk once", "geometry": POINT}])
    until_posts_logged(sandbox, 1, "/bulk/")
    TaskingClient(sandbox.tasking_url, sandbox.api_key, sleep=sandbox.advance).wait_bulk(bulk_id)
    assert len(posts(sandbox, "/bulk/")) == 1 and orders_named(sandbox, "bulk once") == 1


def test_cancelling_while_a_slow_create_is_looked_for_ends_uncertain_and_sends_nothing_more(sandbox, waits):
    # The service sits on the POST far longer than the client waits; the user cancels while the plugin looks.
    sandbox.fault(path=ORDERS, method="POST", kind="delay", delay_seconds=3.0, when="before", count=1)
    client = make_client(sandbox, waits, timeout=CLIENT_TIMEOUT)  # the default patience: minutes
    looks = []
    started = time.monotonic()

    def cancelled() -> bool:
        looks.append(time.monotonic())
        return len(looks) >= 2

    with pytest.raises(OrderCreationUncertain) as raised:
        client.create_order({"name": "cancelled look", "geometry": POINT}, is_canceled=cancelled)
    assert "cancelled" in str(raised.value) and "Check the order list" in str(raised.value)
    assert time.monotonic() - started < 3.0  # stopped looking at once, not after the patience
    until_posts_logged(sandbox, 1)
    assert len(posts(sandbox)) == 1 and orders_named(sandbox, "cancelled look") == 1


def test_cancelling_after_absence_was_proved_sends_nothing_and_orders_nothing(sandbox, waits):
    sandbox.fault(path=ORDERS, method="POST", kind="status", status=503, when="before", count=1)
    client = make_client(sandbox, waits)
    with pytest.raises(Cancelled):
        client.create_order({"name": "cancelled resend", "geometry": POINT}, is_canceled=lambda: True)
    assert len(posts(sandbox)) == 1 and orders_named(sandbox, "cancelled resend") == 0
