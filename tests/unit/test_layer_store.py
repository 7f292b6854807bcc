"""The plugin's GeoPackage store: its layers opened by two threads at once (a map run still opening them while the
next run opens them again) both finish, where QGIS's OGR provider alone can deadlock and hold two of the task
manager's worker threads for good; what its layers write reaches the file when a worker copies the log in."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from pathlib import Path

from qgis.core import QgsFeature, QgsGeometry, QgsWkbTypes

from core import layer_store
from core.services.planet_tasking.layers import CAPTURES, ORDERS

OPENS_PER_THREAD = 150  # unguarded, two threads hung after ~130 opens each (QGIS 3.22)


def test_two_threads_opening_the_same_stores_tables_both_finish(tmp_path, qgis_app):
    path = str(tmp_path / "layers.gpkg")
    siblings = {kind.name: kind.qgs_fields() for kind in (ORDERS, CAPTURES)}
    for kind in (ORDERS, CAPTURES):
        layer_store.open_table(path, kind.name, kind.name, kind.qgs_fields(), QgsWkbTypes.Type.Polygon,
                               siblings=siblings)
    opened = {ORDERS.name: 0, CAPTURES.name: 0}
    failures = []

    def open_again_and_again(kind):
        try:
            for _ in range(OPENS_PER_THREAD):
                layer = layer_store.open_empty_table(path, kind.name, kind.name, kind.qgs_fields(),
                                                     QgsWkbTypes.Type.Polygon, siblings=siblings)
                assert layer.isValid() and layer.dataProvider().capabilities() & \
                    layer.dataProvider().Capability.AddFeatures
                del layer
                opened[kind.name] += 1
        except Exception as error:  # noqa: BLE001 - reported by the test
            failures.append(error)

    # Daemon threads: a deadlocked pair must not keep the test process from ending.
    threads = [threading.Thread(target=open_again_and_again, args=(kind,), daemon=True) for kind in (ORDERS, CAPTURES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures
    assert opened == {ORDERS.name: OPENS_PER_THREAD, CAPTURES.name: OPENS_PER_THREAD}, "the opening threads hung"


def ids_in_the_file_alone(path: str, table: str) -> set:
    """The ids of `table`'s rows that the GeoPackage file holds by itself, as a copy of the .gpkg without its -wal
    would (SQLite told the file cannot change reads no log)."""
    with closing(sqlite3.connect(Path(path).as_uri() + "?mode=ro&immutable=1", uri=True)) as file_alone:
        return {row[0] for row in file_alone.execute(f'SELECT id FROM "{table}"')}


def test_a_store_layers_writes_wait_in_the_log_until_a_worker_copies_them_into_the_file(tmp_path, qgis_app):
    path = str(tmp_path / "layers.gpkg")
    layer = layer_store.open_table(path, CAPTURES.name, CAPTURES.name, CAPTURES.qgs_fields(), QgsWkbTypes.Type.Polygon)
    provider, fields = layer.dataProvider(), layer.fields()
    footprint = QgsGeometry.fromWkt("POLYGON((10 10, 10.1 10, 10.1 10.1, 10 10.1, 10 10))")
    written = 0
    for _ in range(40):  # slices of 100 committed one by one, as the map writes them
        features = []
        for _ in range(100):
            feature = QgsFeature(fields)
            feature.setAttribute(fields.indexOf("id"), f"capture-{written:06d}-" + "x" * 60)
            feature.setGeometry(footprint)
            features.append(feature)
            written += 1
        assert provider.addFeatures(features)[0]
    # Past the 1,000 pages (~4 MB) at which SQLite's own commit would have copied the log on the writing thread,
    # the main thread in the plugin: still in the log.
    assert len(ids_in_the_file_alone(path, CAPTURES.name)) < written

    assert layer_store.checkpoint(path)

    assert len(ids_in_the_file_alone(path, CAPTURES.name)) == written == layer.featureCount()
    assert not layer_store.checkpoint(str(tmp_path / "no such store.gpkg"))


def test_rows_deleted_by_a_worker_leave_the_layer_once_it_reloads_and_it_takes_new_ones(tmp_path, qgis_app):
    # How the map removes many orders at once (a filter keeping 100 of 100,000): SQL on a worker thread, the layer
    # reading its table again afterwards, rather than the main thread deleting feature after feature.
    path = str(tmp_path / "layers.gpkg")
    layer = layer_store.open_table(path, ORDERS.name, ORDERS.name, ORDERS.qgs_fields(), QgsWkbTypes.Type.Polygon)
    fields = layer.fields()
    footprint = QgsGeometry.fromWkt("POLYGON((10 10, 10.1 10, 10.1 10.1, 10 10.1, 10 10))")

    def features(numbers):
        made = []
        for number in numbers:
            feature = QgsFeature(fields)
            feature.setAttribute(fields.indexOf("id"), f"order-{number:05d}")
            feature.setGeometry(footprint)
            made.append(feature)
        return made

    for start in range(0, 3000, 500):  # written through the layer first, as the map does
        assert layer.dataProvider().addFeatures(features(range(start, start + 500)))[0]
    gone = [f"order-{number:05d}" for number in range(3000) if number % 30]  # 2,900 of them
    deleted = []
    worker = threading.Thread(target=lambda: deleted.append(
        layer_store.delete_rows(path, ORDERS.name, "id", gone + ["order-99999"], chunk=400)))
    worker.start()
    worker.join()
    assert deleted == [2900]

    layer_store.reload(layer)

    kept = {f"order-{number:05d}" for number in range(0, 3000, 30)}
    assert layer.featureCount() == 100 and {f["id"] for f in layer.getFeatures()} == kept
    assert layer.dataProvider().addFeatures(features(range(5000, 5010)))[0]
    layer_store.reload(layer)
    assert layer.featureCount() == 110
    with closing(sqlite3.connect(path)) as connection:  # what GDAL reads the next time it opens the table
        assert connection.execute("SELECT feature_count FROM gpkg_ogr_contents WHERE table_name = ?",
                                  (ORDERS.name,)).fetchone() == (110,)


def test_a_cancelled_deletion_keeps_what_it_deleted_and_stops_between_chunks(tmp_path, qgis_app):
    path = str(tmp_path / "layers.gpkg")
    layer = layer_store.open_table(path, ORDERS.name, ORDERS.name, ORDERS.qgs_fields(), QgsWkbTypes.Type.Polygon)
    fields = layer.fields()
    made = []
    for number in range(1000):
        feature = QgsFeature(fields)
        feature.setAttribute(fields.indexOf("id"), f"order-{number:05d}")
        made.append(feature)
    assert layer.dataProvider().addFeatures(made)[0]
    asked = []

    def cancel_after_two_chunks() -> bool:
        asked.append(True)
        return len(asked) > 2

    deleted = layer_store.delete_rows(path, ORDERS.name, "id", [f"order-{n:05d}" for n in range(1000)], chunk=300,
                                      is_canceled=cancel_after_two_chunks)
    layer_store.reload(layer)
    assert deleted == 600 and layer.featureCount() == 400
