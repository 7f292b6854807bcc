"""The New order panel in real QGIS against the sandbox: draw, quote, search, place, replace, and the errors."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from qgis.core import (
    Qgis,
    QgsCoordinateTransform,
    QgsFeature,
    QgsGeometry,
    QgsPointXY,
    QgsProject,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtWidgets import QPushButton

from core import layers
from core.services.planet_tasking import layers as planet_layers
from core.services.planet_tasking.client import TaskingClient
from core.services.planet_tasking.forms import ASSURED, CONTRACT_NEEDED, utc_now
from ui.dock import TaskingDock
from ui.new_order.panel import NewOrderPanel

from ..canvas_input import BERLIN, WGS84, click, offset, pixel, release_canvas, show_canvas_around, to_canvas_crs
from ..confirmations import Confirmations

WAIT_MS = 20_000

pytestmark = pytest.mark.usefixtures("clean_settings")


# --- canvas and mouse ---------------------------------------------------------------------------------


@pytest.fixture
def canvas(qgis_canvas, qgis_parent):
    """The session canvas at ~800 × 600 px in Web Mercator over ~80 km around Berlin."""
    yield show_canvas_around(qgis_canvas, qgis_parent)
    release_canvas(qgis_canvas, qgis_parent)


def click_at(canvas, lon_lat, button=Qt.MouseButton.LeftButton) -> None:
    click(canvas, pixel(canvas, *lon_lat), button)


# --- panel --------------------------------------------------------------------------------------------


@pytest.fixture
def client_factory(sandbox):
    return lambda: TaskingClient(sandbox.tasking_url, sandbox.api_key, max_retries=1)


@pytest.fixture
def client(sandbox):
    return TaskingClient(sandbox.tasking_url, sandbox.api_key)


def sandbox_contract(sandbox) -> str:
    """The default contract of the sandbox key, as GET /sandbox/accounts lists it."""
    accounts = sandbox.control("GET", "accounts")["accounts"]
    return next(a for a in accounts if a["api_key"] == sandbox.api_key)["default_pl_number"]


@pytest.fixture
def panel(qgis_iface, qgis_new_project, canvas, client_factory, qtbot, clean_settings, sandbox):
    qgis_iface.messageBar().clear_messages()
    qgis_iface.messageBar().clearWidgets()
    # The user's contract, as entered in the settings: imaging-window searches require it.
    clean_settings.set_pl_number(sandbox_contract(sandbox))
    panel = NewOrderPanel(client_factory, qgis_iface)
    qtbot.addWidget(panel)
    panel.confirm = Confirmations()
    panel.search_poll_seconds = 0.2
    # New windows of a running search show up within a second of the sandbox's clock moving.
    panel.search_max_poll_seconds = 1.0
    panel.resize(360, 900)
    panel.show()
    yield panel
    panel.shutdown()
    qtbot.waitUntil(lambda: all(t is None or _finished(t) for t in
                                (panel.quote_task, panel.search_task, panel.order_task)), timeout=WAIT_MS)


def _finished(task) -> bool:
    try:
        return task.delivered
    except RuntimeError:
        return True


def api_requests(sandbox, method: str, path_part: str):
    return [r for r in sandbox.requests_seen() if r["method"] == method and path_part in r["path"]]


def draw_point(panel, lon_lat=BERLIN):
    panel.tool_buttons["point"].click()
    click_at(panel.canvas, lon_lat)


def draw_strip(panel, start=BERLIN, north_km=20.0):
    panel.tool_buttons["strip"].click()
    click_at(panel.canvas, start)
    click_at(panel.canvas, offset(*start, north_km=north_km))


def draw_polygon(panel, corners_km=((0, 0), (8, 0), (8, 6), (0, 6))):
    panel.tool_buttons["polygon"].click()
    corners = [offset(*BERLIN, east_km=e, north_km=n) for e, n in corners_km]
    for corner in corners:
        click_at(panel.canvas, corner)
    click_at(panel.canvas, corners[-1], Qt.MouseButton.RightButton)


def wait_quote(qtbot, panel):
    qtbot.waitUntil(panel.quote_is_current, timeout=WAIT_MS)
    return panel.quote_label.text()


def place(qtbot, panel):
    before = panel.last_order
    panel.place_button.click()
    qtbot.waitUntil(lambda: panel.last_order is not before, timeout=WAIT_MS)
    return panel.last_order


def set_scheduling(panel, value):
    panel.scheduling_combo.setCurrentIndex(panel.scheduling_combo.findData(value))


def windows_ahead(panel, sandbox, hours: float = 1.0):
    """The listed windows, in table order, that start late enough for an order to be locked in."""
    ahead = sandbox.now() + timedelta(hours=hours)
    listed = map(panel.windows_proxy.window, range(panel.windows_proxy.rowCount()))
    return [w for w in listed if w.start_time > ahead]


def run_search(qtbot, panel, sandbox):
    panel.find_button.click()
    assert panel.search_progress.isVisible() and panel.cancel_search_button.isEnabled()
    qtbot.waitUntil(lambda: bool(api_requests(sandbox, "POST", "imaging-windows/search")), timeout=WAIT_MS)
    # The sandbox's clock stands still in tests: move it past the documented 5 minutes of searching.
    sandbox.advance(300)
    qtbot.waitUntil(lambda: panel.search_task is None, timeout=WAIT_MS)
    assert not panel.search_progress.isVisible()


# --- drawing and quoting -------------------------------------------------------------------------------


def test_a_drawn_point_shows_its_footprint_and_a_quote_with_units_base_price_and_multipliers(panel, qtbot, sandbox):
    draw_point(panel)
    assert panel.aoi is not None and panel.aoi.is_point
    assert panel.aoi_summary.text() == "Point: 5 × 5 km square = 25.0 km²"
    assert panel.footprint.footprint.numberOfVertices() >= 4
    assert panel.footprint.label.text == "Point: 5 × 5 km square = 25.0 km²"
    assert panel.name_edit.text().startswith("Point 52.5")
    text = wait_quote(qtbot, panel)
    assert "Estimated cost: 25.00 km² of quota" in text
    assert "Base price: 25.00 km² of quota" in text
    assert "× 1 imaging mode (single-image)" in text
    assert panel.quote.units == "SQKM"


def test_the_quote_waits_until_changes_settle_and_ignores_stale_answers(panel, qtbot, sandbox):
    draw_point(panel)
    wait_quote(qtbot, panel)
    sandbox.reset()
    # Several quick changes: one request once they settle (debounced), for the last state.
    for index in (1, 2, 1, 2):
        panel.imaging_combo.setCurrentIndex(index)
    assert panel.quote_status.text() == "Updating the quote…"
    text = wait_quote(qtbot, panel)
    assert len(api_requests(sandbox, "POST", "pricing")) == 1
    assert "× 3 imaging mode (stereo-3-pov)" in text and "Estimated cost: 75.00" in text
    # Two requests in flight: the first answer, arriving after the second was asked, is dropped.
    panel.imaging_combo.setCurrentIndex(1)
    panel._quote_timer.stop()
    panel.request_quote()
    panel.imaging_combo.setCurrentIndex(0)
    panel._quote_timer.stop()
    panel.request_quote()
    qtbot.waitUntil(lambda: panel.stale_answers_ignored >= 1, timeout=WAIT_MS)
    text = wait_quote(qtbot, panel)
    assert "Estimated cost: 25.00" in text and "single-image" in text


def cancel_and_wait(qtbot, task) -> None:
    """Cancel a task as QGIS's task manager does, and wait until the panel was told."""
    task.cancel()
    qtbot.waitUntil(lambda: _finished(task), timeout=WAIT_MS)


