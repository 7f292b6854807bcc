"""HTTP plumbing the service clients share: QGIS network settings, retries, errors, paging, wire values."""

from __future__ import annotations

import email.utils
import functools
import json
import logging
import math
import os
import random
import re
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Set, Tuple, TypeVar
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

import requests
import requests.adapters
from requests.auth import AuthBase

from .errors import (
    ApiError,
    AuthenticationError,
    Cancelled,
    ConflictError,
    MalformedResponseError,
    NetworkError,
    NotFoundError,
    OrderCreationUncertain,
    ProxyConfigurationError,
    RateLimitedError,
    RequestTimeoutError,
    ServerError,
    ValidationError,
    detail_text,
    field_errors_from_body,
    field_errors_text,
)
from .log import RedactingFilter, get_logger, redact_value, register_url_credentials, split_url_credentials
from .log import register_secret as register_log_secret
from .settings import check_api_key, check_url_has_no_credentials

LOGGER = get_logger("http")
# Records are masked at the source, so every handler (QGIS's message log, pytest's, a root handler
# another plugin added) sees them without the key.
LOGGER.addFilter(RedactingFilter())
PLUGIN_NAME = "SatelliteTasking"
PLUGIN_ROOT = Path(__file__).resolve().parent.parent

# Methods that may be sent again after any failure: they read, or they set a state absolutely.
# POST is never in here: a POST that may have been processed is reconciled by its client instead.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# Statuses worth another try of a safe request. An unsafe request is never retried here on a status.
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
# Statuses after which an unsafe request may or may not have been acted on. 429 is among them: a rate
# limiter should refuse before anything is done, but one was seen answering 429 after the order had
# been made (issue 13), so a create that gets one is looked up like any other ambiguous answer.
AMBIGUOUS_STATUSES = frozenset({429, 500, 502, 503, 504})
# Answers whose sender may still be working on the request when they arrive: a gateway that gave up
# waiting (504) leaves the service behind it running, as the client's own read timeout does.
STILL_RUNNING_STATUSES = frozenset({504})


def register_secret(secret: Optional[str]) -> None:
    """Never let `secret` reach a log line of the plugin."""
    register_log_secret(secret)


# ---------------------------------------------------------------------------------------------
# Identity: User-Agent naming the plugin and QGIS versions
# ---------------------------------------------------------------------------------------------


def plugin_version(metadata_path: Optional[Path] = None) -> str:
    """The `version=` of the plugin's metadata.txt, or "dev" when there is none yet."""
    path = metadata_path or PLUGIN_ROOT / "metadata.txt"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return "dev"
    match = re.search(r"^\s*version\s*=\s*(\S+)", text, re.M)
    return match.group(1) if match else "dev"


def qgis_version() -> str:
    """QGIS's release number, ASCII only: Qgis.QGIS_VERSION carries the release name
    ("3.22.16-Białowieża"), which a latin-1 HTTP header cannot hold."""
    try:
        from qgis.core import Qgis

        return str(Qgis.QGIS_VERSION).split("-", 1)[0]
    except ImportError:
        return "unknown"


@functools.lru_cache(maxsize=1)
def user_agent() -> str:
    """Read once: none of its parts changes while QGIS runs (reloading the plugin imports this module afresh), and
    each session made asked again (a read of metadata.txt and QGIS's version on the main thread before every
    refresh's requests)."""
    return f"{PLUGIN_NAME}/{plugin_version()} QGIS/{qgis_version()} python-requests/{requests.__version__}"


# ---------------------------------------------------------------------------------------------
# QGIS's proxy and timeout settings, applied to requests
# ---------------------------------------------------------------------------------------------

DEFAULT_TIMEOUT = 60.0  # QGIS's own default network timeout (60000 ms)


def qgis_network_timeout() -> float:
    """QGIS's network timeout (Settings › Options › Network) in seconds; 0 there means "none", for
    which the QGIS default is used, since a request without a timeout can hang a task forever.
    Read through QGIS's API: its settings key is not the same in every release (3.22 and 3.40 differ)."""
    try:
        from . import compat  # imports QGIS, which a plain-Python user of this module may not have

        milliseconds = compat.network_timeout_ms()
    except Exception:  # no QGIS: the default
        return DEFAULT_TIMEOUT
    return milliseconds / 1000.0 if milliseconds > 0 else DEFAULT_TIMEOUT


def _string_list(value: Any) -> Tuple[str, ...]:
    # QSettings' INI files return a one-item list as a plain string, and QGIS 2 stored the list
    # "|"-joined; accept both.
    if value is None:
        return ()
    if isinstance(value, str):
        items: Iterable[str] = value.split("|")
    else:
        items = (str(v) for v in value)
    return tuple(item.strip() for item in items if item and item.strip())


