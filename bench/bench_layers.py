"""Bench: a 10,000-footprint captures layer vs. OGR reading the same GeoJSON, and a 100-change refresh vs. a rebuild."""

from __future__ import annotations

import copy
import json
import os
import random
import statistics
import sys
import tempfile
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)
from tests import plugin_package  # noqa: E402

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
plugin_package.install()  # before any `core` import: the plugin's own modules, not a second copy

from qgis.core import QgsApplication, QgsVectorLayer  # noqa: E402

from core.services.planet_tasking.layers import create_captures_layer, upsert_captures  # noqa: E402
from core.services.planet_tasking.models import Capture  # noqa: E402

FEATURES = 10_000
CHANGED = 100
REPEATS = 5
STATUSES = ("QUEUED", "PROCESSING", "PUBLISHED", "FAILED")


def footprint(rng: random.Random) -> dict:
    """A SkySat-like strip footprint: a slightly skewed quadrilateral of ~6 x 10 km with a mid-edge vertex."""
    x, y = rng.uniform(-170.0, 170.0), rng.uniform(-70.0, 70.0)
    w, h, skew = 0.06, 0.09, rng.uniform(-0.01, 0.01)
    ring = [[x, y], [x + w, y + skew], [x + w + skew, y + h / 2], [x + w, y + h], [x, y + h], [x, y]]
    return {"type": "Polygon", "coordinates": [[[round(a, 6), round(b, 6)] for a, b in ring]]}


def capture_json(n: int, rng: random.Random) -> dict:
    status = STATUSES[n % len(STATUSES)]
    return {
        "id": f"{n:08d}-8c96-49ed-b809-eceafa563950",
        "order_id": f"order-{n % 500}",
        "status": status,
        "status_description": None,
        "assessment": "SUCCESS" if status == "PUBLISHED" and n % 3 else None,
        "acquired_time": f"2024-07-{1 + n % 28:02d}T08:51:31.094000Z",
        "published_time": f"2024-07-{1 + n % 28:02d}T23:57:43.783444Z",
        "updated_time": f"2024-07-{1 + n % 28:02d}T23:57:43.783444Z",
        "strip_id": f"s104_20240701T085131Z_{n}",
        "cloud_cover": round(rng.random(), 3),
        "item_types": ["SkySatScene", "SkySatCollect"],
        "fulfilling": n % 5 == 0,
        "geometry": footprint(rng),
    }


def write_geojson(path: str, records: list) -> None:
    features = []
    for record in records:
        properties = {key: value for key, value in record.items() if key != "geometry"}
        properties["item_types"] = ",".join(properties["item_types"])
        features.append({"type": "Feature", "properties": properties, "geometry": record["geometry"]})
    with open(path, "w", encoding="utf-8") as handle:
        json.dump({"type": "FeatureCollection", "features": features}, handle)


def best_and_median(fn, repeats: int = REPEATS):
    times = []
    result = None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times), result


def main() -> None:
    app = QgsApplication([], False)
    app.initQgis()
    rng = random.Random(7)
    records = [capture_json(n, rng) for n in range(FEATURES)]
    captures = [Capture.from_json(record) for record in records]
    exclusivity = {f"order-{n}": (0, 7, 30)[n % 3] for n in range(500)}

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "captures.geojson")
        write_geojson(path, records)

        def ogr_read():
            layer = QgsVectorLayer(path, "x", "ogr")
            count = sum(1 for _ in layer.getFeatures())
            assert count == FEATURES, count
            return layer

        def build_from_captures():
            layer = create_captures_layer("Captures", captures, exclusivity)
            assert layer.featureCount() == FEATURES
            return layer

        def build_from_json():
            layer = create_captures_layer("Captures", [Capture.from_json(r) for r in records], exclusivity)
            assert layer.featureCount() == FEATURES
            return layer

        # Warm both paths once (first OGR open loads the driver, first layer loads the QML).
        ogr_read()
        build_from_captures()
        ogr_best, ogr_median, _ = best_and_median(ogr_read)
        build_best, build_median, layer = best_and_median(build_from_captures)
        json_best, json_median, _ = best_and_median(build_from_json)

    print(f"{FEATURES} capture footprints, best (median) of {REPEATS} runs:")
    print(f"  OGR open + read GeoJSON file            {ogr_best:7.3f} s ({ogr_median:.3f})")
    print(f"  build styled, indexed captures layer     {build_best:7.3f} s ({build_median:.3f})"
          f"   ratio {build_best / ogr_best:.2f}x (target <= 1.5x)")
    print(f"  same, parsing the JSON dicts first       {json_best:7.3f} s ({json_median:.3f})"
          f"   ratio {json_best / ogr_best:.2f}x")

    # Refresh: the same 10,000 captures with 100 changed (half status/assessment, half footprint).
    refreshed = copy.deepcopy(captures)
    for n in range(CHANGED):
        changed = refreshed[n * (FEATURES // CHANGED)]
        if n % 2:
            changed.status, changed.assessment = "PUBLISHED", "INVALID"
        else:
            changed.geometry = footprint(rng)
    upserts = []

    def refresh():
        # Alternate between the two lists so every timed refresh really has 100 changes to write.
        upserts.append(upsert_captures(layer, refreshed if len(upserts) % 2 == 0 else captures, exclusivity))
        return upserts[-1]

    def rebuild():
        return create_captures_layer("Captures", refreshed, exclusivity)

    refresh_best, refresh_median, _ = best_and_median(refresh)
    rebuild_best, rebuild_median, _ = best_and_median(rebuild)
    assert all(result.updated == CHANGED and result.added == 0 for result in upserts), upserts
    assert layer.featureCount() == FEATURES
    print(f"Refresh of {FEATURES} captures with {CHANGED} changed, best (median) of {REPEATS} runs:")
    print(f"  upsert in place                          {refresh_best:7.3f} s ({refresh_median:.3f})")
    print(f"  rebuild from scratch                     {rebuild_best:7.3f} s ({rebuild_median:.3f})"
          f"   refresh/rebuild {refresh_best / rebuild_best:.2f}x")


if __name__ == "__main__":
    main()
