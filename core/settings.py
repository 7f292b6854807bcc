"""Plugin settings under the `satellite_tasking/` QgsSettings prefix; API keys only in QgsAuthManager."""

from __future__ import annotations

import json
import unicodedata
import urllib.request
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple
from urllib.parse import urlsplit

from qgis.core import QgsSettings

from . import secrets
from .errors import CredentialError
from .log import MASK, get_logger, register_secret, register_url_credentials, split_url_credentials
from .secrets import (  # noqa: F401 - callers catch it as settings.AuthStorageError
    MASTER_PASSWORD_MESSAGE,
    AuthStorageError,
)

PREFIX = "satellite_tasking/"

PLANET_TASKING = "planet_tasking"
PLANET_ORDERS = "planet_orders"
UP42 = "up42"
# The real services; a base URL setting overrides one of them (a proxy, a staging host).
DEFAULT_BASE_URLS: Dict[str, str] = {
    PLANET_TASKING: "https://api.planet.com/tasking/v2/",
    PLANET_ORDERS: "https://api.planet.com/compute/ops/orders/v2/",
    UP42: "https://api.up42.com/",
}
SERVICES = tuple(DEFAULT_BASE_URLS)
# Planet gives an account ONE API key for all its APIs: the Orders API uses the key stored for Planet
# Tasking (entered once, in the settings dialog, which offers only tasking services). Each service keeps
# its own base URL.
KEY_OF: Dict[str, str] = {PLANET_ORDERS: PLANET_TASKING}

# The local sandbox serves each emulated API under the same path as the real service.
SANDBOX_HOST = "127.0.0.1"
DEFAULT_SANDBOX_PORT = 8765
# The sandbox's built-in account; not a secret (it only works against the local emulator).
SANDBOX_API_KEY = "sandbox"

# A key is kept as a Basic configuration (core.secrets) with the key as user name and an empty password,
# which is how Planet documents Basic authentication.
AUTH_METHOD = secrets.AUTH_METHOD
AUTH_CONFIG_NAME = "Satellite Tasking ({service})"


_log = get_logger("settings")


@dataclass(frozen=True)
class ServiceConnection:
    """Where and as whom to call one service, as the settings say right now."""

    service: str
    base_url: str
    api_key: Any  # a key; for UP42 a (user name, password) pair
    sandbox: bool

    def __repr__(self) -> str:
        # The key never goes into a repr, which is what ends up in logs and tracebacks.
        key = "set" if self.api_key else "missing"
        return f"ServiceConnection(service={self.service!r}, base_url={self.base_url!r}, api_key={key}, sandbox={self.sandbox})"


def _check_service(service: str) -> str:
    if service not in DEFAULT_BASE_URLS:
        raise ValueError(f"unknown service {service!r}; known: {', '.join(SERVICES)}")
    return service


ACTIVE_SERVICE_KEY = "service"
USE_SANDBOX_KEY = "use_sandbox"
FIRST_RUN_DONE_KEY = "first_run_hint_shown"
SANDBOX_PORT_KEY = "sandbox_port"
ARCHIVE_FOLDER_KEY = "archive/download_folder"


def sandbox_profile_values(port: int) -> Dict[str, Any]:
    """What points a QGIS profile at the local sandbox, as full settings keys and values.

    For tools that prepare another profile's QGIS3.ini (the demo), so they never spell the keys again.
    """
    return {PREFIX + USE_SANDBOX_KEY: True, PREFIX + SANDBOX_PORT_KEY: int(port)}


def _get(key: str, default: Any = None, type_: Optional[type] = None) -> Any:
    settings = QgsSettings()
    if type_ is None:
        return settings.value(PREFIX + key, default)
    return settings.value(PREFIX + key, default, type=type_)


def _set(key: str, value: Any) -> None:
    QgsSettings().setValue(PREFIX + key, value)


def _remove(key: str) -> None:
    QgsSettings().remove(PREFIX + key)


def url_without_credentials(url: str) -> str:
    """`url` with its user info (`KEY:@`, `user:KEY@`) masked, for a message that must name the URL."""
    user_info, rest = split_url_credentials(url)
    return url if user_info is None else rest.replace("://", f"://{MASK}@", 1)


