"""Test helpers over real HTTP: an API client for one key and small waits on simulated time."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Dict, List, Optional
from urllib.parse import urljoin

import requests

from tests.conftest import REPO_ROOT

ASSURED_PRODUCT = "Assured Tasking"


class Client:
    """Calls the emulated Tasking API as a documented client would: `Authorization: api-key KEY`."""

    def __init__(self, tasking_url: str, key: Optional[str]):
        self.base = tasking_url  # ends with /tasking/v2/
        self.key = key
        self.session = requests.Session()
        if key is not None:
            self.session.headers["Authorization"] = f"api-key {key}"
        self.session.headers["Content-Type"] = "application/json"

    def url(self, path: str) -> str:
        """`path` resolved against the API's base URL, as a browser resolves a link: "orders/" below the
        base, a host-relative `Location` such as "/tasking/v2/bulk/<id>/" on the base's host."""
        return urljoin(self.base, path)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.get(self.url(path), timeout=30, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        return self.session.post(self.url(path), json=body, timeout=30, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        return self.session.put(self.url(path), json=body, timeout=30, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.delete(self.url(path), timeout=30, **kwargs)

    def contract(self) -> str:
        """This key's default contract (pl_number), as the sandbox's GET /sandbox/accounts lists it."""
        root = self.base.split("/tasking/v2/", 1)[0]
        accounts = requests.get(root + "/sandbox/accounts", timeout=30).json()["accounts"]
        return next(a for a in accounts if a["api_key"] == self.key)["default_pl_number"]

    def search(self, geometry: Dict[str, Any], **payload: Any) -> requests.Response:
        """POST /imaging-windows/search/ with the documented required fields: geometry, pl_number, product."""
        payload.setdefault("pl_number", self.contract())
        payload.setdefault("product", ASSURED_PRODUCT)
        return self.post("imaging-windows/search/", {"geometry": geometry, **payload})

    def order(self, order_id: str) -> Dict[str, Any]:
        response = self.get(f"orders/{order_id}/")
        assert response.status_code == 200, response.text
        return response.json()

    def create(self, **payload: Any) -> Dict[str, Any]:
        payload.setdefault("name", "test order")
        payload.setdefault("geometry", point())
        response = self.post("orders/", payload)
        assert response.status_code == 201, response.text
        return response.json()

    def captures(self, order_id: str, **params: Any) -> List[Dict[str, Any]]:
        response = self.get("captures/", params={"order_id": order_id, "limit": 1000, **params})
        assert response.status_code == 200, response.text
        return response.json()["results"]


def point(lon: float = 149.44135, lat: float = 28.49240) -> Dict[str, Any]:
    return {"type": "Point", "coordinates": [lon, lat]}


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def sim_now(sandbox) -> datetime:
    return parse(sandbox.clock()["now"])


def advance_until(sandbox, check: Callable[[], bool], step: float = 3600, limit: float = 40 * 86400) -> bool:
    """Move simulated time by `step` until `check()` holds (or `limit` simulated seconds pass)."""
    moved = 0.0
    while not check():
        if moved >= limit:
            return False
        sandbox.advance(step)
        moved += step
    return True


def start_server(args: List[str]) -> "tuple[subprocess.Popen, str]":
    """A sandbox process of our own (for restarts and CLI options); returns (process, root URL)."""
    process = subprocess.Popen([sys.executable, "-m", "sandbox", "--port", "0", *args], cwd=str(REPO_ROOT),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith("Sandbox listening on http://"), line
    return process, line.split("Sandbox listening on ", 1)[1].strip()


def stop_server(process: subprocess.Popen) -> int:
    process.terminate()
    try:
        return process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        return -9


def future(days: float = 0, hours: float = 0, base: Optional[datetime] = None) -> str:
    return iso((base or datetime.now(timezone.utc)) + timedelta(days=days, hours=hours))


def assured_window(api: Client, sandbox, lon: float = 13.350097, lat: float = 52.514511, index: int = -1) -> dict:
    """An imaging window from a finished search of this key (the search's clock advance included)."""
    response = api.search(point(lon, lat))
    assert response.status_code == 201, response.text
    sandbox.advance(300)
    search = api.get(f"imaging-windows/search/{response.json()['id']}/").json()
    assert search["status"] == "DONE" and search["imaging_windows"], search
    # Leave an hour of margin so the window is still ahead when the test orders it.
    ahead = [w for w in search["imaging_windows"] if parse(w["start_time"]) > sim_now(sandbox) + timedelta(hours=1)]
    return ahead[index]


def assured_order(api: Client, sandbox, name: str = "assured", window: Optional[dict] = None) -> dict:
    window = window or assured_window(api, sandbox)
    response = api.post("orders/", {"name": name, "imaging_window": window["id"], "product": ASSURED_PRODUCT})
    assert response.status_code == 201, response.text
    return response.json()
