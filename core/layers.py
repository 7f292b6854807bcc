"""Orders, captures and imaging windows as styled, temporal, spatially indexed layers (GeoPackage in a project), refreshed in place."""

from __future__ import annotations

import marshal
import os
import struct
import time as _time
import weakref
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from qgis.core import (
    Qgis,
    QgsCoordinateTransformContext,
    QgsDateTimeRange,
    QgsFeature,
    QgsFeatureRequest,
    QgsFeatureStore,
    QgsFields,
    QgsGeometry,
    QgsMapLayer,
    QgsVectorFileWriter,
    QgsVectorLayer,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QDateTime, QObject, Qt, QVariant

try:
    from qgis.PyQt import sip
except ImportError:  # pragma: no cover - older PyQt5 builds ship sip on its own
    import sip  # type: ignore[no-redef]

from . import compat, layer_store, names
from .log import get_logger

_log = get_logger(__name__)

STYLES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "resources", "styles")

LAYER_URI = "Polygon?crs=EPSG:4326"
DEFAULT_BATCH_SIZE = 2000
# The Layers panel group the plugin's layers are added to.
GROUP_NAME = names.PLUGIN_TITLE

class LayerInEditModeError(RuntimeError):
    """A refresh was asked of a layer the user is editing; writing under the edit buffer would lose edits."""


def refuse_edit_mode(layer: QgsVectorLayer) -> None:
    """Raise LayerInEditModeError if the user is editing `layer` (nothing is written under an edit buffer)."""
    if layer.isEditable():
        raise LayerInEditModeError(
            f"The layer '{layer.name()}' is being edited: save or discard the edits, then refresh again."
        )


# --------------------------------------------------------------------------------------------------
# GeoJSON -> geometry
# --------------------------------------------------------------------------------------------------
# Packing WKB with struct and handing it to QgsGeometry.fromWkb measured fastest for 10,000 footprints
# (0.024 s), ahead of QgsPointXY/QgsPolygonXY lists (0.039 s), QgsLineString arrays (0.036 s),
# osgeo.ogr from JSON (0.13 s) and WKT (0.19 s).
_WKB_TYPE = {"Point": 1, "LineString": 2, "Polygon": 3, "MultiPoint": 4, "MultiLineString": 5, "MultiPolygon": 6}
POLYGONAL_TYPES = frozenset({"Polygon", "MultiPolygon"})
_POLYGONAL_WKB = frozenset(_WKB_TYPE[kind] for kind in POLYGONAL_TYPES)


def _points_wkb(coordinates: Sequence[Sequence[float]]) -> bytes:
    # Z and M are dropped: the layers are 2D.
    flat = [value for position in coordinates for value in (position[0], position[1])]
    return struct.pack("<I%dd" % len(flat), len(coordinates), *flat)


def _geometry_wkb(kind: str, coordinates: Any) -> bytes:
    if kind == "Point":
        return struct.pack("<BIdd", 1, 1, coordinates[0], coordinates[1])
    if kind == "LineString":
        return struct.pack("<BI", 1, 2) + _points_wkb(coordinates)
    if kind == "Polygon":
        return struct.pack("<BII", 1, 3, len(coordinates)) + b"".join(_points_wkb(ring) for ring in coordinates)
    part_kind = kind[5:]
    return struct.pack("<BII", 1, _WKB_TYPE[kind], len(coordinates)) + b"".join(
        _geometry_wkb(part_kind, part) for part in coordinates
    )


def _collection_wkb(members: Sequence[Optional[bytes]]) -> Optional[bytes]:
    """A GeometryCollection of these members' WKB (empty ones left out); None when none is left."""
    members = [member for member in members if member]
    return struct.pack("<BII", 1, 7, len(members)) + b"".join(members) if members else None


def geojson_to_wkb(geojson: Optional[Mapping[str, Any]]) -> Optional[bytes]:
    """A GeoJSON geometry dict -> 2D little-endian WKB; None or an empty geometry -> None.

    A multi-geometry of one part becomes that part, so a one-part MultiPolygon lands in a Polygon layer
    as a Polygon. Raises ValueError for anything that is not a GeoJSON geometry.
    """
    if not geojson:
        return None
    try:
        kind = geojson["type"]
        if kind == "GeometryCollection":
            return _collection_wkb([geojson_to_wkb(member) for member in geojson.get("geometries") or []])
        coordinates = geojson["coordinates"]
        if kind not in _WKB_TYPE:
            raise ValueError(f"unknown GeoJSON geometry type {kind!r}")
        if not coordinates:
            return None
        if kind.startswith("Multi") and len(coordinates) == 1:
            kind, coordinates = kind[5:], coordinates[0]
        return _geometry_wkb(kind, coordinates)
    except (KeyError, IndexError, TypeError, struct.error) as exc:
        raise ValueError(f"not a GeoJSON geometry: {exc!s}") from exc


def geojson_objects_to_wkb(obj: Dict[str, Any]) -> Any:
    """A json.loads object_hook: each GeoJSON geometry object becomes its WKB (geojson_to_wkb; None when empty)
    as the text is read, so its coordinate lists are freed at once instead of living as long as the page (a
    page's lists outlived the young collections into the old generation, whose full collections hold the GIL
    20-30 ms). Any other object, and a geometry that cannot be read, stays as it is."""
    kind = obj.get("type")
    if kind == "GeometryCollection":
        members = obj.get("geometries")
        # Its members were read first, so they are WKB already (or None when empty).
        if not isinstance(members, list) or not all(m is None or isinstance(m, bytes) for m in members):
            return obj
        return _collection_wkb(members)
    if kind not in _WKB_TYPE or "coordinates" not in obj:
        return obj
    try:
        return geojson_to_wkb(obj)
    except ValueError:
        return obj


def is_polygonal_wkb(wkb: bytes) -> bool:
    """Whether 2D little-endian WKB (geojson_to_wkb's) is a Polygon or a MultiPolygon."""
    return len(wkb) >= 5 and wkb[0] == 1 and struct.unpack_from("<I", wkb, 1)[0] in _POLYGONAL_WKB


def wkb_to_geometry(wkb: Optional[bytes]) -> QgsGeometry:
    """WKB bytes -> QgsGeometry (a null geometry for None)."""
    geometry = QgsGeometry()
    if wkb:
        geometry.fromWkb(wkb)
    return geometry


def geojson_to_geometry(geojson: Optional[Mapping[str, Any]]) -> QgsGeometry:
    """A GeoJSON geometry dict (Point, LineString, Polygon, Multi*, GeometryCollection) -> QgsGeometry."""
    return wkb_to_geometry(geojson_to_wkb(geojson))


def polygonal(geojson: Optional[Mapping[str, Any]]) -> Optional[Mapping[str, Any]]:
    # The layers are polygon layers: a point or a line (an order's original_geometry) has no place there.
    if geojson and geojson.get("type") in POLYGONAL_TYPES:
        return geojson
    return None


