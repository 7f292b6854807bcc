"""Input layers for the Processing tests: AOIs in a projected CRS, some of them invalid in known ways."""

from __future__ import annotations

from typing import List, Tuple

from qgis.core import QgsFeature, QgsGeometry, QgsPointXY, QgsVectorLayer

from core import compat

# Web Mercator metres around Munich: far from the poles and the antimeridian.
X0, Y0 = 1288000.0, 6129000.0


def point_layer(names: List[str], name: str = "sites") -> QgsVectorLayer:
    """One point per name, 20 km apart, in EPSG:3857, with a `site` attribute."""
    layer = QgsVectorLayer("Point?crs=EPSG:3857", name, "memory")
    layer.dataProvider().addAttributes([compat.make_field("site", compat.STRING)])
    layer.updateFields()
    features = []
    for index, site in enumerate(names):
        feature = QgsFeature(layer.fields())
        feature.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(X0 + index * 20000.0, Y0)))
        feature.setAttributes([site])
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    return layer


def line_layer(lines: List[Tuple[str, float]], name: str = "strips") -> QgsVectorLayer:
    """One east-west line per (name, length in metres of EPSG:3857), 20 km apart north-south."""
    layer = QgsVectorLayer("LineString?crs=EPSG:3857", name, "memory")
    layer.dataProvider().addAttributes([compat.make_field("site", compat.STRING)])
    layer.updateFields()
    features = []
    for index, (site, length) in enumerate(lines):
        y = Y0 + index * 20000.0
        feature = QgsFeature(layer.fields())
        feature.setGeometry(QgsGeometry.fromPolylineXY([QgsPointXY(X0, y), QgsPointXY(X0 + length, y)]))
        feature.setAttributes([site])
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    return layer
