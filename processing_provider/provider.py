"""The "Satellite Tasking" Processing provider: its id, name, icon and algorithms."""

from __future__ import annotations

import os

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

PROVIDER_ID = "satellite_tasking"
ICON_PATH = os.path.join(os.path.dirname(os.path.dirname(__file__)), "resources", "icons", "satellite_tasking.svg")


class SatelliteTaskingProvider(QgsProcessingProvider):
    """Algorithms that call the same core workflows as the dock and the bulk dialogs (nothing re-implemented)."""

    def id(self) -> str:  # noqa: A003 - QGIS's name
        return PROVIDER_ID

    def name(self) -> str:
        return "Satellite Tasking"

    def longName(self) -> str:  # noqa: N802 - QGIS's name
        return "Satellite Tasking (Planet tasking and archive orders, UP42 tasking)"

    def icon(self) -> QIcon:
        return QIcon(ICON_PATH)

    def svgIconPath(self) -> str:  # noqa: N802 - QGIS's name
        return ICON_PATH

    def loadAlgorithms(self) -> None:  # noqa: N802 - QGIS's name
        # Imported here: registering the provider at start-up stays cheap, the workflows load on first use.
        from .algorithms import all_algorithms

        for algorithm in all_algorithms():
            self.addAlgorithm(algorithm)