def check_url_has_no_credentials(url: str) -> None:
    """Refuse a URL carrying a user name or key before its host (`http://KEY:@host/`).

    Such a URL would put the key wherever the URL is shown or kept (messages, the bulk journal, the
    settings file, in clear); the key belongs in QGIS's authentication database. Its user info is
    registered as a secret first, so no later echo of the URL shows it either.
    """
    if register_url_credentials(url):
        raise CredentialError(
            f"The service URL {url_without_credentials(url)} has a user name or key before the host. Enter "
            "the API key in the API key field and the URL without it (e.g. https://api.planet.com/tasking/v2/)."
        )


def normalize_base_url(url: str) -> str:
    """The URL stripped, with the one trailing slash relative paths are joined onto; CredentialError
    (a ValueError) for one with user info, ValueError for one that is not http(s)."""
    url = (url or "").strip()
    check_url_has_no_credentials(url)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"not an http(s) URL: {url!r}")
    return url if url.endswith("/") else url + "/"


def _character_name(char: str) -> str:
    if char in "\r\n\u2028\u2029\x85":
        return "a line break"
    if char == "\t":
        return "a tab"
    if char.isspace():
        return "a space"
    if unicodedata.category(char).startswith("C"):
        return "a control character"
    return f"the character U+{ord(char):04X}, which API keys do not contain"


def check_api_key(key: Optional[str]) -> str:
    """The key without surrounding whitespace; CredentialError (a ValueError) when a character inside it
    cannot be part of a key: a line break, a tab or space, a control character, anything outside printable
    ASCII (an HTTP header cannot carry it). The message says what and where, never the key."""
    key = (key or "").strip()
    register_secret(key)
    for position, char in enumerate(key, start=1):
        if not "!" <= char <= "~":
            raise CredentialError(
                f"The API key contains {_character_name(char)} (character {position} of {len(key)}), so it "
                "cannot be the key. Copy the key again from your account settings and paste it alone."
            )
    return key


# --- base URLs --------------------------------------------------------------------------------------

def base_url(service: str = PLANET_TASKING) -> str:
    """The configured base URL of the real service (ignores the sandbox switch)."""
    _check_service(service)
    stored = _get(f"base_url/{service}", DEFAULT_BASE_URLS[service], str) or DEFAULT_BASE_URLS[service]
    if register_url_credentials(stored):
        # An older version stored it as typed: the key sat in the settings file in clear. Take it out
        # (the URL is kept without it) and say so; the key belongs in the API key field.
        stored = split_url_credentials(stored)[1]
        _set(f"base_url/{service}", stored)
        _log.warning("The service URL stored for %s had a user name or key before the host; it was removed "
                     "from the settings. Enter the API key in the plugin's settings.", service)
    return stored


def set_base_url(service: str, url: Optional[str]) -> None:
    """Store a base URL; None or "" goes back to the real service's default."""
    _check_service(service)
    if not url or not url.strip():
        _remove(f"base_url/{service}")
    else:
        _set(f"base_url/{service}", normalize_base_url(url))


def sandbox_base_url(service: str = PLANET_TASKING, port: Optional[int] = None) -> str:
    """The sandbox URL of a service, e.g. http://127.0.0.1:8765/tasking/v2/."""
    path = urlsplit(DEFAULT_BASE_URLS[_check_service(service)]).path or "/"
    return f"http://{SANDBOX_HOST}:{port if port is not None else sandbox_port()}{path}"


def active_base_url(service: str = PLANET_TASKING) -> str:
    """The base URL requests go to: the sandbox when it is switched on, the configured service otherwise."""
    return sandbox_base_url(service) if use_sandbox() else base_url(service)


# --- active service, contract, product, sandbox -----------------------------------------------------

def active_service() -> str:
    """The id of the service the plugin works with (core.services.registry checks it is registered)."""
    return _get(ACTIVE_SERVICE_KEY, PLANET_TASKING, str) or PLANET_TASKING


def set_active_service(service: str) -> None:
    _set(ACTIVE_SERVICE_KEY, _check_service(service))


def pl_number() -> str:
    """The Planet contract number (pl_number) orders are placed under; "" when unset."""
    return _get("pl_number", "", str) or ""


def set_pl_number(value: Optional[str]) -> None:
    _set("pl_number", (value or "").strip())


def product() -> str:
    """The product orders ask for; "" when unset (the service then uses the contract's default)."""
    return _get("product", "", str) or ""


def set_product(value: Optional[str]) -> None:
    _set("product", (value or "").strip())


def archive_download_folder() -> str:
    """The folder archive imagery was last downloaded into ("" until one was chosen)."""
    return _get(ARCHIVE_FOLDER_KEY, "", str) or ""


