"""HTTP transport and router: each API under its path prefix; loopback-only /sandbox/ control endpoints; faults."""

from __future__ import annotations

import ipaddress
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Optional, Protocol, Sequence, Tuple
from urllib.parse import parse_qsl, urlsplit

from sandbox.errors import ApiError, not_found
from sandbox.faults import Fault, FaultBoard
from sandbox.planet_orders.routes import OrdersApi
from sandbox.planet_tasking.routes import TaskingApi
from sandbox.simulation import Simulation
from sandbox.timefmt import format_time
from sandbox.up42.routes import mount as up42_mount

Response = Tuple[int, Any, Dict[str, str]]


class Api(Protocol):
    """What the router needs of an emulated API (built once with the shared Simulation).

    Optional extras, looked up by name: `control(method, parts, body)` answers the API's own
    /sandbox/<parts> endpoints (None when a path is not its own); `seed_demo()` fills an empty
    database for `--demo`.
    """

    def handle(self, method: str, path: str, query: str, body: Any, headers: Dict[str, str],
               root: str) -> Response:
        """Answer a request whose path is below the prefix; `root` is the prefix's absolute URL."""


# The one place an API is registered: the path prefix it serves (with its trailing slash) and its class.
# The first matching prefix wins. UP42 has no prefix of its own: its paths start at the root under three
# (login, v2 API, schemas), none of which begins another API's prefix; one UP42 API object serves all three.
APIS: Sequence[Tuple[str, Callable[[Simulation], Api]]] = (
    ("/tasking/v2/", TaskingApi),
    ("/compute/ops/", OrdersApi),
    ("/realms/", up42_mount("/realms/")),
    ("/v2/", up42_mount("/v2/", control=True)),
    ("/orders/schema/", up42_mount("/orders/schema/")),
)

MAX_BODY = 50 * 1024 * 1024
STATUS_FAULT_MESSAGES = {
    429: "Request was throttled.",
    500: "Internal server error.",
    502: "Bad gateway.",
    503: "Service temporarily unavailable.",
    504: "Gateway timeout.",
}


class SandboxApp:
    """The simulation, the registered APIs, faults and the background ticker that moves time at speed > 0."""

    def __init__(self, sim: Simulation, apis: Sequence[Tuple[str, Callable[[Simulation], Api]]] = APIS):
        self.sim = sim
        self.apis: List[Tuple[str, Api]] = [(prefix, make(sim)) for prefix, make in apis]
        self.faults = FaultBoard(sim.seed)
        self._stop = threading.Event()
        self._ticker: Optional[threading.Thread] = None

    def start_ticker(self, interval: float = 0.5) -> None:
        def tick() -> None:
            while not self._stop.wait(interval):
                if self.sim.clock.speed > 0:
                    with self.sim.lock:
                        if self._stop.is_set():
                            return  # the store may already be closed
                        self.sim.sync()
                        self.sim.store.commit()

        self._ticker = threading.Thread(target=tick, name="sandbox-ticker", daemon=True)
        self._ticker.start()

    def stop(self) -> None:
        self._stop.set()
        with self.sim.lock:
            self.sim.store.close()

    def seed_demo(self) -> int:
        """`--demo`: each API that has demo data replays it (the caller holds the lock). Returns objects made."""
        return sum(api.seed_demo() for _, api in self.apis if hasattr(api, "seed_demo"))

    def call_api(self, method: str, path: str, query: str, body: Any, headers: Dict[str, str],
                 base: str) -> Response:
        with self.sim.lock:
            if self._stop.is_set():
                return 503, {"detail": "The sandbox is shutting down."}, {}
            self.sim.sync()
            try:
                return self._route(method, path, query, body, headers, base)
            except ApiError as error:
                return error.status, error.body, error.headers
            finally:
                self.sim.store.commit()

    def _route(self, method: str, path: str, query: str, body: Any, headers: Dict[str, str],
               base: str) -> Response:
        for prefix, api in self.apis:
            if path.startswith(prefix):
                if method == "HEAD":
                    method = "GET"  # same answer without the body (the transport drops it)
                return api.handle(method, path[len(prefix):], query, body, headers, base + prefix)
        raise not_found()

    def control(self, method: str, path: str, body: Any) -> Tuple[int, Any]:
        parts = [p for p in path.split("/") if p][1:]
        sim = self.sim
        if parts == ["clock"]:
            with sim.lock:
                if method == "POST":
                    body = body or {}
                    if "speed" in body:
                        sim.sync()
                        sim.clock.set(sim.now())
                        sim.clock.speed = float(body["speed"])
                    seconds = float(body.get("advance_seconds") or 0)
                    if seconds < 0:
                        return 400, {"detail": "advance_seconds must not be negative."}
                    target = sim.clock.advance(seconds)
                    sim.run_until(target)
                    sim.store.commit()
                elif method != "GET":
                    return 405, {"detail": f'Method "{method}" not allowed.'}
                return 200, {"now": format_time(sim.now()), "speed": sim.clock.speed}
        if parts == ["reset"] and method == "POST":
            with sim.lock:
                sim.reset()
            self.faults.reset()
            return 200, {"now": format_time(sim.now()), "speed": sim.clock.speed}
        if parts == ["requests"] and method == "GET":
            return 200, self.faults.log_json()
        if parts == ["faults"]:
            if method == "POST":
                return 201, {"id": self.faults.add(body).id}
            if method == "DELETE":
                self.faults.clear()
                return 204, None
            return 200, {"faults": self.faults.list()}
        if parts == ["accounts"] and method == "GET":
            return 200, {"accounts": [a.as_json() for a in sim.accounts.values()],
                         "seed": sim.seed}
        for _, api in self.apis:
            own = getattr(api, "control", None)
            answer = own(method, parts, body) if own is not None else None
            if answer is not None:
                return answer
        return 404, {"detail": "Not found."}


