"""The New order workflows without a widget: the quote debounce and latest-wins, the search's partial results, placing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from qgis.core import QgsCoordinateReferenceSystem, QgsGeometry, QgsPointXY

from core.aoi import aoi_from_geometry
from core.app.place import PlaceOrderWorkflow
from core.app.quote import QuoteWorkflow
from core.app.window_search import WindowSearchWorkflow
from core.services.planet_tasking.forms import ASSURED, STEREO, OrderForm, utc_now
from tests.fakes.new_order import FakeNewOrderClient

WAIT_MS = 10_000

pytestmark = pytest.mark.usefixtures("qgis_app")


@pytest.fixture
def aoi():
    return aoi_from_geometry(QgsGeometry.fromPointXY(QgsPointXY(13.4, 52.52)),
                             QgsCoordinateReferenceSystem("EPSG:4326"))


@pytest.fixture
def client():
    return FakeNewOrderClient()


def a_form(**changes) -> OrderForm:
    now = utc_now()
    values = dict(name="Site", start_time=now + timedelta(minutes=5), end_time=now + timedelta(days=3),
                  pl_number="PL-1")
    values.update(changes)
    return OrderForm(**values)


class Current:
    """What the user has in the form now; tests change it between questions."""

    def __init__(self, form, aoi):
        self.form, self.aoi = form, aoi

    def __call__(self):
        return self.form, self.aoi


def test_three_quick_edits_ask_for_one_quote_of_the_last_state(qtbot, client, aoi):
    current = Current(a_form(), aoi)
    quoting = QuoteWorkflow(current, lambda: client, delay_ms=100)
    for pov in (2, 3, 2):
        current.form = a_form(order_type=STEREO, n_stereo_pov=pov)
        quoting.schedule()
    assert client.pricing_bodies == [] and not quoting.is_current()
    with qtbot.waitSignal(quoting.quoted, timeout=WAIT_MS) as quoted:
        pass
    assert len(client.pricing_bodies) == 1 and client.pricing_bodies[0]["n_stereo_pov"] == 2
    assert quoted.args[0].estimated_quota_cost == 50.0 and quoting.is_current()
    # The same form again: nothing is asked.
    with qtbot.waitSignal(quoting.unchanged, timeout=WAIT_MS):
        quoting.request()
    assert len(client.pricing_bodies) == 1
    quoting.shutdown()


def test_a_start_time_the_clock_passes_does_not_outdate_the_quote_but_a_new_start_does(qtbot, client, aoi):
    # A new form starts a minute ahead; once that minute has passed the order is sent to start "when received"
    # (no start_time). That changes no price, so the quote shown stays the form's and Place asks no second one.
    current = Current(a_form(start_time=utc_now() + timedelta(seconds=1)), aoi)
    quoting = QuoteWorkflow(current, lambda: client)
    with qtbot.waitSignal(quoting.quoted, timeout=WAIT_MS):
        quoting.request()
    assert "start_time" in client.pricing_bodies[0]
    qtbot.waitUntil(lambda: current.form.start_time < utc_now(), timeout=WAIT_MS)
    qtbot.wait(50)
    assert quoting.is_current()
    with qtbot.waitSignal(quoting.unchanged, timeout=WAIT_MS):
        quoting.request()
    assert len(client.pricing_bodies) == 1
    # The user sets another start: that is another question.
    current.form = a_form(start_time=utc_now() + timedelta(hours=2))
    assert not quoting.is_current()
    with qtbot.waitSignal(quoting.quoted, timeout=WAIT_MS):
        quoting.request()
    assert len(client.pricing_bodies) == 2 and quoting.is_current()
    quoting.shutdown()


def test_an_old_answer_arriving_after_a_newer_one_is_dropped(qtbot, client, aoi):
    current = Current(a_form(order_type=STEREO, n_stereo_pov=3), aoi)
    quoting = QuoteWorkflow(current, lambda: client)
    client.hold_pricing = STEREO  # the first question's answer comes late
    quoting.request()
    qtbot.waitUntil(lambda: len(client.pricing_bodies) == 1, timeout=WAIT_MS)
    current.form = a_form()
    with qtbot.waitSignal(quoting.quoted, timeout=WAIT_MS) as quoted:
        quoting.request()
    assert quoted.args[0].estimated_quota_cost == 25.0
    client.release_pricing()
    qtbot.waitUntil(lambda: quoting.stale_answers_ignored == 1, timeout=WAIT_MS)
    assert quoting.quote.estimated_quota_cost == 25.0 and quoting.is_current()
    quoting.shutdown()


def test_a_form_that_cannot_be_priced_asks_nothing(qtbot, client):
    quoting = QuoteWorkflow(Current(a_form(), None), lambda: client)
    with qtbot.waitSignal(quoting.unavailable, timeout=WAIT_MS) as unavailable:
        quoting.request()
    assert "geometry" in unavailable.args[0] and client.pricing_bodies == []


def test_no_client_is_said_and_nothing_is_asked(qtbot, aoi):
    quoting = QuoteWorkflow(Current(a_form(), aoi), lambda: None)
    with qtbot.waitSignals([quoting.clientUnavailable, quoting.noClient], timeout=WAIT_MS):
        quoting.request()
    assert quoting.task is None


def search_flow(client) -> WindowSearchWorkflow:
    return WindowSearchWorkflow(lambda: client, poll_seconds=0.05, max_poll_seconds=0.1)


def test_a_search_hands_on_its_partial_results_then_the_finished_list(qtbot, client, aoi):
    client.hold_search = True
    searching = search_flow(client)
    seen = []
    searching.partial.connect(lambda state: seen.append([w.id for w in state.imaging_windows]))
    assert searching.start(a_form(scheduling_type=ASSURED), aoi, replacing=False, exclusivity_days=0)
    # Each state lists every window found so far: the newest one is what is handed on.
    qtbot.waitUntil(lambda: bool(seen) and seen[-1] == ["w-1", "w-2", "w-3"], timeout=WAIT_MS)
    assert searching.running and [w.id for w in searching.search.imaging_windows] == ["w-1", "w-2", "w-3"]
    with qtbot.waitSignal(searching.done, timeout=WAIT_MS) as done:
        client.release_search()
    assert [w.id for w in done.args[0].imaging_windows] == ["w-1", "w-2", "w-3", "w-4"]
    assert not searching.running and searching.search is done.args[0]


def test_a_cancelled_search_keeps_the_windows_found(qtbot, client, aoi):
    client.hold_search = True
    searching = search_flow(client)
    assert searching.start(a_form(scheduling_type=ASSURED), aoi, replacing=False, exclusivity_days=0)
    qtbot.waitUntil(lambda: searching.search is not None and len(searching.search.imaging_windows) == 3,
                    timeout=WAIT_MS)
    with qtbot.waitSignal(searching.cancelled, timeout=WAIT_MS):
        searching.cancel()
    assert not searching.running and len(searching.search.imaging_windows) == 3
    # Cleared (a new AOI): the search and its late answers are gone.
    with qtbot.waitSignal(searching.cleared, timeout=WAIT_MS):
        searching.clear()
    assert searching.search is None


def test_a_search_without_a_contract_is_refused_before_anything_is_sent(qtbot, client, aoi):
    searching = search_flow(client)
    with qtbot.waitSignal(searching.refused, timeout=WAIT_MS) as refused:
        assert not searching.start(a_form(scheduling_type=ASSURED, pl_number=""), aoi, replacing=False,
                                   exclusivity_days=0)
    assert "pl_number" in refused.args[0] and searching.task is None


def test_placing_prices_first_asks_the_callback_and_sends_once(qtbot, client, aoi, monkeypatch):
    current = Current(a_form(), aoi)
    quoting = QuoteWorkflow(current, lambda: client)
    asked = []

    def confirm(form, aoi, pricing, window):
        asked.append(pricing.estimated_quota_cost)
        return len(asked) > 1  # declines the first time

    placing = PlaceOrderWorkflow(quoting, confirm, lambda: client)
    written = []
    monkeypatch.setattr(placing, "orders_layer", lambda: _Layer(written))
    monkeypatch.setattr(placing.service.layers, "upsert_orders", lambda layer, orders: written.extend(orders))
    with qtbot.waitSignal(placing.declined, timeout=WAIT_MS):
        placing.place(current.form, aoi)
    assert asked == [25.0] and client.created == [] and quoting.is_current()
    with qtbot.waitSignal(placing.placed, timeout=WAIT_MS) as placed:
        placing.place(current.form, aoi)  # the quote is current now: not asked again
    assert len(client.pricing_bodies) == 1 and len(client.created) == 1
    assert placed.args[1].name == "Site" and [o.id for o in written] == ["order-1"]


def test_placing_a_form_with_problems_sends_nothing(qtbot, client):
    placing = PlaceOrderWorkflow(QuoteWorkflow(Current(a_form(), None), lambda: client),
                                 lambda *args: True, lambda: client)
    with qtbot.waitSignal(placing.checked, timeout=WAIT_MS) as checked:
        placing.place(a_form(name=" "), None)
    assert {"geometry", "name"} <= set(checked.args[0]) and client.created == [] and client.pricing_bodies == []


class _Layer:
    """Stands in for the orders layer: the workflow only repaints it."""

    def __init__(self, written):
        self.written = written

    def triggerRepaint(self):  # noqa: N802 - QGIS API
        pass
