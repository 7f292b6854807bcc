"""No form of the API key reaches a user or a log: refused where it does not belong, masked in every text,
and absent from the profile, the settings, the project, the logs and the journal after failing requests."""

from __future__ import annotations

import base64
import http.server
import json
import logging
import threading
import uuid
import zipfile
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple
from urllib.parse import quote, quote_plus

import pytest
from qgis.core import QgsApplication, QgsProject, QgsSettings, QgsVectorLayer

from core import log, settings
from core.errors import AuthenticationError, CredentialError, ServerError
from core.http import HttpTransport
from core.services.planet_tasking.client import TaskingClient
from tests.conftest import SandboxServer
from tests.integration.bulk.test_workflows import pads_layer

pytestmark = pytest.mark.usefixtures("clean_settings")

# Distinctive per run, so a copy left by an earlier run can never be mistaken for one of this run;
# "+" and "/" make its URL-encoded forms differ from it.
KEY = f"PLAKsweep{uuid.uuid4().hex}+/x"
POINT = {"type": "Point", "coordinates": [13.350097, 52.514511]}


def key_forms(key: str) -> Dict[str, str]:
    """Every form of `key` the sweep looks for, written here independently of core.log (a form that the
    plugin's redaction forgot must still be found)."""
    return {
        "raw": key,
        "JSON-escaped": json.dumps(key)[1:-1],
        "repr-escaped": repr(key)[1:-1],
        "URL-encoded": quote(key, safe=""),
        "form-encoded": quote_plus(key),
        "Basic header (KEY:)": base64.b64encode(f"{key}:".encode()).decode().rstrip("="),
        "base64": base64.b64encode(key.encode()).decode().rstrip("="),
        "api-key header": f"api-key {key}",
    }


def sweep(places: Dict[str, Any], key: str = KEY) -> List[Tuple[str, str]]:
    """(place, form) for every form of `key` found in any place (text or bytes, as UTF-8 and UTF-16)."""
    found = []
    for place, content in places.items():
        for name, form in key_forms(key).items():
            if isinstance(content, bytes):
                hit = form.encode() in content or form.encode("utf-16-le") in content
            else:
                hit = form in content
            if hit:
                found.append((place, name))
    return found


def profile_files() -> Dict[str, bytes]:
    """Every file of the QGIS profile folder (QgsSettings' INI, the auth database, the bulk journal …)."""
    root = Path(QgsApplication.qgisSettingsDirPath())
    return {f"profile:{p.relative_to(root)}": p.read_bytes() for p in root.rglob("*") if p.is_file()}


def settings_text() -> str:
    qsettings = QgsSettings()
    qsettings.sync()
    return "\n".join(f"{k}={qsettings.value(k)!r}" for k in qsettings.allKeys())


def project_contents(path: Path) -> Dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {f"project:{name}": archive.read(name) for name in archive.namelist()}


def layer_texts(project: QgsProject) -> str:
    """What the project's layers show a user: names, sources, every attribute of every feature."""
    lines = []
    for layer in project.mapLayers().values():
        lines.append(f"{layer.name()} {layer.source()}")
        if isinstance(layer, QgsVectorLayer):
            lines.extend(" ".join(str(v) for v in feature.attributes()) for feature in layer.getFeatures())
    return "\n".join(lines)


def texts_of(thing: Any) -> str:
    """Everything about an object that can reach a user or a log: str, repr, and an error's parts."""
    parts = [str(thing), repr(thing)]
    for name in ("message", "body", "url", "args", "field_errors", "candidates"):
        if hasattr(thing, name):
            parts.append(repr(getattr(thing, name)))
    return "\n".join(parts)