def test_a_quote_cancelled_in_the_task_manager_says_so_and_the_next_change_quotes_again(panel, qtbot, sandbox):
    draw_point(panel)
    panel._quote_timer.stop()
    panel.request_quote()  # now rather than after the debounce, so the task is at hand
    assert panel.quote_status.text() == "Updating the quote…"
    cancel_and_wait(qtbot, panel.quote_task)
    assert panel.quote_status.text() == "Quote cancelled."
    assert panel.quote_label.text().startswith("No quote: the price preview was cancelled.")
    assert panel.quote is None and panel.quote_task is None and not panel.quote_is_current()
    panel.imaging_combo.setCurrentIndex(1)
    assert panel.quote_status.text() == "Updating the quote…"
    assert "× 2 imaging mode (stereo-2-pov)" in wait_quote(qtbot, panel)
    assert panel.quote_status.text().startswith("Quoted at")


def test_a_price_check_cancelled_while_placing_places_nothing_and_says_so(panel, qtbot, sandbox):
    draw_point(panel)
    wait_quote(qtbot, panel)
    panel.imaging_combo.setCurrentIndex(1)  # the quote is outdated: placing asks for a price first
    panel.place_button.click()
    assert panel.place_status.text() == "Getting the price…" and not panel.place_button.isEnabled()
    cancel_and_wait(qtbot, panel.quote_task)
    assert panel.place_status.text() == "Not placed: getting the price was cancelled."
    assert panel.place_button.isEnabled() and panel.quote_status.text() == "Quote cancelled."
    assert panel.confirm.texts == [] and api_requests(sandbox, "POST", "/orders") == []
    # Trying again works.
    assert place(qtbot, panel).name == panel.name_edit.text()


def test_placing_cancelled_after_the_order_was_sent_shows_the_order_the_service_made(panel, qtbot, sandbox):
    draw_point(panel)
    wait_quote(qtbot, panel)
    # Hold the answer back, so the cancel comes while the POST is in flight.
    sandbox.fault(path=r"^/tasking/v2/orders/$", method="POST", kind="delay", delay_seconds=1.0, when="after",
                  count=1)
    panel.place_button.click()
    task = panel.order_task

    def post_arrived():
        # A used-up fault leaves the list when the request it fires for arrives.
        return sandbox.control("GET", "faults")["faults"] == []

    qtbot.waitUntil(post_arrived, timeout=WAIT_MS)
    cancel_and_wait(qtbot, task)
    # A sent POST cannot be called back: the order exists, so the panel shows it rather than "cancelled".
    assert len(api_requests(sandbox, "POST", "/orders")) == 1
    assert panel.last_order is not None and panel.place_status.text().startswith("Placed “")
    assert [f["id"] for f in panel.orders_layer().getFeatures()] == [panel.last_order.id]
    assert panel.order_task is None and panel.place_button.isEnabled()


def test_use_selected_feature_takes_one_feature_in_the_layers_crs(panel, qtbot, qgis_iface):
    layer = QgsVectorLayer("LineString?crs=EPSG:32633", "strips", "memory")
    start = QgsCoordinateTransform(WGS84, layer.crs(), QgsProject.instance()).transform(QgsPointXY(*BERLIN))
    features = []
    for dx in (0, 30_000):
        feature = QgsFeature()
        feature.setGeometry(QgsGeometry.fromPolylineXY([QgsPointXY(start.x() + dx, start.y()),
                                                        QgsPointXY(start.x() + dx, start.y() + 12_000)]))
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    QgsProject.instance().addMapLayer(layer)
    qgis_iface.setActiveLayer(layer)
    panel.use_selected_features()
    assert "is selected" in panel.field_error("geometry") and panel.aoi is None
    layer.selectAll()
    panel.use_selected_features()
    assert "2 features" in panel.field_error("geometry")
    layer.selectByIds([next(layer.getFeatures()).id()])
    panel.use_selected_features()
    assert panel.aoi is not None and panel.aoi.is_strip
    assert panel.aoi_summary.text().startswith("Strip: 12.0 km × 5 km = 60.0 km²")
    assert "Estimated cost: 60.0" in wait_quote(qtbot, panel)


