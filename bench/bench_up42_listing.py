"""Listing 5,000 UP42 orders through Up42Client.iter_orders vs. a plain requests loop, as a ratio (target ≤ 1.2×)."""

from __future__ import annotations

import os
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

# Run as `python bench/bench_up42_listing.py` from anywhere: the repository root holds `core` and `tests`.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests import plugin_package  # noqa: E402

plugin_package.install()  # before any `core` import: the plugin's own modules, not a second copy

import requests  # noqa: E402
from ratios import alternate, print_ratio  # noqa: E402

from core.http import ProxyConfig, QgisSession  # noqa: E402
from core.services.up42.client import TOKEN_PATH, Up42Client  # noqa: E402
from tests.sandbox_server import SandboxServer  # noqa: E402

ORDER_COUNT = 5_000
BATCH = 250  # features per POST /v2/orders: one order each, as a user's multi-AOI order makes them
PAGE_SIZE = 500  # ten pages: paging is part of what is measured (UP42 allows up to 2,000)
TARGET_RATIO = 1.2
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "7"))  # alternating rounds of the two ways (bench/ratios.py)
PLEIADES = "bd102407-1814-4f92-8b5a-7697b7a73f5a"


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def login(session: requests.Session, root: str, username: str, password: str) -> str:
    response = session.post(f"{root}/{TOKEN_PATH}", data={
        "grant_type": "password", "username": username, "password": password, "client_id": "up42-api",
        "scope": "openid"}, timeout=60)
    response.raise_for_status()
    return response.json()["access_token"]


def fill(sandbox: SandboxServer, username: str, password: str, workspace: str) -> None:
    """5,000 Pléiades orders in batches of small squares, then a day of simulated time so that they carry
    sub-statuses and quotations, as a real workspace's list does."""
    now = sandbox.now()
    params = {"acquisitionMode": "mono", "radiometricProcessing": "reflectance", "geometricProcessing": "ortho",
              "spectralProcessing": "bundle", "deliveredAs": "geotiff", "cloudCoverage": 10, "incidenceAngle": 10,
              "pixelCoding": "12bits", "projection": 4326,
              "acquisitionStart": iso(now + timedelta(days=2)), "acquisitionEnd": iso(now + timedelta(days=32))}
    with requests.Session() as session:
        session.trust_env = False
        session.headers["Authorization"] = "Bearer " + login(session, sandbox.root, username, password)
        for first in range(0, ORDER_COUNT, BATCH):
            features = []
            for n in range(first, min(ORDER_COUNT, first + BATCH)):
                lon, lat = 5.0 + (n % 100) * 0.1, 45.0 + (n // 100) * 0.1
                features.append({"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [[
                    [lon, lat], [lon + 0.05, lat], [lon + 0.05, lat + 0.05], [lon, lat + 0.05], [lon, lat]]]}})
            body = {"dataProduct": PLEIADES, "displayName": f"bench up42 {first:05d}", "params": params,
                    "featureCollection": {"type": "FeatureCollection", "features": features}}
            response = session.post(f"{sandbox.root}/v2/orders", params={"workspaceId": workspace}, json=body,
                                    timeout=120)
            answer = response.json() if response.ok else {}
            if not response.ok or answer.get("errors") or len(answer.get("results", ())) != len(features):
                raise SystemExit(f"bench setup: batch {first} was refused: {response.text[:500]}")
    sandbox.advance(24 * 3600)


def plain_loop(root: str, username: str, password: str, workspace: str) -> int:
    """What the client is measured against: requests, a login, the JSON of each page until totalPages."""
    listed = 0
    with requests.Session() as session:
        session.trust_env = False
        session.headers["Authorization"] = "Bearer " + login(session, root, username, password)
        page = 0
        while True:
            response = session.get(f"{root}/v2/orders", params={
                "page": page, "size": PAGE_SIZE, "sort": "createdAt,desc", "workspaceId": workspace,
                "type": "TASKING"}, timeout=60)
            response.raise_for_status()
            data = response.json()
            listed += len(data["content"])
            page += 1
            if page >= data["totalPages"] or not data["content"]:
                return listed


def through_client(root: str, username: str, password: str, workspace: str) -> int:
    # A session without a proxy, like the plain loop's: the comparison is of the client's own work (login,
    # userinfo for the workspace, typed Order objects with UTC datetimes).
    client = Up42Client(root, username, password, session=QgisSession(ProxyConfig(), timeout=60))
    try:
        return sum(1 for _ in client.iter_orders(size=PAGE_SIZE))
    finally:
        client.close()


def main() -> int:
    sandbox = SandboxServer()
    try:
        accounts = sandbox.control("GET", "up42/accounts")["accounts"]
        account = next(a for a in accounts if a["password"] == sandbox.api_key)
        args = (sandbox.root, account["username"], account["password"], account["workspace_id"])
        started = time.perf_counter()
        fill(sandbox, *args[1:])
        print(f"setup: {ORDER_COUNT} UP42 orders in batches of {BATCH}, a day on, in {time.perf_counter() - started:.1f} s")
        plain_loop(*args)  # warm both paths (imports, server caches)
        through_client(*args)
        rounds = alternate(plain_loop, through_client, args, rounds=ROUNDS, expected=ORDER_COUNT)
    finally:
        sandbox.stop()
    pages = -(-ORDER_COUNT // PAGE_SIZE)
    print(f"plain requests loop: {rounds.plain_best:.3f} s for {ORDER_COUNT} UP42 orders ({pages} pages of "
          f"{PAGE_SIZE}, with its login; best of {ROUNDS}, median {rounds.plain_median:.3f} s)")
    print(f"Up42Client.iter_orders (login, workspace from userinfo, typed Order objects, UTC datetimes): "
          f"{rounds.client_best:.3f} s (best of {ROUNDS}, median {rounds.client_median:.3f} s)")
    return print_ratio(rounds, TARGET_RATIO)


if __name__ == "__main__":
    sys.exit(main())