class Capture:
    """Everything the plugin logged (every record at DEBUG, and QgsMessageLog in every tab) while open."""

    def __init__(self):
        self.records: List[str] = []
        self.messages: List[str] = []
        self.handler = logging.Handler(logging.DEBUG)
        self.handler.emit = lambda record: self.records.append(
            record.getMessage() + (record.exc_text or "") + (record.stack_info or ""))

    def on_message(self, message, tag, level):
        self.messages.append(f"{tag}: {message}")

    def __enter__(self):
        log.setup_logging(logging.DEBUG)
        logging.getLogger(log.LOGGER_NAME).addHandler(self.handler)
        QgsApplication.messageLog().messageReceived.connect(self.on_message)
        return self

    def __exit__(self, *exc):
        QgsApplication.messageLog().messageReceived.disconnect(self.on_message)
        logging.getLogger(log.LOGGER_NAME).removeHandler(self.handler)
        log.teardown_logging()


class Outcomes:
    """Runs failing calls and keeps the text of whatever each raised (or returned)."""

    def __init__(self):
        self.raised: List[BaseException] = []
        self.texts: List[str] = []

    def run(self, call: Callable[[], Any]) -> Any:
        try:
            result = call()
        except Exception as error:  # noqa: BLE001 - every failure's text is what is swept
            self.raised.append(error)
            self.texts.append(texts_of(error))
            return None
        self.texts.append(texts_of(result))
        return result


# --- a key where it does not belong is refused -------------------------------------------------------


@pytest.mark.parametrize("make", [
    lambda url, key: HttpTransport(url, key),
    lambda url, key: TaskingClient(url, key),
    lambda url, key: TaskingClient(url, ""),
], ids=["transport", "client", "client-without-key"])
@pytest.mark.parametrize("user_info", ["{key}:", "user:{key}", "{key}", "{quoted}:"])
def test_a_client_made_with_a_url_with_user_info_is_refused_before_anything_is_sent(sandbox, make, user_info):
    # Refused, not stripped: the key would otherwise sit in the base URL every error, repr and bulk
    # journal entry carries, and stripping it silently would change which key the requests use.
    url = sandbox.tasking_url.replace("http://", f"http://{user_info.format(key=KEY, quoted=quote(KEY, safe=''))}@")
    with pytest.raises(CredentialError) as refused:
        make(url, KEY)
    assert isinstance(refused.value, ValueError)
    assert "user name or key before the host" in str(refused.value) and "API key field" in str(refused.value)
    assert sweep({"error": texts_of(refused.value)}) == []
    assert sandbox.requests_seen() == []


@pytest.mark.parametrize("bad_key", [KEY[:20] + "\n" + KEY[20:], KEY[:20] + "\r\n" + KEY[20:], KEY[:20] + " " + KEY[20:]])
def test_a_client_made_with_a_key_with_a_line_break_gives_a_clear_error_and_sends_nothing(sandbox, bad_key):
    # Before: http.client refused the header with a raw ValueError quoting it, key included.
    with pytest.raises(CredentialError) as refused:
        TaskingClient(sandbox.tasking_url, bad_key).list_orders()
    text = texts_of(refused.value)
    assert "character 21 of" in text
    assert sweep({"error": text}, bad_key) == [] and KEY[:20] not in text and KEY[21:] not in text
    assert sandbox.requests_seen() == []


def test_a_link_with_user_info_is_followed_without_it_and_logged_masked(sandbox):
    transport = HttpTransport(sandbox.tasking_url, "sandbox")
    with Capture() as captured:
        # Another host name too, so the transport logs that it moves the link onto its own address.
        link = sandbox.tasking_url.replace("http://127.0.0.1", f"http://{KEY}:@localhost") + "orders/?offset=2"
        followed = transport.url(link)
    assert followed == sandbox.tasking_url + "orders/?offset=2"
    assert captured.records and sweep({"records": "\n".join(captured.records)}) == []


# --- a server that echoes the key back: every form masked in errors and logs --------------------------