def test_selected_parcels_that_touch_are_ordered_as_one_area(panel, qtbot, qgis_iface):
    layer = QgsVectorLayer("Polygon?crs=EPSG:32633", "parcels", "memory")
    corner = QgsCoordinateTransform(WGS84, layer.crs(), QgsProject.instance()).transform(QgsPointXY(*BERLIN))
    features = []
    for dx in (0, 3_000, 20_000):  # two neighbours sharing an edge, and one 17 km further east
        feature = QgsFeature()
        x, y = corner.x() + dx, corner.y()
        feature.setGeometry(QgsGeometry.fromPolygonXY([[QgsPointXY(x, y), QgsPointXY(x + 3_000, y),
                                                        QgsPointXY(x + 3_000, y + 3_000), QgsPointXY(x, y + 3_000)]]))
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    QgsProject.instance().addMapLayer(layer)
    qgis_iface.setActiveLayer(layer)
    first, second, far = [f.id() for f in layer.getFeatures()]
    layer.selectByIds([first, second])
    panel.use_selected_features()
    assert panel.aoi is not None and panel.aoi.is_area and panel.aoi.tasked_sqkm == pytest.approx(18.0, rel=0.02)
    assert panel.aoi_summary.text().startswith("2 selected polygons merged into one area.")
    assert "Estimated cost: 18.0" in wait_quote(qtbot, panel)
    # Parcels apart cannot be one order: nothing is kept to send, and the reason is at the AOI.
    layer.selectByIds([first, far])
    panel.use_selected_features()
    assert panel.aoi is None and "make 2 separate areas" in panel.field_error("geometry")
    assert panel.footprint.error is not None


# --- placing orders ------------------------------------------------------------------------------------


def test_place_a_flexible_strip_order_confirmed_with_its_cost_into_the_orders_layer(panel, qtbot, sandbox, client,
                                                                                     qgis_iface):
    draw_strip(panel, north_km=20.0)
    panel.name_edit.clear()
    qtbot.keyClicks(panel.name_edit, "Bridge survey")
    quote = wait_quote(qtbot, panel)
    order = place(qtbot, panel)
    confirmation = panel.confirm.texts[-1]
    assert "Place the flexible image order “Bridge survey”?" in confirmation
    cost = quote.split("Estimated cost: ", 1)[1].split("\n")[0]
    assert f"Cost: {cost}" in confirmation
    # In the sandbox...
    stored = client.get_order(order.id)
    assert stored.name == "Bridge survey" and stored.scheduling_type == "FLEXIBLE"
    assert stored.original_geometry["type"] == "LineString"
    # ...in the orders layer...
    layer = panel.orders_layer()
    assert layer.name() == "Tasking orders" and layers.layer_kind(layer) is planet_layers.ORDERS
    assert [f["name"] for f in layer.getFeatures()] == ["Bridge survey"]
    assert QgsProject.instance().mapLayersByName("Tasking orders") == [layer]
    # ...and the message bar says so, with a button that zooms to it.
    widget = panel.last_message_widget
    assert widget is not None and "Bridge survey" in widget.text()
    zoom = widget.findChild(QPushButton, "zoomToOrderButton")
    zoom.click()
    extent = panel.canvas.extent()
    centre = to_canvas_crs(panel.canvas, QgsPointXY(*offset(*BERLIN, north_km=10)))
    assert extent.contains(centre) and extent.height() < 80_000  # was 130 km: zoomed in on the order
    assert layer.selectedFeatureCount() == 1
    # A second order goes into the same layer, found by its kind (even renamed).
    layer.setName("My orders")
    panel.name_edit.setText("Bridge survey 2")
    wait_quote(qtbot, panel)
    place(qtbot, panel)
    assert sorted(f["name"] for f in layer.getFeatures()) == ["Bridge survey", "Bridge survey 2"]
    assert len(QgsProject.instance().mapLayers()) == 1


def test_closing_the_panel_takes_its_zoom_to_order_messages_off_the_bar(panel, qtbot, qgis_iface):
    draw_point(panel)
    wait_quote(qtbot, panel)
    panel.set_order_name("First")
    place(qtbot, panel)
    first = panel.last_message_widget
    panel.set_order_name("Second")
    wait_quote(qtbot, panel)
    place(qtbot, panel)
    second = panel.last_message_widget
    bar = qgis_iface.messageBar()
    assert first in bar.items() and second in bar.items()
    # Their "Zoom to order" buttons call the panel: after unload nothing may be left to click.
    panel.shutdown()
    assert first not in bar.items() and second not in bar.items()
    assert panel.last_message_widget is None


def test_zoom_to_order_selects_exactly_that_order_whatever_its_id(panel, qtbot):
    draw_point(panel)
    wait_quote(qtbot, panel)
    placed = place(qtbot, panel)
    layer = panel.orders_layer()
    # Ids the service never sends today, but that an expression built from the text would choke on.
    odd = [dataclasses.replace(placed, id=odd_id, name=odd_id) for odd_id in ("o'brien", "x' OR '1'='1")]
    planet_layers.upsert_orders(layer, odd)
    for order in [placed, *odd]:
        layer.removeSelection()
        panel.zoom_to_order(order)
        assert [f["id"] for f in layer.selectedFeatures()] == [order.id]


