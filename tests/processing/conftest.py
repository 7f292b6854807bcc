"""Processing fixtures: QGIS's Processing framework with the plugin's provider, and the plugin pointed at the sandbox."""

from __future__ import annotations

import os
import sys

import pytest


@pytest.fixture
def processing_registry(qgis_app):
    """QGIS's Processing framework initialised (as in QGIS desktop) with the Satellite Tasking provider added for
    the test (and removed after it, so the plugin's own registration can be tested on an empty registry)."""
    from qgis.core import QgsApplication

    plugins = os.path.join(QgsApplication.pkgDataPath(), "python", "plugins")
    if plugins not in sys.path:
        sys.path.append(plugins)
    from processing.core.Processing import Processing

    from satellite_tasking.processing_provider.provider import SatelliteTaskingProvider

    Processing.initialize()
    registry = QgsApplication.processingRegistry()
    provider = SatelliteTaskingProvider()
    assert registry.addProvider(provider)
    yield registry
    registry.removeProvider(provider)


@pytest.fixture
def fast_sandbox(sandbox):
    """The test sandbox with its clock running (1 simulated hour a second), so bulks and searches finish while an
    algorithm polls them with real sleeps; frozen again afterwards."""
    sandbox.control("POST", "clock", {"speed": 3600})
    yield sandbox
    sandbox.control("POST", "clock", {"speed": 0})


@pytest.fixture
def tasking(processing_registry, clean_settings, fast_sandbox, tmp_path, monkeypatch):
    """The plugin's key stored in QgsAuthManager (the sandbox's), its contract set, a journal of the test's own;
    algorithms are given the sandbox by their Service URL parameter. Yields the sandbox."""
    monkeypatch.setenv("SATELLITE_TASKING_BULK_JOURNAL", str(tmp_path / "journal.sqlite"))
    clean_settings.set_api_key(clean_settings.PLANET_TASKING, fast_sandbox.api_key)
    contract = clean_settings.sandbox_contract(int(fast_sandbox.root.rsplit(":", 1)[1]))
    clean_settings.set_pl_number(contract or "")
    return fast_sandbox