def set_archive_download_folder(folder: Optional[str]) -> None:
    _set(ARCHIVE_FOLDER_KEY, (folder or "").strip())


def first_run() -> bool:
    """True the first time it is asked in this QGIS profile (the plugin's first start there), False ever after."""
    if _get(FIRST_RUN_DONE_KEY, False, bool):
        return False
    _set(FIRST_RUN_DONE_KEY, True)
    return True


def use_sandbox() -> bool:
    return bool(_get(USE_SANDBOX_KEY, False, bool))


def set_use_sandbox(enabled: bool) -> None:
    _set(USE_SANDBOX_KEY, bool(enabled))


def sandbox_port() -> int:
    port = _get(SANDBOX_PORT_KEY, DEFAULT_SANDBOX_PORT, int)
    return port if isinstance(port, int) and 0 < port < 65536 else DEFAULT_SANDBOX_PORT


def set_sandbox_port(port: int) -> None:
    port = int(port)
    if not 0 < port < 65536:
        raise ValueError(f"not a TCP port: {port}")
    _set(SANDBOX_PORT_KEY, port)


def _sandbox_account(port: Optional[int], timeout: float) -> Optional[Dict[str, Any]]:
    """The running local sandbox's account for its key (GET /sandbox/accounts), or None when unreadable."""
    url = f"http://{SANDBOX_HOST}:{port if port is not None else sandbox_port()}/sandbox/accounts"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never via a proxy
    try:
        with opener.open(url, timeout=timeout) as response:
            answer = json.loads(response.read().decode("utf-8"))
    except (OSError, ValueError):
        return None
    accounts = answer.get("accounts") if isinstance(answer, dict) else None
    for account in accounts if isinstance(accounts, list) else []:
        if isinstance(account, dict) and account.get("api_key") == SANDBOX_API_KEY:
            return account
    return None


def sandbox_answers(port: Optional[int] = None, timeout: float = 1.0) -> bool:
    """Whether a local sandbox answers on `port` (its loopback control endpoint)."""
    return _sandbox_account(port, timeout) is not None


def sandbox_contract(port: Optional[int] = None, timeout: float = 1.0) -> Optional[str]:
    """The running local sandbox's default contract for its key, or None when it cannot be read.

    Imaging-window searches require a pl_number (planet-assured-tasking.txt) and the Planet documents
    give no request that reads an account's contracts, so the user enters theirs; for the sandbox its
    own control endpoint GET /sandbox/accounts says which contracts its key has.
    """
    contract = (_sandbox_account(port, timeout) or {}).get("default_pl_number")
    return contract if isinstance(contract, str) and contract.strip() else None


def sandbox_area_limit(pl_number: str, port: Optional[int] = None, timeout: float = 1.0) -> Optional[float]:
    """The largest order area (km²) the local sandbox allows `pl_number`, or None when it is not one of its
    contracts or cannot be read. Planet's API tells no contract limit; only the sandbox does (its control
    endpoint), so only there is the real limit checked before sending."""
    account = _sandbox_account(port, timeout) or {}
    limit = account.get("max_sqkm")
    if pl_number.strip() not in (account.get("pl_numbers") or []) or not isinstance(limit, (int, float)):
        return None
    return float(limit)


# --- API keys (QgsAuthManager only) -----------------------------------------------------------------

def key_service(service: str = PLANET_TASKING) -> str:
    """The service whose stored key `service` uses: itself, or for Planet's Orders API Planet Tasking's."""
    return KEY_OF.get(_check_service(service), service)


def auth_config_id(service: str = PLANET_TASKING) -> str:
    """The id of the auth configuration holding the service's key ("" when none); never the key."""
    return _get(f"auth/{key_service(service)}", "", str) or ""


def _store_auth(service: str, fields: Dict[str, str]) -> str:
    """Store a service's secret fields (core.secrets) and remember the configuration's id; returns the id."""
    config_id = secrets.store(AUTH_CONFIG_NAME.format(service=service), fields, auth_config_id(service))
    _set(f"auth/{service}", config_id)
    return config_id


def _load_auth(service: str, what: str) -> Optional[Dict[str, str]]:
    """A service's stored secret fields, or None when none are stored; AuthStorageError naming `what` when
    they exist but cannot be read."""
    config_id = auth_config_id(service)
    if not config_id:
        return None
    try:
        return secrets.load(config_id)
    except AuthStorageError as error:
        raise AuthStorageError(f"The stored {what} could not be read: {error}") from None