def test_place_a_stereo_polygon_order(panel, qtbot, client):
    draw_polygon(panel)
    assert panel.aoi is not None and panel.aoi.is_area
    panel.imaging_combo.setCurrentIndex(2)  # stereo, 3 points of view
    text = wait_quote(qtbot, panel)
    assert "× 3 imaging mode (stereo-3-pov)" in text
    order = place(qtbot, panel)
    assert "stereo (3 points of view)" in panel.confirm.texts[-1]
    stored = client.get_order(order.id)
    assert stored.order_type == "STEREO" and stored.n_stereo_pov == 3
    assert stored.original_geometry["type"] == "Polygon"


def test_declining_the_confirmation_sends_nothing(panel, qtbot, sandbox):
    draw_point(panel)
    wait_quote(qtbot, panel)
    panel.confirm.answer = False
    panel.place_button.click()
    assert panel.place_status.text() == "Not placed."
    assert api_requests(sandbox, "POST", "orders") == []


# --- validation before sending, and the server's errors -------------------------------------------------


def test_each_form_problem_is_shown_at_its_field_and_nothing_is_sent(panel, qtbot, sandbox):
    panel.place_button.click()
    assert "Draw a point, a strip or a polygon" in panel.field_error("geometry")
    draw_point(panel)
    panel.name_edit.clear()
    panel.place_button.click()
    assert panel.field_error("name") == "Give the order a name."
    panel.name_edit.setText("x")
    panel.end_edit.setDateTime(panel.start_edit.dateTime().addSecs(-3600))
    assert panel.field_error("end_time") == "The end time must be after the start time."
    panel.end_edit.setDateTime(panel.start_edit.dateTime().addDays(3))
    panel.elevation_min_spin.setValue(80)
    panel.elevation_max_spin.setValue(70)
    assert "is above the highest" in panel.field_error("sat_elevation_angle_min")
    panel.place_button.click()
    assert panel.place_status.text() == "Fix the marked fields; nothing was sent."
    panel.elevation_min_spin.setValue(60)
    panel.elevation_max_spin.setValue(90)
    draw_polygon(panel)
    set_scheduling(panel, ASSURED)
    assert "Assured tasking images a point or a strip" in panel.field_error("geometry")
    draw_point(panel)
    panel.place_button.click()
    assert "choose one" in panel.field_error("imaging_window")
    assert api_requests(sandbox, "POST", "/orders") == []


def test_an_invalid_aoi_is_shown_red_with_the_reason_and_nothing_is_sent(panel, qtbot, sandbox):
    draw_strip(panel, north_km=3.0)
    assert panel.aoi is None
    assert "The strip is 3.0 km long" in panel.field_error("geometry")
    assert panel.footprint.label.text.startswith("Cannot be ordered: The strip is 3.0 km long")
    # The quote box says what is wrong with what is drawn, not to draw something.
    qtbot.waitUntil(lambda: panel.quote_label.text().startswith("No quote: the area drawn cannot be ordered"),
                    timeout=WAIT_MS)
    # Checked before anything is sent, synchronously: no task was started, so there is nothing to wait for.
    panel.place_button.click()
    assert panel.place_status.text() == "Fix the marked fields; nothing was sent."
    assert panel.order_task is None and panel.quote_task is None
    assert api_requests(sandbox, "POST", "/orders") == [] and sandbox.requests_seen() == []


def test_server_field_errors_show_next_to_the_field_in_the_servers_words_and_the_form_is_kept(panel, qtbot, sandbox):
    draw_point(panel)
    panel.pl_number_edit.setText("PL-999999")
    panel.name_edit.setText("Kept name")
    qtbot.waitUntil(lambda: panel.field_error("pl_number") != "", timeout=WAIT_MS)
    assert panel.field_error("pl_number") == "Contract PL-999999 is not available for this API key."
    assert "refused" in panel.quote_label.text()
    panel.place_button.click()
    qtbot.waitUntil(lambda: panel.place_button.isEnabled() and "refused" in panel.place_status.text(),
                    timeout=WAIT_MS)
    assert panel.field_error("pl_number") == "Contract PL-999999 is not available for this API key."
    assert panel.name_edit.text() == "Kept name" and panel.aoi is not None
    # The refused price stopped it before any confirmation or order.
    assert panel.confirm.texts == [] and api_requests(sandbox, "POST", "/orders") == []


def test_found_windows_go_to_a_temporal_layer_in_place(panel, qtbot, sandbox):
    set_scheduling(panel, ASSURED)
    draw_point(panel)
    assert not panel.windows_map_button.isEnabled()  # nothing to show yet
    run_search(qtbot, panel, sandbox)
    listed = {w.id for w in panel.windows_model.windows()}
    assert listed and panel.windows_map_button.isEnabled()
    panel.windows_map_button.click()
    [layer] = layers.layers_of_kind(QgsProject.instance(), planet_layers.IMAGING_WINDOWS)
    assert layer.name() == "Imaging windows" and {f["id"] for f in layer.getFeatures()} == listed
    assert layer.temporalProperties().isActive()
    tasked = panel.aoi.tasked_geometry()
    assert all(f.geometry().equals(tasked) or f.geometry().difference(tasked).area() < 1e-9
               for f in layer.getFeatures())
    # Shown again after the list changed: the same layer, updated by id, nothing doubled.
    panel.replacing_check.setChecked(True)
    qtbot.waitUntil(lambda: panel.search_task is None, timeout=WAIT_MS)
    panel.windows_map_button.click()
    assert layers.layers_of_kind(QgsProject.instance(), planet_layers.IMAGING_WINDOWS) == [layer]
    ids = [f["id"] for f in layer.getFeatures()]
    assert len(ids) == len(set(ids)) and set(ids) == {w.id for w in panel.windows_model.windows()}
    # A new AOI (the point tool is still on: a click elsewhere) forgets the windows until it is searched.
    before = panel.aoi
    click_at(panel.canvas, offset(*BERLIN, east_km=3.0))
    assert panel.aoi is not None and panel.aoi is not before
    assert panel.windows_model.rowCount() == 0 and not panel.windows_map_button.isEnabled()


