"""The QGIS-version-dependent calls, in one place: the plugin runs on QGIS 3.22 to 3.40 and is ready for QGIS 4 (Qt 6)."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Any, Iterator

from qgis.core import Qgis, QgsField, QgsMapLayerProxyModel, QgsNetworkAccessManager, QgsRectangle

QGIS_VERSION_INT = Qgis.QGIS_VERSION_INT

# QgsField takes a QMetaType from 3.38 on (the QVariant.Type constructor is deprecated there, and QVariant's
# types are gone in Qt 6); earlier releases take only QVariant.Type. The numbers are Qt's and the same in both.
if QGIS_VERSION_INT >= 33800:
    from qgis.PyQt.QtCore import QMetaType

    _FIELD_TYPES = QMetaType.Type
    STRING = QMetaType.Type.QString
    INT = QMetaType.Type.Int
    LONG = QMetaType.Type.LongLong
    DOUBLE = QMetaType.Type.Double
    BOOL = QMetaType.Type.Bool
    DATETIME = QMetaType.Type.QDateTime
    BYTES = QMetaType.Type.QByteArray
    UNKNOWN = QMetaType.Type.UnknownType
else:  # pragma: no cover - QGIS < 3.38
    from qgis.PyQt.QtCore import QVariant

    _FIELD_TYPES = QVariant.Type
    STRING = QVariant.Type.String
    INT = QVariant.Type.Int
    LONG = QVariant.Type.LongLong
    DOUBLE = QVariant.Type.Double
    BOOL = QVariant.Type.Bool
    DATETIME = QVariant.Type.DateTime
    BYTES = QVariant.Type.ByteArray
    UNKNOWN = QVariant.Type.Invalid


def field_type(number: int) -> Any:
    """The field type with Qt's type number `number` (as stored by field_type_number), for QgsField."""
    return _FIELD_TYPES(int(number))


def field_type_number(field: QgsField) -> int:
    """A field's type as Qt's plain number, the same on every QGIS (to store, or to compare with STRING...)."""
    return int(field.type())


def field_subtype_number(field: QgsField) -> int:
    return int(field.subType())


def is_type(field: QgsField, kind: Any) -> bool:
    """Whether `field` is of `kind` (STRING, DATETIME...), whichever enum this QGIS reports its type in."""
    return int(field.type()) == int(kind)


def make_field(name: str, kind: Any, type_name: str = "", length: int = 0, precision: int = 0,
               sub_type: Any = None) -> QgsField:
    """A QgsField of `kind` (STRING, DATETIME... or a number from field_type_number)."""
    sub = UNKNOWN if sub_type is None else sub_type
    return QgsField(name, field_type(int(kind)), type_name, length, precision, "", field_type(int(sub)))


def vector_layer_filter(points: bool = True, lines: bool = True, polygons: bool = True) -> Any:
    """The filter a QgsMapLayerComboBox takes for point, line and/or polygon layers (Qgis.LayerFilter from
    3.34 on, QgsMapLayerProxyModel.Filter before)."""
    if QGIS_VERSION_INT >= 33400:
        filters, flags = Qgis.LayerFilter, Qgis.LayerFilters
    else:  # pragma: no cover - QGIS < 3.34
        filters, flags = QgsMapLayerProxyModel.Filter, QgsMapLayerProxyModel.Filters
    chosen = [filters.PointLayer] * points + [filters.LineLayer] * lines + [filters.PolygonLayer] * polygons
    combined = chosen[0]
    for one in chosen[1:]:
        combined = combined | one
    # As the flags type: a plain int (what `|` gives) selects the deprecated overload of setFilters on 3.40.
    return flags(combined)


def null_rectangle() -> QgsRectangle:
    """An empty rectangle that combineExtentWith() grows from (setNull() from 3.34, setMinimal() before)."""
    rectangle = QgsRectangle()
    if QGIS_VERSION_INT >= 33400:
        rectangle.setNull()
    else:  # pragma: no cover - QGIS < 3.34
        rectangle.setMinimal()
    return rectangle


def network_timeout_ms() -> int:
    """QGIS's network timeout (Settings ▸ Options ▸ Network), as QGIS itself reads it, in milliseconds."""
    return int(QgsNetworkAccessManager.timeout())