@dataclass(frozen=True)
class ProxyConfig:
    """QGIS's proxy settings (the `proxy/` group of QgsSettings), resolved per URL for requests.

    The semantics follow QgsNetworkAccessManager (QGIS 3.22):
    - proxy disabled: every request goes direct; the environment's proxy variables are ignored, as
      QGIS ignores them.
    - `proxy/noProxyUrls`: a URL starting with one of these goes direct.
    - `proxy/proxyExcludedUrls` (kept by QGIS for compatibility): a URL starting with one of these uses
      the system proxy instead of the configured one.
    - DefaultProxy: the system proxy (environment variables on Linux, the OS settings elsewhere, read
      through urllib's getproxies(); its no_proxy list applies).
    - HttpProxy: an HTTP proxy for http and https (CONNECT).
    - HttpCachingProxy: Qt uses it for plain HTTP only and refuses HTTPS through it; caching proxies
      (Squid and the like) accept CONNECT, so it is used like HttpProxy rather than failing.
    - Socks5Proxy: needs PySocks (Debian: python3-socks); without it a clear error is raised.
    - FtpCachingProxy: carries FTP only, so an HTTP request through it fails with a clear error.
    Credentials come from `proxy/proxyUser` / `proxy/proxyPassword`, or from the QgsAuthManager
    configuration in `proxy/authcfg` when one is set.
    """

    enabled: bool = False
    proxy_type: str = "DefaultProxy"
    host: str = ""
    port: int = 0
    user: str = ""
    password: str = field(default="", repr=False)
    no_proxy_urls: Tuple[str, ...] = ()
    excluded_urls: Tuple[str, ...] = ()

    @classmethod
    def from_qgis(cls, settings: Any = None) -> "ProxyConfig":
        from qgis.core import QgsSettings

        settings = settings if settings is not None else QgsSettings()
        enabled = str(settings.value("proxy/proxyEnabled", False)).lower() in ("true", "1")
        try:
            port = int(str(settings.value("proxy/proxyPort", "") or "0"))
        except ValueError:
            port = 0
        user = str(settings.value("proxy/proxyUser", "") or "")
        password = str(settings.value("proxy/proxyPassword", "") or "")
        authcfg = str(settings.value("proxy/authcfg", "") or "")
        if enabled and authcfg:
            user, password = _proxy_credentials_from_auth_manager(authcfg, user, password)
        return cls(
            enabled=enabled,
            proxy_type=str(settings.value("proxy/proxyType", "DefaultProxy") or "DefaultProxy"),
            host=str(settings.value("proxy/proxyHost", "") or ""),
            port=port,
            user=user,
            password=password,
            no_proxy_urls=_string_list(settings.value("proxy/noProxyUrls", [])),
            excluded_urls=_string_list(settings.value("proxy/proxyExcludedUrls", [])),
        )

    def _configured_proxy_url(self) -> str:
        if self.proxy_type == "Socks5Proxy":
            try:
                import socks  # noqa: F401 - PySocks is what requests needs for socks5h:// URLs
            except ImportError:
                raise ProxyConfigurationError(
                    "QGIS is set to use a SOCKS5 proxy, but the Python package PySocks is not installed, "
                    "so the plugin cannot use it. Install it (Debian/Ubuntu: apt install python3-socks; "
                    "elsewhere: pip install PySocks) or choose an HTTP proxy in Settings › Options › Network."
                ) from None
            scheme = "socks5h"  # the proxy resolves host names, as Qt's SOCKS5 proxy does
        elif self.proxy_type in ("HttpProxy", "HttpCachingProxy"):
            scheme = "http"
        elif self.proxy_type == "FtpCachingProxy":
            raise ProxyConfigurationError(
                "QGIS is set to use an FTP caching proxy, which cannot carry the tasking service's HTTP "
                "requests. Choose an HTTP proxy (or the system proxy) in Settings › Options › Network."
            )
        else:
            raise ProxyConfigurationError(
                f"QGIS's proxy type {self.proxy_type!r} is not one the plugin knows. "
                "Choose another in Settings › Options › Network."
            )
        if not self.host:
            raise ProxyConfigurationError(
                "QGIS is set to use a proxy but no proxy host is given. "
                "Fill it in (or switch the proxy off) in Settings › Options › Network."
            )
        credentials = ""
        if self.user:
            credentials = quote(self.user, safe="")
            if self.password:
                credentials += ":" + quote(self.password, safe="")
            credentials += "@"
        host = f"[{self.host}]" if ":" in self.host and not self.host.startswith("[") else self.host
        port = f":{self.port}" if self.port else ""
        return f"{scheme}://{credentials}{host}{port}"

    def proxies_for(self, url: str) -> Dict[str, str]:
        """The `proxies` mapping requests needs for `url`; empty means a direct connection."""
        if not self.enabled:
            return {}
        if _url_listed(url, self.no_proxy_urls):
            return {}
        if self.proxy_type == "DefaultProxy" or _url_listed(url, self.excluded_urls):
            return system_proxies_for(url)
        proxy = self._configured_proxy_url()
        return {"http": proxy, "https": proxy}

    def describe(self) -> str:
        """The configuration for a log line, without the password."""
        if not self.enabled:
            return "no proxy"
        if self.proxy_type == "DefaultProxy":
            return "system proxy"
        who = f"{self.user}@" if self.user else ""
        return f"{self.proxy_type} {who}{self.host}:{self.port}"


