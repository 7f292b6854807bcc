"""Memory layers built from WKT for tests: one feature per WKT, None for a feature without geometry."""

from __future__ import annotations

from typing import Iterable, Optional

from qgis.core import QgsFeature, QgsGeometry, QgsVectorLayer


def make_layer(definition: str, wkts: Iterable[Optional[str]], name: str = "areas") -> QgsVectorLayer:
    """A memory layer ("Point?crs=EPSG:4326", ...) holding one feature per WKT."""
    layer = QgsVectorLayer(definition, name, "memory")
    assert layer.isValid()
    features = []
    for wkt in wkts:
        feature = QgsFeature(layer.fields())
        if wkt is not None:
            feature.setGeometry(QgsGeometry.fromWkt(wkt))
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    return layer