class EchoHandler(http.server.BaseHTTPRequestHandler):
    """Answers 401 or 500 quoting the Authorization header in every form a careless gateway might."""

    def do_GET(self):  # noqa: N802 - http.server's naming
        header = self.headers.get("Authorization", "")
        key = header.partition(" ")[2]
        status = 401 if self.path.endswith("/orders/") else 500
        body = json.dumps({
            "detail": f"Bad credentials: {header}; key {key!r}; url-encoded {quote(key, safe='')}; "
                      f"as Basic {base64.b64encode(f'{key}:'.encode()).decode()}",
            "echo": {"authorization": header, "key": key},
        }).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def echo_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), EchoHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/tasking/v2/"
    server.shutdown()
    server.server_close()


def test_an_answer_quoting_the_key_in_every_form_is_masked_in_errors_and_logs(echo_server):
    client = TaskingClient(echo_server, KEY, max_retries=1, sleep=lambda s: None, timeout=5.0)
    outcomes = Outcomes()
    with Capture() as captured:
        outcomes.run(client.list_orders)  # 401
        outcomes.run(lambda: client.get_order(str(uuid.uuid4())))  # 500, retried once
    assert [type(e) for e in outcomes.raised] == [AuthenticationError, ServerError]
    # The server's explanation is still shown, with the key masked.
    assert "Bad credentials" in str(outcomes.raised[0]) and log.MASK in str(outcomes.raised[0])
    places = {"errors": "\n".join(outcomes.texts), "records": "\n".join(captured.records),
              "message log": "\n".join(captured.messages), "client": texts_of(client) + texts_of(client.transport)}
    assert sweep(places) == []


# --- the sweep: failing requests, then every place the key could have been left -----------------------


@pytest.fixture(scope="module")
def key_sandbox():
    """A sandbox that knows the distinctive key (so pricing and bulks get as far as the faults let them)."""
    server = SandboxServer(extra_args=["--api-key", KEY])
    yield server
    server.stop()


def configured_client() -> TaskingClient:
    """A client as the plugin makes one: the key read back from QGIS's authentication database."""
    connection = settings.connection()
    assert connection.api_key == KEY
    return TaskingClient(connection.base_url, connection.api_key, timeout=1.0, max_retries=2,
                         sleep=lambda s: None)


def run_failing_requests(sandbox, key_sandbox, outcomes: Outcomes) -> None:
    # 401: the service does not know the key.
    settings.set_base_url(settings.PLANET_TASKING, sandbox.tasking_url)
    client = configured_client()
    outcomes.run(client.list_orders)
    outcomes.run(lambda: client.create_order({"name": "sweep 401", "geometry": POINT}))
    # The rest from a service that knows it, with faults in the way.
    settings.set_base_url(settings.PLANET_TASKING, key_sandbox.tasking_url)
    client = configured_client()
    orders = r"^/tasking/v2/orders/$"
    key_sandbox.fault(path=orders, method="GET", kind="status", status=500, count=3)
    outcomes.run(client.list_orders)
    key_sandbox.fault(path=orders, method="GET", kind="malformed", count=3)
    outcomes.run(client.list_orders)
    key_sandbox.fault(path=orders, method="GET", kind="delay", delay_seconds=2.5, count=3)
    outcomes.run(client.list_orders)  # times out (1 s) three times
    key_sandbox.clear_faults()
    key_sandbox.fault(path=orders, method="POST", kind="status", status=503, when="after", count=1)
    key_sandbox.fault(path=orders, method="GET", kind="drop", count=10)
    outcomes.run(lambda: client.create_order({"name": "sweep uncertain", "geometry": POINT}))
    key_sandbox.clear_faults()
    key_sandbox.fault(path=orders, method="POST", kind="drop", when="after", count=1)
    outcomes.run(lambda: client.create_order({"name": "sweep dropped", "geometry": POINT}))
    key_sandbox.clear_faults()
    # A URL with the key in it: refused by the settings and by a client made directly.
    with_key = key_sandbox.tasking_url.replace("http://", f"http://{KEY}:@")
    outcomes.run(lambda: settings.set_base_url(settings.PLANET_TASKING, with_key))
    outcomes.run(lambda: TaskingClient(with_key, KEY))
    outcomes.texts.append(texts_of(client) + texts_of(client.transport) + texts_of(client.transport.session)
                          + texts_of(client.transport.auth) + texts_of(settings.connection()))


