"""core.services.planet_tasking.cancellations and core.app.cancel: today's count as the documents describe it, and the charge only when the service asks."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs

import pytest

from core.app.cancel import cancel_orders, charge_question
from core.errors import CancellationChargeRequired
from core.services.planet_tasking.cancellations import cancellations_today, counts_today, midnight_utc
from core.services.planet_tasking.models import Order
from tests.conftest import SandboxServer
from tests.integration.order_states import assured_windows, create_assured, make_client, sim_now

FREE = 2


@pytest.fixture(scope="module")
def charged_server():
    server = SandboxServer(extra_args=["--free-cancellations", str(FREE)])
    yield server
    server.stop()


@pytest.fixture
def charged(charged_server):
    charged_server.reset()
    return charged_server


def test_counts_today_follows_the_document():
    midnight = datetime(2024, 5, 1, tzinfo=timezone.utc)
    assert midnight_utc(datetime(2024, 5, 1, 23, 59, tzinfo=timezone.utc)) == midnight
    assert counts_today(Order(id="a", status="PENDING_CANCELLATION"), midnight)  # no cancelled_time, still counts
    assert counts_today(Order(id="b", status="CANCELLED", cancelled_time=midnight + timedelta(seconds=1)), midnight)
    # Changed today (updated_time) but cancelled yesterday: not one of today's.
    assert not counts_today(Order(id="c", status="CANCELLED", cancelled_time=midnight - timedelta(seconds=1),
                                  updated_time=midnight + timedelta(hours=1)), midnight)
    assert not counts_today(Order(id="d", status="CANCELLED"), midnight)
    assert not counts_today(Order(id="e", status="IN_PROGRESS"), midnight)


def test_the_documented_query_is_sent(sandbox):
    client = make_client(sandbox)
    tally = cancellations_today(client, "PL-1", now=sim_now(sandbox))
    assert tally.used() == 0
    query = parse_qs([r for r in sandbox.requests_seen() if r["path"].endswith("/orders/")][-1]["query"])
    assert query["status__in"] == ["CANCELLED,PENDING_CANCELLATION"]
    assert query["pl_number"] == ["PL-1"] and query["scheduling_type"] == ["ASSURED"]
    assert query["updated_time__gt"][0].startswith(sim_now(sandbox).strftime("%Y-%m-%dT00:00:00"))
    assert set(query["fields"][0].split(",")) >= {"name", "cancelled_time", "id"}


def test_the_count_matches_when_the_service_starts_charging(charged):
    client = make_client(charged)
    free = charged.control("GET", "accounts")["accounts"][0]["free_cancellations"]
    assert free == FREE
    now = sim_now(charged)
    to_midnight = midnight_utc(now) + timedelta(days=1) - now
    if to_midnight < timedelta(hours=3):
        # The count starts again at each UTC midnight, and this test's day lasts ~20 simulated minutes: run late
        # in the evening (the sandbox's clock starts at the real time), it begins just after the next midnight.
        charged.advance(int(to_midnight.total_seconds()) + 60)
        now = sim_now(charged)
    windows = [w for w in assured_windows(charged, client) if w.start_time > now + timedelta(hours=2)]
    orders = [create_assured(client, w.id, f"assured {n}") for n, w in enumerate(windows[:FREE + 2])]
    flexible = client.create_order({"name": "flexible", "geometry": {"type": "Point", "coordinates": [5, 45]}})
    contract = orders[0].pl_number
    client.cancel_order(flexible.id)  # flexible cancellations are not counted and never charged
    assert cancellations_today(client, contract, now=sim_now(charged)).used(contract) == 0
    for n, subject in enumerate(orders[:FREE]):
        client.cancel_order(subject.id)
        assert cancellations_today(client, contract, now=sim_now(charged)).used(contract) == n + 1
    with pytest.raises(CancellationChargeRequired):
        client.cancel_order(orders[FREE].id)

    outcome = cancel_orders(client, orders[FREE:])
    assert outcome.cancelled == [] and [n.order_id for n in outcome.charge_required] == [o.id for o in orders[FREE:]]
    assert all(n.pricing is not None and n.pricing.estimated_quota_cost for n in outcome.charge_required)
    question = charge_question(outcome.charge_required)
    assert "will be charged" in question and outcome.charge_required[0].cost_text in question
    assert {client.get_order(o.id).status for o in orders[FREE:]} == {"RECEIVED"}  # nothing was cancelled

    accepted = cancel_orders(client, orders[FREE:FREE + 1], accept_cancellation_charge=True)
    assert accepted.cancelled == [orders[FREE].id]
    charged_deletes = [r for r in charged.requests_seen()
                       if r["method"] == "DELETE" and "accept_cancellation_charge=true" in (r["query"] or "")]
    assert len(charged_deletes) == 1
    # PENDING_CANCELLATION counts without a cancelled_time; after the service finishes it, cancelled_time does.
    assert cancellations_today(client, contract, now=sim_now(charged)).used(contract) == FREE + 1
    charged.advance(600)
    statuses = {client.get_order(o.id).status for o in orders[:FREE + 1]}
    assert statuses == {"CANCELLED"}
    everything = cancellations_today(client, now=sim_now(charged))
    assert everything.used() == FREE + 1 and everything.used(contract) == FREE + 1
    # The next UTC day starts from zero.
    charged.advance(86400)
    assert cancellations_today(client, contract, now=sim_now(charged)).used() == 0
