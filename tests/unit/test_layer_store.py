"""The plugin's GeoPackage layers opened by two threads at once (a map run still opening them while the next
run opens them again): both finish, where QGIS's OGR provider alone can deadlock and hold two of the task
manager's worker threads for good."""

from __future__ import annotations

import threading

from qgis.core import QgsWkbTypes

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