def run_failing_bulk(qtbot, key_sandbox, journal, outcomes: Outcomes) -> None:
    from core.app.bulk import BulkOrderWorkflow, FieldMapping

    layer = pads_layer(3)
    QgsProject.instance().addMapLayer(layer)
    workflow = BulkOrderWorkflow(configured_client, journal, poll_seconds=0.1)
    workflow.failed.connect(lambda *args: outcomes.texts.append(" ".join(texts_of(a) for a in args)))
    workflow.outcomeReady.connect(lambda outcome, result, stopped: outcomes.texts.append(outcome.summary()))
    assert workflow.check(layer, False, FieldMapping(expressions={"name": '"pad"'}))
    qtbot.waitUntil(lambda: workflow.report is not None and not workflow.busy, timeout=30000)
    assert workflow.price()
    qtbot.waitUntil(lambda: workflow.pricing is not None and not workflow.busy, timeout=30000)
    # Every bulk create fails: the journal keeps the job and the errors.
    key_sandbox.fault(path=r"^/tasking/v2/bulk/$", method="POST", kind="status", status=500, count=50)
    key_sandbox.fault(path=r"^/tasking/v2/bulk/", method="GET", kind="status", status=500, count=50)
    assert workflow.create(lambda question: True)
    qtbot.waitUntil(lambda: not workflow.busy, timeout=60000)
    key_sandbox.clear_faults()


def test_no_form_of_the_key_is_left_anywhere_after_a_run_of_failing_requests(
        qtbot, sandbox, key_sandbox, tmp_path):
    from core.app.bulk import BulkJournal
    from core.app.orders_background import TaskGroup
    from core.app.orders_mirror import OrdersMirror

    key_sandbox.reset()
    settings.set_api_key(settings.PLANET_TASKING, KEY)
    outcomes = Outcomes()
    journal_path = tmp_path / "bulk-journal.sqlite"
    project = QgsProject.instance()
    try:
        with Capture() as captured, BulkJournal(str(journal_path)) as journal:
            run_failing_requests(sandbox, key_sandbox, outcomes)
            run_failing_bulk(qtbot, key_sandbox, journal, outcomes)
            # The plugin's orders and captures layers, saved in a project.
            OrdersMirror(project, configured_client, TaskGroup(lambda *a: None)).ensure_layers()
            assert project.write(str(tmp_path / "sweep.qgz"))
        journal_files = {f"journal:{p.name}": p.read_bytes() for p in tmp_path.glob("bulk-journal.sqlite*")}
        assert journal_files and any(b"pad 2" in content for content in journal_files.values())
        places: Dict[str, Any] = {
            **profile_files(),
            "QgsSettings": settings_text(),
            **project_contents(tmp_path / "sweep.qgz"),
            "project layers": layer_texts(project),
            "plugin log records": "\n".join(captured.records),
            "QgsMessageLog": "\n".join(captured.messages),
            **journal_files,
            "error texts": "\n".join(outcomes.texts),
        }
        assert captured.records and captured.messages and len(outcomes.texts) >= 10
        assert sweep(places) == []
        # The faults really happened, so the texts swept are the failures' texts.
        kinds = {type(error).__name__ for error in outcomes.raised}
        assert {"AuthenticationError", "ServerError", "MalformedResponseError", "RequestTimeoutError",
                "CredentialError"} <= kinds, kinds
        # The sweep can fail: a copy of any form planted in any kind of place is found.
        for name, form in key_forms(KEY).items():
            for place, planted in (("text", f"x {form} y"), ("file", f"x {form} y".encode()),
                                   ("UTF-16 file", f"x {form} y".encode("utf-16-le"))):
                assert (place, name) in sweep({place: planted}), (place, name)
        QgsSettings().setValue("satellite_tasking/planted", json.dumps({"k": KEY}))
        assert ("QgsSettings", "raw") in sweep({"QgsSettings": settings_text()})
    finally:
        project.removeAllMapLayers()
        project.clear()