# --------------------------------------------------------------------------------------------------
# Typed results -> plain rows
# --------------------------------------------------------------------------------------------------
# A row holds plain Python values; date-times are integer milliseconds since the epoch (UTC) to the WHOLE
# SECOND: the precision every store the layers are written to keeps (QGIS 3.22's GeoPackage writer drops
# milliseconds), so a row read back from a layer compares equal to the one written and an unchanged order
# is never rewritten. This is the one place that rule is applied.


def epoch_ms(value: Optional[datetime]) -> Optional[int]:
    """`value` as milliseconds since the epoch, to the whole second (earlier); a naive value is UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return int(value.timestamp() // 1) * 1000


def joined(values: Optional[Iterable[Any]]) -> Optional[str]:
    values = [str(value) for value in values or ()]
    return ",".join(values) if values else None


# --------------------------------------------------------------------------------------------------
# Layer kinds
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerKind:
    """What a layer of one kind holds: its fields, style and temporal fields."""

    name: str
    fields: Tuple[Tuple[str, int], ...]
    style_path: str
    temporal_start_field: str
    temporal_end_field: Optional[str] = None

    @property
    def field_names(self) -> Tuple[str, ...]:
        return tuple(name for name, _ in self.fields)

    def qgs_fields(self) -> QgsFields:
        fields = QgsFields()
        for name, field_type in self.fields:
            fields.append(compat.make_field(name, field_type))
        return fields

    @property
    def datetime_columns(self) -> Tuple[int, ...]:
        return tuple(i for i, (_, field_type) in enumerate(self.fields) if int(field_type) == int(compat.DATETIME))


# The kind a layer was made as travels with the layer (and its project) as a custom property.
KIND_PROPERTY = "satellite_tasking/kind"
_KINDS: Dict[str, "LayerKind"] = {}


def register_kind(kind: "LayerKind") -> "LayerKind":
    """Make `kind` known to layer_kind(); each service's layer schemas register theirs on import."""
    _KINDS[kind.name] = kind
    return kind


def layer_kind(layer: QgsVectorLayer) -> Optional[LayerKind]:
    """The LayerKind a layer was created as, or None for a layer this module did not make."""
    return _KINDS.get(layer.customProperty(KIND_PROPERTY) or "")


def layers_of_kind(project: Any, kind: LayerKind) -> List[QgsVectorLayer]:
    """The project's layers of `kind`, found by kind (the user may rename them, or have several), top-most in
    the Layers panel first."""
    layers = list(project.layerTreeRoot().layerOrder())
    listed = {layer.id() for layer in layers}
    layers += [layer for layer in project.mapLayers().values() if layer.id() not in listed]
    return [layer for layer in layers if isinstance(layer, QgsVectorLayer) and layer_kind(layer) is kind]


def find_or_create_layer(project: Any, kind: LayerKind, name: str, keep_contents: bool = False) -> QgsVectorLayer:
    """The project's top-most layer of `kind`, or a new empty one named `name` added to it.

    Every panel takes its layers through here, so an order placed in the New order tab, the Orders tab
    and a saved project all share one "Tasking orders" layer instead of each making its own.

    The new layer goes to the top of the "Satellite Tasking" group. It is a table of the project's
    GeoPackage (layer_store.store_path: beside the project once saved, else in the QGIS profile), so it
    comes back with the project and QGIS never asks about scratch layers on exit; a table left by a layer
    the user removed is reused. A layer whose GeoPackage is gone or read-only is passed over and made anew
    (in the profile's GeoPackage when the project's cannot be written, in memory as the last resort).
    A reused table is emptied, unless `keep_contents` (see layer_store.open_table's `keep`).
    """
    follow_project_file(project)
    found = [layer for layer in layers_of_kind(project, kind) if layer_store.is_writable(layer)]
    if found:
        return layer_store.writing(found[0])
    layer = None
    for path in dict.fromkeys([layer_store.store_path(project), layer_store.profile_store_path()]):
        try:
            layer = create_layer(kind, name, store=path, keep_contents=keep_contents)
            break
        except OSError as exc:
            _log.warning("The layer '%s' could not be stored in %s (%s).", name, path, exc)
    if layer is None:
        layer = create_layer(kind, name)
    add_to_group(project, layer)
    return layer


@dataclass
class LayerPlan:
    """Where the layer of `kind` comes from (see plan_layer): the project's own `layer`, else a table made or
    reused in the first of `paths` that takes it (open_planned_layer, in a worker), else memory."""

    kind: LayerKind
    name: str
    layer: Optional[QgsVectorLayer] = None
    paths: Tuple[str, ...] = ()


def plan_layer(project: Any, kind: LayerKind, name: str) -> LayerPlan:
    """find_or_create_layer's choice, made on the main thread without opening anything: the project's
    top-most writable layer of `kind`, else the GeoPackages to make it in."""
    follow_project_file(project)
    found = [layer for layer in layers_of_kind(project, kind) if layer_store.is_writable(layer)]
    if found:
        return LayerPlan(kind, name, layer_store.writing(found[0]))
    return LayerPlan(kind, name, None,
                     tuple(dict.fromkeys([layer_store.store_path(project), layer_store.profile_store_path()])))


def open_planned_layer(plan: LayerPlan, thread: Any) -> Tuple[QgsVectorLayer, "WriteLayout"]:
    """The layer `plan` makes, empty (a reused table emptied), opened on this thread, a worker's, and handed
    to `thread` (the main thread's QThread), where finish_planned_layer adds it to the project; with its
    WriteLayout, read before it leaves this thread.

    Opening a GeoPackage table (and, first in a process, starting GDAL's GeoPackage driver and probing how it
    stores date-times) cost the main thread 30-200 ms a time; here it costs a worker that time instead.
    """
    compat.ogr_datetimes_are_local()  # asked here, not first by the main thread (see _time_spec)
    layer = None
    for path in plan.paths:
        try:
            layer = layer_store.open_empty_table(path, plan.kind.name, plan.name, plan.kind.qgs_fields(),
                                                 QgsWkbTypes.Type.Polygon, siblings=_sibling_tables())
            layer.setCustomProperty(KIND_PROPERTY, plan.kind.name)
            break
        except OSError as exc:
            _log.warning("The layer '%s' could not be stored in %s (%s).", plan.name, path, exc)
    if layer is None:
        layer = _memory_layer(plan.kind, plan.name)
    layout = write_layout(layer, plan.kind)
    # C++ owns it from here: a Python wrapper caught in a cycle (a traceback's frames) would otherwise delete the
    # layer whenever the cycle collector runs, in whatever thread, or after QGIS has shut down. The project
    # takes it over (finish_planned_layer); one nobody takes is deleted by discard_planned_layers.
    sip.transferto(layer, None)
    layer.moveToThread(thread)
    return layer, layout


def discard_planned_layers(opened: Iterable[Tuple[Any, QgsVectorLayer]]) -> None:
    """Delete the layers open_planned_layer made that no project took (any thread: deleteLater is posted to the
    layer's own thread); a plan that found the project's layer keeps it."""
    for plan, layer in opened:
        if plan.layer is None and layer is not None and not sip.isdeleted(layer) and layer.project() is None:
            layer.deleteLater()