def test_an_order_refused_by_the_server_shows_the_reason_at_the_field(panel, qtbot, sandbox, client):
    set_scheduling(panel, ASSURED)
    draw_point(panel)
    run_search(qtbot, panel, sandbox)
    window = windows_ahead(panel, sandbox)[0]
    panel.select_window(window.id)
    assert "can no longer be ordered" not in panel.window_detail.text()
    panel.set_order_name("Too late")
    wait_quote(qtbot, panel)
    # While the user hesitates, the window passes: the quote is still the current one, the order is refused.
    seconds = (window.start_time - utc_now()).total_seconds() + 3600
    sandbox.advance(seconds)
    panel.place_button.click()
    qtbot.waitUntil(lambda: "refused" in panel.place_status.text(), timeout=WAIT_MS)
    assert panel.field_error("imaging_window") == "The imaging window is no longer available."
    assert panel.name_edit.text() == "Too late" and panel.selected_window is not None
    assert [r["status"] for r in api_requests(sandbox, "POST", "/orders")] == [400]
    assert client.count_orders(name="Too late") == 0


def test_other_server_errors_go_to_the_message_bar(qgis_iface, qgis_new_project, canvas, sandbox, qtbot):
    panel = NewOrderPanel(lambda: TaskingClient(sandbox.tasking_url, "wrong-key", max_retries=0), qgis_iface)
    qtbot.addWidget(panel)
    panel.confirm = Confirmations()
    qgis_iface.messageBar().clear_messages()
    try:
        draw_point(panel)
        qtbot.waitUntil(lambda: "No quote" in panel.quote_label.text(), timeout=WAIT_MS)
        panel.name_edit.setText("Rejected key")
        panel.place_button.click()
        qtbot.waitUntil(lambda: bool(qgis_iface.messageBar().get_messages(Qgis.MessageLevel.Critical)), timeout=WAIT_MS)
        message = qgis_iface.messageBar().get_messages(Qgis.MessageLevel.Critical)[-1]
        assert message.startswith("Order not placed:") and "API key" in message
        assert panel.name_edit.text() == "Rejected key" and panel.place_button.isEnabled()
    finally:
        panel.shutdown()


# --- assured: imaging windows -----------------------------------------------------------------------------


def test_assured_search_fills_a_sortable_table_and_a_chosen_window_is_ordered(panel, qtbot, sandbox, client):
    set_scheduling(panel, ASSURED)
    assert panel.windows_group.isVisible() and panel.product_edit.text() == "Assured Tasking"
    assert panel.end_edit.dateTime().toSecsSinceEpoch() <= (utc_now() + timedelta(days=7)).timestamp()
    draw_point(panel)
    run_search(qtbot, panel, sandbox)
    rows = panel.windows_proxy.rowCount()
    assert rows > 0 and "imaging window" in panel.search_status.text()
    headers = [panel.windows_model.headerData(c, Qt.Orientation.Horizontal) for c in range(panel.windows_model.columnCount())]
    assert headers == ["Start (UTC)", "Duration", "Off-nadir", "Sat. elevation", "Sun elevation", "GSD",
                       "Cloud forecast", "Tier", "Priority ×", "Conflicting orders", "Price (km² of quota)"]
    first = panel.windows_proxy.index(0, 5).data()
    assert first.endswith(" m")
    # Sorting by GSD sorts the numbers.
    panel.windows_view.sortByColumn(5, Qt.SortOrder.AscendingOrder)
    gsd = [panel.windows_proxy.window(r).ground_sample_distance for r in range(rows)]
    assert gsd == sorted(gsd)
    panel.windows_view.sortByColumn(0, Qt.SortOrder.AscendingOrder)
    window = panel.windows_proxy.window(rows - 1)
    panel.windows_view.selectRow(rows - 1)
    assert panel.selected_window.id == window.id
    detail = panel.window_detail.text()
    assert "Estimated cost: 25.00 km² of quota" in detail and "It replaces none of your orders." in detail
    # The last window of a 7-day search is days ahead, and the detail says how soon.
    assert f"{window.start_time:%Y-%m-%d %H:%M:%S} UTC (in " in detail and " days " in detail.splitlines()[0]
    assert "can no longer be ordered" not in detail
    # Exclusivity re-reads the windows with their price for it; the selection stays.
    panel.exclusivity_combo.setCurrentIndex(panel.exclusivity_combo.findData(7))
    qtbot.waitUntil(lambda: "exclusivity (7 days)" in panel.window_detail.text(), timeout=WAIT_MS)
    assert "× 1.25 exclusivity (7 days)" in panel.window_detail.text() and panel.selected_window.id == window.id
    quote = wait_quote(qtbot, panel)
    assert "tasking tier" in quote
    order = place(qtbot, panel)
    assert "Imaging window:" in panel.confirm.texts[-1]
    stored = client.get_order(order.id)
    assert stored.scheduling_type == "ASSURED" and stored.imaging_window == window.id
    assert stored.exclusivity_days == 7


