"""Fixtures the GUI tests share."""

from __future__ import annotations

import pytest
from qgis.core import QgsProject

from core.services.planet_tasking.client import TaskingClient
from core.tasks import active_tasks, cancel_all_tasks
from tests.integration.order_states import sim_now
from ui.orders.panel import OrdersPanel


@pytest.fixture
def project(qgis_new_project):
    """A new project, its layers removed after the test."""
    yield QgsProject.instance()
    QgsProject.instance().removeAllMapLayers()


@pytest.fixture
def no_leftover_tasks(qgis_app, qtbot):
    """Every task the test started has ended within 20 s of its end (the test fails otherwise); a module
    asks for it with `pytestmark = pytest.mark.usefixtures("no_leftover_tasks")`."""
    yield
    cancel_all_tasks()
    qtbot.waitUntil(lambda: not active_tasks(), timeout=20000)


@pytest.fixture
def make_orders_panel(qgis_app, qgis_iface, qtbot):
    """Opens an Orders panel on a sandbox server: `make_orders_panel(server, client_options=None, size=(1100, 800),
    **panel_options)`; its tasking clients time out after 30 s unless `client_options` say otherwise, it refreshes
    only when asked and its clock is the sandbox's, unless `panel_options` say otherwise; `size=None` leaves the
    window at its own size. Each panel is shut down and its layers taken out of the project after the test."""
    made = []

    def make(server, client_options=None, size=(1100, 800), **kwargs):
        kwargs.setdefault("auto_refresh", False)
        kwargs.setdefault("now", lambda: sim_now(server))
        options = {"timeout": 30.0, **(client_options or {})}
        panel = OrdersPanel(lambda: TaskingClient(server.tasking_url, server.api_key, **options), qgis_iface,
                            **kwargs)
        qtbot.addWidget(panel)
        if size is not None:
            panel.resize(*size)
        panel.show()
        made.append(panel)
        return panel

    yield make
    for panel in made:
        panel.shutdown()
        for layer in (panel.orders_layer, panel.captures_layer):
            if layer is not None and QgsProject.instance().mapLayer(layer.id()) is not None:
                QgsProject.instance().removeMapLayer(layer.id())