def finish_planned_layer(project: Any, kind: LayerKind, layer: QgsVectorLayer) -> QgsVectorLayer:
    """A layer from open_planned_layer made whole on the main thread (aliases, style, temporal settings) and
    added to the project's group."""
    _set_aliases(layer, kind)
    _load_style(layer, kind.style_path)
    _set_temporal(layer, kind)
    add_to_group(project, layer)
    return layer


class _ProjectFileFollower(QObject):
    """A child of a project that moves the plugin's stored layers beside the project's file when it gets one.

    A child rather than a Python closure over the project: it lives and dies with the project
    and holds no Python reference to it (a weak reference to a QgsProject wrapper crashed QGIS 3.22).
    """

    NAME = "satellite_tasking_layer_follower"

    def __init__(self, project: Any) -> None:
        super().__init__(project)
        self.setObjectName(self.NAME)
        project.fileNameChanged.connect(self.renamed)

    def renamed(self) -> None:
        project = self.parent()
        if project is not None:
            move_stored_layers(project)


def follow_project_file(project: Any) -> None:
    """Move the plugin's stored layers beside `project`'s file whenever it gets one, before it is written:
    QGIS's Save (of a new project) and Save As set the file name first, then write the project, so the
    project file refers to the GeoPackage beside it.

    (QgsProject.write(path) alone changes the name without saying so; scripts call setFileName first.)
    """
    if project is None or not isinstance(project, QObject) or not hasattr(project, "fileNameChanged"):
        return
    # By class, not by name: a copy of this module loaded with the plugin elsewhere has a class of its own.
    if not any(isinstance(child, _ProjectFileFollower) for child in project.children()):
        _ProjectFileFollower(project)


# A layer the plugin stored that is not of a kind (a bulk result) carries its table name, so a save moves it.
STORED_TABLE_PROPERTY = "satellite_tasking/table"


def store_copy(project: Any, layer: QgsVectorLayer, table: str) -> QgsVectorLayer:
    """`layer` (e.g. a memory layer just built) copied as `table` into `project`'s GeoPackage (see
    find_or_create_layer) with its style, so it lasts with the project; `layer` itself when no GeoPackage
    can take it. The copy is not added to the project."""
    follow_project_file(project)
    for path in dict.fromkeys([layer_store.store_path(project), layer_store.profile_store_path()]):
        try:
            stored = layer_store.copy_table(layer, path, table)
        except OSError as exc:
            _log.warning("The layer '%s' could not be stored in %s (%s).", layer.name(), path, exc)
            continue
        stored.setCustomProperty(STORED_TABLE_PROPERTY, table)
        stored.setRenderer(layer.renderer().clone())
        return stored
    return layer


def move_stored_layers(project: Any) -> List[QgsVectorLayer]:
    """Copy each stored layer of the plugin that is not in `project`'s GeoPackage there and point the layer
    at the copy (style, temporal settings and properties stay); the old file is left for whoever still
    reads it. A layer that cannot be moved stays where it is. Returns the layers moved."""
    return _repoint(project, _copy_stored_layers(project))


def _copy_stored_layers(project: Any) -> List[Tuple[str, QgsVectorLayer]]:
    """(layer id, its copy in `project`'s GeoPackage) for each stored layer of the plugin that is
    elsewhere; the layers themselves are left as they are (see _repoint)."""
    if not project.fileName():
        return []
    target = layer_store.store_path(project)
    copies: List[Tuple[str, QgsVectorLayer]] = []
    for layer in list(project.mapLayers().values()):
        kind = layer_kind(layer) if isinstance(layer, QgsVectorLayer) else None
        table_name = layer.customProperty(STORED_TABLE_PROPERTY) if isinstance(layer, QgsVectorLayer) else None
        path = layer_store.layer_path(layer) if kind is not None or table_name else None
        if path is None or path == os.path.abspath(target) or not layer.isValid():
            continue
        try:
            if kind is None:
                copies.append((layer.id(), layer_store.copy_table(layer, target, table_name)))
                continue
            table = layer_store.open_table(target, kind.name, layer.name(), kind.qgs_fields(), layer.wkbType(),
                                           layer.crs().authid() or "EPSG:4326", siblings=_sibling_tables())
            provider = table.dataProvider()
            target_fields = table.fields()
            # By name: the fid keeps each feature's id, so the layer's selection and the index stay valid.
            source_columns = [layer.fields().indexOf(target_fields.at(i).name()) for i in range(target_fields.count())]
            features = []
            for feature in layer.dataProvider().getFeatures():
                copy = QgsFeature(target_fields)
                values = feature.attributes()
                copy.setAttributes([values[column] if column >= 0 else None for column in source_columns])
                copy.setGeometry(feature.geometry())
                features.append(copy)
            if features and not provider.addFeatures(features)[0]:
                raise OSError(_provider_error(provider))
            copies.append((layer.id(), table))
        except OSError as exc:
            _log.warning("The layer '%s' stays in %s: %s", layer.name(), path, exc)
    return copies


def _repoint(project: Any, copies: Sequence[Tuple[str, QgsVectorLayer]]) -> List[QgsVectorLayer]:
    """Point each layer (by id) at its copy, while the copy still holds the file open for writing (see
    layer_store.writing); a layer removed meanwhile is skipped."""
    moved = []
    for layer_id, table in copies:
        layer = project.mapLayer(layer_id)
        if layer is None:
            continue
        layer_store.point_at(layer, table.source())
        layer_store.writing(layer)
        _mark_stale(layer.id())
        moved.append(layer)
    return moved


def add_to_group(project: Any, layer: QgsMapLayer) -> None:
    """Add `layer` to `project` at the top of the "Satellite Tasking" group (made at the top when missing)."""
    root = project.layerTreeRoot()
    group = root.findGroup(GROUP_NAME)
    if group is None:
        group = root.insertGroup(0, GROUP_NAME)
    project.addMapLayer(layer, False)
    group.insertLayer(0, layer)


# --------------------------------------------------------------------------------------------------
# Prepared features: plain data, safe to build in a QgsTask's run()
# --------------------------------------------------------------------------------------------------
GeometrySource = Union[Mapping[str, Any], bytes, None]
_STORED_AT_ONCE = 50  # features build_features hands to C++ at a time (their wrappers die then)


