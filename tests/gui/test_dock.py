"""The dock offers the tabs the active service's capabilities allow."""

from __future__ import annotations

from dataclasses import replace

import pytest
from qgis.PyQt.QtCore import QCoreApplication, QEvent

from core.services import registry
from core.services.base import Capability

pytestmark = pytest.mark.usefixtures("clean_settings")


def _tab_titles(dock) -> list:
    return [dock.tabs.tabText(i) for i in range(dock.tabs.count())] if dock.tabs is not None else []


def _close(dock) -> None:
    dock.shutdown()
    dock.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def test_planet_tasking_gets_new_order_and_orders_tabs(qgis_iface):
    from satellite_tasking.ui.dock import TaskingDock

    dock = TaskingDock(iface=qgis_iface)
    try:
        assert dock.service.id == "planet_tasking"
        assert _tab_titles(dock) == ["New order", "Orders"]
    finally:
        _close(dock)


def test_a_service_that_cannot_place_orders_gets_no_new_order_tab(qgis_iface):
    from satellite_tasking.ui.dock import TaskingDock

    planet = registry.service("planet_tasking")
    # Planet's connection settings, without the capability to place orders.
    listing_only = replace(planet, capabilities=planet.capabilities - {Capability.PLACE})
    dock = TaskingDock(iface=qgis_iface, service=listing_only)
    try:
        assert dock.new_order_panel is None and _tab_titles(dock) == ["Orders"]
        dock.refresh()  # re-reading the settings must not trip over the missing tab
    finally:
        _close(dock)
