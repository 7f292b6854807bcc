"""QGIS's network settings reach the client: a real local forward proxy, set in QgsSettings, sees every request."""

from __future__ import annotations

import base64
import http.client
import logging
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, List, Optional, Tuple
from urllib.parse import urlsplit

import pytest
from qgis.core import QgsNetworkAccessManager, QgsSettings
from qgis.PyQt.QtCore import QSettings

from core.errors import NetworkError, ProxyConfigurationError, RequestTimeoutError
from core.http import ProxyConfig, create_session, plugin_version
from core.services.planet_tasking.client import TaskingClient

POINT = {"type": "Point", "coordinates": [13.350097, 52.514511]}
PROXY_KEYS = ("proxy/proxyEnabled", "proxy/proxyType", "proxy/proxyHost", "proxy/proxyPort", "proxy/proxyUser",
              "proxy/proxyPassword", "proxy/noProxyUrls", "proxy/proxyExcludedUrls", "proxy/authcfg")
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authorization", "proxy-connection", "te", "trailer",
              "transfer-encoding", "upgrade"}


class ForwardProxy:
    """A tiny HTTP forward proxy on 127.0.0.1 that counts what it carries (and may demand credentials)."""

    def __init__(self, credentials: Optional[Tuple[str, str]] = None):
        self.seen: List[Dict[str, str]] = []
        self.refused = 0
        expected = None
        if credentials:
            expected = "Basic " + base64.b64encode(f"{credentials[0]}:{credentials[1]}".encode()).decode()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep the test output quiet
                pass

            def _relay(self):
                if expected and self.headers.get("Proxy-Authorization") != expected:
                    proxy.refused += 1
                    self.send_response(407)
                    self.send_header("Proxy-Authenticate", 'Basic realm="test proxy"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                target = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                proxy.seen.append({"method": self.command, "url": self.path,
                                   "user_agent": self.headers.get("User-Agent", ""),
                                   "authorization": self.headers.get("Authorization", "")})
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
                try:
                    path = target.path + (f"?{target.query}" if target.query else "")
                    upstream.request(self.command, path, body=body, headers=headers)
                    answer = upstream.getresponse()
                    content = answer.read()
                finally:
                    upstream.close()
                self.send_response(answer.status)
                for key, value in answer.getheaders():
                    if key.lower() not in HOP_BY_HOP and key.lower() != "content-length":
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(content)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _relay

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def qgis_settings(tmp_path):
    """A QgsSettings of its own (an INI file like QGIS's profile): other test runs sharing this QGIS
    profile must not be routed through this test's proxy."""
    settings = QgsSettings(str(tmp_path / "QGIS3.ini"), QSettings.Format.IniFormat)
    yield settings
    settings.sync()


@contextmanager
def global_qgis_settings():
    """QGIS's own QgsSettings, with the proxy/timeout keys put back as they were on leaving."""
    settings = QgsSettings()
    saved = {key: settings.value(key) for key in PROXY_KEYS if settings.contains(key)}
    try:
        yield settings
    finally:
        for key in PROXY_KEYS:
            if key in saved:
                settings.setValue(key, saved[key])
            else:
                settings.remove(key)
        settings.sync()


@pytest.fixture
def proxy():
    server = ForwardProxy()
    yield server
    server.close()


@pytest.fixture
def no_environment_proxy(monkeypatch):
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY",
                 "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)


def use_proxy(settings: QgsSettings, proxy_type: str, port: int = 0, **extra) -> None:
    # Stored as QGIS's options dialog stores them: strings for the flag and the port.
    settings.setValue("proxy/proxyEnabled", "true")
    settings.setValue("proxy/proxyType", proxy_type)
    settings.setValue("proxy/proxyHost", "127.0.0.1")
    settings.setValue("proxy/proxyPort", str(port))
    settings.setValue("proxy/proxyUser", extra.get("user", ""))
    settings.setValue("proxy/proxyPassword", extra.get("password", ""))
    settings.setValue("proxy/noProxyUrls", extra.get("no_proxy", []))
    settings.setValue("proxy/proxyExcludedUrls", extra.get("excluded", []))
    settings.remove("proxy/authcfg")


def exercise(client: TaskingClient) -> None:
    """A little of everything: text, create, read, list with paging, edit, cancel."""
    client.version()
    order = client.create_order({"name": "through the proxy", "geometry": POINT})
    client.get_order(order.id)
    list(client.iter_orders(page_size=1))
    client.edit_order(order.id, name="renamed through the proxy")
    client.cancel_order(order.id)