@dataclass
class PreparedFeatures:
    """Rows and geometry sources keyed by id, ready to be written into a layer of `kind`.

    Building one touches no layer, so it may run in a worker thread. `geometries` (QgsGeometry by id)
    is filled only when asked (build_geometries=True): worth it in a task before a first load, wasted on a
    refresh where most features are unchanged, since only new or changed ones need a geometry.
    The layer's index keeps the GeoJSON dicts given here to compare the next refresh against, so they
    must not be changed in place afterwards (models parsed afresh from each answer never are).
    """

    kind: LayerKind
    # Each row packed (pack_row: bytes), as the layer's index keeps it: put() and row() pack and unpack. Rows wait
    # here across ticks (in the listing's batch, then until their slice is written), and as tuples they were half of
    # what each young collection of a load found: see pack_row.
    rows: Dict[str, Any] = field(default_factory=dict)
    sources: Dict[str, GeometrySource] = field(default_factory=dict)
    geometries: Dict[str, QgsGeometry] = field(default_factory=dict)
    # Whole features for a layer laid out as `layout` (build_features), used by apply_prepared for the ones
    # it adds when the layer still has that layout: in C++ (each id's position in `built_at`), not a Python
    # wrapper each. They wait for the main thread across ticks while the workers parse, and wrappers alive that
    # long reach the old generation: in a 10,000-order load they were a third of what did (2,000-2,800), and
    # every ~15,000 promotions bring a full collection, a 16-33 ms stall of every thread. One store per
    # _STORED_AT_ONCE features (position // _STORED_AT_ONCE), so a slice wraps only the stores its features are
    # in: with one store a part, each slice of 49 captures wrapped the part's hundreds, and those wrappers made
    # on the main thread were what brought on many of its young collections.
    built: List[QgsFeatureStore] = field(default_factory=list)
    built_at: Dict[str, int] = field(default_factory=dict)
    layout: Optional["WriteLayout"] = None

    def __len__(self) -> int:
        return len(self.rows)

    def put(self, feature_id: str, row: tuple, source: GeometrySource) -> None:
        """Add (or replace) a feature: its row (kept packed) and the source of its geometry."""
        self.rows[feature_id] = pack_row(row)
        self.sources[feature_id] = source

    def row(self, feature_id: str) -> tuple:
        """The row of `feature_id`, unpacked."""
        return unpack_row(self.rows[feature_id])

    def build_geometries(self) -> "PreparedFeatures":
        for feature_id, source in self.sources.items():
            if feature_id not in self.geometries:
                self.geometries[feature_id] = _geometry_from_source(source)
        return self

    def build_features(self, layout: "WriteLayout", ids: Optional[Iterable[str]] = None) -> "PreparedFeatures":
        """Make the QgsFeature of each of `ids` (default: all) for a layer laid out as `layout`, geometry
        included, so a worker thread does it: on the main thread each feature's Qt calls let the listing
        thread take the GIL, a wait of up to 5 ms each time (a slice of 100 captures measured 40-70 ms
        instead of 12 while a listing ran)."""
        to_attributes = _qt_value_converter(self.kind, layout.spec)
        column_count = layout.fields.count()
        identity_layout = list(layout.columns) == list(range(column_count))
        features: List[QgsFeature] = []
        for feature_id in (self.rows if ids is None else ids):
            # The feature carries the geometry from now on: one wrapper less per feature waiting to be written
            # (apply_prepared makes it again from the source for a feature that turns out to be an update).
            geometry = self.geometries.pop(feature_id, None)
            if geometry is None:
                geometry = _geometry_from_source(self.sources.get(feature_id))
            features.append(_new_feature(layout.fields, to_attributes(self.row(feature_id)), layout.columns,
                                         column_count, identity_layout, geometry))
            self.built_at[feature_id] = len(self.built) * _STORED_AT_ONCE + len(features) - 1
            if len(features) == _STORED_AT_ONCE:
                self._store(features, layout)
                features = []
        if features:
            self._store(features, layout)
        self.layout = layout
        return self

    def _store(self, features: List[QgsFeature], layout: "WriteLayout") -> None:
        store = QgsFeatureStore()
        store.setFields(layout.fields)  # what it gives every feature it holds: names still find fields
        store.addFeatures(features)
        self.built.append(store)

    def built_features(self) -> Dict[str, QgsFeature]:
        """The features build_features made, by id (wrapped afresh, ~0.2 µs each, from the stores holding them)."""
        wrapped: Dict[int, List[QgsFeature]] = {}
        features = {}
        for feature_id, position in self.built_at.items():
            store, offset = divmod(position, _STORED_AT_ONCE)
            held = wrapped.get(store)
            if held is None:
                held = wrapped[store] = self.built[store].features()
            features[feature_id] = held[offset]
        return features

    def subset(self, ids: Iterable[str]) -> "PreparedFeatures":
        """These features only (rows, sources, geometries and features kept)."""
        part = PreparedFeatures(self.kind, layout=self.layout)
        for feature_id in ids:
            part.rows[feature_id] = self.rows[feature_id]
            part.sources[feature_id] = self.sources.get(feature_id)
            if feature_id in self.geometries:
                part.geometries[feature_id] = self.geometries[feature_id]
            if feature_id in self.built_at:
                part.built_at[feature_id] = self.built_at[feature_id]
        part.built = self.built if part.built_at else []
        return part


@dataclass(frozen=True)
class WriteLayout:
    """How features are handed to one layer: its fields, the column of each of the kind's fields, and the
    time spec of its date-times (see write_layout)."""

    fields: QgsFields
    columns: Tuple[int, ...]
    spec: Qt.TimeSpec


def write_layout(layer: QgsVectorLayer, kind: LayerKind) -> WriteLayout:
    """`layer`'s WriteLayout, read on the main thread for a worker to build features with."""
    return WriteLayout(QgsFields(layer.fields()), tuple(_columns(layer, kind)), _time_spec(layer))


def _new_feature(fields: QgsFields, attributes: list, columns: Sequence[int], column_count: int,
                 identity_layout: bool, geometry: QgsGeometry) -> QgsFeature:
    feature = QgsFeature(fields)
    if not identity_layout:
        # A layer whose fields were reordered or extended (by the user, or a GeoPackage's fid) keeps its layout.
        placed = [None] * column_count
        for column, value in zip(columns, attributes):
            placed[column] = value
        attributes = placed
    feature.setAttributes(attributes)
    if not geometry.isNull():
        feature.setGeometry(geometry)
    return feature


def _geometry_from_source(source: GeometrySource) -> QgsGeometry:
    if source is None:
        return QgsGeometry()
    if isinstance(source, (bytes, bytearray)):
        return wkb_to_geometry(bytes(source))
    return geojson_to_geometry(source)


# --------------------------------------------------------------------------------------------------
# The id -> fid index kept for each layer
# --------------------------------------------------------------------------------------------------


@dataclass
class _FeatureIndex:
    """What this module last wrote to a layer: for each id, its fid, row and geometry source in one entry."""

    entries: Dict[str, Any] = field(default_factory=dict)  # each as _pack_entry made it
    # Features without an id (drawn by hand): left alone, but counted so they do not look like a change.
    anonymous: int = 0
    stale: bool = False
    # What is asked of the layer once rather than at every write (see cached_layer_id): the time spec of its
    # date-times, and the span of times already fitted into the project's temporal range (ms).
    spec: Optional[Qt.TimeSpec] = None
    fitted: Optional[Tuple[int, int]] = None


