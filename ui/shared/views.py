"""Item views over the plugin's Python models: Qt paints and lays them out inside one Python call."""

from __future__ import annotations

from qgis.PyQt.QtCore import QEvent
from qgis.PyQt.QtWidgets import QTableView


class PythonModelTableView(QTableView):
    """A QTableView whose painting and layout run with the GIL held throughout.

    Qt asks a model's data() once per role of every visible cell (over 300 calls for one paint of the orders
    table), from C++ code that QGIS's event loop runs without the GIL: each call took the GIL anew, and while a
    worker thread ran Python (a listing parsing its pages), each waited for the worker to let go of it. A paint of
    the orders table during a map load was 10-19 ms of such waits for 3 ms of work. Qt's handling of the view's
    events, called from these Python overrides, keeps the GIL the call came in with: the paint took 3-4 ms.
    """

    def viewportEvent(self, event: QEvent) -> bool:  # noqa: N802 - Qt override: paint, mouse, hover
        return super().viewportEvent(event)

    def event(self, event: QEvent) -> bool:  # Qt override: the delayed layout (sizes read from the model)
        return super().event(event)
