"""Memory layers for tests: built from WKT (one feature per WKT, None for a feature without geometry), or points
each with a label."""

from __future__ import annotations

from typing import Iterable, Optional, Tuple

from qgis.core import QgsFeature, QgsGeometry, QgsPointXY, QgsVectorLayer

from core import compat


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


def labelled_points(crs: str, name: str, field: str,
                    points: Iterable[Tuple[float, float, Optional[str]]]) -> QgsVectorLayer:
    """A memory layer `name` of points (x, y, label) in `crs` ("EPSG:4326"), the label in the string field `field`."""
    layer = QgsVectorLayer(f"Point?crs={crs}", name, "memory")
    layer.dataProvider().addAttributes([compat.make_field(field, compat.STRING)])
    layer.updateFields()
    features = []
    for x, y, label in points:
        feature = QgsFeature(layer.fields())
        feature.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(x, y)))
        feature.setAttributes([label])
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    return layer