def test_an_assured_search_without_a_contract_is_refused_at_the_contract_field(panel, qtbot, sandbox):
    # planet-assured-tasking.txt lists pl_number as required for a search, and no documented request reads
    # the account's contracts: the form asks for it instead of sending a search the service refuses.
    panel.pl_number_edit.setText("")
    set_scheduling(panel, ASSURED)
    draw_point(panel)
    panel.find_button.click()
    assert panel.field_error("pl_number") == CONTRACT_NEEDED
    assert panel.search_task is None and panel.search_status.text() == "Fix the marked fields first; nothing was sent."
    assert api_requests(sandbox, "POST", "imaging-windows/search") == []
    panel.pl_number_edit.setText(sandbox_contract(sandbox))
    run_search(qtbot, panel, sandbox)
    assert panel.windows_proxy.rowCount() > 0 and panel.field_error("pl_number") == ""


def test_cancel_a_running_search(panel, qtbot, sandbox):
    set_scheduling(panel, ASSURED)
    draw_point(panel)
    panel.find_button.click()
    qtbot.waitUntil(lambda: bool(api_requests(sandbox, "POST", "imaging-windows/search")), timeout=WAIT_MS)
    panel.cancel_search_button.click()
    qtbot.waitUntil(lambda: panel.search_task is None, timeout=WAIT_MS)
    assert panel.search_status.text() == "Search cancelled. Nothing was ordered."
    assert panel.find_button.isEnabled() and not panel.search_progress.isVisible()


def listed_ids(panel):
    return [panel.windows_proxy.window(r).id for r in range(panel.windows_proxy.rowCount())]


def start_search_part_way(qtbot, panel, sandbox, seconds=120):
    """Start a search and move the sandbox's clock `seconds` into it: the service has found some windows."""
    set_scheduling(panel, ASSURED)
    draw_point(panel)
    panel.find_button.click()
    qtbot.waitUntil(lambda: bool(api_requests(sandbox, "POST", "imaging-windows/search")), timeout=WAIT_MS)
    # Windows are revealed from 15 s to 230 s of simulated time; the search is DONE at 240 s.
    sandbox.advance(seconds)
    qtbot.waitUntil(lambda: panel.windows_proxy.rowCount() > 0, timeout=WAIT_MS)
    assert panel.search_task is not None and panel.search_progress.isVisible()
    assert panel.cancel_search_button.isEnabled()
    return panel.windows_proxy.rowCount()


def test_windows_appear_while_the_search_runs_and_the_chosen_one_stays_chosen(panel, qtbot, sandbox, client):
    partial = start_search_part_way(qtbot, panel, sandbox)
    status = panel.search_status.text()
    assert status.startswith(f"Searching… {partial} window{'s' if partial != 1 else ''} so far"), status
    # The user sorts by GSD, largest first, and chooses a window while the search still runs.
    panel.windows_view.sortByColumn(5, Qt.SortOrder.DescendingOrder)
    chosen = panel.windows_proxy.window(partial - 1)
    panel.windows_view.selectRow(partial - 1)
    assert panel.selected_window.id == chosen.id
    assert "Estimated cost:" in panel.window_detail.text()
    assert "tasking tier" in wait_quote(qtbot, panel)
    sandbox.advance(200)
    qtbot.waitUntil(lambda: panel.search_task is None, timeout=WAIT_MS)
    final = client.get_imaging_window_search(panel.search.id)
    ids = listed_ids(panel)
    assert final.status == "DONE" and len(final.imaging_windows) > partial
    assert len(ids) == len(set(ids)) == len(final.imaging_windows)
    assert set(ids) == {w.id for w in final.imaging_windows}
    assert panel.search_status.text() == f"{len(ids)} imaging windows found: choose one."
    # The sort and the choice are the user's: both survived the windows arriving.
    assert panel.windows_view.horizontalHeader().sortIndicatorSection() == 5
    gsd = [panel.windows_proxy.window(r).ground_sample_distance for r in range(len(ids))]
    assert gsd == sorted(gsd, reverse=True)
    assert panel.selected_window.id == chosen.id
    rows = panel.windows_view.selectionModel().selectedRows()
    assert [panel.windows_proxy.window(r.row()).id for r in rows] == [chosen.id]
    wait_quote(qtbot, panel)
    order = place(qtbot, panel)
    assert client.get_order(order.id).imaging_window == chosen.id


def test_a_window_chosen_while_the_search_runs_can_be_ordered_and_the_search_goes_on(panel, qtbot, sandbox, client):
    partial = start_search_part_way(qtbot, panel, sandbox)
    # Not a window starting within minutes: too late to lock in, its order would be REJECTED and free
    # the window again. One comfortably ahead, whatever the time of day the tests run at.
    chosen = windows_ahead(panel, sandbox)[0]
    assert panel.select_window(chosen.id)
    wait_quote(qtbot, panel)
    order = place(qtbot, panel)
    stored = client.get_order(order.id)
    assert stored.scheduling_type == "ASSURED" and stored.imaging_window == chosen.id
    assert "Imaging window:" in panel.confirm.texts[-1]
    # The search is read on (the taken window is no longer offered) until it is DONE.
    assert panel.search_task is not None and panel.search_progress.isVisible()
    qtbot.waitUntil(lambda: chosen.id not in listed_ids(panel), timeout=WAIT_MS)
    assert panel.selected_window is None
    sandbox.advance(200)
    qtbot.waitUntil(lambda: panel.search_task is None, timeout=WAIT_MS)
    ids = listed_ids(panel)
    assert len(ids) == len(set(ids)) > partial - 1 and chosen.id not in ids
    assert panel.search_status.text() == f"{len(ids)} imaging windows found: choose one."
    # Windows that replace the new order are listed again on request.
    panel.replacing_check.setChecked(True)
    qtbot.waitUntil(lambda: chosen.id in listed_ids(panel), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: panel.search_task is None, timeout=WAIT_MS)
    assert len(listed_ids(panel)) == len(set(listed_ids(panel))) == len(ids) + 1


