"""Bulk dialog tests (real QGIS widgets against the sandbox)."""
