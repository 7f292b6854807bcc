"""The New order tab for UP42 in real QGIS against the sandbox, with the settings switched to UP42 and the sandbox:
products from the glossary, the generated form, errors at their fields with nothing sent, the estimate in credits,
and a drawn or given AOI placed as one order."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from qgis.core import Qgis, QgsGeometry
from qgis.PyQt.QtCore import QCoreApplication, QEvent

from core.errors import OrderCreationUncertain
from core.services import registry
from tests.sandbox.up42.helpers import DOC_EXAMPLE, PLEIADES, iso
from ui.up42.order_panel import SchemaOrderPanel

from .canvas_input import BERLIN, WGS84, click, pixel, release_canvas, show_canvas_around
from .confirmations import Confirmations

WAIT_MS = 20_000
ORDER_PATHS = ("/v2/orders", "/v2/orders/estimate")

pytestmark = pytest.mark.usefixtures("clean_settings")


@pytest.fixture
def up42_settings(clean_settings, sandbox):
    """The plugin's settings switched to UP42 through the local sandbox, as the settings dialog saves them."""
    clean_settings.set_sandbox_port(int(sandbox.root.rsplit(":", 1)[1]))
    clean_settings.set_use_sandbox(True)
    clean_settings.set_active_service("up42")
    assert registry.active_service_id() == "up42"
    return clean_settings


@pytest.fixture
def canvas(qgis_canvas, qgis_parent):
    yield show_canvas_around(qgis_canvas, qgis_parent)
    release_canvas(qgis_canvas, qgis_parent)


@pytest.fixture
def panel(up42_settings, qgis_iface, canvas, qtbot):
    made = SchemaOrderPanel(registry.client_factory(), qgis_iface, None)
    made.confirm = Confirmations()
    made.resize(400, 900)
    made.show()
    qtbot.waitUntil(lambda: made.product_combo.count() > 1, timeout=WAIT_MS)
    yield made
    made.shutdown()
    made.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def valid_params(sandbox) -> dict:
    """The document's Pléiades request, its window moved ahead of the sandbox's clock."""
    params = {k: v for k, v in DOC_EXAMPLE["params"].items() if k not in ("geometry", "displayName")}
    params["acquisitionStart"] = iso(sandbox.now() + timedelta(days=3))
    params["acquisitionEnd"] = iso(sandbox.now() + timedelta(days=33))
    return params


def choose_pleiades(panel, qtbot) -> None:
    panel.choose_product(PLEIADES)
    qtbot.waitUntil(lambda: panel.form_widget is not None, timeout=WAIT_MS)


def place_drawn_order(panel, qtbot, canvas, sandbox, name: str) -> None:
    """A valid Pléiades request named `name`, its AOI a point clicked on the map at Berlin, placed; returns once the
    panel has an answer (an order or an error)."""
    panel.form_widget.set_values(valid_params(sandbox))
    panel.name_edit.setText(name)
    panel.aoi_group.activate_tool("point")
    click(canvas, pixel(canvas, *BERLIN))
    qtbot.waitUntil(lambda: panel.aoi is not None, timeout=WAIT_MS)
    panel.aoi_group.deactivate_tool()
    panel.place_order()
    qtbot.waitUntil(lambda: panel.last_order is not None or panel.last_error is not None, timeout=WAIT_MS)


def fill_valid_order(panel, qtbot, sandbox, name: str) -> None:
    """Pléiades chosen, a square AOI at Berlin given, the form filled with a valid request and the order named."""
    choose_pleiades(panel, qtbot)
    give_aoi(panel)
    panel.form_widget.set_values(valid_params(sandbox))
    panel.name_edit.setText(name)


def give_aoi(panel, lon_lat=BERLIN, size=0.06) -> None:
    lon, lat = lon_lat
    panel.aoi_group.set_aoi_geometry(QgsGeometry.fromWkt(
        f"POLYGON(({lon} {lat}, {lon + size} {lat}, {lon + size} {lat + size}, {lon} {lat + size}, {lon} {lat}))"), WGS84)
    assert panel.aoi is not None


def order_requests(sandbox) -> list:
    return [(r["method"], r["path"]) for r in sandbox.requests_seen() if r["path"] in ORDER_PATHS]


def test_the_products_come_from_the_glossary_and_choosing_one_shows_its_generated_form(panel, qtbot):
    labels = [panel.product_combo.itemText(i) for i in range(panel.product_combo.count())]
    assert any("Pléiades" in label for label in labels)
    assert panel.form_widget is None and panel.estimate_label.text().startswith("No estimate")
    choose_pleiades(panel, qtbot)
    form = panel.form_widget
    assert form.isVisible()
    # Generated from the product's schema: its enums, bounded numbers and required marks, no AOI field.
    assert form.editor("acquisitionMode") is not None and form.editor("cloudCoverage") is not None
    assert form.editor("geometry") is None
    # Fits the 400 px dock.
    assert panel.sizeHint().width() <= 400 or panel.minimumSizeHint().width() <= 400


def test_a_bad_value_is_shown_at_its_field_and_nothing_is_sent(panel, qtbot, sandbox):
    choose_pleiades(panel, qtbot)
    give_aoi(panel)
    params = valid_params(sandbox)
    del params["acquisitionMode"]  # required, no default: the form leaves it at "choose" until one is picked
    panel.form_widget.set_values(params)
    panel.name_edit.setText("Berlin Pléiades")
    qtbot.wait(100)
    before = order_requests(sandbox)
    panel.place_order()
    label = panel.form_widget.findChild(type(panel.estimate_label), "error:acquisitionMode")
    assert label is not None and label.isVisible() and label.text()
    assert "nothing was sent" in panel.place_status.text()
    assert panel.confirm.texts == []
    qtbot.wait(300)
    assert order_requests(sandbox) == before
    # Picking a mode clears the error and lets the estimate be asked.
    panel.form_widget.set_values(valid_params(sandbox))
    qtbot.waitUntil(lambda: "credits" in panel.estimate_label.text(), timeout=WAIT_MS)
    assert not label.isVisible()


