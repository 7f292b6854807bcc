"""The GeoPackage the plugin's layers live in: beside a saved project, else in the QGIS profile; tables made once and reused."""

from __future__ import annotations

import os
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Optional

from qgis.core import (
    QgsApplication,
    QgsCoordinateTransformContext,
    QgsFeatureRequest,
    QgsFields,
    QgsProviderRegistry,
    QgsVectorFileWriter,
    QgsVectorLayer,
    QgsWkbTypes,
)

from . import compat

# A saved project's layers: "<project folder>/<project base name>_satellite_tasking.gpkg".
PROJECT_STORE_SUFFIX = "_satellite_tasking.gpkg"
# An unsaved project's layers, in the QGIS profile folder.
PROFILE_STORE = os.path.join("satellite_tasking", "layers.gpkg")


@contextmanager
def _quick_commits() -> Iterator[None]:
    """GeoPackage connections opened in this block (on this thread) commit without waiting for the disk.

    SQLite's synchronous=NORMAL, which in the write-ahead-log mode QGIS uses for GeoPackages keeps the file
    consistent (a power cut can lose the last commits, never corrupt it) while the default FULL waits for
    an fsync at every commit. The mirror commits a slice per event-loop turn; measured on this machine's
    disk, 10,000 captures in slices of 10: 5.0 s (slices up to 26-37 ms) with FULL, 1.3 s with NORMAL,
    each slice's time then its CPU time.

    And they leave the log to be copied into the file by a worker (checkpoint): SQLite copies it in the commit
    that finds it over 1,000 pages, on the thread that commits, the main thread. In a 10,000-order map load
    that was ~90 commits each copying ~4 MB and waiting for two fsyncs: the slowest slices, 10-20 ms of
    34 features where the others took 1-3 ms (alone on a core, 36-45 ms against 9-10 ms without the copies).
    The map copies it (OrdersMirror); what the store's other layers write (imaging windows, bulk results) is
    copied with it, or by SQLite when QGIS closes the file.

    GDAL options for this thread only, so other layers keep theirs.
    """
    with compat.gdal_options(OGR_SQLITE_SYNCHRONOUS="NORMAL", OGR_SQLITE_PRAGMA="wal_autocheckpoint=0"):
        yield


def checkpoint(path: str) -> bool:
    """Copy the write-ahead log of the GeoPackage at `path` into the file, as far as readers allow (a passive
    checkpoint: it waits for no reader or writer), on this thread: a worker's, since the store's own
    connections leave it (see _quick_commits). False when it could not (no log, the file gone, locked).

    Python's sqlite3 lets go of the GIL meanwhile, but a write to the same file waits for the disk with the copy
    (its fsyncs): the map's writes keep off the file while it runs (OrdersMirror.store_lock).
    """
    if not os.path.exists(path + "-wal"):
        return False
    try:
        connection = sqlite3.connect(path, timeout=1.0)
        try:
            busy, _frames, _copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        finally:
            connection.close()
    except sqlite3.Error:
        return False
    return not busy


# QGIS's OGR provider (3.22) can deadlock when two threads open layers of the same GeoPackage at once: its
# pool of shared datasets and a dataset's own mutex are taken in opposite orders. Reproduced with two threads
# opening a file's two tables: both hang for good after ~130 opens each, holding two of the task manager's
# worker threads, after which no task of any plugin runs again. A map run still opening its layers while the
# next run (new filters, settings reloaded) opens them is such a pair. So every OGR layer the plugin opens, or
# turns into a writer (which opens its dataset again), is opened under this one lock; an open takes 5-30 ms.
_OGR_OPENING = threading.RLock()


def open_ogr_layer(uri: str, name: str) -> QgsVectorLayer:
    """The OGR layer `name` reading `uri` (a file, or "<file>|layername=<table>"), opened under the
    plugin's one OGR lock (see _OGR_OPENING): any thread may call it."""
    with _OGR_OPENING:
        return QgsVectorLayer(uri, name, "ogr")


def point_at(layer: QgsVectorLayer, uri: str) -> None:
    """`layer` reads the OGR source `uri` from now on (opened under the OGR lock, see _OGR_OPENING)."""
    with _OGR_OPENING:
        layer.setDataSource(uri, layer.name(), "ogr")