def _url_listed(url: str, prefixes: Sequence[str]) -> bool:
    # QGIS matches by prefix of the whole URL ("https://api.planet.com/" excludes that service).
    # A bare host ("127.0.0.1:8080", "intranet.example") is what people often type, so it also
    # matches the URL's host[:port].
    if not prefixes:
        return False
    netloc = urlsplit(url).netloc.lower()
    host = netloc.rsplit("@", 1)[-1]
    for prefix in prefixes:
        if url.startswith(prefix):
            return True
        if "://" not in prefix:
            bare = prefix.lower().rstrip("/")
            if host == bare or host.split(":")[0] == bare or (bare.startswith(".") and host.endswith(bare)):
                return True
    return False


def system_proxies_for(url: str) -> Dict[str, str]:
    """The operating system's proxy for `url`, as Qt's systemProxyForQuery would find it."""
    proxies = urllib.request.getproxies()
    host = urlsplit(url).hostname or ""
    if not proxies or (host and urllib.request.proxy_bypass(host)):
        return {}
    scheme = urlsplit(url).scheme
    chosen = proxies.get(scheme) or proxies.get("all")
    return {scheme: chosen} if chosen else {}


def _proxy_credentials_from_auth_manager(authcfg: str, user: str, password: str) -> Tuple[str, str]:
    try:
        from qgis.core import QgsApplication
        from qgis.PyQt.QtNetwork import QNetworkProxy

        manager = QgsApplication.authManager()
        if manager is None:
            return user, password
        proxy = QNetworkProxy(QNetworkProxy.ProxyType.HttpProxy, "", 0, user, password)
        if manager.updateNetworkProxy(proxy, authcfg):
            return proxy.user(), proxy.password()
    except Exception:  # a broken auth database must not stop requests without a proxy
        LOGGER.warning("could not read the proxy credentials from QGIS's authentication configuration")
    return user, password


class _SharedConnections(requests.adapters.HTTPAdapter):
    """The connection pool every session of the plugin sends through.

    Clients are made per task and dropped, and a client's own pool died with it: every page load and every
    refresh opened a new connection, a TCP and TLS handshake (two or three round trips to a distant service)
    before its request. Through this one pool a task takes a connection an earlier one left open. The pool is
    thread-safe (urllib3's); every session sends with the same TLS settings, so sharing it mixes none.
    """

    def close(self) -> None:
        # Called when any one session closes (each client's, when its task is done): the connections are
        # everyone's, so they stay. close_shared_connections() closes them.
        pass

    def close_connections(self) -> None:
        super().close()


# Hosts with a pool of their own (tasking, orders, UP42, downloads, a proxy or two), and idle connections kept
# to each: tasks run a few at a time, and each listing thread of theirs may hold one.
_POOL_HOSTS = 8
_POOL_CONNECTIONS = 16
_shared_connections: Optional[_SharedConnections] = None
_shared_lock = threading.Lock()


def shared_connections() -> _SharedConnections:
    """The plugin's one connection pool (made at the first request)."""
    global _shared_connections
    with _shared_lock:
        if _shared_connections is None:
            _shared_connections = _SharedConnections(pool_connections=_POOL_HOSTS, pool_maxsize=_POOL_CONNECTIONS)
        return _shared_connections


def close_shared_connections() -> None:
    """Close every idle connection of the shared pool (the plugin unloads); later requests open new ones."""
    with _shared_lock:
        pool = _shared_connections
    if pool is not None:
        pool.close_connections()


class QgisSession(requests.Session):
    """A requests.Session that applies QGIS's proxy settings per URL and QGIS's network timeout, and sends
    through the plugin's shared connection pool."""

    def __init__(self, proxy_config: Optional[ProxyConfig] = None, timeout: Optional[float] = None):
        super().__init__()
        pool = shared_connections()
        self.mount("https://", pool)
        self.mount("http://", pool)
        # QGIS ignores http_proxy & co. unless its proxy type is the system one; so does this session.
        self.trust_env = False
        # Turning trust_env off also drops requests' reading of a CA bundle named in the environment,
        # which is how a network with an inspecting proxy hands out its certificate: keep that.
        ca_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        if ca_bundle:
            self.verify = ca_bundle
        self.proxy_config = proxy_config or ProxyConfig()
        self.default_timeout = timeout if timeout is not None else DEFAULT_TIMEOUT
        self.headers["User-Agent"] = user_agent()
        self.headers["Accept"] = "application/json"
        register_secret(self.proxy_config.password)

    def request(self, method, url, *args, **kwargs):  # same contract as requests.Session
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.default_timeout
        if kwargs.get("proxies") is None:
            kwargs["proxies"] = self.proxy_config.proxies_for(url)
        return super().request(method, url, *args, **kwargs)

    def rebuild_proxies(self, prepared_request, proxies):
        # A redirect may lead to a URL with another proxy decision; decide again from QGIS's rules.
        prepared_request.headers.pop("Proxy-Authorization", None)
        return self.proxy_config.proxies_for(prepared_request.url)


def create_session(settings: Any = None, *, timeout: Optional[float] = None) -> QgisSession:
    """A session with QGIS's current network settings: proxy (any type, exclusions, credentials),
    timeout and a User-Agent naming the plugin and QGIS. Read afresh at each call, so a change in
    QGIS's options applies to the next session. `settings`: a QgsSettings to read the proxy from instead
    of QGIS's own (tests give a private one); the timeout is always QGIS's (qgis_network_timeout)."""
    try:
        proxy_config = ProxyConfig.from_qgis(settings)
    except ImportError:
        proxy_config = ProxyConfig()
    session = QgisSession(proxy_config, timeout if timeout is not None else qgis_network_timeout())
    LOGGER.debug("new session: %s, timeout %.0f s", proxy_config.describe(), session.default_timeout)
    return session