# Rows are kept as bytes (marshal, format 0), not as tuples: by the layer's index and by PreparedFeatures from the
# moment one is made. A tuple is tracked by the cycle collector from birth until a collection looks at it, so every
# 700 rows kept or waiting brought on a young collection, and every tenth of those moved what was in flight then
# (~500 objects: pages, requests, pending steps) into the old generation: a 10,000-order map load keeps ~19,000
# rows, and a full collection (20-40 ms of GIL here, whichever thread runs it) comes after every ~18,000 objects
# moved. Bytes are not tracked, nor is a dict holding only them. Format 0 writes equal values of equal types as
# equal bytes (later formats mark interned strings and shared objects, which depend on where a value came from).
_ROW_FORMAT = 0


def pack_row(row: tuple) -> Any:
    """A row as it is kept: its bytes, or the tuple itself if it holds a value marshal cannot write."""
    try:
        return marshal.dumps(row, _ROW_FORMAT)
    except ValueError:
        return row


def unpack_row(stored: Any) -> tuple:
    """The row pack_row kept."""
    return marshal.loads(stored) if type(stored) is bytes else stored


# An index entry: fid, the row's length and the row as pack_row made it, then the footprint's WKB (none: no footprint),
# in one bytes object. The index was three dicts keyed alike (fids, rows, sources): they grew in the same slice and
# so were resized in the same slice, three copies of every entry at once. Writing 100,000 features in slices of 49,
# the slice crossing 87,381 features (a resize) took 31-35 ms of CPU, 6-15 ms with one dict (median slice ~4 ms);
# in a 100,000-order map load such slices were the longest writes, 32-46 ms (perf: mostly the kernel zeroing pages).
_ENTRY_HEAD = struct.Struct("<qI")


def _pack_entry(fid: int, row: Any, source: GeometrySource) -> Any:
    """One index entry; a tuple (fid, row, source) when the row or source is not bytes (pack_row kept a tuple, or
    the footprint is GeoJSON): the index then holds what the cycle collector tracks, as it did before."""
    if type(row) is bytes and (source is None or type(source) is bytes):
        return _ENTRY_HEAD.pack(fid, len(row)) + row + (source or b"")
    return fid, row, source


def _unpack_entry(entry: Any) -> Tuple[int, Any, GeometrySource]:
    """(fid, row as pack_row made it, geometry source) of an index entry."""
    if type(entry) is not bytes:
        return entry
    fid, length = _ENTRY_HEAD.unpack_from(entry)
    end = _ENTRY_HEAD.size + length
    return fid, entry[_ENTRY_HEAD.size:end], entry[end:] or None


def _entry_fid(entry: Any) -> int:
    return _ENTRY_HEAD.unpack_from(entry)[0] if type(entry) is bytes else entry[0]


_INDEXES: Dict[str, _FeatureIndex] = {}
# Many calls into QGIS let go of the GIL (a layer's id(), dataProvider(), providerType(), isEditable(), the
# project's time settings): each hands it to a busy listing thread for up to its 5 ms switch interval, and a
# slice of the map's writes made a dozen such calls. What does not change for a layer is asked once.
_LAYER_IDS: "weakref.WeakKeyDictionary[QgsVectorLayer, str]" = weakref.WeakKeyDictionary()


def cached_layer_id(layer: QgsVectorLayer) -> str:
    """layer.id(), asked once per layer object (a layer's id never changes)."""
    try:
        return _LAYER_IDS[layer]
    except KeyError:
        layer_id = _LAYER_IDS[layer] = layer.id()
        return layer_id


def _forget_layer(layer_id: str) -> None:
    _INDEXES.pop(layer_id, None)


def forget_index(layer: QgsVectorLayer) -> None:
    """The layer's features are read again before the next write (its table was changed elsewhere)."""
    _mark_stale(layer.id())


def _mark_stale(layer_id: str) -> None:
    index = _INDEXES.get(layer_id)
    if index is not None:
        index.stale = True
        index.spec = index.fitted = None


def _watch(layer: QgsVectorLayer) -> _FeatureIndex:
    layer_id = cached_layer_id(layer)
    index = _INDEXES.get(layer_id)
    if index is None:
        index = _INDEXES[layer_id] = _FeatureIndex()
        # Edits through the edit buffer bypass this module, so the index is re-read after any edit session;
        # a layer pointed at another source is asked its time spec again.
        layer.editingStarted.connect(lambda: _mark_stale(layer_id))
        layer.editingStopped.connect(lambda: _mark_stale(layer_id))
        layer.dataSourceChanged.connect(lambda: _mark_stale(layer_id))
        layer.willBeDeleted.connect(lambda: _forget_layer(layer_id))
    return index


def python_value(value: Any) -> Any:
    # Inverse of _qt_value, so a row read back from the layer compares equal to the row written.
    if isinstance(value, QDateTime):
        return value.toMSecsSinceEpoch() if value.isValid() else None
    if isinstance(value, QVariant):
        return None if value.isNull() else value.value()
    return value


def _read_index(layer: QgsVectorLayer, kind: LayerKind) -> _FeatureIndex:
    """Rebuild the index from the layer's own features (after a user edit, or for a layer loaded later)."""
    index = _INDEXES[layer.id()]
    index.entries.clear()
    index.anonymous = 0
    columns = _columns(layer, kind)
    duplicates = []
    for feature in layer.dataProvider().getFeatures():
        attributes = feature.attributes()
        row = tuple(python_value(attributes[column]) for column in columns)
        feature_id = row[0]
        if feature_id is None:
            index.anonymous += 1
            continue
        feature_id = str(feature_id)
        if feature_id in index.entries:
            # An id copied by hand: keep the first, drop the copy so a refresh never shows it twice.
            duplicates.append(feature.id())
            continue
        geometry = feature.geometry()
        index.entries[feature_id] = _pack_entry(feature.id(), pack_row(row),
                                                None if geometry.isNull() else bytes(geometry.asWkb()))
    if duplicates:
        layer.dataProvider().deleteFeatures(duplicates)
    index.stale = False
    return index


def _columns(layer: QgsVectorLayer, kind: LayerKind) -> List[int]:
    fields = layer.fields()
    columns = [fields.indexOf(name) for name in kind.field_names]
    missing = [name for name, column in zip(kind.field_names, columns) if column < 0]
    if missing:
        raise ValueError(f"Layer '{layer.name()}' is not a {kind.name} layer: it lacks {', '.join(missing)}.")
    return columns


def _current_index(layer: QgsVectorLayer, kind: LayerKind, provider: Any = None) -> _FeatureIndex:
    index = _watch(layer)
    # A feature count that differs from the index means someone wrote to the provider directly.
    provider = provider if provider is not None else layer.dataProvider()
    if index.stale or provider.featureCount() != len(index.entries) + index.anonymous:
        index = _read_index(layer, kind)
    return index


# --------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------