class Handler(BaseHTTPRequestHandler):
    """One connection; HTTP/1.1 keep-alive so clients with sessions reuse it."""

    protocol_version = "HTTP/1.1"
    server_version = "PlanetTaskingSandbox/2"  # the Server header clients have always seen; kept as is
    # Headers and body go out in two writes; without TCP_NODELAY, Nagle plus the client's delayed ACK
    # adds ~40 ms to every answer on a kept-alive connection.
    disable_nagle_algorithm = True
    app: SandboxApp

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature from the base class
        pass  # the request log is available at /sandbox/requests; stdout stays quiet for the fixture

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_OPTIONS(self) -> None:
        self._dispatch("OPTIONS")

    def _read_body(self) -> Tuple[bool, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            return False, "Request body too large."
        raw = self.rfile.read(length) if length else b""
        if not raw.strip():
            return True, None
        if (self.headers.get("Content-Type") or "").split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
            # A form (UP42's login): a dict of its fields, the last value of a repeated one.
            try:
                return True, dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
            except UnicodeDecodeError as error:
                return False, f"Form parse error - {error}"
        try:
            return True, json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            return False, f"JSON parse error - {error}"

    def _send(self, status: int, body: Any, headers: Optional[Dict[str, str]] = None, raw: Optional[bytes] = None) -> None:
        headers = dict(headers or {})
        if hasattr(body, "send_to"):  # a file on disk, sent in pieces however big (Orders API downloads)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                body.send_to(self.connection)
            return
        if raw is not None:
            payload = raw
        elif isinstance(body, bytes):  # a file an API serves (Orders API downloads)
            payload = body
        elif body is None:
            payload = b""
        elif isinstance(body, str):
            payload = body.encode("utf-8")
        else:
            payload = json.dumps(body).encode("utf-8")
            headers.setdefault("Content-Type", "application/json")
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if status not in (204, 304):  # RFC 9110: no Content-Length on a 204
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD" and status not in (204, 304):
            self.wfile.write(payload)

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _base_url(self) -> str:
        host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
        return "http://" + host

    def _is_loopback(self) -> bool:
        try:
            return ipaddress.ip_address(self.client_address[0]).is_loopback
        except ValueError:
            return False

    def _dispatch(self, method: str) -> None:
        split = urlsplit(self.path)
        path, query = split.path, split.query
        ok, body = self._read_body()
        if path == "/sandbox" or path.startswith("/sandbox/"):
            if not self._is_loopback():
                self._send(403, {"detail": "Control endpoints are only available from loopback."})
                return
            if not ok:
                self._send(400, {"detail": body})
                return
            try:
                status, answer = self.app.control(method, path, body)
            except ApiError as error:
                status, answer = error.status, error.body
            except (TypeError, ValueError, AttributeError) as error:
                status, answer = 400, {"detail": f"Bad control request: {error}"}
            self._send(status, answer)
            return
        app = self.app
        self._arrived_after = app.faults.resets
        fault = app.faults.match(method, path)
        if fault is not None and fault.when == "before" and fault.kind != "delay":
            self._apply_fault(fault, path, query, method, None)
            return
        if fault is not None and fault.kind == "delay" and fault.when == "before":
            time.sleep(fault.delay_seconds)
        if not ok:
            status, answer, headers = 400, {"detail": body}, {}
        else:
            lowered = {k.lower(): v for k, v in self.headers.items()}
            status, answer, headers = app.call_api(method, path, query, body, lowered, self._base_url())
            if callable(answer):
                # An answer an API finishes once the simulation's lock is released (a big file made on disk).
                status, answer, headers = answer()
        if fault is not None and fault.when == "after":
            if fault.kind == "delay":
                time.sleep(fault.delay_seconds)
            else:
                self._apply_fault(fault, path, query, method, answer)
                return
        self._log(method, path, query, status)
        self._send(status, answer, headers)

    def _log(self, method: str, path: str, query: str, status: Optional[int]) -> None:
        self.app.faults.log(method, path, query, status, self._arrived_after)

    def _apply_fault(self, fault: Fault, path: str, query: str, method: str, answer: Any) -> None:
        if fault.kind == "drop":
            self._log(method, path, query, None)
            self._drop()
            return
        if fault.kind == "malformed" and (isinstance(answer, bytes) or hasattr(answer, "send_to")):
            # A file cut short: the full Content-Length is promised, half the bytes come, the connection closes
            # (what a client resuming a download must survive).
            self._log(method, path, query, 200)
            self.send_response(200)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            if isinstance(answer, bytes):
                self.wfile.write(answer[: len(answer) // 2])
            else:
                answer.send_to(self.connection, limit=len(answer) // 2)
            self._drop()
            return
        if fault.kind == "malformed":
            text = json.dumps(answer if answer is not None else {"detail": "Service response"})
            self._log(method, path, query, 200)
            self._send(200, None, {"Content-Type": "application/json"}, raw=text[: max(1, len(text) // 2)].encode())
            return
        headers = {}
        if fault.retry_after is not None and fault.status in (429, 503):
            headers["Retry-After"] = str(fault.retry_after)
        self._log(method, path, query, fault.status)
        self._send(fault.status, {"detail": STATUS_FAULT_MESSAGES.get(fault.status, "Error.")}, headers)


class SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def make_server(app: SandboxApp, host: str, port: int) -> SandboxHTTPServer:
    handler = type("BoundHandler", (Handler,), {"app": app})
    return SandboxHTTPServer((host, port), handler)
