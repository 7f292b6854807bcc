"""The plugin registers its Processing provider in initGui (and in initProcessing, which qgis_process calls) and
removes it in unload, however often QGIS loads and unloads it."""

from __future__ import annotations

import pytest
from qgis.core import QgsApplication

import satellite_tasking
from tests.gui.test_plugin import flush_deletes, iface  # noqa: F401 - the fixture, reused

pytestmark = pytest.mark.usefixtures("clean_settings")


def ours():
    return [p for p in QgsApplication.processingRegistry().providers() if p.id() == "satellite_tasking"]


def test_the_toolbox_has_the_provider_while_the_plugin_is_loaded(iface):  # noqa: F811
    assert ours() == []
    for _ in range(2):
        plugin = satellite_tasking.classFactory(iface)
        plugin.initGui()
        providers = ours()
        assert len(providers) == 1 and providers[0].name() == "Satellite Tasking"
        assert QgsApplication.processingRegistry().algorithmById("satellite_tasking:price_aois") is not None
        plugin.unload()
        flush_deletes()
        assert ours() == []
        assert QgsApplication.processingRegistry().algorithmById("satellite_tasking:price_aois") is None


def test_init_processing_alone_registers_once_without_an_interface(qgis_app):
    """What qgis_process does: classFactory(None), then initProcessing (twice must not add two providers)."""
    plugin = satellite_tasking.classFactory(None)
    plugin.initProcessing()
    plugin.initProcessing()
    try:
        assert len(ours()) == 1
    finally:
        QgsApplication.processingRegistry().removeProvider(plugin.provider)
        plugin.provider = None
    assert ours() == []
