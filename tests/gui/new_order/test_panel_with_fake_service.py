"""The New order panel against an in-memory service (no server): what the user sees follows the workflows."""

from __future__ import annotations

import pytest

from tests.fakes.new_order import FakeNewOrderClient
from ui.new_order.panel import NewOrderPanel

from ..canvas_input import BERLIN, click, pixel, release_canvas, show_canvas_around

WAIT_MS = 10_000

pytestmark = pytest.mark.usefixtures("clean_settings")


@pytest.fixture
def fake():
    made = FakeNewOrderClient()
    yield made
    made.release_pricing()  # a held answer must not keep a task waiting past the test


@pytest.fixture
def panel(qgis_iface, qgis_new_project, qgis_canvas, qgis_parent, qtbot, fake):
    show_canvas_around(qgis_canvas, qgis_parent)
    made = NewOrderPanel(lambda: fake, qgis_iface)
    qtbot.addWidget(made)
    made.confirm = lambda title, text: True
    made.resize(360, 900)
    made.show()
    yield made
    made.shutdown()
    release_canvas(qgis_canvas, qgis_parent)


def draw_point(panel) -> None:
    panel.tool_buttons["point"].click()
    click(panel.canvas, pixel(panel.canvas, *BERLIN))


def test_a_drawn_point_is_quoted_by_the_service_and_the_answer_shown(panel, fake, qtbot):
    draw_point(panel)
    qtbot.waitUntil(panel.quote_is_current, timeout=WAIT_MS)
    assert "Estimated cost: 25.00 km² of quota" in panel.quote_label.text()
    assert len(fake.pricing_bodies) == 1 and fake.pricing_bodies[0]["geometry"]["type"] == "Point"


def test_an_answer_overtaken_by_a_newer_edit_never_reaches_the_screen(panel, fake, qtbot):
    draw_point(panel)
    qtbot.waitUntil(panel.quote_is_current, timeout=WAIT_MS)
    fake.hold_pricing = "STEREO"  # the stereo price is slow to come
    panel.imaging_combo.setCurrentIndex(2)  # stereo, 3 views
    qtbot.waitUntil(lambda: any(b.get("order_type") == "STEREO" for b in fake.pricing_bodies), timeout=WAIT_MS)
    panel.imaging_combo.setCurrentIndex(0)  # back to a single image before the stereo answer arrives
    qtbot.waitUntil(panel.quote_is_current, timeout=WAIT_MS)  # the single-image price is the one on screen
    fake.release_pricing()
    qtbot.waitUntil(lambda: panel.stale_answers_ignored >= 1, timeout=WAIT_MS)
    assert "Estimated cost: 25.00" in panel.quote_label.text() and "75.00" not in panel.quote_label.text()


def test_placing_sends_one_order_with_the_panels_name(panel, fake, qtbot):
    draw_point(panel)
    panel.name_edit.setText("Fake service order")
    qtbot.waitUntil(panel.quote_is_current, timeout=WAIT_MS)
    panel.place_button.click()
    qtbot.waitUntil(lambda: panel.last_order is not None, timeout=WAIT_MS)
    assert [body["name"] for body in fake.created] == ["Fake service order"]
    assert panel.last_order.id == "order-1"
