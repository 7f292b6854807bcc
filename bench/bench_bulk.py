"""Bulk tasking of 5,000 features through a local sandbox: validation, list pricing and journaled bulk creation, against plain `requests`."""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Run as `python bench/bench_bulk.py` from anywhere: the repository root holds `core` and `tests`.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests import plugin_package  # noqa: E402

plugin_package.install()  # before any `core` import: the plugin's own modules, not a second copy

import requests  # noqa: E402
from qgis.core import QgsApplication, QgsFeature, QgsGeometry, QgsPointXY, QgsVectorLayer  # noqa: E402

from core import compat  # noqa: E402
from core.app.bulk import (  # noqa: E402
    BulkJob,
    BulkJournal,
    FieldMapping,
    LayerSnapshot,
    chunked,
    price_payloads,
    validate_layer,
)
from core.services.planet_tasking.client import TaskingClient  # noqa: E402
from tests.sandbox_server import SandboxServer  # noqa: E402  (the sandbox process helper the tests use)

FEATURES = 5000
ROUNDS = 3  # validation rounds
NETWORK_ROUNDS = 5  # pricing and creation rounds per side, alternated client/raw
BUDGET_SECONDS = 120.0


def make_layer(count: int) -> QgsVectorLayer:
    """Thirds of points, 10 km strips and 2 km squares in UTM 33N, with a name attribute."""
    layer = QgsVectorLayer("Polygon?crs=EPSG:32633", "bench", "memory")
    points = QgsVectorLayer("Point?crs=EPSG:32633", "bench points", "memory")
    lines = QgsVectorLayer("LineString?crs=EPSG:32633", "bench strips", "memory")
    for each in (layer, points, lines):
        each.dataProvider().addAttributes([compat.make_field("label", compat.STRING)])
        each.updateFields()
    batches = {id(layer): [], id(points): [], id(lines): []}
    for index in range(count):
        x = 300000.0 + (index % 70) * 6000.0
        y = 5000000.0 + (index // 70) * 6000.0
        kind = index % 3
        target = (points, lines, layer)[kind]
        feature = QgsFeature(target.fields())
        if kind == 0:
            feature.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(x, y)))
        elif kind == 1:
            feature.setGeometry(QgsGeometry.fromPolylineXY([QgsPointXY(x, y), QgsPointXY(x, y + 10000.0)]))
        else:
            feature.setGeometry(QgsGeometry.fromPolygonXY([[QgsPointXY(x, y), QgsPointXY(x + 2000, y),
                                                            QgsPointXY(x + 2000, y + 2000), QgsPointXY(x, y + 2000),
                                                            QgsPointXY(x, y)]]))
        feature.setAttributes([f"bench {index:05d}"])
        batches[id(target)].append(feature)
    for each in (layer, points, lines):
        each.dataProvider().addFeatures(batches[id(each)])
    return points, lines, layer


def ratios(client_times, raw_times) -> str:
    """client/raw per alternated round, as min / median / max: one slow moment shows as a spread, not a shift."""
    each = [c / r for c, r in zip(client_times, raw_times)]
    return f"min {min(each):.2f}, median {statistics.median(each):.2f}, max {max(each):.2f}"