@contextmanager
def ogr_module() -> Iterator[Any]:
    """GDAL's ogr module for one block of work, its errors as return values (see _errors_as_values)."""
    from osgeo import ogr  # shipped with QGIS

    with _errors_as_values(ogr):
        yield ogr


@contextmanager
def gdal_module() -> Iterator[Any]:
    """GDAL's gdal module for one block of work, its errors as return values (see _errors_as_values)."""
    from osgeo import gdal  # shipped with QGIS

    with _errors_as_values(gdal):
        yield gdal


@contextmanager
def _errors_as_values(module: Any) -> Iterator[None]:
    """GDAL 3.7+ warns unless a module's error mode is chosen; it is chosen for this block only, since the
    global mode belongs to QGIS."""
    manager = getattr(module, "ExceptionMgr", None)  # GDAL 3.7+
    if manager is None:  # pragma: no cover - GDAL < 3.7 (QGIS 3.22 on Debian 12) neither warns nor has it
        yield
        return
    with manager(useExceptions=False):
        yield


@contextmanager
def gdal_options(**options: str) -> Iterator[None]:
    """GDAL configuration options for this thread only, for one block (other threads and layers keep theirs)."""
    from osgeo import gdal  # shipped with QGIS

    previous = {name: gdal.GetThreadLocalConfigOption(name, None) for name in options}
    for name, value in options.items():
        gdal.SetThreadLocalConfigOption(name, value)
    try:
        yield
    finally:
        for name, value in previous.items():
            gdal.SetThreadLocalConfigOption(name, value)


_OGR_LOCAL_DATETIMES: list = []
# The probe is asked from worker threads too (the orders mirror opens its layers in its task): one probe.
_OGR_PROBE_LOCK = threading.Lock()


def ogr_datetimes_are_local() -> bool:
    """True where the OGR provider stores a date-time's clock without its zone and reads it back as local
    time (QGIS 3.22; 3.40 keeps UTC): a UTC value must then be handed over as local time to keep its instant.

    Found once by writing one value to a scratch GeoPackage, not by version number, since the release that
    changed it is not one this plugin is tested on. The first probe of a process costs ~60 ms (GDAL's
    GeoPackage driver starts up), so callers that can, ask it first from a worker thread (see
    OrdersMirror.refresh); the answer is kept, thread-safely.
    """
    if not _OGR_LOCAL_DATETIMES:
        with _OGR_PROBE_LOCK:
            if not _OGR_LOCAL_DATETIMES:
                _OGR_LOCAL_DATETIMES.append(_probe_ogr_local_datetimes())
    return _OGR_LOCAL_DATETIMES[0]


def _probe_ogr_local_datetimes() -> bool:
    import os
    import shutil
    import tempfile

    from qgis.core import QgsCoordinateTransformContext, QgsFeature, QgsVectorFileWriter, QgsVectorLayer
    from qgis.PyQt.QtCore import QDateTime, Qt

    instant = 1_700_000_000_000
    folder = tempfile.mkdtemp(prefix="satellite_tasking_probe_")
    try:
        path = os.path.join(folder, "probe.gpkg")
        template = QgsVectorLayer("None", "probe", "memory")
        template.dataProvider().addAttributes([make_field("t", DATETIME)])
        template.updateFields()
        options = QgsVectorFileWriter.SaveVectorOptions()
        options.driverName = "GPKG"
        options.layerName = "probe"
        QgsVectorFileWriter.writeAsVectorFormatV3(template, path, QgsCoordinateTransformContext(), options)
        layer = QgsVectorLayer(f"{path}|layername=probe", "probe", "ogr")
        feature = QgsFeature(layer.fields())
        feature.setAttribute("t", QDateTime.fromMSecsSinceEpoch(instant, Qt.TimeSpec.UTC))
        layer.dataProvider().addFeatures([feature])
        back = next(layer.dataProvider().getFeatures())["t"]
        local = back.timeSpec() == Qt.TimeSpec.LocalTime and back.time().hour() == 22
        del layer
        return local
    finally:
        # QGIS's OGR connection pool may close the file (and write its -wal/-shm) a moment later, from another
        # thread: a folder not yet empty is no reason to fail the probe (it raised "Directory not empty").
        shutil.rmtree(folder, ignore_errors=True)