def test_http_proxy_from_qgis_settings_sees_every_request(sandbox, proxy, qgis_settings, no_environment_proxy):
    use_proxy(qgis_settings, "HttpProxy", proxy.port)
    client = TaskingClient(sandbox.tasking_url, sandbox.api_key, session=create_session(qgis_settings))
    exercise(client)
    api_requests = sandbox.requests_seen()
    assert len(proxy.seen) >= 6 and len(proxy.seen) == len(api_requests)
    assert all(r["url"].startswith(sandbox.tasking_url) for r in proxy.seen)
    agent = proxy.seen[0]["user_agent"]
    assert agent.startswith(f"SatelliteTasking/{plugin_version()} QGIS/3.") and agent.isascii()
    assert all(r["authorization"] == f"api-key {sandbox.api_key}" for r in proxy.seen if "version.txt" not in r["url"])


def test_caching_proxy_type_is_used_like_an_http_proxy(sandbox, proxy, qgis_settings, no_environment_proxy):
    use_proxy(qgis_settings, "HttpCachingProxy", proxy.port)
    TaskingClient(sandbox.tasking_url, sandbox.api_key, session=create_session(qgis_settings)).list_orders()
    assert len(proxy.seen) == 1


def test_proxy_credentials_from_qgis_settings(sandbox, qgis_settings, no_environment_proxy, caplog):
    password = "p@ss:w/rd%42"
    guarded = ForwardProxy(credentials=("analyst", password))
    try:
        use_proxy(qgis_settings, "HttpProxy", guarded.port, user="analyst", password=password)
        caplog.set_level(logging.DEBUG, logger="satellite_tasking")
        client = TaskingClient(sandbox.tasking_url, sandbox.api_key, session=create_session(qgis_settings))
        exercise(client)
        assert guarded.refused == 0 and len(guarded.seen) == len(sandbox.requests_seen())
        assert all(password not in record.getMessage() for record in caplog.records)
        assert password not in repr(client.transport.session.proxy_config)

        use_proxy(qgis_settings, "HttpProxy", guarded.port)  # credentials forgotten
        with pytest.raises(NetworkError) as raised:
            TaskingClient(sandbox.tasking_url, sandbox.api_key, session=create_session(qgis_settings)).list_orders()
        assert raised.value.status == 407 and "proxy asks for credentials" in str(raised.value)
    finally:
        guarded.close()


def test_no_proxy_urls_bypass_the_proxy(sandbox, proxy, qgis_settings, no_environment_proxy):
    use_proxy(qgis_settings, "HttpProxy", proxy.port, no_proxy=[sandbox.root + "/tasking/"])
    client = TaskingClient(sandbox.tasking_url, sandbox.api_key, session=create_session(qgis_settings))
    exercise(client)
    assert proxy.seen == [] and len(sandbox.requests_seen()) >= 6
    # An exclusion for another address leaves the proxy in place.
    use_proxy(qgis_settings, "HttpProxy", proxy.port, no_proxy=["https://elsewhere.example/"])
    TaskingClient(sandbox.tasking_url, sandbox.api_key, session=create_session(qgis_settings)).list_orders()
    assert len(proxy.seen) == 1


def test_a_single_exclusion_stored_as_plain_text_still_counts(sandbox, proxy, qgis_settings, no_environment_proxy):
    # An INI file gives a one-item list back as a string.
    use_proxy(qgis_settings, "HttpProxy", proxy.port)
    qgis_settings.setValue("proxy/noProxyUrls", sandbox.root)
    TaskingClient(sandbox.tasking_url, sandbox.api_key, session=create_session(qgis_settings)).list_orders()
    assert proxy.seen == []


def test_legacy_excluded_urls_use_the_system_proxy(sandbox, proxy, qgis_settings, monkeypatch, no_environment_proxy):
    other = ForwardProxy()
    try:
        use_proxy(qgis_settings, "HttpProxy", proxy.port, excluded=[sandbox.root])
        TaskingClient(sandbox.tasking_url, sandbox.api_key, session=create_session(qgis_settings)).list_orders()
        assert proxy.seen == []  # no system proxy: direct
        monkeypatch.setenv("http_proxy", other.url)
        TaskingClient(sandbox.tasking_url, sandbox.api_key, session=create_session(qgis_settings)).list_orders()
        assert proxy.seen == [] and len(other.seen) == 1
    finally:
        other.close()


def test_default_proxy_type_means_the_system_proxy(sandbox, proxy, qgis_settings, monkeypatch, no_environment_proxy):
    use_proxy(qgis_settings, "DefaultProxy")
    monkeypatch.setenv("http_proxy", proxy.url)
    TaskingClient(sandbox.tasking_url, sandbox.api_key, session=create_session(qgis_settings)).list_orders()
    assert len(proxy.seen) == 1
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    TaskingClient(sandbox.tasking_url, sandbox.api_key, session=create_session(qgis_settings)).list_orders()
    assert len(proxy.seen) == 1  # the system's own exclusions apply too


def test_proxy_switched_off_ignores_the_environment_as_qgis_does(sandbox, proxy, qgis_settings, monkeypatch,
                                                                 no_environment_proxy):
    qgis_settings.setValue("proxy/proxyEnabled", "false")
    monkeypatch.setenv("http_proxy", proxy.url)
    TaskingClient(sandbox.tasking_url, sandbox.api_key, session=create_session(qgis_settings)).list_orders()
    assert proxy.seen == []