# ---------------------------------------------------------------------------------------------
# Authentication, retries, error mapping
# ---------------------------------------------------------------------------------------------


class ApiKeyAuth(AuthBase):
    """`Authorization: api-key KEY`, the Planet scheme; its repr never shows the key."""

    def __init__(self, api_key: str, scheme: str = "api-key"):
        # Checked here, not when the header is written: http.client would refuse a key with a line break
        # with a raw ValueError quoting the whole header, key included.
        self._api_key = check_api_key(api_key)
        self._scheme = scheme

    def __call__(self, request):
        request.headers["Authorization"] = f"{self._scheme} {self._api_key}"
        return request

    def __repr__(self) -> str:
        return f"ApiKeyAuth(scheme={self._scheme!r}, key=***)"


def parse_retry_after(value: Optional[str], now: Optional[datetime] = None) -> Optional[float]:
    """Retry-After in seconds, from either of its forms (delta-seconds or an HTTP date)."""
    if value is None or str(value).strip() == "":
        return None
    text = str(value).strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


def path_id(value: Any, what: str = "an id") -> str:
    """An id as one segment of a request's path, quoted (a "/" in it cannot reach another endpoint); ValueError
    naming `what` for no id at all (None, empty or blank), before anything is sent. Every client's rule."""
    text = "" if value is None else str(value)
    if not text.strip():
        raise ValueError(f"{what} is needed")
    return quote(text, safe="")


def utc_now() -> datetime:
    """Now, an aware UTC datetime (the one clock forms, quotes and their tests read)."""
    return datetime.now(timezone.utc)