def test_cancel_part_way_keeps_the_windows_found_so_far(panel, qtbot, sandbox):
    partial = start_search_part_way(qtbot, panel, sandbox)
    found = listed_ids(panel)
    panel.cancel_search_button.click()
    qtbot.waitUntil(lambda: panel.search_task is None, timeout=WAIT_MS)
    assert listed_ids(panel) == found and len(found) == partial
    assert panel.search_status.text() == (
        f"Search cancelled before it finished: the {partial} imaging window{'s' if partial != 1 else ''} "
        "found so far are listed, there may be more. Nothing was ordered.")
    assert panel.find_button.isEnabled() and not panel.search_progress.isVisible()
    # Later windows do not arrive once cancelled.
    sandbox.advance(200)
    qtbot.wait(1500)
    assert listed_ids(panel) == found


def test_replacing_windows_are_listed_on_request_marked_and_replacing_is_confirmed(panel, qtbot, sandbox, client):
    set_scheduling(panel, ASSURED)
    draw_point(panel)
    run_search(qtbot, panel, sandbox)
    window = panel.windows_proxy.window(panel.windows_proxy.rowCount() - 1)
    panel.select_window(window.id)
    panel.name_edit.setText("First assured")
    wait_quote(qtbot, panel)
    first = place(qtbot, panel)
    # The window is taken by our own order now: without replacing windows it is not listed.
    qtbot.waitUntil(lambda: panel.search_task is None, timeout=WAIT_MS)
    assert window.id not in [w.id for w in panel.windows_model.windows()]
    panel.replacing_check.setChecked(True)
    qtbot.waitUntil(lambda: window.id in [w.id for w in panel.windows_model.windows()], timeout=WAIT_MS)
    assert panel.select_window(window.id)
    row = next(r for r in range(panel.windows_proxy.rowCount()) if panel.windows_proxy.window(r).id == window.id)
    assert panel.windows_proxy.index(row, 9).data() == "replaces 1: First assured"
    assert panel.windows_proxy.index(row, 0).data(Qt.ItemDataRole.BackgroundRole) is not None
    assert "Ordering it replaces (cancels): “First assured”" in panel.window_detail.text()
    panel.name_edit.setText("Second assured")
    wait_quote(qtbot, panel)
    second = place(qtbot, panel)
    confirmation = panel.confirm.texts[-1]
    assert "It replaces (cancels) your order “First assured”." in confirmation
    assert second.imaging_window == window.id
    pricing = client.order_pricing(second.id)
    assert [r.order_id for r in pricing.replaced_orders] == [first.id]
    layer = panel.orders_layer()
    statuses = {f["name"]: f["status"] for f in layer.getFeatures()}
    # Planet cancels the replaced order only once the new one is scheduled (planet-assured-tasking.txt),
    # so right after placing, the layer shows the first order as the server still has it: active.
    assert statuses["First assured"] == client.get_order(first.id).status
    assert statuses["First assured"] in ("RECEIVED", "PENDING")
    assert "replaces “First assured”" in panel.last_message_widget.text()
    sandbox.advance(120)
    assert client.get_order(second.id).status == "PENDING"
    assert client.get_order(first.id).status in ("PENDING_CANCELLATION", "CANCELLED")


def test_the_dock_has_the_new_order_tab_with_clients_from_the_settings(qgis_iface, clean_settings, sandbox):
    clean_settings.set_use_sandbox(True)
    dock = TaskingDock(iface=qgis_iface)
    try:
        assert dock.tabs is not None and dock.tabs.tabText(0) == "New order"
        assert dock.new_order_panel is dock.tabs.widget(0)
        made = dock.new_order_panel.client_factory()
        assert isinstance(made, TaskingClient) and made.base_url == clean_settings.active_base_url()
    finally:
        dock.shutdown()
        dock.deleteLater()


# --- form details ----------------------------------------------------------------------------------------


def test_every_field_has_a_tooltip_a_keyboard_shortcut_and_units(panel):
    from qgis.PyQt.QtWidgets import QAbstractButton, QAbstractSpinBox, QComboBox, QLabel, QLineEdit, QTableView

    inputs = [w for w in panel.body.findChildren((QAbstractButton, QAbstractSpinBox, QComboBox, QLineEdit, QTableView))
              if w.isVisibleTo(panel) and not isinstance(w.parent(), (QAbstractSpinBox, QComboBox))]
    missing = [w.objectName() or type(w).__name__ for w in inputs if not w.toolTip()]
    assert missing == []
    # Each form label jumps to its field with Alt+letter.
    buddies = [label.buddy() for label in panel.body.findChildren(QLabel) if "&" in label.text()]
    for field in (panel.name_edit, panel.scheduling_combo, panel.imaging_combo, panel.start_edit, panel.end_edit,
                  panel.elevation_min_spin, panel.pl_number_edit, panel.product_edit, panel.exclusivity_combo):
        assert field in buddies
    assert panel.elevation_min_spin.suffix() == " °" and panel.elevation_max_spin.suffix() == " °"
    assert panel.start_edit.displayFormat().endswith("'UTC'")
    assert "your local time" in panel.start_edit.toolTip()
    # Tab goes through the form in reading order.
    chain, widget = [], panel.name_edit
    for _ in range(60):
        widget = widget.nextInFocusChain()
        chain.append(widget)
    order = [chain.index(w) for w in (panel.scheduling_combo, panel.imaging_combo, panel.start_edit, panel.end_edit,
                                       panel.elevation_min_spin, panel.pl_number_edit, panel.exclusivity_combo)]
    assert order == sorted(order)


