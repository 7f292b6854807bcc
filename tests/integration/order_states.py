"""Test helper: orders in every state the sandbox can reach, made through its API and simulated clock."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Dict, List, Optional

from core.services.planet_tasking.client import TaskingClient
from core.services.planet_tasking.models import Order

ASSURED = "Assured Tasking"
BERLIN = {"type": "Point", "coordinates": [13.350097, 52.514511]}


def point(n: int) -> dict:
    return {"type": "Point", "coordinates": [round(-170 + (n * 7.3) % 340, 5), round(-60 + (n * 3.1) % 120, 5)]}


def daylight_point(n: int, moment: datetime) -> dict:
    """A point near where the Sun is highest an hour after `moment`: the sandbox images only in daylight."""
    from sandbox.planet_tasking import orbits

    later = moment + timedelta(minutes=40)
    best = max(((lon, lat) for lon in range(-180, 180, 5) for lat in range(-60, 61, 5)),
               key=lambda p: orbits.sun_elevation(p[0], p[1], later))
    # Longitude wrapped: near midnight UTC the Sun is highest at the antimeridian, where the spread would cross it.
    lon = (best[0] + (n % 5) * 0.7 - 1.4 + 180.0) % 360.0 - 180.0
    return {"type": "Point", "coordinates": [round(lon, 5), round(best[1] + (n // 5) * 0.7, 5)]}


def sim_now(sandbox) -> datetime:
    return sandbox.now()


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_client(sandbox, key: Optional[str] = None) -> TaskingClient:
    return TaskingClient(sandbox.tasking_url, key or sandbox.api_key, timeout=30.0,
                         sleep=lambda seconds: sandbox.advance(seconds))


def bulk_create(sandbox, client: TaskingClient, payloads: List[dict]) -> List[str]:
    """Create many orders through POST /bulk/ (1000 per bulk), running the simulated clock until done."""
    ids: List[str] = []
    for start in range(0, len(payloads), 1000):
        chunk = payloads[start:start + 1000]
        bulk_id = client.create_bulk(chunk, "CREATE", str(uuid.uuid4()))
        sandbox.advance(2 + 0.02 * len(chunk) + 1)
        status = client.get_bulk(bulk_id)
        assert status.is_complete and status.failed_payload_count == 0, status
        ids.extend(p.order_id for p in client.iter_bulk_payloads(bulk_id, page_size=1000))
    return ids


def contract(sandbox, key: Optional[str] = None) -> str:
    """The key's contract number (the documents make pl_number a required field of a window search)."""
    key = key or sandbox.api_key
    return next(a["default_pl_number"] for a in sandbox.control("GET", "accounts")["accounts"] if a["api_key"] == key)


def assured_windows(sandbox, client: TaskingClient, geometry: dict = BERLIN):
    search = client.start_imaging_window_search(geometry, pl_number=contract(sandbox),
                                                product=ASSURED)
    return client.wait_imaging_window_search(search.id, poll=5.0, timeout=900).imaging_windows


def create_assured(client: TaskingClient, window_id: str, name: str) -> Order:
    return client.create_order({"name": name, "imaging_window": window_id, "product": ASSURED})


def make_every_state(sandbox, client: TaskingClient) -> Dict[str, List[Order]]:
    """Orders in RECEIVED, PENDING, IN_PROGRESS, FULFILLED, EXPIRED, CANCELLED, PENDING_CANCELLATION (and
    FAILED when an assured capture fails), grouped by their status as the server reports it at the end."""
    start = sim_now(sandbox)
    # Short orders: a capture is acquired but published after the end, so they expire (some turn FULFILLED).
    for n in range(8):
        client.create_order({"name": f"short {n}", "geometry": daylight_point(n, start),
                             "end_time": iso(start + timedelta(hours=1))})
    for n in range(8):
        client.create_order({"name": f"long {n}", "geometry": point(100 + n)})
    sandbox.advance(3 * 86400)
    now = sim_now(sandbox)
    for n in range(3):
        client.create_order({"name": f"later {n}", "geometry": point(200 + n),
                             "start_time": iso(now + timedelta(days=5)), "end_time": iso(now + timedelta(days=20))})
    for n in range(3):
        client.create_order({"name": f"running {n}", "geometry": point(300 + n),
                             "end_time": iso(now + timedelta(days=25))})
    cancel_me = client.create_order({"name": "cancel me", "geometry": point(400)})
    windows = assured_windows(sandbox, client)
    sandbox.advance(120)
    client.cancel_order(cancel_me.id)
    now = sim_now(sandbox)
    future = [w for w in windows if w.start_time > now + timedelta(hours=2)]
    assured = create_assured(client, future[0].id, "assured to cancel")
    client.cancel_order(assured.id)  # first cancellation of the day: free
    for n in range(3):
        client.create_order({"name": f"fresh {n}", "geometry": point(500 + n)})
    grouped: Dict[str, List[Order]] = {}
    for order in client.iter_orders(page_size=500):
        grouped.setdefault(order.status, []).append(order)
    return grouped