def main() -> int:
    app = QgsApplication([], False)
    app.initQgis()
    started = time.perf_counter()
    server = SandboxServer()
    try:
        layers = make_layer(FEATURES)
        mapping = FieldMapping(expressions={"name": '"label"', "exclusivity_days": "7"})

        # -- validation (no network) ------------------------------------------------------------------
        times = []
        reports = None
        for _ in range(ROUNDS):
            t0 = time.perf_counter()
            reports = [validate_layer(LayerSnapshot(layer), mapping) for layer in layers]
            times.append(time.perf_counter() - t0)
        # Three layers, so feature ids repeat: number the payloads 0..4999 instead.
        pairs = [(index, payload) for index, (_, payload) in
                 enumerate(pair for report in reports for pair in report.pairs())]
        assert len(pairs) == FEATURES, f"{FEATURES - len(pairs)} bench features were invalid"
        print(f"validate {FEATURES} features (points, strips, areas; UTM 33N; name + exclusivity expressions): "
              f"best {min(times) * 1000:.0f} ms, median {statistics.median(times) * 1000:.0f} ms "
              f"({statistics.median(times) / FEATURES * 1e6:.0f} µs per feature); 0 requests")

        def advance(_seconds: float) -> None:
            # Polls sleep here: the simulated clock jumps so the next poll finds the bulk COMPLETE.
            server.advance(600)

        client = TaskingClient(server.tasking_url, server.api_key, sleep=advance, timeout=60.0)
        session = requests.Session()
        auth = {"Authorization": f"api-key {server.api_key}"}
        base = server.tasking_url

        # -- pricing ------------------------------------------------------------------------------------
        def client_pricing_round():
            server.reset()
            t0 = time.perf_counter()
            report = price_payloads(client, pairs)
            return time.perf_counter() - t0, report

        def raw_pricing_round():
            t0 = time.perf_counter()
            total = 0.0
            for batch in chunked(pairs, 1000):
                reply = session.post(base + "pricing/", json=[p for _, p in batch], headers=auth, timeout=60)
                reply.raise_for_status()
                total += reply.json()["total_estimated_quota_cost"]
            return time.perf_counter() - t0, total

        client_times, raw_times = [], []
        for _ in range(NETWORK_ROUNDS):  # alternated, so a slow moment of the machine hits both sides
            seconds, pricing = client_pricing_round()
            client_times.append(seconds)
            sent = [r for r in server.requests_seen() if r["path"].endswith("/pricing/")]
            seconds, raw_total = raw_pricing_round()
            raw_times.append(seconds)
        assert abs(raw_total - pricing.server_total) < 0.01 and abs(pricing.total - pricing.server_total) < 0.01
        client_pricing, raw_pricing = statistics.median(client_times), statistics.median(raw_times)
        print(f"price {FEATURES} features: {pricing.requests} requests (list form, 1000 per request; "
              f"{len(sent)} seen by the sandbox), median {client_pricing:.2f} s of {NETWORK_ROUNDS}; total "
              f"{pricing.total:,.1f} {pricing.units} = sum of the per-feature prices; plain requests: median "
              f"{raw_pricing:.2f} s; client/raw per round {ratios(client_times, raw_times)}")

        # -- creation -------------------------------------------------------------------------------------
        def client_create_round(folder: str, index: int):
            journal = BulkJournal(os.path.join(folder, f"bench_journal_{index}.sqlite"))
            server.reset()
            t0 = time.perf_counter()
            job = BulkJob.start(journal, "CREATE", pairs, client.base_url, title="bench")
            journal_write = time.perf_counter() - t0
            outcome = job.run(client, poll=0.5)
            seconds = time.perf_counter() - t0
            assert len(outcome.succeeded) == FEATURES, outcome.summary()
            requests_sent = len([r for r in server.requests_seen() if "/tasking/" in r["path"]])
            journal.close()
            return seconds, journal_write, requests_sent

        def raw_create_round():
            server.reset()
            t0 = time.perf_counter()
            requests_sent = 0
            bulk_ids = []
            for batch in chunked(pairs, 1000):
                bulk_id = str(uuid.uuid4())
                reply = session.post(base + "bulk/", json={"id": bulk_id, "order_payloads": [p for _, p in batch],
                                                           "operation_type": "CREATE"}, headers=auth, timeout=60)
                assert reply.status_code == 202, reply.text
                requests_sent += 1
                bulk_ids.append(bulk_id)
            made = 0
            for bulk_id in bulk_ids:
                while True:
                    status = session.get(f"{base}bulk/{bulk_id}/", headers=auth, timeout=60).json()
                    requests_sent += 1
                    if status["status"] == "COMPLETE":
                        break
                    advance(0.5)
                url = f"{base}bulk/{bulk_id}/payloads/?limit=1000"
                while url:
                    page = session.get(url, headers=auth, timeout=60).json()
                    requests_sent += 1
                    made += sum(1 for result in page["results"] if result.get("order_id"))
                    url = page["next"]
            assert made == FEATURES
            return time.perf_counter() - t0, requests_sent

        client_times, raw_times, journal_times = [], [], []
        with tempfile.TemporaryDirectory() as folder:
            for index in range(NETWORK_ROUNDS):
                seconds, journal_write, client_requests = client_create_round(folder, index)
                client_times.append(seconds)
                journal_times.append(journal_write)
                seconds, raw_requests = raw_create_round()
                raw_times.append(seconds)
        client_create, raw_create = statistics.median(client_times), statistics.median(raw_times)
        print(f"create {FEATURES} orders: 5 bulks of 1000, journaled first (median {statistics.median(journal_times) * 1000:.0f} "
              f"ms to write 5000 payloads), followed to COMPLETE and read back per payload: median "
              f"{client_create:.2f} s of {NETWORK_ROUNDS}, {client_requests} API requests; plain requests, same calls "
              f"without journal or matching: median {raw_create:.2f} s, {raw_requests} requests; client/raw per round "
              f"{ratios(client_times, raw_times)}, client overhead {(client_create - raw_create) * 1000:+.0f} ms "
              "(the sandbox making 5000 orders dominates both)")
    finally:
        server.stop()
    elapsed = time.perf_counter() - started
    print(f"bench_bulk finished in {elapsed:.1f} s (budget {BUDGET_SECONDS:.0f} s)")
    app.exitQgis()
    return 0 if elapsed < BUDGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
