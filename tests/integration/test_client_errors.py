"""Answers the sandbox never gives (403, 409, odd bodies) still become the right typed, readable errors."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, Tuple

import pytest

from core.errors import (
    ApiError,
    AuthenticationError,
    CancellationChargeRequired,
    ConflictError,
    NotFoundError,
    ServerError,
    ValidationError,
)
from core.services.planet_tasking.client import TaskingClient

KEY = "k3y-that-must-never-show-0123456789"


class CannedService:
    """Answers every request with one canned (status, headers, body)."""

    def __init__(self, status: int, body, headers: Dict[str, str] = None):
        answer: Tuple[int, bytes, Dict[str, str]] = (
            status, body if isinstance(body, bytes) else json.dumps(body).encode(), headers or {})

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                code, data, extra = answer
                self.send_response(code)
                for key, value in extra.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.client = TaskingClient(f"http://127.0.0.1:{self.server.server_address[1]}/tasking/v2/", KEY,
                                    sleep=lambda s: None, max_retries=0)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def canned():
    made = []

    def make(status, body, headers=None):
        made.append(CannedService(status, body, headers))
        return made[-1].client

    yield make
    for service in made:
        service.close()


def assert_no_key(error: ApiError) -> None:
    for text in (str(error), repr(error), json.dumps(error.body, default=str)):
        assert KEY not in text


def test_403_is_an_authentication_error_saying_what_to_check(canned):
    client = canned(403, {"detail": "You do not have permission to perform this action."})
    with pytest.raises(AuthenticationError) as raised:
        client.list_orders()
    assert "not allowed" in str(raised.value) and "You do not have permission" in str(raised.value)
    assert_no_key(raised.value)


def test_409_is_a_conflict(canned):
    with pytest.raises(ConflictError) as raised:
        canned(409, {"detail": "Order is being modified."}).edit_order("x", name="y")
    assert "Order is being modified." in str(raised.value)


def test_an_error_echoing_the_key_never_shows_it(canned):
    client = canned(400, {"api_key": [f"Key {KEY} is malformed."]})
    with pytest.raises(ValidationError) as raised:
        client.list_orders()
    assert raised.value.field_errors["api_key"][0].startswith("Key ") and "malformed" in str(raised.value)
    assert_no_key(raised.value)


def test_a_400_with_a_list_body_keeps_its_messages(canned):
    with pytest.raises(ValidationError) as raised:
        canned(400, ["Expected an order payload object or a list of them."]).preview_pricing({})
    assert raised.value.field_errors == {"non_field_errors": ["Expected an order payload object or a list of them."]}
    assert str(raised.value).endswith("Expected an order payload object or a list of them.")


def test_charged_cancellation_is_recognised_from_the_message(canned):
    message = ("The free cancellation limit of contract PL-1 has been reached, so this cancellation will be charged. "
               "Repeat the request with accept_cancellation_charge=true to accept the charge.")
    with pytest.raises(CancellationChargeRequired) as raised:
        canned(400, {"detail": message}).cancel_order("00000000-0000-4000-8000-000000000001")
    assert raised.value.field_errors == {"detail": [message]} and "Confirm the cancellation charge" in str(raised.value)


def test_a_gateway_html_page_is_not_shown_to_the_user(canned):
    page = b"<html><body><h1>502 Bad Gateway</h1>" + b"x" * 600 + b"</body></html>"
    with pytest.raises(ServerError) as raised:
        canned(502, page).list_orders()
    assert "<html>" not in str(raised.value) and "HTTP 502" in str(raised.value)


def test_404_on_a_path_id_is_not_found(canned):
    with pytest.raises(NotFoundError):
        canned(404, {"detail": "Not found."}).get_bulk("00000000-0000-4000-8000-000000000000")


def test_an_unexpected_status_is_still_an_api_error(canned):
    with pytest.raises(ApiError) as raised:
        canned(418, {"detail": "I'm a teapot"}).list_orders()
    assert raised.value.status == 418 and "I'm a teapot" in str(raised.value)
