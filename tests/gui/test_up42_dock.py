"""With UP42 the active service, the dock's New order tab is the one whose form is generated from the product's
schema, and it works in a 400 px dock against the sandbox."""

from __future__ import annotations

import pytest
from qgis.PyQt.QtCore import QCoreApplication, QEvent

from core.services import registry
from tests.sandbox.up42.helpers import PLEIADES

pytestmark = pytest.mark.usefixtures("clean_settings")

WAIT_MS = 20_000


def test_up42_gets_the_generated_form_as_its_new_order_tab_in_a_narrow_dock(clean_settings, sandbox, qgis_iface,
                                                                             qtbot):
    from satellite_tasking.ui.dock import TaskingDock
    from satellite_tasking.ui.new_order.panel import NewOrderPanel
    from satellite_tasking.ui.up42.order_panel import SchemaOrderPanel

    clean_settings.set_sandbox_port(int(sandbox.root.rsplit(":", 1)[1]))
    clean_settings.set_use_sandbox(True)
    clean_settings.set_active_service("up42")
    dock = TaskingDock(iface=qgis_iface)
    try:
        assert dock.service.id == registry.active_service_id() == "up42"
        panel = dock.new_order_panel
        assert isinstance(panel, SchemaOrderPanel) and not isinstance(panel, NewOrderPanel)
        assert dock.tabs.tabText(dock.tabs.indexOf(panel)) == "New order"
        dock.resize(400, 900)
        dock.show()
        qtbot.waitUntil(lambda: panel.product_combo.findData(PLEIADES) >= 0, timeout=WAIT_MS)
        panel.choose_product(PLEIADES)
        qtbot.waitUntil(lambda: panel.form_widget is not None, timeout=WAIT_MS)
        qtbot.wait(50)
        # The generated form fits the dock: nothing is pushed beyond its 400 px, for every product's schema.
        assert panel.form_widget.minimumSizeHint().width() <= 400
        for index in range(1, panel.product_combo.count()):
            panel.product_combo.setCurrentIndex(index)
            product_id = panel.product_combo.itemData(index)
            qtbot.waitUntil(lambda p=product_id: panel.form_widget is not None and panel.product_id == p, timeout=WAIT_MS)
            assert panel.form_widget.minimumSizeHint().width() <= 400, panel.product_combo.itemText(index)
        panel.choose_product(PLEIADES)
        qtbot.waitUntil(lambda: panel.form_widget is not None and panel.product_id == PLEIADES, timeout=WAIT_MS)
        assert panel.place_button.isVisible()
    finally:
        dock.shutdown()
        dock.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def test_choosing_another_service_in_the_settings_gives_the_dock_that_services_tabs(clean_settings, sandbox, qgis_iface,
                                                                                   qtbot):
    from satellite_tasking.ui.dock import TaskingDock
    from satellite_tasking.ui.new_order.panel import NewOrderPanel
    from satellite_tasking.ui.up42.order_panel import SchemaOrderPanel

    clean_settings.set_sandbox_port(int(sandbox.root.rsplit(":", 1)[1]))
    clean_settings.set_use_sandbox(True)
    clean_settings.set_active_service("planet_tasking")
    dock = TaskingDock(iface=qgis_iface)
    try:
        def titles():
            return [dock.tabs.tabText(i) for i in range(dock.tabs.count())]

        assert isinstance(dock.new_order_panel, NewOrderPanel) and "Decisions" not in titles()
        planet_panel = dock.new_order_panel
        clean_settings.set_active_service("up42")
        dock.refresh()  # what saving the settings does
        assert dock.service.id == "up42" and isinstance(dock.new_order_panel, SchemaOrderPanel)
        # UP42's orders are read whole into the Orders tab, a table without Planet's paged listing and layers.
        assert titles() == ["New order", "Orders", "Decisions"]
        assert not dock.orders_panel.paged and "up42" in dock.orders_panel.merged
        # The status line names UP42's address, not Planet's.
        assert clean_settings.active_base_url("up42") in dock.status_label.text()
        assert "tasking/v2" not in dock.status_label.text()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        from qgis.PyQt import sip

        assert sip.isdeleted(planet_panel)  # the old service's tab went, its work stopped
        clean_settings.set_active_service("planet_tasking")
        dock.refresh()
        assert isinstance(dock.new_order_panel, NewOrderPanel) and titles() == ["New order", "Orders"]
    finally:
        dock.shutdown()
        dock.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def test_up42_chosen_without_a_login_the_dock_asks_for_the_up42_login_not_a_planet_key(clean_settings, qgis_iface):
    from satellite_tasking.ui.dock import TaskingDock

    clean_settings.set_active_service("up42")
    dock = TaskingDock(iface=qgis_iface)
    try:
        text = dock.status_label.text()
        assert "Not configured" in text and "UP42 user name and password" in text and "Planet" not in text, text
        clean_settings.set_active_service("planet_tasking")
        dock.refresh()
        assert "Planet API key" in dock.status_label.text()
    finally:
        dock.shutdown()
        dock.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
