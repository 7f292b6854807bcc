"""The GeoPackage the plugin's layers live in: beside a saved project, else in the QGIS profile; tables made once and reused."""

from __future__ import annotations

import os
from typing import Any, Iterable, Mapping, Optional

from qgis.core import (
    QgsApplication,
    QgsCoordinateTransformContext,
    QgsFeatureRequest,
    QgsFields,
    QgsVectorFileWriter,
    QgsVectorLayer,
    QgsWkbTypes,
)

# A saved project's layers: "<project folder>/<project base name>_satellite_tasking.gpkg".
PROJECT_STORE_SUFFIX = "_satellite_tasking.gpkg"
# An unsaved project's layers, in the QGIS profile folder.
PROFILE_STORE = os.path.join("satellite_tasking", "layers.gpkg")


def store_path(project: Any) -> str:
    """The GeoPackage `project`'s plugin layers are written to: beside the project file once it is saved,
    else in the QGIS profile folder."""
    project_file = project.fileName() if project is not None else ""
    if project_file:
        folder, base = os.path.split(os.path.abspath(project_file))
        return os.path.join(folder, os.path.splitext(base)[0] + PROJECT_STORE_SUFFIX)
    return profile_store_path()


def profile_store_path() -> str:
    return os.path.join(QgsApplication.qgisSettingsDirPath(), PROFILE_STORE)


def table_uri(path: str, table: str) -> str:
    return f"{path}|layername={table}"


def _has_table(path: str, table: str) -> bool:
    if not os.path.exists(path):
        return False
    from . import compat

    with compat.ogr_module() as ogr:
        dataset = ogr.Open(path, 0)
        if dataset is None:
            return False
        try:
            return dataset.GetLayerByName(table) is not None
        finally:
            dataset = None


def _write_empty_table(path: str, table: str, fields: QgsFields, geometry_type: Any, crs: str) -> None:
    """An empty `table` in the GeoPackage at `path` (made when missing); an existing table of that name is
    replaced. Raises OSError on failure."""
    template = QgsVectorLayer(f"{QgsWkbTypes.displayString(geometry_type)}?crs={crs}", table, "memory")
    template.dataProvider().addAttributes(fields.toList())
    template.updateFields()
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = "GPKG"
    options.fileEncoding = "UTF-8"
    options.layerName = table
    options.actionOnExistingFile = (
        QgsVectorFileWriter.ActionOnExistingFile.CreateOrOverwriteLayer if os.path.exists(path)
        else QgsVectorFileWriter.ActionOnExistingFile.CreateOrOverwriteFile
    )
    error, message, _, _ = QgsVectorFileWriter.writeAsVectorFormatV3(template, path, QgsCoordinateTransformContext(),
                                                                     options)
    if error != QgsVectorFileWriter.WriterError.NoError:
        raise OSError(f"Could not make the table '{table}' in {path}: {message}")


def _fits(layer: QgsVectorLayer, fields: Iterable[str]) -> bool:
    names = set(layer.fields().names())
    return layer.isValid() and all(name in names for name in fields) and layer.dataProvider().capabilities() & \
        layer.dataProvider().Capability.AddFeatures


def writing(layer: QgsVectorLayer) -> QgsVectorLayer:
    """`layer` with its provider in update mode from now on (a layer of another provider as it is).

    QGIS's OGR provider opens a GeoPackage read-only until a first write; a read-only connection that
    meets the write-ahead log another layer of the same file opened fails with "unable to open database
    file" (QGIS 3.22), so every layer of the store is a writer from the start.
    """
    if layer.providerType() == "ogr":
        layer.dataProvider().enterUpdateMode()
    return layer


def open_table(path: str, table: str, name: str, fields: QgsFields, geometry_type: Any,
               crs: str = "EPSG:4326", siblings: Optional[Mapping[str, QgsFields]] = None) -> QgsVectorLayer:
    """The layer `name` reading `table` of the GeoPackage at `path`, empty: a table that is there with
    `fields` is reused and emptied (what it held belonged to a layer that was removed, or to another unsaved
    project, and is written again by whoever fills the layer), else made. Raises OSError when the file
    cannot be made or written.

    `siblings` (table -> fields) are the other tables the file will hold: made with it when the file is
    new, since a table added to a GeoPackage later leaves the layers already reading it unable to read
    ("unable to open database file", QGIS 3.22).
    """
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    if not os.path.exists(path):
        for other, other_fields in (siblings or {}).items():
            if other != table:
                _write_empty_table(path, other, other_fields, geometry_type, crs)
    if _has_table(path, table):
        layer = QgsVectorLayer(table_uri(path, table), name, "ogr")
        if _fits(layer, fields.names()):
            provider = layer.dataProvider()
            old = [feature.id() for feature in provider.getFeatures(QgsFeatureRequest().setNoAttributes())]
            if not old or provider.deleteFeatures(old):
                return writing(layer)
        del layer
    _write_empty_table(path, table, fields, geometry_type, crs)
    layer = QgsVectorLayer(table_uri(path, table), name, "ogr")
    if not _fits(layer, fields.names()):
        raise OSError(f"Could not open the table '{table}' of {path} for writing.")
    return writing(layer)


def layer_path(layer: QgsVectorLayer) -> Optional[str]:
    """The GeoPackage file an OGR layer reads, or None for a layer of another provider."""
    if layer.providerType() != "ogr":
        return None
    return os.path.abspath(layer.source().split("|")[0])


def is_writable(layer: QgsVectorLayer) -> bool:
    """The layer can be written to: valid, and its store accepts new features (a GeoPackage that is gone,
    moved or read-only does not)."""
    if not layer.isValid():
        return False
    path = layer_path(layer)
    if path is not None and (not os.path.exists(path) or not os.access(path, os.W_OK)):
        return False
    return bool(layer.dataProvider().capabilities() & layer.dataProvider().Capability.AddFeatures)


def copy_table(layer: QgsVectorLayer, path: str, table: str) -> QgsVectorLayer:
    """`layer`'s features and fields written as `table` of the GeoPackage at `path` (made when missing, the
    table replaced when there), opened as a layer named like `layer`. Raises OSError on failure."""
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = "GPKG"
    options.fileEncoding = "UTF-8"
    options.layerName = table
    options.actionOnExistingFile = (
        QgsVectorFileWriter.ActionOnExistingFile.CreateOrOverwriteLayer if os.path.exists(path)
        else QgsVectorFileWriter.ActionOnExistingFile.CreateOrOverwriteFile
    )
    error, message, _, _ = QgsVectorFileWriter.writeAsVectorFormatV3(layer, path, QgsCoordinateTransformContext(),
                                                                     options)
    if error != QgsVectorFileWriter.WriterError.NoError:
        raise OSError(f"Could not write '{layer.name()}' to {path}: {message}")
    stored = QgsVectorLayer(table_uri(path, table), layer.name(), "ogr")
    if not stored.isValid():
        raise OSError(f"Could not open the table '{table}' of {path}.")
    return writing(stored)
