"""The Orders workflows without a widget: cancel with the caller's charge consent, edit rules, the mirror in place by id."""

from __future__ import annotations

from dataclasses import replace

import pytest
from qgis.core import QgsFeatureRequest, QgsProject

from core.app.cancel import CancelWorkflow, cancel_with_consent, cancellable, charge_question
from core.app.edit import EditWorkflow, edit_problems
from core.app.orders_mirror import OrdersMirror
from core.names import CAPTURES_LAYER, ORDERS_LAYER
from tests.fakes.orders import T0, FakeOrdersClient, SyncTasks, make_capture, make_order

pytestmark = pytest.mark.usefixtures("qgis_app")


def two_orders_one_charged():
    orders = [make_order(1), make_order(2)]
    return orders, FakeOrdersClient(orders, charged=[orders[1].id])


def test_declining_the_charge_cancels_only_the_free_ones_and_charges_nothing():
    orders, client = two_orders_one_charged()
    asked = []
    outcome, declined = cancel_with_consent(client, orders, lambda notices: asked.append(notices) or False)
    assert [n.order_id for n in asked[0]] == [orders[1].id] and asked[0][0].cost_text == "12 km² of quota"
    assert outcome.cancelled == [orders[0].id] and declined == 1
    assert client.cancelled() == [orders[0].id]
    assert all(not accepted for _, accepted in client.cancel_calls)  # no charged request was ever sent
    assert outcome.summary(declined) == "1 order(s) cancelled. 1 not cancelled: the charge was not accepted."


def test_accepting_the_charge_cancels_the_charged_ones_with_the_charge_accepted():
    orders, client = two_orders_one_charged()
    outcome, declined = cancel_with_consent(client, orders, lambda notices: True)
    assert sorted(outcome.cancelled) == client.cancelled() == sorted(o.id for o in orders) and declined == 0
    assert client.cancel_calls[-1] == (orders[1].id, True)
    assert outcome.summary() == "2 order(s) cancelled."


def test_the_consent_is_asked_only_when_the_service_wants_a_charge():
    orders = [make_order(1)]
    client = FakeOrdersClient(orders)
    outcome, declined = cancel_with_consent(client, orders, lambda notices: pytest.fail("asked"))
    assert outcome.cancelled == [orders[0].id] and declined == 0


def test_the_cancel_workflow_asks_between_the_free_and_the_charged_attempt():
    orders, client = two_orders_one_charged()
    tasks = SyncTasks()
    workflow = CancelWorkflow(lambda: client, tasks.run)
    ended = []
    workflow.finished.connect(lambda outcome, declined: ended.append((outcome, declined)))
    questions = []
    workflow.start(orders, lambda notices: questions.append(charge_question(notices)) or True)
    assert tasks.started == ["Cancelling tasking orders", "Cancelling tasking orders (charge accepted)"]
    assert "will be charged" in questions[0] and "Accept the cancellation charge and cancel?" in questions[0]
    outcome, declined = ended[0]
    assert sorted(outcome.cancelled) == client.cancelled() and declined == 0


def test_the_service_rules_say_which_orders_may_be_cancelled():
    allowed, refused = cancellable([make_order(1), make_order(2, status="FULFILLED")], T0)
    assert [o.id for o in allowed] == ["order-0001"]
    assert refused[0][0].id == "order-0002" and "cannot be cancelled" in refused[0][1]


def test_edit_is_checked_by_the_service_rules_then_saved_and_read_back():
    order = make_order(1)
    assert edit_problems(order, {"name": "x" * 1000}, T0)  # the service's name limit
    client = FakeOrdersClient([order])
    saved = []
    workflow = EditWorkflow(lambda: client, SyncTasks().run)
    workflow.saved.connect(saved.append)
    assert workflow.save(order.id, {"name": "renamed"})
    assert client.edits == [(order.id, {"name": "renamed"})] and saved[0].name == "renamed"


def run_mirror(mirror: OrdersMirror) -> None:
    mirror.refresh({"ordering": "-created_time"})
    while mirror.busy():
        mirror._tick()


def test_the_mirror_writes_orders_and_captures_and_updates_them_in_place_by_id():
    project = QgsProject()
    orders = [make_order(n) for n in range(1, 6)]
    client = FakeOrdersClient(orders, [make_capture(n, orders[n - 1].id) for n in range(1, 4)])
    mirror = OrdersMirror(project, lambda: client, SyncTasks())
    ended = []
    mirror.ended.connect(ended.append)
    run_mirror(mirror)
    assert ended == [None]
    assert [layer.name() for layer in (mirror.orders_layer, mirror.captures_layer)] == [ORDERS_LAYER, CAPTURES_LAYER]
    assert mirror.orders_layer.featureCount() == 5 and mirror.captures_layer.featureCount() == 3
    fids = {f["id"]: f.id() for f in mirror.orders_layer.getFeatures()}

    # One order renamed (and so touched), one gone: written in place, the gone one removed with its capture.
    client.orders[orders[0].id] = replace(orders[0], name="renamed", updated_time=T0.replace(hour=13))
    del client.orders[orders[1].id]
    del client.captures["capture-0002"]
    run_mirror(mirror)
    after = {f["id"]: (f.id(), f["name"]) for f in mirror.orders_layer.getFeatures(QgsFeatureRequest())}
    assert after[orders[0].id] == (fids[orders[0].id], "renamed")  # the same feature, changed in place
    assert orders[1].id not in after and len(after) == 4
    assert sorted(f["id"] for f in mirror.captures_layer.getFeatures()) == ["capture-0001", "capture-0003"]
    assert mirror.captures_of([orders[0].id]) == ["capture-0001"]


