"""Satellite Tasking QGIS plugin: QGIS calls classFactory(iface) to create it."""


def classFactory(iface):  # noqa: N802 - the name QGIS looks for
    # Imported here, not at module level, so that merely scanning the plugin folder stays cheap and
    # an import error surfaces in QGIS's plugin error dialog rather than while listing plugins.
    from .plugin import SatelliteTaskingPlugin

    return SatelliteTaskingPlugin(iface)