def _open_layer(path: str, table: str, name: str) -> QgsVectorLayer:
    with _quick_commits():
        return open_ogr_layer(table_uri(path, table), name)


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
    """Whether the GeoPackage at `path` lists `table` (read from its gpkg_contents with sqlite3, read-only:
    ~0.5 ms, where opening the file with OGR cost 5-30 ms; OGR only when sqlite3 cannot tell)."""
    if not os.path.exists(path):
        return False
    try:
        connection = sqlite3.connect(Path(os.path.abspath(path)).as_uri() + "?mode=ro", uri=True, timeout=5.0)
        try:
            return connection.execute("SELECT 1 FROM gpkg_contents WHERE lower(table_name) = lower(?)",
                                      (table,)).fetchone() is not None
        finally:
            connection.close()
    except sqlite3.Error:
        pass
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
    _write_table(template, path, table, f"Could not make the table '{table}' in {path}")


def _write_table(source: QgsVectorLayer, path: str, table: str, failure: str) -> None:
    """`source` written as `table` of the GeoPackage at `path`: the table replaced when there, the file made
    when missing. Raises OSError("<failure>: <the writer's message>") on failure."""
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = "GPKG"
    options.fileEncoding = "UTF-8"
    options.layerName = table
    options.actionOnExistingFile = (
        QgsVectorFileWriter.ActionOnExistingFile.CreateOrOverwriteLayer if os.path.exists(path)
        else QgsVectorFileWriter.ActionOnExistingFile.CreateOrOverwriteFile
    )
    error, message, _, _ = QgsVectorFileWriter.writeAsVectorFormatV3(source, path, QgsCoordinateTransformContext(),
                                                                     options)
    if error != QgsVectorFileWriter.WriterError.NoError:
        raise OSError(f"{failure}: {message}")


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
        with _OGR_OPENING, _quick_commits():
            layer.dataProvider().enterUpdateMode()
    return layer