def test_a_reused_table_shows_only_this_run_and_is_emptied_off_the_main_thread(monkeypatch):
    """Another (unsaved) project left rows in the profile's tables; a new project's mirror reuses the tables
    without emptying them on the main thread (the run's task does, before listing) and ends with exactly what
    the service lists, the feature counts the Layers panel shows included."""
    from core import layer_store

    stale = [make_order(n) for n in range(101, 131)]
    first = OrdersMirror(QgsProject(), lambda: FakeOrdersClient(stale, [make_capture(101, stale[0].id)]), SyncTasks())
    run_mirror(first)
    assert first.orders_layer.featureCount() >= 30

    emptied_on = []
    real_empty = layer_store.empty_tables
    monkeypatch.setattr(layer_store, "empty_tables",
                        lambda path, tables: (emptied_on.append(sorted(tables)), real_empty(path, tables)))
    orders = [make_order(n) for n in range(1, 4)]
    client = FakeOrdersClient(orders, [make_capture(1, orders[0].id)])
    mirror = OrdersMirror(QgsProject(), lambda: client, SyncTasks())
    mirror.ensure_layers()
    assert emptied_on == []  # taking the layers deleted nothing: that is the run's task's work
    run_mirror(mirror)
    assert emptied_on == [["captures", "orders"]]
    assert sorted(f["id"] for f in mirror.orders_layer.getFeatures()) == sorted(order.id for order in orders)
    assert [f["id"] for f in mirror.captures_layer.getFeatures()] == ["capture-0001"]
    assert mirror.orders_layer.featureCount() == 3 and mirror.captures_layer.featureCount() == 1
    run_mirror(mirror)  # a second run finds its own rows and empties nothing
    assert emptied_on == [["captures", "orders"]] and mirror.orders_layer.featureCount() == 3


def test_the_mirror_writes_as_many_features_a_step_as_the_tick_budget_allows(monkeypatch):
    """A step writes what fits in the rest of the tick at the measured cost of a feature: a slow store gets
    small slices (so one step never holds the GUI long), every order still written exactly once."""
    from core import layers as layer_tools
    from core.app import orders_mirror

    orders = [make_order(n) for n in range(1, 301)]
    mirror = OrdersMirror(QgsProject(), lambda: FakeOrdersClient(orders, []), SyncTasks())
    sizes = []
    real_apply = layer_tools.apply_prepared
    monkeypatch.setattr(layer_tools, "apply_prepared",
                        lambda layer, part, **kw: (sizes.append(len(part)), real_apply(layer, part, **kw))[1])
    mirror.feature_cost = 1.0  # a store far slower than the budget: the smallest slices
    run_mirror(mirror)
    assert sizes and set(sizes) == {orders_mirror.MIN_SLICE} and sum(sizes) == 300
    assert mirror.orders_layer.featureCount() == 300

    sizes.clear()
    mirror.feature_cost = 1e-9  # a store far faster: slices as big as allowed
    orders[:] = [replace(order, name="renamed", updated_time=T0.replace(hour=13)) for order in orders]
    mirror.client_factory = lambda: FakeOrdersClient(orders, [])
    run_mirror(mirror)
    assert max(sizes) > orders_mirror.MIN_SLICE and max(sizes) <= orders_mirror.LAYER_SLICE
    assert {f["name"] for f in mirror.orders_layer.getFeatures()} == {"renamed"}


class _Unreachable:
    """A client of a service that is down: every call fails as a refused connection does."""

    def __getattr__(self, name):
        from core.errors import NetworkError

        def refused(*_args, **_kwargs):
            raise NetworkError("Connection refused", url="http://127.0.0.1:9/tasking/v2/orders/")
        return refused


def test_a_map_run_failing_after_a_refresh_was_asked_gives_way_to_that_refresh():
    from core.app import orders_mirror
    """The service was down when a map run started and is back when Refresh is pressed while that run's
    failure is still on its way: the refresh asked for runs (with a client made then) and the map shows the
    orders; the older run's failure is not said over the orders it then shows."""
    orders = [make_order(n) for n in range(1, 4)]
    clients = [_Unreachable()]
    mirror = OrdersMirror(QgsProject(), lambda: clients[-1], SyncTasks())
    said, ended = [], []
    mirror.failed.connect(said.append)
    mirror.ended.connect(ended.append)
    mirror.refresh({"ordering": "-created_time"})  # its listing fails (read by the next ticks)
    clients.append(FakeOrdersClient(orders, [make_capture(1, orders[0].id)]))
    mirror.refresh({"ordering": "-created_time"})  # Refresh pressed while that run is being read
    while mirror.busy():
        mirror._tick()
    # The failed run is not taken for a success (the tab would take the service for back): it gives way.
    assert said == [] and ended == [orders_mirror.SUPERSEDED, None]
    assert sorted(f["id"] for f in mirror.orders_layer.getFeatures()) == sorted(order.id for order in orders)

    # Down again with no refresh asked meanwhile: the failure is said and the run ends stopped.
    clients.append(_Unreachable())
    run_mirror(mirror)
    assert len(said) == 1 and said[0].startswith("Loading the map failed") and ended[-1] == "stopped"
