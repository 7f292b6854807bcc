"""Order and capture lifecycle on simulated time, the documented edge cases, and the captures endpoint."""

from __future__ import annotations

from datetime import timedelta

from tests.sandbox.helpers import advance_until, assured_order, iso, parse, point, sim_now

FINAL = ("FULFILLED", "EXPIRED", "CANCELLED", "FAILED")


def test_received_pending_in_progress_then_captures(api, sandbox):
    order = api.create(name="life")
    assert order["status"] == "RECEIVED" and order["next_planned_acquisition_time"] is None
    sandbox.advance(60)
    assert api.order(order["id"])["status"] in ("PENDING", "IN_PROGRESS")
    sandbox.advance(60)
    running = api.order(order["id"])
    assert running["status"] == "IN_PROGRESS"
    planned = parse(running["next_planned_acquisition_time"])
    assert planned > sim_now(sandbox)
    statuses = set()

    def published() -> bool:
        for capture in api.captures(order["id"]):
            statuses.add(capture["status"])
        return api.order(order["id"])["capture_status_published_count"] > 0

    assert advance_until(sandbox, published, step=900)
    assert {"QUEUED", "PROCESSING"} <= statuses or "PROCESSING" in statuses
    capture = next(c for c in api.captures(order["id"]) if c["status"] == "PUBLISHED")
    assert capture["assessment"] in ("SUCCESS", "INVALID")
    assert capture["acquired_time"] <= capture["published_time"]
    assert capture["strip_id"].startswith("s") and 0.0 <= capture["cloud_cover"] <= 1.0
    assert api.order(order["id"])["last_acquired_time"] is not None


def test_counters_agree_with_captures(api, sandbox):
    orders = [api.create(name=f"o{i}") for i in range(8)]
    sandbox.advance(31 * 86400)
    for order in orders:
        current = api.order(order["id"])
        captures = api.captures(order["id"])
        published = [c for c in captures if c["status"] == "PUBLISHED"]
        assert current["capture_status_published_count"] == len(published)
        assert current["capture_assessment_success_count"] == sum(c["assessment"] == "SUCCESS" for c in published)
        assert current["capture_assessment_invalid_count"] == sum(c["assessment"] == "INVALID" for c in published)
        assert current["status"] in FINAL
        fulfilling = [c for c in captures if c["fulfilling"]]
        if current["status"] == "FULFILLED":
            assert len(fulfilling) == 1 and fulfilling[0]["assessment"] == "SUCCESS"
            assert current["fulfilled_sqkm"] == current["requested_sqkm"]
        # Flexible orders retask after every unusable capture: only the last capture may be the fulfilling one.
        for capture in captures[1:]:  # newest first
            assert capture["assessment"] != "SUCCESS" or capture["status"] != "PUBLISHED" or capture["fulfilling"] \
                or current["status"] != "FULFILLED" or any(c["fulfilling"] for c in captures)


def test_flexible_retasks_after_invalid(api, sandbox):
    orders = [api.create(name=f"r{i}") for i in range(12)]
    sandbox.advance(31 * 86400)
    retasked = [o for o in orders if len(api.captures(o["id"])) > 1]
    assert retasked, "with 12 orders some capture should have been unusable"
    for order in retasked:
        captures = sorted(api.captures(order["id"]), key=lambda c: c["created_time"])
        for earlier in captures[:-1]:
            assert earlier["status"] == "FAILED" or earlier["assessment"] == "INVALID"


def test_expired_then_fulfilled_by_late_capture(api, sandbox):
    now = sim_now(sandbox)
    # Where it is noon now, so the first acquisition (in daylight only) falls inside the one-hour order.
    noon_longitude = ((12 - now.hour - now.minute / 60) * 15 + 180) % 360 - 180
    order = api.create(name="late", geometry=point(round(noon_longitude, 4), 0.0),
                       end_time=iso(now + timedelta(hours=1)))
    sandbox.advance(3660)
    assert api.order(order["id"])["status"] == "EXPIRED"
    captures = api.captures(order["id"])
    assert captures and captures[0]["status"] in ("QUEUED", "PROCESSING")
    assert advance_until(sandbox, lambda: api.captures(order["id"])[0]["status"] in ("PUBLISHED", "FAILED"), 1800)
    capture = api.captures(order["id"])[0]
    if capture["status"] == "PUBLISHED" and capture["assessment"] == "INVALID":
        # A manual review may later accept it: the order follows.
        sandbox.control("POST", f"captures/{capture['id']}/reassess", {"assessment": "SUCCESS"})
    if capture["status"] == "PUBLISHED":
        assert api.order(order["id"])["status"] == "FULFILLED"
        assert api.captures(order["id"])[0]["fulfilling"] is True


def test_manual_reassessment_flips_fulfilled_back(api, sandbox):
    order = api.create(name="reassessed")
    assert advance_until(sandbox, lambda: api.order(order["id"])["status"] == "FULFILLED")
    fulfilling = api.captures(order["id"], fulfilling="true")
    assert len(fulfilling) == 1
    sandbox.control("POST", f"captures/{fulfilling[0]['id']}/reassess", {"assessment": "INVALID"})
    reopened = api.order(order["id"])
    assert reopened["status"] == "IN_PROGRESS" and reopened["fulfilled_sqkm"] == 0.0
    assert reopened["capture_assessment_invalid_count"] >= 1
    assert api.captures(order["id"], fulfilling="true") == []
    assert advance_until(sandbox, lambda: api.order(order["id"])["status"] in ("FULFILLED", "EXPIRED"))