def has_api_key(service: str = PLANET_TASKING) -> bool:
    """Whether a key is stored, checked without decrypting it (so without asking for the master password)."""
    return secrets.exists(auth_config_id(service))


def get_api_key(service: str = PLANET_TASKING) -> Optional[str]:
    """The stored key, or None when none is stored; AuthStorageError when it exists but cannot be read."""
    fields = _load_auth(service, f"API key for {service}")
    if fields is None:
        return None
    key = fields.get("username") or None
    register_secret(key)
    try:
        return check_api_key(key) or None
    except CredentialError as error:
        # Stored by an older version that took any text; sending it would fail with a raw error that
        # quotes it. Say what is wrong instead (the message never holds the key).
        raise AuthStorageError(f"The API key stored for {service} cannot be used: {error} "
                               "Enter it again in the plugin's settings.") from None


def set_api_key(service: str, key: Optional[str]) -> str:
    """Store the key encrypted in QgsAuthManager (updating the existing entry) and return its config id;
    CredentialError (a ValueError) for a key check_api_key refuses, with nothing stored or removed."""
    service = key_service(service)
    key = check_api_key(key)  # before anything is stored or cleared: a refused key changes nothing
    if not key:
        clear_api_key(service)
        return ""
    config_id = _store_auth(service, {"username": key, "password": ""})
    _log.info("API key for %s stored in QGIS authentication database (config %s)", service, config_id)
    return config_id


def clear_api_key(service: str = PLANET_TASKING) -> None:
    """Remove the stored key and its auth configuration (for every service sharing it)."""
    service = key_service(service)
    config_id = auth_config_id(service)
    _remove(f"auth/{service}")
    if not config_id:
        return
    secrets.remove(config_id)
    _log.info("API key for %s removed", service)


def check_up42_credentials(username: Optional[str], password: Optional[str]) -> Tuple[str, str]:
    """The UP42 user name (stripped) and password as typed; CredentialError (a ValueError) when either is empty
    or holds a line break or control character (a form field cannot carry it). Messages never hold them."""
    username, password = (username or "").strip(), password or ""
    register_secret(password)
    if not username or not password:
        raise CredentialError("UP42 needs both your user name (the e-mail you log in with) and your password.")
    for what, text in (("user name", username), ("password", password)):
        for position, char in enumerate(text, start=1):
            if unicodedata.category(char).startswith("C") or char in "\u2028\u2029":
                raise CredentialError(f"The UP42 {what} contains {_character_name(char)} (character {position} of "
                                      f"{len(text)}). Type it again.")
    return username, password


def set_up42_credentials(username: Optional[str], password: Optional[str]) -> str:
    """Store UP42's user name and password together in ONE encrypted Basic configuration of QgsAuthManager
    (updating the existing one) and return its id; CredentialError with nothing stored for refused ones.
    No workspace is stored: the client reads it from the token's userinfo."""
    username, password = check_up42_credentials(username, password)
    config_id = _store_auth(UP42, {"username": username, "password": password})
    _log.info("UP42 credentials stored in QGIS authentication database (config %s)", config_id)
    return config_id


def up42_credentials() -> Optional[Tuple[str, str]]:
    """The stored (user name, password) for UP42, or None when none are stored; AuthStorageError when they
    exist but cannot be read."""
    fields = _load_auth(UP42, "UP42 credentials")
    if fields is None:
        return None
    username, password = fields.get("username") or "", fields.get("password") or ""
    register_secret(password)
    return (username, password) if username and password else None


def active_api_key(service: str = PLANET_TASKING) -> Any:
    """The key requests use: the sandbox's own key when the sandbox is on, the stored one otherwise; for UP42
    a (user name, password) pair (the sandbox's key as both: its UP42 login accepts that)."""
    if _check_service(service) == UP42:
        return (SANDBOX_API_KEY, SANDBOX_API_KEY) if use_sandbox() else up42_credentials()
    return SANDBOX_API_KEY if use_sandbox() else get_api_key(service)


def connection(service: str = PLANET_TASKING) -> ServiceConnection:
    """Base URL and key for a client, per the current settings (may raise AuthStorageError)."""
    return ServiceConnection(
        service=_check_service(service),
        base_url=active_base_url(service),
        api_key=active_api_key(service),
        sandbox=use_sandbox(),
    )


def is_configured(service: str = PLANET_TASKING) -> bool:
    """Whether a client can be built without asking anything: sandbox on, or a key stored."""
    return use_sandbox() or has_api_key(service)
