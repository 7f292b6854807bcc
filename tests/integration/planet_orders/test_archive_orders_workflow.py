"""The Orders tab's archive workflow (core.app.archive_orders) against the sandbox's Orders API: listing with the
tab's filters, the queue depth, a cancel, a refused cancel and a bulk cancel, through the registry's service."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.app import archive_orders as archive
from core.services.planet_orders.client import OrdersClient
from core.services.planet_orders.forms import scenes_request

ITEM_A = "20220304_093300_37_2430"
ITEM_B = "20220305_093440_25_2429"


@pytest.fixture
def orders(sandbox):
    client = OrdersClient(sandbox.root + "/compute/ops/", sandbox.api_key, sleep=sandbox.sleep, timeout=30.0,
                          lookup_patience=0.0)
    yield client
    client.close()


def test_the_archive_service_is_found_by_its_capability_with_its_states():
    assert archive.archive_service_id() == "planet_orders"
    assert archive.archive_states() == ("queued", "running", "success", "partial", "failed", "cancelled")


def test_listing_applies_state_type_time_and_name_filters(sandbox, orders):
    early = orders.create_order(scenes_request("Chamonix early", [ITEM_A]))
    sandbox.advance(45)  # early is running now
    late = orders.create_order(scenes_request("Zermatt late", [ITEM_B]))
    every = archive.list_orders(orders, archive.ArchiveFilter())
    assert [o.id for o in every] == [late.id, early.id]
    assert [o.id for o in archive.list_orders(orders, archive.ArchiveFilter(states=("running",)))] == [early.id]
    assert [o.id for o in archive.list_orders(orders, archive.ArchiveFilter(name_contains="zermatt"))] == [late.id]
    assert archive.list_orders(orders, archive.ArchiveFilter(source_type="basemaps")) == []
    after = archive.ArchiveFilter(created_after=late.created_on - timedelta(seconds=1))
    assert [o.id for o in archive.list_orders(orders, after)] == [late.id]
    # early started (was modified) 30 s after its creation, late was made 45 s after it.
    started = archive.ArchiveFilter(updated_before=late.created_on - timedelta(seconds=1))
    assert [o.id for o in archive.list_orders(orders, started)] == [early.id]
    assert archive.list_orders(orders, archive.ArchiveFilter(
        updated_after=early.created_on + timedelta(seconds=31), updated_before=late.created_on - timedelta(seconds=1))) == []
    # Only tasking states ticked, or a tasking-only filter set: no archive order matches, nothing is asked.
    asked = len(sandbox.requests_seen())
    assert archive.list_orders(orders, archive.ArchiveFilter(states=())) == []
    assert archive.list_orders(orders, archive.ArchiveFilter(nothing=True)) == []
    assert len(sandbox.requests_seen()) == asked


def test_queue_depth_counts_queued_and_running(sandbox, orders):
    assert archive.queue_depth(orders) == archive.QueueDepth(0, 0)
    orders.create_order(scenes_request("first", [ITEM_A]))
    sandbox.advance(45)
    orders.create_order(scenes_request("second", [ITEM_A]))
    orders.create_order(scenes_request("third", [ITEM_B]))
    depth = archive.queue_depth(orders)
    assert depth == archive.QueueDepth(queued=2, running=1)
    assert depth.summary() == "Archive queue: 2 queued, 1 running."


def test_a_queued_order_is_cancelled_and_a_running_one_is_refused_with_the_reason(sandbox, orders):
    running = orders.create_order(scenes_request("running", [ITEM_A]))
    sandbox.advance(45)
    queued = orders.create_order(scenes_request("queued", [ITEM_A]))
    assert archive.can_cancel(queued) and not archive.can_cancel(orders.get_order(running.id))
    assert "is running" in archive.can_cancel(orders.get_order(running.id)).reason

    outcome, fresh = archive.cancel_one(orders, queued.id)
    assert outcome.cancelled == [queued.id] and fresh.state == "cancelled"
    assert orders.get_order(queued.id).state == "cancelled"

    refused, fresh = archive.cancel_one(orders, running.id)
    assert fresh is None and refused.cancelled == []
    assert "only queued orders can be cancelled" in refused.refused[running.id]
    assert orders.get_order(running.id).state == "running"
    assert refused.summary().startswith("0 archive orders cancelled. Refused: ")


def test_bulk_cancel_cancels_the_queued_and_names_each_refusal(sandbox, orders):
    running = orders.create_order(scenes_request("running", [ITEM_A]))
    sandbox.advance(45)
    queued = [orders.create_order(scenes_request(f"queued {n}", [ITEM_B])) for n in range(3)]
    outcome = archive.cancel_many(orders, [o.id for o in queued] + [running.id])
    assert outcome.count == 3 and sorted(outcome.cancelled) == sorted(o.id for o in queued)
    assert list(outcome.refused) == [running.id] and "running" in outcome.refused[running.id]
    assert {orders.get_order(o.id).state for o in queued} == {"cancelled"}
    assert orders.get_order(running.id).state == "running"
    assert archive.queue_depth(orders) == archive.QueueDepth(0, 1)