@dataclass
class UpsertResult:
    """How a refresh changed a layer."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)


def _time_spec(layer: QgsVectorLayer) -> Qt.TimeSpec:
    """The time spec a date-time is handed to `layer`'s provider in so it reads back as the same instant:
    UTC, but local time for a store that keeps clocks without their zone (see compat.ogr_datetimes_are_local)."""
    if layer.providerType() == "ogr" and compat.ogr_datetimes_are_local():
        return Qt.TimeSpec.LocalTime
    return Qt.TimeSpec.UTC


def _qdatetime(value: int, spec: Qt.TimeSpec) -> QDateTime:
    """Epoch milliseconds as the QDateTime handed to a provider: UTC, or for a store that keeps clocks
    without their zone (spec LocalTime) one whose clock reads the local time of that instant.

    The local clock is worked out here (time.localtime, ~1 us) and carried by a UTC QDateTime: what such a
    store writes is the clock, and QDateTime.fromMSecsSinceEpoch(..., LocalTime) cost ~7.5 us a value
    (a quarter of writing a slice of captures to a GeoPackage on QGIS 3.22).
    """
    if spec == Qt.TimeSpec.LocalTime:
        value += _time.localtime(value // 1000).tm_gmtoff * 1000
    return QDateTime.fromMSecsSinceEpoch(value, Qt.TimeSpec.UTC)


def _qt_value_converter(kind: LayerKind, spec: Qt.TimeSpec) -> Callable[[tuple], list]:
    datetime_columns = kind.datetime_columns
    local = spec == Qt.TimeSpec.LocalTime
    # UTC (most stores) straight from the epoch value: ~100,000 date-times a 10,000-order map load, each a
    # Python call less in the listing worker, whose time is the GIL the GUI thread waits for.
    from_ms, utc = QDateTime.fromMSecsSinceEpoch, Qt.TimeSpec.UTC

    def to_attributes(row: tuple) -> list:
        attributes = list(row)
        for column in datetime_columns:
            value = attributes[column]
            if value is not None:
                attributes[column] = _qdatetime(value, spec) if local else from_ms(value, utc)
        return attributes

    return to_attributes


def _qt_value(kind: LayerKind, column: int, value: Any, spec: Qt.TimeSpec) -> Any:
    if value is not None and column in kind.datetime_columns:
        return _qdatetime(value, spec)
    return value


def _same_geometry(cached: GeometrySource, source: GeometrySource) -> bool:
    if cached is None or source is None:
        return cached is None and source is None
    if isinstance(cached, (bytes, bytearray)) and not isinstance(source, (bytes, bytearray)):
        return geojson_to_wkb(source) == cached
    if isinstance(source, (bytes, bytearray)) and not isinstance(cached, (bytes, bytearray)):
        return geojson_to_wkb(cached) == source
    return cached == source


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def prepared_slices(prepared: PreparedFeatures, size: int) -> Iterable[PreparedFeatures]:
    """`prepared` split into PreparedFeatures of at most `size` features each, in order (geometries kept), so a
    caller on the main thread can write a big delivery a slice per event-loop turn."""
    for ids in _chunks(list(prepared.rows), size):
        yield prepared.subset(ids)


def _chunks_of_dict(items: Dict[Any, Any], size: int) -> Iterable[Dict[Any, Any]]:
    keys = list(items)
    for start in range(0, len(keys), size):
        yield {key: items[key] for key in keys[start:start + size]}


def apply_prepared(
    layer: QgsVectorLayer,
    prepared: PreparedFeatures,
    remove_missing: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> UpsertResult:
    """Write prepared features into `layer` (main thread): update by id, add new, optionally remove the rest.

    Only attributes and geometries that differ are written, in batches through the data provider, so a
    refresh of 10,000 features with 100 changes costs little more than comparing rows. A layer in edit
    mode is refused (LayerInEditModeError) rather than written under the user's edit buffer.
    """
    kind = prepared.kind
    refuse_edit_mode(layer)
    provider = layer.dataProvider()
    columns = _columns(layer, kind)
    index = _current_index(layer, kind, provider)
    result = UpsertResult()
    if index.spec is None:
        index.spec = _time_spec(layer)
    spec = index.spec
    to_attributes = _qt_value_converter(kind, spec)
    fields = layer.fields()
    column_count = fields.count()
    identity_layout = columns == list(range(column_count))

    new_ids: List[str] = []
    attribute_changes: Dict[int, Dict[int, Any]] = {}
    geometry_changes: Dict[int, QgsGeometry] = {}
    changed: Dict[str, int] = {}  # id -> fid of each feature whose row or footprint changed
    entries = index.entries
    for feature_id, stored in prepared.rows.items():
        entry = entries.get(feature_id)
        if entry is None:
            new_ids.append(feature_id)
            continue
        fid, kept, kept_source = _unpack_entry(entry)
        source = prepared.sources.get(feature_id)
        row_changed = stored != kept
        if row_changed:
            # Other bytes may still be an equal row (100 read back from a real field as 100.0): compared as values,
            # and kept as now written so the next comparison is of bytes again.
            row, cached_row = unpack_row(stored), unpack_row(kept)
            row_changed = cached_row != row
            if not row_changed:
                entries[feature_id] = _pack_entry(fid, stored, kept_source)
        geometry_changed = not _same_geometry(kept_source, source)
        if not row_changed and not geometry_changed:
            result.unchanged += 1
            continue
        if row_changed:
            attribute_changes[fid] = {
                columns[i]: _qt_value(kind, i, value, spec)
                for i, (value, old) in enumerate(zip(row, cached_row))
                if value != old
            }
        if geometry_changed:
            geometry = prepared.geometries.get(feature_id)
            geometry_changes[fid] = geometry if geometry is not None else _geometry_from_source(source)
        changed[feature_id] = fid

    for chunk in _chunks_of_dict(attribute_changes, batch_size):
        if not provider.changeAttributeValues(chunk):
            raise RuntimeError(f"Could not update features of '{layer.name()}': {_provider_error(provider)}")
    for chunk in _chunks_of_dict(geometry_changes, batch_size):
        if not provider.changeGeometryValues(chunk):
            raise RuntimeError(f"Could not update footprints of '{layer.name()}': {_provider_error(provider)}")
    for feature_id, fid in changed.items():
        entries[feature_id] = _pack_entry(fid, prepared.rows[feature_id], prepared.sources.get(feature_id))
    result.updated = len(changed)

    layout = prepared.layout
    built = prepared.built_features() if layout is not None and layout.spec == spec and \
        list(layout.columns) == columns and layout.fields.names() == fields.names() else {}
    for chunk in _chunks(new_ids, batch_size):
        features = []
        for feature_id in chunk:
            feature = built.get(feature_id)
            if feature is None:
                geometry = prepared.geometries.get(feature_id)
                if geometry is None:
                    geometry = _geometry_from_source(prepared.sources.get(feature_id))
                feature = _new_feature(fields, to_attributes(prepared.row(feature_id)), columns, column_count,
                                       identity_layout, geometry)
            features.append(feature)
        ok, added = provider.addFeatures(features)
        if not ok:
            raise RuntimeError(f"Could not add features to '{layer.name()}': {_provider_error(provider)}")
        for feature_id, feature in zip(chunk, added):
            entries[feature_id] = _pack_entry(feature.id(), prepared.rows[feature_id], prepared.sources.get(feature_id))
    result.added = len(new_ids)

    if remove_missing:
        gone = [feature_id for feature_id in entries if feature_id not in prepared.rows]
        if gone:
            _delete(layer, index, gone)
        result.removed = len(gone)

    if new_ids or changed:
        _fit_time_range(layer, kind, (prepared.row(feature_id) for feature_id in new_ids + list(changed)), index)
    if result.changed:
        layer.updateExtents()
        # Provider-level writes bypass the layer's own signals: tell attribute tables and the canvas.
        layer.dataChanged.emit()
        layer.triggerRepaint()
    return result


def _delete(layer: QgsVectorLayer, index: "_FeatureIndex", gone: Sequence[str]) -> None:
    """Delete the features with ids `gone` (all in `index`) from the layer and from its index."""
    provider = layer.dataProvider()
    if not provider.deleteFeatures([_entry_fid(index.entries[feature_id]) for feature_id in gone]):
        raise RuntimeError(f"Could not remove features from '{layer.name()}': {_provider_error(provider)}")
    _drop(index, gone)


def _drop(index: "_FeatureIndex", feature_ids: Iterable[str]) -> None:
    """The index forgets these ids (those it does not hold are ignored)."""
    for feature_id in feature_ids:
        index.entries.pop(feature_id, None)


def forget_features(layer: QgsVectorLayer, feature_ids: Iterable[str]) -> None:
    """Features with these ids were deleted from the layer's table elsewhere (layer_store.delete_rows, on a
    worker): the index this module keeps drops them, rather than being read again from the layer at the next
    write (every feature left read on the main thread). Asks nothing of the layer."""
    index = _INDEXES.get(cached_layer_id(layer))
    if index is not None:
        _drop(index, feature_ids)


def remove_features(layer: QgsVectorLayer, feature_ids: Iterable[str]) -> int:
    """Remove the features with these ids (main thread); ids the layer does not hold are ignored.

    For a caller that knows what left (e.g. orders no longer matching a filter) without holding every
    row that stays, which apply_prepared(remove_missing=True) would need. Returns how many were removed.
    """
    kind = layer_kind(layer)
    if kind is None:
        raise ValueError(f"Layer '{layer.name()}' was not made by this plugin.")
    refuse_edit_mode(layer)
    index = _current_index(layer, kind)
    gone = [feature_id for feature_id in dict.fromkeys(feature_ids) if feature_id in index.entries]
    if not gone:
        return 0
    _delete(layer, index, gone)
    layer.updateExtents()
    layer.dataChanged.emit()
    layer.triggerRepaint()
    return len(gone)


def feature_ids_of(layer: QgsVectorLayer, feature_ids: Iterable[str]) -> List[int]:
    """The layer's QGIS feature ids (fids) of the features with these ids; unknown ids are skipped.

    Read from the index this module keeps, so selecting a few orders on a map of 10,000 does not scan
    every feature's attributes on the main thread.
    """
    kind = layer_kind(layer)
    if kind is None:
        raise ValueError(f"Layer '{layer.name()}' was not made by this plugin.")
    entries = _current_index(layer, kind).entries
    return [_entry_fid(entries[feature_id]) for feature_id in dict.fromkeys(feature_ids) if feature_id in entries]


def _provider_error(provider) -> str:
    errors = provider.errors()
    return errors[-1] if errors else "the data provider refused the change"


# --------------------------------------------------------------------------------------------------
# Layers
# --------------------------------------------------------------------------------------------------


def _load_style(layer: QgsVectorLayer, path: str) -> None:
    message, ok = layer.loadNamedStyle(path, QgsMapLayer.StyleCategory.Symbology | QgsMapLayer.StyleCategory.Labeling)
    if not ok:
        raise RuntimeError(f"Could not load the style {path}: {message}")


def _set_temporal(layer: QgsVectorLayer, kind: LayerKind) -> None:
    temporal = layer.temporalProperties()
    if kind.temporal_end_field:
        temporal.setMode(Qgis.VectorTemporalMode.FeatureDateTimeStartAndEndFromFields)
        temporal.setEndField(kind.temporal_end_field)
    else:
        temporal.setMode(Qgis.VectorTemporalMode.FeatureDateTimeInstantFromField)
    temporal.setStartField(kind.temporal_start_field)
    temporal.setIsActive(True)


def create_layer(kind: LayerKind, name: str, prepared: Optional[PreparedFeatures] = None,
                 batch_size: int = DEFAULT_BATCH_SIZE, store: Optional[str] = None,
                 keep_contents: bool = False) -> QgsVectorLayer:
    """A layer of `kind`: typed fields, features in batches, spatial index, QML style, temporal.

    With `store` (a GeoPackage path) it is the table named after the kind in that file, reused when it is
    there (emptied, unless `keep_contents`; OSError when the file cannot be made or written); without, a
    memory layer.
    """
    if store is not None:
        layer = layer_store.open_table(store, kind.name, name, kind.qgs_fields(), QgsWkbTypes.Type.Polygon,
                                       siblings=_sibling_tables(), keep=keep_contents)
        layer.setCustomProperty(KIND_PROPERTY, kind.name)
        # A GeoPackage table carries its R-tree index from the start.
    else:
        layer = _memory_layer(kind, name)
    _set_aliases(layer, kind)
    if prepared is not None:
        if prepared.kind is not kind:
            raise ValueError(f"{prepared.kind.name} features cannot go into a {kind.name} layer.")
        apply_prepared(layer, prepared, batch_size=batch_size)
    _load_style(layer, kind.style_path)
    _set_temporal(layer, kind)
    return layer


def _memory_layer(kind: LayerKind, name: str) -> QgsVectorLayer:
    layer = QgsVectorLayer(LAYER_URI, name, "memory")
    provider = layer.dataProvider()
    provider.addAttributes(kind.qgs_fields().toList())
    layer.updateFields()
    layer.setCustomProperty(KIND_PROPERTY, kind.name)
    # Made before the features arrive: the memory provider then indexes each batch as it lands, which
    # measured cheaper (0.19 s for 10,000 footprints) than adding unindexed and bulk-indexing (0.16 + 0.06 s).
    provider.createSpatialIndex()
    return layer


def _sibling_tables() -> Dict[str, QgsFields]:
    """Every known kind's table, made together when a GeoPackage is new (see layer_store.open_table)."""
    return {name: kind.qgs_fields() for name, kind in _KINDS.items()}


