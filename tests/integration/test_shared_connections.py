"""Clients made one per task reuse the connections earlier ones left open: no new handshake for each task."""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator, List

from core.http import close_shared_connections
from core.services.planet_tasking.client import TaskingClient


class ConnectionCounter:
    """A local HTTP/1.1 service answering every GET with an empty order listing, noting which connection
    (the client's port) carried each request."""

    def __init__(self) -> None:
        self.ports: List[int] = []
        counter = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the real services speak

            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802 - http.server's naming
                counter.ports.append(self.client_address[1])
                body = json.dumps({"count": 0, "next": None, "previous": None, "results": []}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/tasking/v2/"

    @property
    def connections(self) -> int:
        return len(set(self.ports))


@contextmanager
def counting_service() -> Iterator[ConnectionCounter]:
    counter = ConnectionCounter()
    thread = threading.Thread(target=counter.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield counter
    finally:
        counter.server.shutdown()
        counter.server.server_close()
        close_shared_connections()


def test_clients_made_one_after_another_send_over_one_connection():
    with counting_service() as service:
        for _ in range(5):  # five tasks, each with its own client, closed when done
            client = TaskingClient(service.url, "PLAK-test-key")
            assert client.list_orders(limit=1).count == 0
            client.transport.close()
        assert len(service.ports) == 5
        assert service.connections == 1


def test_clients_asking_at_once_each_get_a_connection_and_later_ones_reuse_them():
    with counting_service() as service:
        clients = [TaskingClient(service.url, "PLAK-test-key") for _ in range(3)]
        gate = threading.Barrier(3)
        errors: List[BaseException] = []

        def ask(client) -> None:
            try:
                gate.wait(5)
                for _ in range(4):
                    client.list_orders(limit=1)
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)

        threads = [threading.Thread(target=ask, args=(client,)) for client in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert not errors
        assert len(service.ports) == 12
        opened = service.connections
        assert 1 <= opened <= 3
        later = TaskingClient(service.url, "PLAK-test-key")
        later.list_orders(limit=1)
        assert service.connections == opened  # taken from those the three left open


def test_closing_the_shared_connections_makes_the_next_request_open_a_new_one():
    with counting_service() as service:
        TaskingClient(service.url, "PLAK-test-key").list_orders(limit=1)
        close_shared_connections()  # as the plugin does when it unloads
        TaskingClient(service.url, "PLAK-test-key").list_orders(limit=1)
        assert service.connections == 2