def open_table(path: str, table: str, name: str, fields: QgsFields, geometry_type: Any,
               crs: str = "EPSG:4326", siblings: Optional[Mapping[str, QgsFields]] = None,
               keep: bool = False) -> QgsVectorLayer:
    """The layer `name` reading `table` of the GeoPackage at `path`, empty: a table that is there with
    `fields` is reused and emptied (what it held belonged to a layer that was removed, or to another unsaved
    project, and is written again by whoever fills the layer), else made. Raises OSError when the file
    cannot be made or written.

    With `keep`, a reused table keeps what it holds, for a caller that brings it up to date itself (the
    orders mirror adopts the rows and removes those its listing does not have): emptying 10,000 rows
    through the provider blocks the main thread for ~0.35 s, one SQL DELETE still ~0.14 s (R-tree triggers).

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
        layer = _open_layer(path, table, name)
        if _fits(layer, fields.names()):
            provider = layer.dataProvider()
            if keep:
                return writing(layer)
            old = [feature.id() for feature in provider.getFeatures(QgsFeatureRequest().setNoAttributes())]
            if not old or provider.deleteFeatures(old):
                return writing(layer)
        del layer
    _write_empty_table(path, table, fields, geometry_type, crs)
    layer = _open_layer(path, table, name)
    if not _fits(layer, fields.names()):
        raise OSError(f"Could not open the table '{table}' of {path} for writing.")
    return writing(layer)


def open_empty_table(path: str, table: str, name: str, fields: QgsFields, geometry_type: Any,
                     crs: str = "EPSG:4326", siblings: Optional[Mapping[str, QgsFields]] = None) -> QgsVectorLayer:
    """open_table for a worker thread: a reused table is emptied by one SQL DELETE (empty_tables, the GIL let
    go meanwhile) before it is opened, rather than feature by feature through the provider. Raises OSError."""
    if _has_table(path, table):
        try:
            empty_tables(path, [table])
        except sqlite3.Error as error:
            raise OSError(f"Could not empty the table '{table}' of {path}: {error}") from error
    return open_table(path, table, name, fields, geometry_type, crs, siblings, keep=True)


def _counts_kept(connection: sqlite3.Connection) -> bool:
    """The GeoPackage keeps each table's feature count (GDAL's gpkg_ogr_contents)."""
    return connection.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'gpkg_ogr_contents'").fetchone() is not None


def _recount(connection: sqlite3.Connection, table: str) -> None:
    """After rows of `table` were deleted by SQL: GDAL keeps its feature count in gpkg_ogr_contents by triggers
    it drops while a connection of its own writes (so they may be missing now), and the layers read that count
    when they reload."""
    connection.execute(f'UPDATE gpkg_ogr_contents SET feature_count = (SELECT COUNT(*) FROM "{table}") '
                       "WHERE lower(table_name) = lower(?)", (table,))


def empty_tables(path: str, tables: Iterable[str]) -> None:
    """Delete every row of these tables of the GeoPackage at `path`, in one transaction (no layer object:
    for a worker thread, while the layers reading them stay open on the main thread, which then reloads
    them; see OrdersMirror). Raises sqlite3.Error on failure.

    Python's sqlite3 lets go of the GIL while SQLite works, so the main thread is not held meanwhile
    (10,000 rows with their R-tree entries: ~0.14 s).
    """
    connection = sqlite3.connect(path, timeout=30.0)
    try:
        with connection:
            counted = _counts_kept(connection)
            for table in tables:
                connection.execute(f'DELETE FROM "{table}"')
                if counted:
                    _recount(connection, table)
    finally:
        connection.close()


def delete_rows(path: str, table: str, column: str, values: Iterable[str], chunk: int = 2000,
                is_canceled: Any = None) -> int:
    """Delete the rows of `table` (GeoPackage at `path`) whose `column` is one of `values`, for a worker thread
    (no layer object; the layers reading the table reload it afterwards, see reload). How many were deleted.
    Raises sqlite3.Error on failure.

    The rows are found in one read (no lock held), then deleted by row id `chunk` rows per transaction: a
    writer of the same file on the main thread (QGIS waits for SQLite's lock) waits one chunk at most (~25 ms
    for 2,000 rows of a 100,000-row table with its R-tree), never the whole deletion (99,900 rows: ~1.3 s).
    Python's sqlite3 lets go of the GIL while SQLite works. `is_canceled` is asked between chunks: what is
    deleted stays deleted.
    """
    connection = sqlite3.connect(path, timeout=30.0)
    try:
        connection.execute("CREATE TEMP TABLE gone (value TEXT PRIMARY KEY) WITHOUT ROWID")
        connection.executemany("INSERT OR IGNORE INTO temp.gone VALUES (?)", ((value,) for value in values))
        row_ids = [row_id for (row_id,) in connection.execute(
            f'SELECT rowid FROM "{table}" WHERE "{column}" IN (SELECT value FROM temp.gone)')]
        connection.commit()  # the temporary table's insertions: no lock on the file is held from here
        counted = _counts_kept(connection)
        deleted = 0
        for start in range(0, len(row_ids), chunk):
            if is_canceled is not None and is_canceled():
                break
            part = row_ids[start:start + chunk]
            with connection:
                connection.executemany(f'DELETE FROM "{table}" WHERE rowid = ?', ((row_id,) for row_id in part))
                deleted += len(part)
                if counted:
                    _recount(connection, table)
        return deleted
    finally:
        connection.close()


def layer_table(layer: QgsVectorLayer) -> Optional[str]:
    """The GeoPackage table an OGR layer reads (None for a layer of another provider or without one)."""
    if layer.providerType() != "ogr":
        return None
    return QgsProviderRegistry.instance().decodeUri("ogr", layer.source()).get("layerName") or None


def reload(layer: QgsVectorLayer) -> None:
    """`layer` reads its table afresh (after another connection changed it: the provider keeps a feature
    count), still a writer (see writing)."""
    with _OGR_OPENING, _quick_commits():
        layer.dataProvider().reloadData()
    writing(layer)
    layer.updateExtents()


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
    _write_table(layer, path, table, f"Could not write '{layer.name()}' to {path}")
    stored = _open_layer(path, table, layer.name())
    if not stored.isValid():
        raise OSError(f"Could not open the table '{table}' of {path}.")
    return writing(stored)