def test_unreachable_proxy_is_a_clear_error(sandbox, qgis_settings, no_environment_proxy):
    use_proxy(qgis_settings, "HttpProxy", 9)
    client = TaskingClient(sandbox.tasking_url, sandbox.api_key, session=create_session(qgis_settings), sleep=lambda s: None,
                           max_retries=1)
    with pytest.raises(NetworkError) as raised:
        client.list_orders()
    assert "proxy" in str(raised.value).lower() and sandbox.requests_seen() == []


def test_socks5_needs_pysocks_and_says_so(sandbox, qgis_settings, no_environment_proxy):
    try:
        import socks  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("PySocks is installed here; the missing-package message cannot be shown")
    use_proxy(qgis_settings, "Socks5Proxy", 1080)
    with pytest.raises(ProxyConfigurationError) as raised:
        TaskingClient(sandbox.tasking_url, sandbox.api_key, session=create_session(qgis_settings)).list_orders()
    assert "PySocks" in str(raised.value) and "python3-socks" in str(raised.value)
    assert sandbox.requests_seen() == []


def test_ftp_caching_proxy_cannot_carry_http(sandbox, qgis_settings, no_environment_proxy):
    use_proxy(qgis_settings, "FtpCachingProxy", 2121)
    with pytest.raises(ProxyConfigurationError) as raised:
        TaskingClient(sandbox.tasking_url, sandbox.api_key, session=create_session(qgis_settings)).list_orders()
    assert "FTP" in str(raised.value) and sandbox.requests_seen() == []


def test_proxy_config_reads_every_key_qgis_writes(qgis_settings):
    use_proxy(qgis_settings, "HttpProxy", 3128, user="u", password="secret-pw", no_proxy=["http://a/", "http://b/"],
              excluded=["http://c/"])
    config = ProxyConfig.from_qgis(qgis_settings)
    assert (config.enabled, config.proxy_type, config.host, config.port) == (True, "HttpProxy", "127.0.0.1", 3128)
    assert (config.user, config.password) == ("u", "secret-pw")
    assert config.no_proxy_urls == ("http://a/", "http://b/") and config.excluded_urls == ("http://c/",)
    assert "secret-pw" not in repr(config) and "secret-pw" not in config.describe()
    assert config.proxies_for("http://x/") == {"http": "http://u:secret-pw@127.0.0.1:3128",
                                               "https": "http://u:secret-pw@127.0.0.1:3128"}
    assert config.proxies_for("http://a/orders/") == {}


@pytest.fixture
def qgis_timeout():
    """Sets QGIS's own network timeout (Settings ▸ Options ▸ Network) through its API, and puts it back."""
    before = QgsNetworkAccessManager.timeout()
    yield QgsNetworkAccessManager.setTimeout
    QgsNetworkAccessManager.setTimeout(before)


def test_qgis_network_timeout_is_the_default_timeout(sandbox, qgis_settings, qgis_timeout, no_environment_proxy):
    qgis_timeout(700)
    client = TaskingClient(sandbox.tasking_url, sandbox.api_key, session=create_session(qgis_settings), max_retries=0)
    assert client.transport.timeout == pytest.approx(0.7)
    sandbox.fault(path=r"^/tasking/v2/orders/$", method="GET", kind="delay", delay_seconds=1.5, count=1)
    with pytest.raises(RequestTimeoutError) as raised:
        client.list_orders()
    assert "0.7 s" in str(raised.value)
    # An explicit timeout wins over QGIS's.
    explicit = TaskingClient(sandbox.tasking_url, sandbox.api_key, session=create_session(qgis_settings), timeout=5.0)
    assert explicit.transport.timeout == 5.0


def test_qgis_own_settings_are_what_a_session_reads_by_default(sandbox, proxy, qgis_timeout, no_environment_proxy):
    # A session made without arguments takes the proxy from QGIS's profile and the timeout QGIS itself
    # uses, whatever key the release keeps it under. The settings are changed only for the instant it
    # takes to make the session, since other test runs may share this profile.
    with global_qgis_settings() as settings:
        use_proxy(settings, "HttpProxy", proxy.port)
        qgis_timeout(4321)
        session = create_session()
    assert session.default_timeout == pytest.approx(4.321)
    assert session.proxy_config.proxy_type == "HttpProxy" and session.proxy_config.port == proxy.port
    TaskingClient(sandbox.tasking_url, sandbox.api_key, session=session).list_orders()
    assert len(proxy.seen) == 1


def test_a_ca_bundle_named_in_the_environment_is_kept(qgis_settings, monkeypatch, tmp_path):
    bundle = tmp_path / "corporate-ca.pem"
    bundle.write_text("")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    assert create_session(qgis_settings).verify == str(bundle)
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    assert create_session(qgis_settings).verify is True