def as_utc(value: datetime) -> datetime:
    """`value` in UTC; a naive value is taken to be UTC already (how every service's times are meant)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def optional_float(value: Any) -> Optional[float]:
    """A JSON number that may be absent: None stays None, anything else is a float (the services' models)."""
    return None if value is None else float(value)


def optional_int(value: Any) -> Optional[int]:
    """A JSON whole number that may be absent: None stays None, anything else is an int (the services' models)."""
    return None if value is None else int(value)


def parse_time(value: Any) -> Optional[datetime]:
    """ISO 8601 text from a service's JSON ("...Z" or with an offset) -> an aware UTC datetime; None stays None.
    The one reading of the services' times (Planet Tasking's and UP42's models both use it)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    text = str(value).strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    return as_utc(datetime.fromisoformat(text))


def _coordinates(geometry: Any) -> List[float]:
    flat: List[float] = []

    def walk(node: Any) -> None:
        if isinstance(node, (list, tuple)):
            for item in node:
                walk(item)
        elif isinstance(node, (int, float)):
            flat.append(float(node))

    walk(geometry.get("coordinates") if isinstance(geometry, dict) else None)
    return flat


def geometries_match(a: Any, b: Any, tolerance: float) -> bool:
    """Whether two GeoJSON geometries are the same shape, every coordinate equal within `tolerance` (how a
    service's echo of a sent geometry is recognised; each client says how much rounding its service does)."""
    if not isinstance(a, dict) or not isinstance(b, dict) or a.get("type") != b.get("type"):
        return False
    ca, cb = _coordinates(a), _coordinates(b)
    return len(ca) == len(cb) and all(math.isclose(x, y, abs_tol=tolerance) for x, y in zip(ca, cb))


def _body_of(response: requests.Response) -> Any:
    text = response.text
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _reached_server(exc: BaseException) -> bool:
    """Whether a failed request may have been delivered (and acted on) before it failed.

    A refused connection, a connect timeout, a proxy that could not be reached and a TLS handshake
    failure all happen before the request is written; anything else (reset, closed early, read
    timeout, truncated answer) may come after the server got it.
    """
    if isinstance(exc, (requests.exceptions.ConnectTimeout, requests.exceptions.ProxyError,
                        requests.exceptions.SSLError, requests.exceptions.InvalidURL,
                        requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema)):
        return False
    if isinstance(exc, requests.exceptions.ConnectionError):
        from urllib3.exceptions import NewConnectionError

        seen = set()
        current: Optional[BaseException] = exc
        while current is not None and id(current) not in seen:
            seen.add(id(current))
            if isinstance(current, NewConnectionError):
                return False
            for arg in getattr(current, "args", ()):
                if isinstance(arg, NewConnectionError):
                    return False
            current = getattr(current, "reason", None) or current.__cause__ or current.__context__
        return True
    return True


def retry_after_of(error: BaseException) -> Optional[float]:
    """The seconds the failed answer's Retry-After asked for (None: it asked for nothing)."""
    value = getattr(error, "retry_after", None)
    return float(value) if isinstance(value, (int, float)) else None


def may_still_be_running(error: ApiError) -> bool:
    """Whether the service may still be working on a request that failed this way.

    The server's handling of a request ends when it answers, even badly (any status, a truncated or
    unreadable body), or closes the connection: after such a failure, what the service will ever make
    of the request is already there to be read. Only when the client stopped waiting (a read timeout)
    or a gateway did (504) can the request still be running behind the failure.
    """
    return isinstance(error, RequestTimeoutError) or error.status in STILL_RUNNING_STATUSES


Listed = TypeVar("Listed")
# How long a create that timed out is looked for (wall clock) before the plugin says it cannot tell: long
# enough for a busy service to finish a queued POST, short enough for a user waiting on a task. Both Planet
# clients wait this long.
LOOKUP_PATIENCE = 300.0


def created_by_lost_create(look_up: Callable[[], List[Listed]], order: str, matched_by: str) -> Optional[Listed]:
    """The order a create whose answer was lost made, among the new look-alikes `look_up()` lists; None when
    there is none (it was not made). `order` names it for the user ("order 'Berlin'"); `matched_by` is what
    besides the name makes a look-alike ("geometry", "products"). A failed look-up, or more than one
    look-alike, leaves it uncertain (OrderCreationUncertain): then nothing may be sent again.
    """
    try:
        candidates = look_up()
    except ApiError as lookup_error:
        raise OrderCreationUncertain(
            f"The connection failed while {order} was being sent, and looking it up failed too "
            f"({lookup_error.message}). Check the order list before sending it again.",
            method="POST") from lookup_error
    if len(candidates) > 1:
        raise OrderCreationUncertain(
            f"The connection failed while {order} was being sent, and {len(candidates)} new orders with that "
            f"name and {matched_by} now exist. Check the order list; nothing more was sent.",
            candidates=[o.id for o in candidates], method="POST")  # type: ignore[attr-defined]
    return candidates[0] if candidates else None


@dataclass
class Reply:
    """A response the transport accepted: status, headers and the decoded JSON body (None if empty)."""

    status: int
    headers: Mapping[str, str]
    data: Any
    url: str


class HttpTransport:
    """One service's base URL and key over a QgisSession: retries, timeouts, error mapping, paging.

    Retry policy: a safe request (GET/HEAD/OPTIONS, PUT that sets fields absolutely, DELETE that
    cancels; `safe=True` for a POST that only computes, like a price preview) is sent again after a
    network failure, a malformed body or a 408/429/5xx answer, up to `max_retries` times, waiting
    exponentially longer with full jitter, or as long as Retry-After says (seconds or an HTTP date;
    longer than `max_retry_after` and the error is raised at once, saying how long the service asked
    for). An unsafe request is sent again here only when it certainly was not acted on (the connection
    was never made); otherwise the error (429 included) is raised with `maybe_processed=True` for its
    client to reconcile, and the Retry-After it carried is on the error (`retry_after_of`).

    Every wait goes through `pause`: logged, kept in `last_wait`, and handed to `on_wait(seconds,
    text)` when a caller set one (a task shows "waiting N s as the service asked").
    """

    # A caller's hook told of every wait before it starts: (seconds, a sentence saying why).
    on_wait: Optional[Callable[[float, str], Any]] = None
    # The last wait, (seconds, why), for a caller that reads rather than listens.
    last_wait: Optional[Tuple[float, str]] = None

    def __init__(
        self,
        base_url: str,
        api_key: Optional[str],
        *,
        session: Optional[requests.Session] = None,
        timeout: Optional[float] = None,
        max_retries: int = 4,
        sleep: Callable[[float], None] = time.sleep,
        service: str = "The tasking service",
        auth: Optional[AuthBase] = None,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        max_retry_after: float = 120.0,
        random_fraction: Callable[[], float] = random.random,
    ):
        if not base_url:
            raise ValueError("a base URL is needed, e.g. https://api.planet.com/tasking/v2/")
        # Refused rather than stripped: a URL's user info is a second place for the key that every shown
        # URL, error and journal entry would carry, and quietly dropping it would change which key is used.
        check_url_has_no_credentials(base_url)
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self._api_key = check_api_key(api_key)  # also registers it as a secret
        self.session = session if session is not None else create_session()
        # A session made here is this transport's to close; a given session is its owner's. A made session's
        # connections are the plugin's shared pool (see _SharedConnections), so a transport dropped unclosed
        # leaves no socket behind.
        self._owns_session = session is None
        if timeout is None:
            timeout = getattr(self.session, "default_timeout", None) or qgis_network_timeout()
        self.timeout = float(timeout)
        self.max_retries = max(0, int(max_retries))
        self.sleep = sleep
        self.service = service
        self.auth = auth if auth is not None else (ApiKeyAuth(self._api_key) if self._api_key else None)
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.max_retry_after = max_retry_after
        self.random_fraction = random_fraction
        origin = urlsplit(self.base_url)
        self._origin = (origin.scheme, origin.netloc)

    def __repr__(self) -> str:
        return f"HttpTransport(base_url={self.base_url!r}, key=***)"

    def close(self) -> None:
        """Close the session this transport made (a given session stays open); its connections stay in the shared
        pool for the next client."""
        if self._owns_session:
            self.session.close()

    def __enter__(self) -> "HttpTransport":
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.close()

    # -- secrets -------------------------------------------------------------------------------

    def _secrets(self) -> List[str]:
        proxy = getattr(self.session, "proxy_config", None)
        return [s for s in (self._api_key, getattr(proxy, "password", "")) if s]

    def _clean(self, value: Any) -> Any:
        """A body or text with every secret in every form masked (core.log.redact), for errors and logs.
        The key and proxy password are registered already; registering again covers a session whose
        proxy settings were given after this transport was made."""
        for secret in self._secrets():
            register_secret(secret)
        return redact_value(value)

    # -- URLs ----------------------------------------------------------------------------------

    def url(self, path: str) -> str:
        """An absolute URL for `path` (relative to the base URL) or `path` itself when absolute."""
        if path.startswith(("http://", "https://")):
            return self.pin_origin(path)
        return urljoin(self.base_url, path.lstrip("/"))

    def pin_origin(self, url: str) -> str:
        """`url` moved onto the base URL's scheme and host when it names another.

        A `next` link is built by the server from its own idea of its address, which behind a gateway
        can be http:// or an internal host; following it elsewhere would send the key there.
        """
        # A link with user info (`http://KEY:@host/…`) loses it: its credentials are registered, so any
        # echo is masked, and the link followed (and shown) has none.
        if register_url_credentials(url):
            url = split_url_credentials(url)[1]
        parts = urlsplit(url)
        if (parts.scheme, parts.netloc) == self._origin:
            return url
        LOGGER.debug("link %s points outside %s; following it on the service's own address", url, self.base_url)
        return urlunsplit((self._origin[0], self._origin[1], parts.path, parts.query, parts.fragment))

    def _short(self, url: str) -> str:
        parts = urlsplit(url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    # -- one request, with retries -------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Optional[Mapping[str, Any]] = None,
        json_body: Any = None,
        safe: Optional[bool] = None,
        expect_json: bool = True,
        ok_statuses: Iterable[int] = (200, 201, 202, 204),
        timeout: Optional[float] = None,
        object_hook: Optional[Callable[[Dict[str, Any]], Any]] = None,
    ) -> Reply:
        """Send one API request; answer with the decoded reply or raise a typed ApiError. `object_hook`: as
        json.loads's, applied to every JSON object of the answer as it is read."""
        method = method.upper()
        url = self.url(path)
        safe = method in SAFE_METHODS if safe is None else safe
        ok = frozenset(ok_statuses)
        attempt = 0
        while True:
            started = time.perf_counter()
            try:
                response = self.session.request(
                    method, url, params=params, json=json_body, auth=self.auth,
                    timeout=timeout if timeout is not None else self.timeout,
                )
            except ProxyConfigurationError:
                raise
            except requests.RequestException as exc:
                error = self._network_error(exc, method, url, timeout)
                if attempt < self.max_retries and (safe or not error.maybe_processed) and self._worth_retrying(exc):
                    self._wait_before_retry(attempt, None, f"{method} {self._short(url)}: {error.message}")
                    attempt += 1
                    continue
                raise error from None
            elapsed_ms = (time.perf_counter() - started) * 1000.0
            if LOGGER.isEnabledFor(logging.DEBUG):
                LOGGER.debug("%s %s -> %s in %.0f ms", method, self._short(response.url or url),
                             response.status_code, elapsed_ms)
            status = response.status_code
            if status in ok:
                try:
                    data = self._decode(response, method, url, safe, object_hook) if expect_json else response.text
                except MalformedResponseError as error:
                    if safe and attempt < self.max_retries:
                        self._wait_before_retry(attempt, None, f"{method} {self._short(url)}: unreadable answer")
                        attempt += 1
                        continue
                    raise error from None
                return Reply(status=status, headers=response.headers, data=data, url=response.url or url)
            error = self._error_from_response(response, method, url, safe)
            if safe and status in RETRYABLE_STATUSES and attempt < self.max_retries:
                # Retry-After is honoured on any status that carries it (429, and 503 for maintenance).
                retry_after = retry_after_of(error)
                if retry_after is not None and retry_after > self.max_retry_after:
                    # An hour's wait is the user's decision, not a silent sleep in a task.
                    raise self.asked_too_long(error)
                self._wait_before_retry(attempt, retry_after, f"{method} {self._short(url)}: HTTP {status}")
                attempt += 1
                continue
            raise error

    @staticmethod
    def _worth_retrying(exc: BaseException) -> bool:
        # A bad certificate or a malformed URL will not heal by waiting.
        return not isinstance(exc, (requests.exceptions.SSLError, requests.exceptions.InvalidURL,
                                    requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema))

    def backoff_delay(self, attempt: int, retry_after: Optional[float] = None) -> float:
        """Seconds to wait before try number attempt+2: Retry-After when given (plus up to 10 % jitter
        so that many clients told the same do not come back at once), else exponential with full
        jitter: anywhere in [0, min(cap, base·2^attempt)], which spreads clients that failed together
        best (the waits of many clients do not bunch up at the ceiling)."""
        if retry_after is not None:
            return retry_after + self.random_fraction() * min(1.0, 0.1 * retry_after)
        ceiling = min(self.backoff_cap, self.backoff_base * (2 ** attempt))
        return self.random_fraction() * ceiling

    def pause(self, seconds: float, why: str, *, asked: bool = False) -> None:
        """Wait `seconds` (through `sleep`), after telling the log and `on_wait` why; `asked`: the
        service asked for this wait (Retry-After), which is said in so many words."""
        text = f"waiting {seconds:.0f} s as the service asked ({why})" if asked else f"waiting {seconds:.2f} s ({why})"
        text = self._clean(text)
        # A wait the service asked for can be long, so it is said where the user looks; back-off is routine.
        LOGGER.log(logging.INFO if asked else logging.DEBUG, "%s", text)
        self.last_wait = (seconds, text)
        if self.on_wait is not None:
            self.on_wait(seconds, text)
        self.sleep(seconds)

    def _wait_before_retry(self, attempt: int, retry_after: Optional[float], reason: str) -> None:
        delay = self.backoff_delay(attempt, retry_after)
        LOGGER.warning("%s; retrying in %.2f s (retry %d of %d)", self._clean(reason), delay, attempt + 1,
                       self.max_retries)
        self.pause(delay, reason, asked=retry_after is not None)

    def wait_to_send_again(self, error: ApiError, attempt: int, reason: str) -> None:
        """The wait before an unsafe request is looked up and perhaps sent again after `error`: as long
        as its Retry-After asked (callers check `asks_too_long` first), else back-off with full jitter."""
        retry_after = retry_after_of(error)
        delay = self.backoff_delay(attempt, retry_after)
        self.pause(delay, self._clean(reason), asked=retry_after is not None)

    def asks_too_long(self, error: BaseException) -> bool:
        """Whether the failed answer asked for a longer wait than the plugin makes by itself."""
        retry_after = retry_after_of(error)
        return retry_after is not None and retry_after > self.max_retry_after

    def asked_too_long(self, error: ApiError) -> ApiError:
        """`error`, its message saying that the service asked for a wait longer than the plugin makes."""
        retry_after = retry_after_of(error)
        note = (f" The service asked to wait {retry_after:.0f} s, longer than the {self.max_retry_after:.0f} s "
                "the plugin waits by itself, so nothing more was sent; try again after that.")
        if retry_after is not None and note not in error.message:
            error.message += note
            error.args = (error.message,)
        return error

    def _decode(self, response: requests.Response, method: str, url: str, safe: bool,
                object_hook: Optional[Callable[[Dict[str, Any]], Any]] = None) -> Any:
        content = response.content
        if not content or not content.strip():
            return None
        try:
            return json.loads(content, object_hook=object_hook)
        except ValueError:
            raise MalformedResponseError(
                f"{self.service} sent an answer that could not be read (not valid JSON) for "
                f"{method} {self._short(url)} (HTTP {response.status_code}). This is usually a passing "
                "network or gateway problem; try again.",
                status=response.status_code, body=self._clean(response.text[:500]), method=method, url=url,
                maybe_processed=not safe,
            ) from None

    def _network_error(self, exc: BaseException, method: str, url: str, timeout: Optional[float]) -> NetworkError:
        host = urlsplit(url).netloc
        where = f"{method} {self._short(url)}"
        maybe_processed = _reached_server(exc)
        seconds = timeout if timeout is not None else self.timeout
        if isinstance(exc, (requests.exceptions.ConnectTimeout, requests.exceptions.ReadTimeout, requests.Timeout)):
            if isinstance(exc, requests.exceptions.ConnectTimeout):
                message = (f"Could not connect to {host} within {seconds:g} s. Check the network connection "
                           "and QGIS's proxy settings (Settings › Options › Network).")
            else:
                message = (f"{self.service} did not answer within {seconds:g} s ({where}). It may be busy: "
                           "try again later, or raise the network timeout in Settings › Options › Network.")
            error: NetworkError = RequestTimeoutError(message, method=method, url=url, maybe_processed=maybe_processed)
        elif isinstance(exc, requests.exceptions.ProxyError):
            error = NetworkError(
                f"The proxy refused or failed the connection to {host}. Check the proxy host, port and "
                "credentials in Settings › Options › Network.", method=method, url=url, maybe_processed=False)
        elif isinstance(exc, requests.exceptions.SSLError):
            error = NetworkError(
                f"The secure connection to {host} failed (certificate or TLS problem). Check the service "
                "URL, the system's certificates, or an intercepting proxy.", method=method, url=url)
        elif isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                              requests.exceptions.InvalidSchema)):
            error = NetworkError(f"The service URL {url!r} is not valid. Check it in the plugin's settings.",
                                 method=method, url=url)
        elif not maybe_processed:
            error = NetworkError(
                f"Could not connect to {host} (connection refused or host unreachable). Check the service "
                "URL in the plugin's settings, the network connection and QGIS's proxy settings.",
                method=method, url=url, maybe_processed=False)
        else:
            error = NetworkError(
                f"The connection to {host} was closed before {self.service.lower()} answered ({where}). "
                "This is usually a passing network problem; try again.",
                method=method, url=url, maybe_processed=True)
        LOGGER.debug("%s failed: %s", where, self._clean(f"{type(exc).__name__}: {exc}"))
        return error

    def _error_from_response(self, response: requests.Response, method: str, url: str, safe: bool) -> ApiError:
        status = response.status_code
        body = self._clean(_body_of(response))
        detail = self._clean(detail_text(body))
        where = f"{method} {self._short(url)}"
        common = dict(status=status, body=body, method=method, url=url)
        suffix = f" The service said: {detail}" if detail else ""
        if status in (401, 403):
            if status == 401:
                message = f"{self.service} rejected the API key (HTTP 401). Check the key in the plugin's settings."
            else:
                message = (f"This API key is not allowed to do this (HTTP 403, {where}). Check that the key "
                           "belongs to an account with tasking access.")
            return AuthenticationError(message + suffix, **common)
        if status == 407:
            return NetworkError(
                "The proxy asks for credentials (HTTP 407). Enter the proxy user and password (or an "
                "authentication configuration) in Settings › Options › Network.", **common)
        if status == 404:
            return NotFoundError(f"{self.service} has no such item ({where}, HTTP 404); it may have been "
                                 "removed or belong to another account." + suffix, **common)
        if status == 409:
            return ConflictError("The request conflicts with the item's current state (HTTP 409)." + suffix,
                                 **common)
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if status == 429:
            wait = f" Wait {retry_after:.0f} s and try again." if retry_after is not None else " Wait a moment and try again."
            return RateLimitedError(f"{self.service} is receiving too many requests (HTTP 429).{wait}" + suffix,
                                    retry_after=retry_after, maybe_processed=not safe, **common)
        if status in (400, 422):
            field_errors = field_errors_from_body(body)
            listed = field_errors_text(field_errors)
            return ValidationError(f"{self.service} refused the request: {listed or 'no reason given'}",
                                   field_errors=field_errors, **common)
        if status >= 500:
            error = ServerError(f"{self.service} had a problem (HTTP {status}, {where}). Try again later." + suffix,
                                maybe_processed=not safe and status in AMBIGUOUS_STATUSES, **common)
            # Kept on the error (read with retry_after_of) for a client that reconciles before sending again.
            error.retry_after = retry_after  # type: ignore[attr-defined]
            return error
        return ApiError(f"{self.service} answered HTTP {status} to {where}." + suffix, **common)

    # -- convenience -----------------------------------------------------------------------------

    def get(self, path: str, params: Optional[Mapping[str, Any]] = None, **kwargs: Any) -> Any:
        return self.request("GET", path, params=params, **kwargs).data

    def iter_pages(
        self,
        path: str,
        params: Optional[Mapping[str, Any]] = None,
        *,
        is_canceled: Optional[Callable[[], bool]] = None,
        prefetch: bool = False,
        object_hook: Optional[Callable[[Dict[str, Any]], Any]] = None,
    ) -> Iterator[Dict[str, Any]]:
        """The pages of a listing, lazily, following `next` until it is null.

        Stops (with a warning) when a `next` link names a page already read, so a server that loops
        its links cannot make the iteration endless; also stops on an empty page that still has a
        `next`, for the same reason. With `prefetch`, the next page is requested in a background
        thread while the caller works through the current one (never more than one page ahead), so
        turning results into objects overlaps the server's time instead of adding to it. `object_hook`: see
        request.
        """
        seen: Set[str] = set()
        pending = _PageRequest(self, self.url(path), params, prefetch, object_hook)
        try:
            while pending is not None:
                if is_canceled is not None and is_canceled():
                    raise Cancelled("Listing cancelled.")
                reply = pending.result()
                seen.add(_canonical(reply.url))
                page = reply.data
                if not isinstance(page, dict) or not isinstance(page.get("results"), list):
                    raise MalformedResponseError(
                        f"{self.service} sent a page without a list of results for GET {self._short(reply.url)}.",
                        status=reply.status, body=self._clean(str(page)[:500]), method="GET", url=reply.url)
                pending = None
                next_url = page.get("next")
                if next_url:
                    next_url = self.pin_origin(urljoin(reply.url, next_url))
                    if _canonical(next_url) in seen:
                        LOGGER.warning("page link %s was already read; stopping the listing there",
                                       self._short(next_url))
                    elif not page["results"]:
                        LOGGER.warning("empty page with a next link %s; stopping the listing there",
                                       self._short(next_url))
                    else:
                        pending = _PageRequest(self, next_url, None, prefetch, object_hook)
                yield page
        finally:
            if pending is not None:
                pending.abandon()


