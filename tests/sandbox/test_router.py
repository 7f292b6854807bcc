"""The server's router: requests go to the API registered for their path prefix; control routes are shared."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import pytest

from sandbox.accounts import make_account
from sandbox.server import APIS, SandboxApp
from sandbox.simulation import Simulation
from sandbox.store import Store
from sandbox.timefmt import parse_time


class EchoApi:
    """A stand-in API that answers with what the router handed it."""

    def __init__(self, sim: Simulation):
        self.sim = sim
        sim.register("echo", lambda obj, event, at, target: None)

    def handle(self, method: str, path: str, query: str, body: Any, headers: Dict[str, str],
               root: str) -> Tuple[int, Any, Dict[str, str]]:
        return 200, {"method": method, "path": path, "query": query, "root": root}, {}

    def control(self, method: str, parts: List[str], body: Any) -> Optional[Tuple[int, Any]]:
        return (200, {"echo": parts}) if parts[:1] == ["echo"] else None


@pytest.fixture
def app():
    sim = Simulation(store=Store(":memory:"), accounts=[make_account("k", free_cancellations=5, max_sqkm=3000)],
                     speed=0, seed=1, start=parse_time("2026-06-01T06:00:00Z"))
    app = SandboxApp(sim, apis=tuple(APIS) + (("/echo/v1/", EchoApi),))
    yield app
    app.stop()


def call(app: SandboxApp, method: str, path: str, query: str = "") -> Tuple[int, Any, Dict[str, str]]:
    return app.call_api(method, path, query, None, {"authorization": "api-key k"}, "http://host:1")


def test_each_prefix_reaches_its_own_api(app):
    assert call(app, "GET", "/echo/v1/things/7/", "a=1") == (
        200, {"method": "GET", "path": "things/7/", "query": "a=1", "root": "http://host:1/echo/v1/"}, {})
    status, body, _ = call(app, "GET", "/tasking/v2/orders/")
    assert status == 200 and body["count"] == 0


def test_head_is_routed_as_get(app):
    assert call(app, "HEAD", "/echo/v1/x")[1]["method"] == "GET"


@pytest.mark.parametrize("path", ["/", "/echo/v1", "/echo/", "/tasking/v2", "/tasking/v3/orders/"])
def test_a_path_under_no_prefix_is_404(app, path):
    assert call(app, "GET", path)[:2] == (404, {"detail": "Not found."})


def test_control_routes_are_shared_then_asked_of_each_api(app):
    assert app.control("GET", "/sandbox/clock", None) == (200, {"now": "2026-06-01T06:00:00.000000Z", "speed": 0.0})
    assert app.control("GET", "/sandbox/echo/1", None) == (200, {"echo": ["echo", "1"]})
    assert app.control("POST", "/sandbox/captures/nope/reassess", {"assessment": "SUCCESS"}) == (
        404, {"detail": "Not found."})
    assert app.control("GET", "/sandbox/nothing", None) == (404, {"detail": "Not found."})
