"""UP42 from start to end in the plugin's own dock, in real QGIS against the sandbox: an AOI drawn on the map, a
Pléiades order placed from the generated form after confirming its credits, its quotation accepted in the Decisions
tab after confirming its cost, and the order going on at UP42."""

from __future__ import annotations

import pytest
from qgis.PyQt.QtCore import QCoreApplication, QEvent, Qt
from qgis.PyQt.QtWidgets import QMessageBox

from core.services import registry
from tests.sandbox.up42.helpers import PLEIADES
from ui.decisions.panel import DecisionsPanel
from ui.up42.order_panel import SchemaOrderPanel

from .canvas_input import release_canvas, show_canvas_around
from .confirmations import Confirmations
from .test_decisions import item_of, patches, table_rows
from .test_up42_new_order import place_drawn_order

pytestmark = pytest.mark.usefixtures("clean_settings", "no_leftover_tasks")

WAIT_MS = 20_000


def test_a_drawn_aoi_becomes_a_placed_up42_order_whose_quotation_is_accepted(clean_settings, sandbox, qgis_iface,
                                                                             qgis_canvas, qgis_parent, monkeypatch,
                                                                             qtbot):
    from satellite_tasking.ui.dock import TaskingDock

    clean_settings.set_sandbox_port(int(sandbox.root.rsplit(":", 1)[1]))
    clean_settings.set_use_sandbox(True)
    clean_settings.set_active_service("up42")
    asked = []

    def question(parent, title, text, *args):  # the user, answering Yes to the quotation's cost
        asked.append(text)
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", question)
    canvas = show_canvas_around(qgis_canvas, qgis_parent)
    dock = TaskingDock(iface=qgis_iface)
    try:
        dock.resize(400, 900)
        dock.show()
        order_tab, decisions = dock.new_order_panel, dock.decisions_panel
        assert isinstance(order_tab, SchemaOrderPanel) and isinstance(decisions, DecisionsPanel)
        order_tab.confirm = Confirmations()
        dock.tabs.setCurrentWidget(order_tab)
        qtbot.waitUntil(lambda: order_tab.product_combo.findData(PLEIADES) >= 0, timeout=WAIT_MS)
        order_tab.choose_product(PLEIADES)
        qtbot.waitUntil(lambda: order_tab.form_widget is not None, timeout=WAIT_MS)
        place_drawn_order(order_tab, qtbot, canvas, sandbox, "Drawn over Berlin")
        assert order_tab.last_error is None, order_tab.last_error
        assert len(order_tab.confirm.texts) == 1 and "credits" in order_tab.confirm.texts[0]
        placed = order_tab.last_order
        client = registry.client_for()
        assert [o.id for o in client.list_orders().results if o.name == "Drawn over Berlin"] == [placed.id]

        sandbox.advance(120 + 2 * 3600)  # UP42 answers with a quotation
        dock.tabs.setCurrentWidget(decisions)  # shown: it reads by itself
        qtbot.waitUntil(lambda: item_of(decisions, "quotation", "Drawn over Berlin") is not None, timeout=WAIT_MS)
        decisions.tree.setCurrentItem(item_of(decisions, "quotation", "Drawn over Berlin"))
        assert not patches(sandbox)  # nothing decided before the user says so
        with qtbot.waitSignal(decisions.workflow.loaded, timeout=WAIT_MS):
            qtbot.mouseClick(decisions.accept_button, Qt.MouseButton.LeftButton)
        assert len(asked) == 1 and "credits" in asked[0]
        assert len(patches(sandbox)) == 1
        assert client.get_order(placed.id).sub_status == "QUOTATION_ACCEPTED"
        assert table_rows(decisions)["Drawn over Berlin"] == ("PLACED", "Quotation accepted")
    finally:
        dock.shutdown()
        dock.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        release_canvas(qgis_canvas, qgis_parent)
