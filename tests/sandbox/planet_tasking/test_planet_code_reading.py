"""The sandbox as Planet's own code reads the API: Location paths, satellite_type, monitoring rules, ids."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Dict, List
from urllib.parse import urljoin, urlsplit

import pytest
import requests

from sandbox.planet_tasking.rrule import RuleError, monitoring_span, rrule_occurrences
from tests.sandbox.helpers import Client, iso, parse, point, sim_now, start_server, stop_server

MONITORING = "monitoring_tasking"
BERLIN = point(13.350097, 52.514511)


def _next_weekday_at_nine(after: datetime, weekday: int) -> datetime:
    """09:00 UTC on the first `weekday` (0 = Monday) at least a day after `after`: far from midnight."""
    day = (after + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    return day + timedelta(days=(weekday - day.weekday()) % 7)


# --- Location: a host-relative path ----------------------------------------------------------------------
# facts.md: "`Location` headers carry a host-relative path (e.g. `/tasking/v2/bulk/<id>/`): Planet's own
# examples and its STAPI adapter build the URL to poll as `"https://api.planet.com" + location`."


def _locations(api: Client) -> Dict[str, requests.Response]:
    order = api.post("orders/", {"name": "located", "geometry": point()})
    search = api.search(BERLIN)
    bulk = api.post("bulk/", {"order_payloads": [{"name": "bulk located", "geometry": point()}]})
    assert (order.status_code, search.status_code, bulk.status_code) == (201, 201, 202)
    return {"order": order, "search": search, "bulk": bulk}


def test_location_headers_are_host_relative_paths(api):
    answers = _locations(api)
    order_id, search_id = answers["order"].json()["id"], answers["search"].json()["id"]
    assert answers["order"].headers["Location"] == f"/tasking/v2/orders/{order_id}/"
    assert answers["search"].headers["Location"] == f"/tasking/v2/imaging-windows/search/{search_id}/"
    bulk_location = answers["bulk"].headers["Location"]
    assert urlsplit(bulk_location).scheme == "" and urlsplit(bulk_location).netloc == ""
    assert bulk_location.startswith("/tasking/v2/bulk/") and bulk_location.endswith("/")


def test_location_read_as_planets_examples_read_it(api, sandbox):
    # Planet's way: the API host (scheme and authority, no path) + the Location header.
    host = sandbox.root  # "http://127.0.0.1:<port>", as "https://api.planet.com" is for Planet
    answers = _locations(api)
    sandbox.advance(300)
    order = api.session.get(host + answers["order"].headers["Location"], timeout=30)
    search = api.session.get(host + answers["search"].headers["Location"], timeout=30)
    bulk = api.session.get(host + answers["bulk"].headers["Location"], timeout=30)
    assert order.status_code == 200 and order.json()["id"] == answers["order"].json()["id"]
    assert search.status_code == 200 and search.json()["status"] == "DONE"
    assert bulk.status_code == 200 and bulk.json()["status"] == "COMPLETE"


def test_location_resolved_against_the_request_url(api, sandbox):
    # A client that resolves a relative Location against the URL it posted to (RFC 9110 §10.2.2) keeps working.
    answers = _locations(api)
    sandbox.advance(300)
    for name, answer in answers.items():
        url = urljoin(answer.request.url, answer.headers["Location"])
        assert url.startswith(api.base), (name, url)
        assert api.session.get(url, timeout=30).status_code == 200, name
    bulk_url = urljoin(answers["bulk"].request.url, answers["bulk"].headers["Location"])
    payloads = api.session.get(bulk_url + "payloads/", timeout=30).json()
    assert payloads["count"] == 1 and "order_id" in payloads["results"][0]


def test_paging_links_stay_absolute(api):
    # planet-tasking-api.txt: "The response payload will then include the key next and previous with the
    # corresponding values containing URLs that will point to the next and previous page of results."
    for index in range(3):
        api.create(name=f"page {index}")
    page = api.get("orders/?limit=1").json()
    assert page["next"].startswith(api.base + "orders/")


# --- satellite_type: upper-case --------------------------------------------------------------------------
# facts.md: "A window may also carry `satellite_type`, whose values are upper-case: `SKYSAT`, `PELICAN`
# (Planet's constellation page), and `TANAGER` for that constellation."


def test_window_satellite_type_is_upper_case(api, sandbox):
    search = api.search(BERLIN).json()
    sandbox.advance(300)
    windows = api.get(f"imaging-windows/search/{search['id']}/").json()["imaging_windows"]
    assert windows
    types = {window["satellite_type"] for window in windows}
    assert types <= {"SKYSAT", "PELICAN", "TANAGER"}, types
    assert "SKYSAT" in types


# --- MONITORING: the rrule is the span; end_time is ignored; BYDAY honoured -------------------------------
# facts.md: "MONITORING orders: the `rrule` (`FREQ`, `INTERVAL`, `COUNT`, `UNTIL`, `BYDAY`) defines when
# imaging repeats; Planet's monitoring example says `end_time` is ignored even if provided."


def _acquisitions(api: Client, order_id: str) -> List[datetime]:
    captures = api.captures(order_id)
    return sorted(parse(c["acquired_time"]) for c in captures if c["acquired_time"])


def test_monitoring_end_time_is_ignored_a_later_one(api, sandbox):
    start = _next_weekday_at_nine(sim_now(sandbox), 0)
    order = api.create(product=MONITORING, rrule="FREQ=DAILY;COUNT=3", start_time=iso(start),
                       end_time=iso(start + timedelta(days=60)))
    # The span is the rule's: three daily occurrences from an hour after start, and an hour to spare.
    assert parse(order["end_time"]) == start + timedelta(days=2, hours=2)
    sandbox.advance((start - sim_now(sandbox)).total_seconds() + 4 * 86400)
    assert len(api.captures(order["id"])) == 3
    assert api.order(order["id"])["status"] in ("FULFILLED", "EXPIRED")


def test_monitoring_end_time_is_ignored_an_earlier_one(api, sandbox):
    start = _next_weekday_at_nine(sim_now(sandbox), 2)
    until = start + timedelta(days=3, hours=12)
    order = api.create(product=MONITORING, rrule=f"FREQ=DAILY;UNTIL={until.strftime('%Y%m%dT%H%M%SZ')}",
                       start_time=iso(start), end_time=iso(start + timedelta(hours=5)))
    assert parse(order["end_time"]) > until - timedelta(days=1)
    sandbox.advance((start - sim_now(sandbox)).total_seconds() + 6 * 86400)
    # Daily from start + 1 h up to UNTIL: days 0, 1, 2 and 3, none cut off by the end_time sent.
    assert len(api.captures(order["id"])) == 4


def test_monitoring_end_time_not_even_parsed(api):
    response = api.post("orders/", {"name": "m", "geometry": point(), "product": MONITORING,
                                    "rrule": "FREQ=DAILY;COUNT=2", "end_time": "whenever"})
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("rrule, weekdays, count", [
    ("FREQ=WEEKLY;BYDAY=MO,TH;COUNT=4", {0, 3}, 4),
    ("FREQ=DAILY;BYDAY=SA,SU;COUNT=3", {5, 6}, 3),
    ("FREQ=WEEKLY;INTERVAL=2;BYDAY=WE;COUNT=2", {2}, 2),
])
def test_monitoring_images_only_on_byday_weekdays(api, sandbox, rrule, weekdays, count):
    start = _next_weekday_at_nine(sim_now(sandbox), 1)  # a Tuesday: on none of the rules' days
    order = api.create(product=MONITORING, rrule=rrule, start_time=iso(start))
    sandbox.advance((parse(order["end_time"]) - sim_now(sandbox)).total_seconds() + 86400)
    captures = api.captures(order["id"])
    assert len(captures) == count
    acquired = _acquisitions(api, order["id"])
    assert acquired, "every capture failed at acquisition; the seed draws differently than expected"
    assert {moment.weekday() for moment in acquired} <= weekdays
    assert all(moment.hour == 10 for moment in acquired)  # the rule's time of day: start + 1 h


def test_monitoring_byday_interval_two_skips_a_week(api, sandbox):
    start = _next_weekday_at_nine(sim_now(sandbox), 1)
    order = api.create(product=MONITORING, rrule="FREQ=WEEKLY;INTERVAL=2;BYDAY=WE;COUNT=2", start_time=iso(start))
    # The Wednesday of the start's week, then the Wednesday two weeks later; the span ends an hour after.
    assert parse(order["end_time"]) == start + timedelta(days=15, hours=2)


@pytest.mark.parametrize("rrule, names", [
    ("FREQ=DAILY", "COUNT or UNTIL"),
    ("FREQ=DAILY;COUNT=3;BYHOUR=10", "BYHOUR"),
    ("FREQ=WEEKLY;BYDAY=1MO;COUNT=3", "FREQ=MONTHLY"),
    ("FREQ=WEEKLY;BYDAY=MONDAY;COUNT=3", "BYDAY"),
    ("FREQ=DAILY;INTERVAL=0;COUNT=3", "INTERVAL"),
    ("FREQ=HOURLY;COUNT=501", "500"),
    ("FREQ=DAILY;UNTIL=20200101T000000Z", "no occurrence"),
])
def test_monitoring_rule_refused_with_its_reason(api, rrule, names):
    response = api.post("orders/", {"name": "m", "geometry": point(), "product": MONITORING, "rrule": rrule})
    assert response.status_code == 400, response.text
    assert any(names in message for message in response.json()["rrule"]), response.json()
    assert api.get("orders/").json()["count"] == 0


def test_monitoring_edit_keeps_the_rule_as_the_span(api, sandbox):
    start = _next_weekday_at_nine(sim_now(sandbox), 0)
    order = api.create(product=MONITORING, rrule="FREQ=DAILY;COUNT=2", start_time=iso(start))
    ignored = api.put(f"orders/{order['id']}/", {"end_time": iso(start + timedelta(days=40))})
    assert ignored.status_code == 200 and ignored.json()["end_time"] == order["end_time"]
    moved = api.put(f"orders/{order['id']}/", {"start_time": iso(start + timedelta(days=3))})
    assert moved.status_code == 200, moved.text
    assert parse(moved.json()["end_time"]) == start + timedelta(days=4, hours=2)


def test_rrule_expansion_follows_rfc_5545():
    # Pure expansion checks: the rule's moments, from an hour after start (a Monday, 2030-06-03 09:00 UTC).
    start = datetime(2030, 6, 3, 9, 0, tzinfo=timezone.utc)
    last_fridays = rrule_occurrences("FREQ=MONTHLY;BYDAY=-1FR;COUNT=3", start)
    assert [m.date().isoformat() for m in last_fridays] == ["2030-06-28", "2030-07-26", "2030-08-30"]
    first_mondays = rrule_occurrences("RRULE:FREQ=MONTHLY;BYDAY=1MO;COUNT=2", start)
    assert [m.date().isoformat() for m in first_mondays] == ["2030-06-03", "2030-07-01"]
    # A DATE UNTIL includes its whole day (RFC 5545: the UNTIL date is inclusive).
    through_wednesday = rrule_occurrences("FREQ=DAILY;UNTIL=20300605", start)
    assert [m.day for m in through_wednesday] == [3, 4, 5]
    # MONTHLY without BYDAY skips months without the start's day (the 31st).
    end_of_month = rrule_occurrences("FREQ=MONTHLY;COUNT=3", datetime(2030, 1, 31, 9, tzinfo=timezone.utc))
    assert [m.month for m in end_of_month] == [1, 3, 5]
    occurrences, end = monitoring_span("FREQ=HOURLY;INTERVAL=6;COUNT=4", start)
    assert occurrences[-1] == start + timedelta(hours=19) and end == start + timedelta(hours=20)
    with pytest.raises(RuleError):
        rrule_occurrences("FREQ=HOURLY;INTERVAL=168;BYDAY=TU;COUNT=2", start)  # never a Tuesday


# --- ids: never handed out again after a reset -----------------------------------------------------------


def test_id_from_before_a_reset_never_names_a_new_order(api, sandbox):
    held = api.create(name="before the reset")
    held_bulk = api.post("bulk/", {"order_payloads": [{"name": "b", "geometry": point()}]}).headers["Location"]
    sandbox.reset()
    made = [api.create(name=f"after the reset {n}")["id"] for n in range(3)]
    assert held["id"] not in made
    assert api.get(f"orders/{held['id']}/").status_code == 404
    assert api.post("bulk/", {"order_payloads": [{"name": "b", "geometry": point()}]}).headers["Location"] != held_bulk
    assert api.get(held_bulk).status_code == 404


def _run(client: Client, root: str) -> dict:
    """One scripted run: an order, three simulated days, and what came of it (ids and draws)."""
    order = client.create(name="scripted", geometry=point(13.4, 52.5))
    requests.post(root + "/sandbox/clock", json={"advance_seconds": 3 * 86400}, timeout=30)
    captures = client.captures(order["id"])
    return {"id": order["id"], "capture_ids": [c["id"] for c in captures],
            "outcome": [(c["status"], c["acquired_time"], c["cloud_cover"], c["assessment"], c["strip_id"])
                        for c in captures],
            "status": client.order(order["id"])["status"]}


def test_ids_unique_across_resets_and_restarts_runs_reproducible(tmp_path):
    args = ["--speed", "0", "--seed", "7", "--start", "2030-06-03T06:00:00Z"]
    process, root = start_server(["--db", str(tmp_path / "a.sqlite3"), *args])
    try:
        client = Client(root + "/tasking/v2/", "sandbox")
        first = _run(client, root)
        requests.post(root + "/sandbox/reset", json={}, timeout=30)
        after_reset = _run(client, root)
    finally:
        stop_server(process)
    process, root = start_server(["--db", str(tmp_path / "a.sqlite3"), *args])  # the same database again
    try:
        client = Client(root + "/tasking/v2/", "sandbox")
        requests.post(root + "/sandbox/reset", json={}, timeout=30)
        after_restart = _run(client, root)
    finally:
        stop_server(process)
    process, root = start_server(["--db", str(tmp_path / "fresh.sqlite3"), *args])
    try:
        fresh = _run(Client(root + "/tasking/v2/", "sandbox"), root)
    finally:
        stop_server(process)
    runs = [first, after_reset, after_restart]
    handed_out = [run["id"] for run in runs] + [cid for run in runs for cid in run["capture_ids"]]
    assert len(handed_out) == len(set(handed_out)), "an id was handed out twice"
    # The same seed from a fresh database repeats the run exactly, ids included ...
    assert fresh == first
    # ... and the same requests after a reset draw the same outcomes, under new ids.
    assert first["outcome"] and after_reset["outcome"] == first["outcome"]
    assert after_reset["status"] == first["status"]
    # A restarted sandbox's reset goes back to where that process started (3 days on), so only the
    # times differ there: the draws (status, cloud cover, assessment) are the same.
    assert [(o[0], o[2], o[3]) for o in after_restart["outcome"]] == [(o[0], o[2], o[3]) for o in first["outcome"]]
