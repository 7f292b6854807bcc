"""core.app.orders_refresh and orders_mirror: the backing-off interval, and the documented edge cases found by a refresh against the sandbox."""

from __future__ import annotations

from datetime import timedelta

from qgis.core import QgsPointXY, QgsWkbTypes

from core.app.orders_refresh import AdaptiveInterval, diff_orders, probe_changes, reload_window
from core.layers import epoch_ms
from core.services.planet_tasking.models import Order
from tests.integration.order_states import daylight_point, iso, make_client, point, sim_now


def test_interval_backs_off_while_quiet_and_drops_after_a_change():
    interval = AdaptiveInterval(minimum=10, maximum=100, factor=2)
    assert [interval.after_refresh(False) for _ in range(5)] == [20, 40, 80, 100, 100]
    assert interval.after_refresh(True) == 10
    interval.after_refresh(False)
    assert interval.reset() == 10


def test_diff_marks_changed_added_and_removed():
    before = {"a": Order(id="a", status="EXPIRED"), "b": Order(id="b", status="PENDING", name="x"),
              "c": Order(id="c", status="PENDING")}
    after = [Order(id="a", status="FULFILLED"), Order(id="b", status="PENDING", name="x"), Order(id="d")]
    changes = diff_orders(before, after)
    assert list(changes.changed) == ["a"] and changes.added == ["d"] and changes.removed == ["c"]
    assert "EXPIRED → FULFILLED" in changes.changed["a"].describe()
    assert "edge case" in changes.changed["a"].describe()


def test_refresh_finds_expired_turning_fulfilled_and_manual_reassessment(sandbox):
    client = make_client(sandbox)
    start = sim_now(sandbox)
    for n in range(8):
        client.create_order({"name": f"short {n}", "geometry": daylight_point(n, start),
                             "end_time": iso(start + timedelta(hours=1))})
    for n in range(4):
        client.create_order({"name": f"long {n}", "geometry": point(50 + n)})
    query = {"ordering": ["-created_time", "id"]}
    sandbox.advance(65 * 60)
    shown, total = reload_window(client, 100, query)
    assert total == 12 and len(shown) == 12
    assert sum(o.status == "EXPIRED" for o in shown) >= 4
    watermark = probe_changes(client, None).latest
    assert probe_changes(client, watermark).count == 0  # nothing changed: the cheap probe says so

    sandbox.advance(2 * 86400)
    assert probe_changes(client, watermark).count > 0
    fresh, _ = reload_window(client, 100, query)
    changes = diff_orders({o.id: o for o in shown}, fresh)
    turned = [c for c in changes.changed.values() if c.status_change == ("EXPIRED", "FULFILLED")]
    assert turned, {o.name: o.status for o in fresh}
    assert all("edge case" in c.describe() for c in turned)

    # A manual reassessment (sandbox control endpoint) turns a FULFILLED order back to IN_PROGRESS.
    now = sim_now(sandbox)
    fulfilled = [o for o in fresh if o.status == "FULFILLED" and o.end_time > now]
    assert fulfilled
    subject = fulfilled[0]
    capture = next(iter(client.iter_captures(subject.id, fulfilling=True)))
    sandbox.control("POST", f"captures/{capture.id}/reassess", {"assessment": "INVALID"})
    again, _ = reload_window(client, 100, query)
    changes = diff_orders({o.id: o for o in fresh}, again)
    assert changes.changed[subject.id].status_change == ("FULFILLED", "IN_PROGRESS")
    assert "reassessed" in changes.changed[subject.id].describe()


def test_a_window_read_with_footprints_keeps_each_order_packed_without_its_geometries(sandbox):
    from core.app.orders_refresh import row_value, unpack_order
    from core.layers import wkb_to_geometry

    client = make_client(sandbox)
    for n in range(5):
        client.create_order({"name": f"window {n}", "geometry": point(n)})
    query = {"ordering": ["name"]}
    full, total = reload_window(client, 5, query)
    footprints: dict = {}
    packed, packed_total = reload_window(client, 5, query, page_size=2, footprints=footprints)

    assert packed_total == total == 5
    assert [row_value(row, "name") for row in packed] == [f"window {n}" for n in range(5)]
    for n, (order, row) in enumerate(zip(full, packed)):
        kept = unpack_order(row)
        assert kept.geometry is None and kept.original_geometry is None and not kept.raw
        assert (kept.status, kept.created_time, kept.end_time) == (order.status, order.created_time, order.end_time)
        # The footprint is the polygon the service tasks, around the point the order was placed with.
        footprint = wkb_to_geometry(footprints[order.id])
        assert footprint.type() == QgsWkbTypes.GeometryType.PolygonGeometry
        assert footprint.contains(QgsPointXY(*point(n)["coordinates"]))
    assert set(footprints) == {order.id for order in full}


def test_mirror_lists_every_order_and_reads_captures_of_changed_orders_and_changed_captures(sandbox):
    from core.app.orders_mirror import CAPTURE_IDS_PER_REQUEST, mirror_orders

    client = make_client(sandbox)
    for n in range(30):
        client.create_order({"name": f"mirror {n}", "geometry": point(70 + n)})
    sandbox.advance(2 * 86400)
    parts = []
    seen, total, watermark = mirror_orders(client, {"ordering": ["name"]}, {}, parts.append, page_size=7)
    assert total == 30 and len(seen) == 30 and watermark is not None
    assert sum(len(p.orders) for p in parts) == 30 and max(len(p.orders) for p in parts) <= 7
    captures = {c.id: c for c in client.iter_captures(sorted(seen), page_size=1000)}
    assert captures and {i for p in parts for i in p.captures.rows} == set(captures)
    assert all(len(p.captures_for) <= CAPTURE_IDS_PER_REQUEST for p in parts)

    # Nothing changed: no order is read for captures again; only captures as new as the watermark come back
    # (it is inclusive, so a capture changed in the same millisecond is not missed).
    known = {i: u for p in parts for i, u in p.updated.items()}
    again = []
    mirror_orders(client, {}, known, again.append, captures_since=watermark)
    assert not any(p.captures_for for p in again)
    # Rows keep times to the whole second (core.layers.epoch_ms), so the watermark is compared as such.
    assert all(p.captures.row(i)[7] >= epoch_ms(watermark) for p in again for i in p.captures.rows)
    assert sum(len(p.captures) for p in again) < len(captures)

    # A capture reassessed: even with its order taken as unchanged, the capture comes back (since the watermark).
    published = next(c for c in captures.values() if c.status == "PUBLISHED")
    flipped = "INVALID" if published.assessment == "SUCCESS" else "SUCCESS"
    sandbox.control("POST", f"captures/{published.id}/reassess", {"assessment": flipped})
    latest = []
    mirror_orders(client, {}, {**known, published.order_id: known[published.order_id]}, latest.append,
                  captures_since=watermark)
    rows = {i: p.captures.row(i) for p in latest for i in p.captures.rows}
    assert rows[published.id][4] == flipped  # the assessment column


def test_reloading_a_window_reports_progress_page_by_page(sandbox):
    client = make_client(sandbox)
    for n in range(9):
        client.create_order({"name": f"progress {n}", "geometry": point(120 + n)})
    reported = []
    shown, total = reload_window(client, 9, {"ordering": ["name"]}, page_size=4, progress=reported.append)
    assert len(shown) == 9 and total == 9
    assert reported == sorted(reported) and len(reported) == 3 and reported[-1] == 100.0