def test_reassessment_after_end_expires(api, sandbox):
    now = sim_now(sandbox)
    order = api.create(name="short", end_time=iso(now + timedelta(days=2)))
    if not advance_until(sandbox, lambda: api.order(order["id"])["status"] in ("FULFILLED", "EXPIRED"),
                         limit=3 * 86400):
        return
    if api.order(order["id"])["status"] != "FULFILLED":
        return
    sandbox.advance(3 * 86400)
    capture = api.captures(order["id"], fulfilling="true")[0]
    sandbox.control("POST", f"captures/{capture['id']}/reassess", {"assessment": "INVALID"})
    assert api.order(order["id"])["status"] == "EXPIRED"


def test_pending_until_start_time(api, sandbox):
    start = sim_now(sandbox) + timedelta(days=1)
    order = api.create(name="later", start_time=iso(start))
    sandbox.advance(3600)
    assert api.order(order["id"])["status"] == "PENDING"
    sandbox.advance(86400)
    assert api.order(order["id"])["status"] == "IN_PROGRESS"


def test_assured_lifecycle(api, sandbox):
    order = assured_order(api, sandbox)
    sandbox.advance(120)
    assert api.order(order["id"])["status"] == "PENDING"
    assert advance_until(sandbox, lambda: api.order(order["id"])["status"] in ("FULFILLED", "FAILED"), 3600,
                         limit=9 * 86400)
    captures = api.captures(order["id"])
    assert len(captures) == 1  # one opportunity only: no retasking
    acquired = captures[0]["acquired_time"]
    if acquired:
        assert order["start_time"] <= acquired <= order["end_time"] or acquired[:16] == order["start_time"][:16]


def test_capture_filters_and_pages(api, sandbox):
    first, second, third = (api.create(name=n) for n in ("a", "b", "c"))
    sandbox.advance(20 * 86400)
    both = api.get(f"captures/?order_id={first['id']},{second['id']}&limit=1000").json()
    assert both["count"] == len(api.captures(first["id"])) + len(api.captures(second["id"]))
    assert all(c["order_id"] in (first["id"], second["id"]) for c in both["results"])
    published = api.get("captures/?status=PUBLISHED&limit=1000").json()["results"]
    assert published and all(c["status"] == "PUBLISHED" for c in published)
    fulfilling = api.get("captures/?fulfilling=true&limit=1000").json()["results"]
    assert all(c["fulfilling"] for c in fulfilling)
    everything = api.get("captures/?limit=1000").json()
    page = api.get("captures/?limit=1").json()
    assert page["count"] == everything["count"] and len(page["results"]) == 1
    if everything["count"] > 1:
        assert page["next"] and api.get(page["next"]).json()["results"][0]["id"] == everything["results"][1]["id"]
    middle = sorted(c["acquired_time"] for c in everything["results"] if c["acquired_time"])[0]
    later = api.get(f"captures/?acquired_time__gt={middle}&limit=1000").json()["results"]
    assert all(c["acquired_time"] > middle for c in later)
    assert api.get("captures/?order_id=nope").status_code == 400
    assert api.get("captures/?acquired_time__gt=nope").status_code == 400
    assert api.get(f"captures/{everything['results'][0]['id']}/").json()["id"] == everything["results"][0]["id"]
    assert third


def test_cancelling_drops_queued_capture(api, sandbox):
    order = api.create(name="to cancel")
    assert advance_until(sandbox, lambda: any(c["status"] == "QUEUED" for c in api.captures(order["id"])), 600)
    assert api.delete(f"orders/{order['id']}/").status_code == 204
    capture = api.captures(order["id"])[0]
    assert capture["status"] == "FAILED" and capture["status_description"]


def test_acquisitions_in_daylight(api, sandbox):
    from sandbox.planet_tasking.orbits import sun_elevation

    orders = [api.create(name=f"d{i}", geometry=point(lon, 30)) for i, lon in enumerate((-120, -30, 60, 150))]
    sandbox.advance(10 * 86400)
    for order in orders:
        lon, lat = order["original_geometry"]["coordinates"]
        for capture in api.captures(order["id"]):
            if capture["acquired_time"]:
                assert sun_elevation(lon, lat, parse(capture["acquired_time"])) > 14


def test_extending_end_time_plans_an_attempt(api, sandbox):
    now = sim_now(sandbox)
    # Where it is midnight now: no daylight, so no acquisition fits in the first 40 minutes.
    midnight_longitude = ((0 - now.hour - now.minute / 60) * 15 + 180) % 360 - 180
    order = api.create(name="short", geometry=point(round(midnight_longitude, 4), 0.0),
                       end_time=iso(now + timedelta(minutes=40)))
    sandbox.advance(120)
    assert api.order(order["id"])["next_planned_acquisition_time"] is None  # no room before the end
    api.put(f"orders/{order['id']}/", {"end_time": iso(now + timedelta(days=5))})
    assert api.order(order["id"])["next_planned_acquisition_time"] is not None
    assert advance_until(sandbox, lambda: api.captures(order["id"]) != [], step=3600, limit=5 * 86400)


def test_failed_assured_order_revived_by_review(api, sandbox):
    order = assured_order(api, sandbox, "revived")
    assert advance_until(sandbox, lambda: api.order(order["id"])["status"] in ("FULFILLED", "FAILED"),
                         limit=9 * 86400)
    capture = api.captures(order["id"])[0]
    if capture["status"] != "PUBLISHED":
        return  # failed in acquisition or processing: nothing to review
    sandbox.control("POST", f"captures/{capture['id']}/reassess", {"assessment": "INVALID"})
    assert api.order(order["id"])["status"] == "FAILED"
    sandbox.control("POST", f"captures/{capture['id']}/reassess", {"assessment": "SUCCESS"})
    revived = api.order(order["id"])
    assert revived["status"] == "FULFILLED" and revived["capture_assessment_success_count"] == 1