def test_network_work_runs_in_qgs_tasks(panel, qtbot, monkeypatch):
    from qgis.core import QgsTask

    from core.app import place as place_module
    from core.app import quote as quote_module
    from core.tasks import run_in_background as real

    started = []

    def recording(description, fn, *args, **kwargs):
        task = real(description, fn, *args, **kwargs)
        started.append((description, isinstance(task, QgsTask)))
        return task

    # The panel's network work goes through the quote and place workflows, each starting its own tasks.
    for module in (quote_module, place_module):
        monkeypatch.setattr(module, "run_in_background", recording)
    draw_point(panel)
    wait_quote(qtbot, panel)
    panel.set_order_name("In a task")
    place(qtbot, panel)
    assert {description for description, _ in started} == {"Satellite Tasking: price preview",
                                                          "Satellite Tasking: place order"}
    assert all(is_task for _, is_task in started)


def test_order_requests_from_the_form(qgis_app):
    from core.aoi import aoi_from_geometry
    from core.services.planet_tasking.forms import (
        ASSURED_PRODUCT,
        FLEXIBLE,
        STEREO,
        OrderForm,
        default_order_name,
        default_product,
        order_request,
        pricing_request,
    )

    aoi = aoi_from_geometry(QgsGeometry.fromPointXY(QgsPointXY(*BERLIN)), WGS84)
    now = utc_now()
    form = OrderForm(name=" Site A ", order_type=STEREO, n_stereo_pov=3, start_time=now - timedelta(hours=1),
                     end_time=now + timedelta(days=3), pl_number="PL-1", exclusivity_days=7)
    body = order_request(form, aoi, now=now)
    assert body["name"] == "Site A" and body["geometry"] == {"type": "Point", "coordinates": [13.4, 52.52]}
    assert body["order_type"] == "STEREO" and body["n_stereo_pov"] == 3 and body["exclusivity_days"] == 7
    assert "start_time" not in body  # already past: the service starts it now
    assert body["end_time"].endswith("Z") and body["pl_number"] == "PL-1" and "product" not in body
    assert "name" not in pricing_request(form, aoi, now=now)
    assured = OrderForm(name="B", scheduling_type=ASSURED, imaging_window="w-1")
    assert order_request(assured, aoi, now=now) == {
        "name": "B", "order_type": "IMAGE", "exclusivity_days": 0, "product": ASSURED_PRODUCT, "imaging_window": "w-1"}
    assert default_product(ASSURED, "") == ASSURED_PRODUCT and default_product(FLEXIBLE, ASSURED_PRODUCT) == ""
    assert default_product(FLEXIBLE, "my_product") == "my_product"
    assert default_order_name(aoi, ASSURED, STEREO, now).startswith("Assured stereo point 52.5200°N 13.4000°E ")


def test_an_order_placed_here_and_the_orders_tab_share_one_orders_layer(panel, qtbot, client_factory, qgis_iface,
                                                                         client):
    from ui.orders.panel import OrdersPanel

    draw_point(panel)
    wait_quote(qtbot, panel)
    panel.set_order_name("Shared layer")
    order = place(qtbot, panel)
    placed_layer = panel.orders_layer()
    orders_tab = OrdersPanel(client_factory, qgis_iface, auto_refresh=False)
    qtbot.addWidget(orders_tab)
    try:
        orders_tab.show()  # the user opens the Orders tab
        qtbot.waitUntil(lambda: orders_tab.model.total is not None and not orders_tab.busy(), timeout=WAIT_MS)
        assert planet_layers.orders_layers(QgsProject.instance()) == [placed_layer]
        assert orders_tab.orders_layer is placed_layer
        ids = sorted(f["id"] for f in placed_layer.getFeatures())
        assert order.id in ids and ids == sorted(o.id for o in client.iter_orders(page_size=500, fields=["id"]))
        assert panel.orders_layer() is placed_layer  # and the next order lands there too
    finally:
        orders_tab.shutdown()
        for layer in (orders_tab.orders_layer, orders_tab.captures_layer):
            if layer is not None and QgsProject.instance().mapLayer(layer.id()) is not None:
                QgsProject.instance().removeMapLayer(layer.id())


def test_the_sandbox_contracts_own_area_limit_is_the_one_checked(panel, qtbot, sandbox, clean_settings):
    draw_polygon(panel, corners_km=((0, 0), (70, 0), (70, 70), (0, 70)))  # about 4,900 km²
    # Planet's API tells no contract limit: the plugin's own bound is named as such, not as the contract's.
    assert "plugin's own bound" in panel.field_error("geometry")
    # The local sandbox does tell its contracts' limit (GET /sandbox/accounts): that one is the contract's rule.
    clean_settings.set_sandbox_port(int(sandbox.root.rsplit(":", 1)[1]))
    clean_settings.set_use_sandbox(True)
    panel.reload_settings()
    qtbot.waitUntil(lambda: "your contract allows" in panel.field_error("geometry"), timeout=WAIT_MS)
    assert api_requests(sandbox, "POST", "orders") == []