def _set_aliases(layer: QgsVectorLayer, kind: LayerKind) -> None:
    fields = layer.fields()
    zone = "UTC" if _time_spec(layer) == Qt.TimeSpec.UTC else "local time"
    for column in kind.datetime_columns:
        # QGIS shows a date-time without its zone; the alias says which one it is.
        name = kind.fields[column][0]
        layer.setFieldAlias(fields.indexOf(name), f"{name} ({zone})")


# --------------------------------------------------------------------------------------------------
# The project's time range
# --------------------------------------------------------------------------------------------------
# The range this module last gave the project, so a range the user set is told apart and left alone.
_RANGE_SCOPE, _RANGE_KEY = "satellite_tasking", "temporal_range"


def _range_text(time_range: QgsDateTimeRange) -> str:
    return f"{time_range.begin().toMSecsSinceEpoch()}/{time_range.end().toMSecsSinceEpoch()}"


def fit_project_time_range(project: Any, begin_ms: int, end_ms: int) -> bool:
    """Widen the project's temporal range to cover [begin_ms, end_ms] (ms since the epoch, UTC), so the
    temporal controller's animation shows the data; a range the user set is left alone. True if changed."""
    settings = project.timeSettings()
    current = settings.temporalRange()
    unset = not current.begin().isValid() and not current.end().isValid()
    ours = project.readEntry(_RANGE_SCOPE, _RANGE_KEY, "")[0]
    if not unset and _range_text(current) != ours:
        return False
    if not unset:
        begin_ms = min(begin_ms, current.begin().toMSecsSinceEpoch())
        end_ms = max(end_ms, current.end().toMSecsSinceEpoch())
    wanted = QgsDateTimeRange(QDateTime.fromMSecsSinceEpoch(begin_ms, Qt.TimeSpec.UTC),
                              QDateTime.fromMSecsSinceEpoch(end_ms, Qt.TimeSpec.UTC))
    if not unset and _range_text(wanted) == ours:
        return False
    settings.setTemporalRange(wanted)
    project.writeEntry(_RANGE_SCOPE, _RANGE_KEY, _range_text(wanted))
    return True