class _PageRequest:
    """One page GET, sent at once in a background thread (prefetch) or when its result is asked for."""

    def __init__(self, transport: HttpTransport, url: str, params: Optional[Mapping[str, Any]], background: bool,
                 object_hook: Optional[Callable[[Dict[str, Any]], Any]] = None):
        self._call = lambda: transport.request("GET", url, params=params, object_hook=object_hook)
        self._reply: Optional[Reply] = None
        self._error: Optional[BaseException] = None
        self._thread: Optional[threading.Thread] = None
        if background:
            self._thread = threading.Thread(target=self._run, name="satellite-tasking-next-page", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        try:
            self._reply = self._call()
        except BaseException as error:  # handed to the consumer's thread by result()
            self._error = error

    def result(self) -> Reply:
        if self._thread is None:
            return self._call()
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._reply is not None
        return self._reply

    def abandon(self) -> None:
        # The listing stopped early (break, cancel, error): the page still in flight is not needed.
        # Its thread is a daemon and ends with the request's own timeout; nothing waits for it.
        self._thread = None


def _canonical(url: str) -> str:
    """A URL with its query parameters sorted, so the same page reached twice compares equal."""
    parts = urlsplit(url)
    query = "&".join(sorted(q for q in parts.query.split("&") if q))
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, query, ""))