def test_a_missing_name_and_aoi_are_said_at_their_fields_and_nothing_is_sent(panel, qtbot, sandbox):
    choose_pleiades(panel, qtbot)
    panel.form_widget.set_values(valid_params(sandbox))
    before = order_requests(sandbox)
    panel.place_order()
    assert panel.name_error.isVisible() and panel.errors.labels["geometry"].isVisible()
    assert order_requests(sandbox) == before and panel.confirm.texts == []


def test_the_estimate_is_shown_in_credits_as_the_form_changes(panel, qtbot, sandbox):
    choose_pleiades(panel, qtbot)
    give_aoi(panel)
    panel.form_widget.set_values(valid_params(sandbox))
    qtbot.waitUntil(lambda: "credits" in panel.estimate_label.text(), timeout=WAIT_MS)
    first = panel.estimate_label.text()
    assert first.startswith("Estimate: ") and panel.quoting.quote.total_credits > 0
    # A larger AOI costs more (Pléiades is priced per km²), asked again by itself.
    give_aoi(panel, size=0.2)
    qtbot.waitUntil(lambda: "credits" in panel.estimate_label.text() and panel.estimate_label.text() != first,
                    timeout=WAIT_MS)
    assert ("POST", "/v2/orders/estimate") in order_requests(sandbox)


def test_a_drawn_aoi_is_placed_once_after_confirming_its_credits(panel, qtbot, sandbox, canvas, qgis_iface):
    choose_pleiades(panel, qtbot)
    place_drawn_order(panel, qtbot, canvas, sandbox, "Berlin point")
    assert panel.last_error is None, panel.last_error
    assert len(panel.confirm.texts) == 1 and "credits" in panel.confirm.texts[0]
    assert "Placed" in panel.place_status.text()
    placed = [r for r in order_requests(sandbox) if r == ("POST", "/v2/orders")]
    assert len(placed) == 1
    client = registry.client_for()
    listed = [o for o in client.list_orders().results if o.name == "Berlin point"]
    assert [o.id for o in listed] == [panel.last_order.id] and listed[0].data_product_id == PLEIADES


def test_declining_the_confirmation_places_nothing(panel, qtbot, sandbox):
    fill_valid_order(panel, qtbot, sandbox, "Not wanted")
    panel.confirm.answer = False
    panel.place_order()
    qtbot.waitUntil(lambda: bool(panel.confirm.texts), timeout=WAIT_MS)
    assert "cancelled" in panel.place_status.text()
    assert ("POST", "/v2/orders") not in order_requests(sandbox)


def test_the_placed_order_is_said_in_the_message_bar(panel, qtbot, sandbox, qgis_iface):
    qgis_iface.messageBar().clear_messages()
    fill_valid_order(panel, qtbot, sandbox, "Said order")
    panel.place_order()
    qtbot.waitUntil(lambda: bool(qgis_iface.messageBar().get_messages(Qgis.MessageLevel.Success)), timeout=WAIT_MS)
    assert any("Said order" in text for text in qgis_iface.messageBar().get_messages(Qgis.MessageLevel.Success))


def test_an_order_whose_fate_is_unknown_is_said_so_and_never_sent_again(panel, qtbot, sandbox, qgis_iface):
    qgis_iface.messageBar().clear_messages()
    fill_valid_order(panel, qtbot, sandbox, "Lost answer")
    qtbot.waitUntil(lambda: "credits" in panel.estimate_label.text(), timeout=WAIT_MS)
    # The gateway gives up before UP42 answered: the order may still be made, so it is not sent again.
    sandbox.fault(path="^/v2/orders$", method="POST", kind="status", status=504, when="before")
    panel.place_order()
    qtbot.waitUntil(lambda: panel.last_order is not None or panel.last_error is not None, timeout=60_000)
    assert isinstance(panel.last_error, OrderCreationUncertain)
    assert "not known whether the order was placed" in panel.place_status.text()
    assert qgis_iface.messageBar().get_messages(Qgis.MessageLevel.Warning)
    assert [r for r in order_requests(sandbox) if r == ("POST", "/v2/orders")] == [("POST", "/v2/orders")]
    assert panel.place_button.isEnabled()  # the user may try again after checking the list; nothing did


def test_while_up42_asks_to_wait_the_estimate_line_says_it_asks_again(panel, qtbot, sandbox):
    # One 503 with Retry-After: the client waits 2 s inside the task and asks again; the form says so meanwhile.
    sandbox.fault(path="^/v2/orders/estimate$", kind="status", status=503, retry_after=2, count=1)
    shown = []
    panel.quoting.waiting.connect(lambda _seconds: shown.append(panel.estimate_label.text()))
    fill_valid_order(panel, qtbot, sandbox, "Asked twice")
    qtbot.waitUntil(lambda: "credits" in panel.estimate_label.text(), timeout=WAIT_MS)
    assert shown and re.fullmatch(r"Estimating… \(UP42 has not answered yet; asking again in [23] s\)", shown[0]), shown
    assert panel.estimate_label.text().startswith("Estimate: ")
    assert order_requests(sandbox).count(("POST", "/v2/orders/estimate")) == 2