def _fit_time_range(layer: QgsVectorLayer, kind: LayerKind, rows: Iterable[tuple],
                    index: Optional[_FeatureIndex] = None) -> None:
    """Fit the project's temporal range to these rows of `layer`; with the layer's `index`, rows within the span
    already fitted for it ask the project nothing (see cached_layer_id)."""
    names_ = kind.field_names
    columns = [names_.index(kind.temporal_start_field)]
    if kind.temporal_end_field:
        columns.append(names_.index(kind.temporal_end_field))
    times = [row[column] for row in rows for column in columns if row[column] is not None]
    if not times:
        return
    begin, end = min(times), max(times)
    fitted = index.fitted if index is not None else None
    if fitted is not None and fitted[0] <= begin and end <= fitted[1]:
        return
    project = layer.project()
    if project is None:
        return
    fit_project_time_range(project, begin, end)
    if index is not None:
        index.fitted = (begin, end) if fitted is None else (min(begin, fitted[0]), max(end, fitted[1]))


# --------------------------------------------------------------------------------------------------
# GeoPackage
# --------------------------------------------------------------------------------------------------


def _unique_names(layers: Sequence[QgsVectorLayer]) -> List[str]:
    names: List[str] = []
    for layer in layers:
        base = layer.name() or "layer"
        name, n = base, 2
        while name.lower() in (taken.lower() for taken in names):
            name, n = f"{base} ({n})", n + 1
        names.append(name)
    return names


def _has_multipart(layer: QgsVectorLayer) -> bool:
    request = QgsFeatureRequest().setNoAttributes()
    return any(feature.geometry().isMultipart() for feature in layer.getFeatures(request))


def _write_utc_datetimes(path: str, table: str, layer: QgsVectorLayer) -> None:
    """Rewrite the table's date-times as UTC with milliseconds, matched to `layer`'s features by id.

    QgsVectorFileWriter (3.22) stores a QDateTime with whole seconds and no time zone, which readers take
    as local time; the GeoPackage then misstates every time by the reader's UTC offset. OGR writes
    "2020-10-10T12:00:00.123Z".
    """
    names = [f.name() for f in layer.fields() if compat.is_type(f, compat.DATETIME)]
    if not names or layer.fields().indexOf("id") < 0:
        return
    request = QgsFeatureRequest().setFlags(QgsFeatureRequest.Flag.NoGeometry)
    request.setSubsetOfAttributes(["id"] + names, layer.fields())
    values = {feature["id"]: [feature[name] for name in names] for feature in layer.getFeatures(request)}
    # OGR, because QGIS's own writers cannot set the time-zone flag.
    with compat.ogr_module() as ogr:
        dataset = ogr.Open(path, 1)
        if dataset is None:
            raise OSError(f"Could not reopen {path} to store its times as UTC.")
        try:
            table_layer = dataset.GetLayerByName(table)
            dataset.StartTransaction()
            for ogr_feature in table_layer:
                for name, value in zip(names, values.get(ogr_feature.GetField("id"), ())):
                    if isinstance(value, QDateTime) and value.isValid():
                        value = value.toUTC()
                        day, clock = value.date(), value.time()
                        ogr_feature.SetField(name, day.year(), day.month(), day.day(), clock.hour(), clock.minute(),
                                             clock.second() + clock.msec() / 1000.0, 100)
                table_layer.SetFeature(ogr_feature)
            dataset.CommitTransaction()
        finally:
            dataset = None


def save_layers_to_geopackage(
    layers: Sequence[QgsVectorLayer],
    path: str,
    transform_context: Optional[QgsCoordinateTransformContext] = None,
    with_styles: bool = True,
) -> Dict[str, str]:
    """Write each layer as a table of one new GeoPackage (replacing the file) named after the layer.

    Returns {table name: source URI}. Date-times are stored as UTC with milliseconds. A layer holding a
    multi-part footprint is written as MultiPolygon, so the file stays conformant. With `with_styles`,
    each table's style is stored in the file's layer_styles table as its default, so the GeoPackage
    opens styled in QGIS. Raises OSError on failure.
    """
    context = transform_context or QgsCoordinateTransformContext()
    written: Dict[str, str] = {}
    for position, (layer, table) in enumerate(zip(layers, _unique_names(layers))):
        options = QgsVectorFileWriter.SaveVectorOptions()
        options.driverName = "GPKG"
        options.fileEncoding = "UTF-8"
        options.layerName = table
        options.actionOnExistingFile = (
            QgsVectorFileWriter.ActionOnExistingFile.CreateOrOverwriteFile if position == 0 else QgsVectorFileWriter.ActionOnExistingFile.CreateOrOverwriteLayer
        )
        if layer.geometryType() == QgsWkbTypes.GeometryType.PolygonGeometry and _has_multipart(layer):
            options.overrideGeometryType = QgsWkbTypes.Type.MultiPolygon
            options.forceMulti = True
        error, message, _, _ = QgsVectorFileWriter.writeAsVectorFormatV3(layer, path, context, options)
        if error != QgsVectorFileWriter.WriterError.NoError:
            raise OSError(f"Could not save layer '{layer.name()}' to {path}: {message}")
        _write_utc_datetimes(path, table, layer)
        uri = layer_store.table_uri(path, table)
        written[table] = uri
        if with_styles:
            saved = layer_store.open_ogr_layer(uri, table)
            saved.setRenderer(layer.renderer().clone())
            saved.saveStyleToDatabase(table, "Satellite Tasking", True, "")
    return written
