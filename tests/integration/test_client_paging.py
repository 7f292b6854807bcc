"""Paging against a misbehaving server: cycles stop, foreign `next` hosts are not followed, pages are checked."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Dict, List
from urllib.parse import parse_qs, urlsplit

import pytest

from core.errors import MalformedResponseError
from core.http import parse_retry_after
from core.services.planet_tasking.client import TaskingClient


def order(number: int) -> dict:
    return {"id": f"00000000-0000-4000-8000-{number:012d}", "name": f"order {number}",
            "created_time": "2024-01-01T00:00:00Z"}


class StubService:
    """A loopback HTTP server whose /tasking/v2/orders/ answer is computed by `pages(offset, root)`."""

    def __init__(self, pages: Callable[[int, str], object]):
        self.paths: List[str] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                stub.paths.append(self.path)
                offset = int(parse_qs(urlsplit(self.path).query).get("offset", ["0"])[0])
                body = pages(offset, stub.root)
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.root = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def client(self, **kwargs) -> TaskingClient:
        return TaskingClient(self.root + "/tasking/v2/", "stub-key-0123456789", sleep=lambda s: None, **kwargs)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub_factory():
    made: List[StubService] = []

    def make(pages):
        made.append(StubService(pages))
        return made[-1]

    yield make
    for stub in made:
        stub.close()


def test_a_page_cycle_stops_the_iteration(stub_factory):
    def pages(offset: int, root: str) -> Dict:
        # Page 2 points back to page 1: a server bug that would otherwise loop forever.
        following = f"{root}/tasking/v2/orders/?limit=2&offset=2" if offset == 0 else f"{root}/tasking/v2/orders/?limit=2"
        return {"count": 4, "next": following, "previous": None,
                "results": [order(offset + 1), order(offset + 2)]}

    stub = stub_factory(pages)
    names = [o.name for o in stub.client().iter_orders(page_size=2)]
    assert names == ["order 1", "order 2", "order 3", "order 4"]
    assert len(stub.paths) == 2


def test_a_page_pointing_at_itself_stops(stub_factory):
    stub = stub_factory(lambda offset, root: {"count": 9, "next": f"{root}/tasking/v2/orders/?limit=1",
                                              "previous": None, "results": [order(1)]})
    assert len(list(stub.client().iter_orders(page_size=1))) == 1 and len(stub.paths) == 1


def test_an_empty_page_with_a_next_link_stops(stub_factory):
    def pages(offset: int, root: str) -> Dict:
        return {"count": 100, "next": f"{root}/tasking/v2/orders/?limit=5&offset={offset + 5}", "previous": None,
                "results": [order(1)] if offset == 0 else []}

    stub = stub_factory(pages)
    assert len(list(stub.client().iter_orders(page_size=5))) == 1 and len(stub.paths) == 2


def test_next_links_naming_another_host_are_followed_on_the_services_own_address(stub_factory):
    def pages(offset: int, root: str) -> Dict:
        following = "http://internal-gateway.invalid:8000/tasking/v2/orders/?limit=1&offset=1" if offset == 0 else None
        return {"count": 2, "next": following, "previous": None, "results": [order(offset + 1)]}

    stub = stub_factory(pages)
    assert [o.name for o in stub.client().iter_orders(page_size=1)] == ["order 1", "order 2"]
    assert stub.paths[1] == "/tasking/v2/orders/?limit=1&offset=1"


def test_relative_next_links_are_resolved(stub_factory):
    def pages(offset: int, root: str) -> Dict:
        following = "/tasking/v2/orders/?limit=1&offset=1" if offset == 0 else None
        return {"count": 2, "next": following, "previous": None, "results": [order(offset + 1)]}

    stub = stub_factory(pages)
    assert len(list(stub.client().iter_orders(page_size=1))) == 2


def test_a_page_without_results_is_a_malformed_answer(stub_factory):
    stub = stub_factory(lambda offset, root: {"detail": "not a page"})
    with pytest.raises(MalformedResponseError):
        list(stub.client(max_retries=0).iter_orders())
    with pytest.raises(MalformedResponseError):
        stub.client(max_retries=0).list_orders()


def test_a_body_that_is_not_json_is_retried_then_reported(stub_factory):
    stub = stub_factory(lambda offset, root: b"<html>502 Bad Gateway</html>")
    with pytest.raises(MalformedResponseError) as raised:
        stub.client(max_retries=2).list_orders()
    assert len(stub.paths) == 3 and "not valid JSON" in str(raised.value)


@pytest.mark.parametrize("header, expected", [
    ("3", 3.0), ("0", 0.0), (" 2.5 ", 2.5), ("-4", 0.0), ("soon", None), (None, None), ("", None),
])
def test_retry_after_seconds(header, expected):
    assert parse_retry_after(header) == expected


def test_retry_after_http_date():
    now = datetime(2024, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
    later = (now + timedelta(seconds=90)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert parse_retry_after(later, now=now) == pytest.approx(90.0)
