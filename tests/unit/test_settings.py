"""Settings and API-key storage: QgsSettings under one prefix, keys only in QgsAuthManager, logs masked."""

from __future__ import annotations

import base64
import json
import logging
import sqlite3
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from qgis.core import QgsApplication, QgsAuthMethodConfig, QgsSettings

from core import log, settings
from core.errors import CredentialError

KEY = "PLAK-test-0123456789abcdef-secret"


# Every test starts and ends with no plugin settings and no stored keys.
pytestmark = pytest.mark.usefixtures("clean_settings")


def all_settings_text() -> str:
    """Every QgsSettings key and value, as one string to search."""
    qsettings = QgsSettings()
    qsettings.sync()
    return "\n".join(f"{key}={qsettings.value(key)!r}" for key in qsettings.allKeys())


def test_defaults_point_at_the_real_services():
    assert settings.base_url() == "https://api.planet.com/tasking/v2/"
    assert settings.base_url("planet_orders") == "https://api.planet.com/compute/ops/orders/v2/"
    assert settings.base_url("up42") == "https://api.up42.com/"
    assert settings.active_base_url() == settings.base_url()
    assert not settings.use_sandbox()
    assert settings.sandbox_port() == 8765
    assert settings.pl_number() == "" and settings.product() == ""
    assert settings.get_api_key() is None and not settings.has_api_key() and not settings.is_configured()


def test_values_live_under_the_prefix_and_round_trip():
    settings.set_base_url("planet_tasking", "  https://proxy.example.com/tasking/v2  ")
    settings.set_pl_number(" PL-000123 ")
    settings.set_product("SkySat")
    assert settings.base_url() == "https://proxy.example.com/tasking/v2/"
    assert settings.pl_number() == "PL-000123"
    assert settings.product() == "SkySat"
    assert QgsSettings().value("satellite_tasking/pl_number") == "PL-000123"
    # Empty goes back to the default rather than storing an unusable URL.
    settings.set_base_url("planet_tasking", "")
    assert settings.base_url() == "https://api.planet.com/tasking/v2/"


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        settings.set_base_url("planet_tasking", "ftp://example.com/")
    with pytest.raises(ValueError):
        settings.base_url("nope")
    with pytest.raises(ValueError):
        settings.set_sandbox_port(70000)


def test_sandbox_switch_points_at_loopback_with_the_sandbox_key():
    settings.set_api_key("planet_tasking", KEY)
    settings.set_use_sandbox(True)
    assert settings.active_base_url() == "http://127.0.0.1:8765/tasking/v2/"
    assert settings.active_base_url("planet_orders") == "http://127.0.0.1:8765/compute/ops/orders/v2/"
    assert settings.active_api_key() == "sandbox"
    settings.set_sandbox_port(9123)
    conn = settings.connection()
    assert (conn.base_url, conn.api_key, conn.sandbox) == ("http://127.0.0.1:9123/tasking/v2/", "sandbox", True)
    assert settings.is_configured()
    # Switching back gives the real service and the stored key again.
    settings.set_use_sandbox(False)
    conn = settings.connection()
    assert (conn.base_url, conn.api_key, conn.sandbox) == ("https://api.planet.com/tasking/v2/", KEY, False)
    assert KEY not in repr(conn)


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_sandbox_contract_is_read_from_the_running_sandbox(sandbox):
    port = int(sandbox.root.rsplit(":", 1)[1])
    accounts = sandbox.control("GET", "accounts")["accounts"]
    expected = next(a for a in accounts if a["api_key"] == settings.SANDBOX_API_KEY)["default_pl_number"]
    assert settings.sandbox_contract(port) == expected
    settings.set_sandbox_port(port)
    assert settings.sandbox_contract() == expected
    # Nothing listening: no contract, no exception, and nothing was stored.
    assert settings.sandbox_contract(_free_port()) is None
    assert settings.pl_number() == ""


def test_api_key_round_trips_through_the_auth_manager_only(qgis_auth):
    config_id = settings.set_api_key("planet_tasking", KEY)
    assert settings.get_api_key("planet_tasking") == KEY
    assert settings.has_api_key("planet_tasking") and settings.is_configured()
    # Planet has one key per account: the Orders API uses the one stored for Tasking; UP42 has its own.
    assert settings.get_api_key("planet_orders") == KEY and settings.has_api_key("planet_orders")
    assert settings.get_api_key("up42") is None

    # Stored as an encrypted auth configuration of a method QGIS 3.22 has.
    assert config_id in qgis_auth.configIds()
    config = QgsAuthMethodConfig()
    ok = qgis_auth.loadAuthenticationConfig(config_id, config, True)
    ok, config = ok if isinstance(ok, tuple) else (ok, config)
    assert ok and config.method() == "Basic" and config.config("username") == KEY
    assert "Basic" in qgis_auth.authMethodsKeys()

    # Settings hold the config id, never the key: not in any key or value, not in the file on disk.
    text = all_settings_text()
    assert f"satellite_tasking/auth/planet_tasking={config_id!r}" in text
    assert KEY not in text
    assert KEY.encode() not in Path(QgsSettings().fileName()).read_bytes()
    # And the auth database holds it encrypted, not in clear.
    with sqlite3.connect(qgis_auth.authenticationDatabasePath()) as db:
        dump = "\n".join(db.iterdump())
    assert KEY not in dump


def test_updating_the_key_keeps_one_config_and_clearing_removes_it(qgis_auth):
    first = settings.set_api_key("planet_tasking", KEY)
    second = settings.set_api_key("planet_tasking", KEY + "-rotated")
    assert first == second
    assert settings.get_api_key() == KEY + "-rotated"
    settings.clear_api_key("planet_tasking")
    assert first not in qgis_auth.configIds()
    assert settings.get_api_key() is None and settings.auth_config_id() == ""
    # An empty key means "remove it", not "store an empty secret".
    settings.set_api_key("planet_tasking", KEY)
    assert settings.set_api_key("planet_tasking", "  ") == ""
    assert not settings.has_api_key()


def test_locked_auth_database_gives_a_clear_error_without_the_key(qgis_auth):
    settings.set_api_key("planet_tasking", KEY)
    qgis_auth.clearMasterPassword()
    with pytest.raises(settings.AuthStorageError) as read_error:
        settings.get_api_key("planet_tasking")
    with pytest.raises(settings.AuthStorageError) as write_error:
        settings.set_api_key("planet_tasking", KEY + "-new")
    for error in (read_error.value, write_error.value):
        assert "master password" in str(error)
        assert KEY not in str(error)
    # Whether a key exists is known without unlocking anything.
    assert settings.has_api_key("planet_tasking")


@pytest.fixture
def message_log():
    """Messages QGIS's message log receives in the plugin's tab while the test runs."""
    received = []

    def on_message(message, tag, level):
        if tag == log.MESSAGE_LOG_TAB:
            received.append((message, level))

    QgsApplication.messageLog().messageReceived.connect(on_message)
    log.setup_logging()
    yield received
    log.teardown_logging()
    QgsApplication.messageLog().messageReceived.disconnect(on_message)


def test_logging_has_exactly_one_message_log_handler(message_log):
    log.setup_logging()  # a second call (plugin reloaded) must not add a second handler
    logger = logging.getLogger("satellite_tasking")
    assert [type(h) for h in logger.handlers] == [log.MessageLogHandler]
    log.get_logger("http").warning("slow response from %s", "example.com")
    assert len(message_log) == 1
    assert "slow response from example.com" in message_log[0][0]
    log.teardown_logging()
    assert not [h for h in logger.handlers if isinstance(h, log.MessageLogHandler)]


def test_log_lines_mask_the_configured_key(message_log):
    settings.set_api_key("planet_tasking", KEY)
    logger = log.get_logger("http")
    logger.error("request failed with key %s", KEY)
    logger.info("headers: {'Authorization': 'api-key %s'}", "some-unregistered-key-value")
    logger.info("GET https://example.com/?api_key=another-unregistered-value")
    try:
        raise RuntimeError(f"boom {KEY}")
    except RuntimeError:
        logger.exception("failure")
    text = "\n".join(message for message, _ in message_log)
    assert KEY not in text
    assert "some-unregistered-key-value" not in text and "another-unregistered-value" not in text
    assert text.count(log.MASK) >= 4
    assert "request failed with key" in text and "boom" in text


def test_redact_leaves_ordinary_text_alone():
    assert log.redact("order 42 is FULFILLED", secrets=[KEY]) == "order 42 is FULFILLED"
    assert log.redact(f"x{KEY}y", secrets=[KEY]) == f"x{log.MASK}y"


def test_locked_database_is_not_unlocked_from_a_worker_thread(qgis_auth, monkeypatch):
    # Unlocking asks the user in a dialog; from a QgsTask thread that would be a dialog off the GUI
    # thread, so the worker gets the clear error without anyone being asked.
    import threading

    settings.set_api_key("planet_tasking", KEY)
    qgis_auth.clearMasterPassword()
    prompts = []
    monkeypatch.setattr(qgis_auth, "setMasterPassword", lambda *args: prompts.append(args) or False)
    outcome = []

    def worker():
        try:
            outcome.append(settings.get_api_key("planet_tasking"))
        except settings.AuthStorageError as error:
            outcome.append(error)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(timeout=30)
    assert isinstance(outcome[0], settings.AuthStorageError) and "master password" in str(outcome[0])
    assert prompts == []
    # On the main thread the user is asked (here the stand-in answers "no").
    with pytest.raises(settings.AuthStorageError):
        settings.get_api_key("planet_tasking")
    assert prompts == [(True,)]


# --- the key in every form: refused on entry, masked everywhere --------------------------------------

# A key with the characters that make its forms differ: quotes, a backslash, "/", "+", a line break.
ODD_KEY = 'PLAK-odd/key+with"quote\\back\nline-0123'


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# (form name, the text a log line or error might hold, what must not survive in it)
FORMS = [
    ("raw", f"failed with {ODD_KEY}", ODD_KEY),
    ("JSON-escaped", json.dumps({"detail": f"bad key {ODD_KEY}"}), json.dumps(ODD_KEY)[1:-1]),
    ("repr-escaped", repr(ValueError(ODD_KEY)), repr(ODD_KEY)[1:-1]),
    ("header bytes", f"Invalid header value {('api-key ' + ODD_KEY).encode()!r}", repr(ODD_KEY.encode())[2:-1]),
    ("escaped twice", json.dumps({"error": repr(ODD_KEY)}), json.dumps(repr(ODD_KEY)[1:-1])[1:-1]),
    ("URL-encoded", f"GET /orders/?key={quote(ODD_KEY, safe='')}", quote(ODD_KEY, safe="")),
    ("form-encoded", f"body: key={quote_plus(ODD_KEY)}", quote_plus(ODD_KEY)),
    ("URL user info", f"GET http://{quote(ODD_KEY, safe='')}:@example.com/x", quote(ODD_KEY, safe="")),
    ("Basic header", f"Authorization: Basic {b64(ODD_KEY + ':')}", b64(ODD_KEY + ":").rstrip("=")),
    ("Basic, bare", f"credentials {b64(ODD_KEY + ':')} sent", b64(ODD_KEY + ":").rstrip("=")),
    ("api-key header", f"{{'Authorization': 'api-key {ODD_KEY}'}}", ODD_KEY),
]


@pytest.mark.parametrize("name,text,leaked", FORMS, ids=[form[0] for form in FORMS])
def test_redact_masks_every_form_of_a_registered_key(name, text, leaked):
    log.register_secret(ODD_KEY)
    try:
        assert leaked in text  # the case really holds the form
        masked = log.redact(text)
        assert leaked not in masked and log.MASK in masked
        assert masked.startswith(text.split(leaked)[0])  # what comes before the key stays readable
    finally:
        log.forget_secret(ODD_KEY)


@pytest.mark.parametrize("text,leaked", [
    ("GET http://UNREGISTERED-key-1:@example.com/tasking/v2/", "UNREGISTERED-key-1"),
    ("GET https://someone:UNREGISTERED-key-2@example.com/", "UNREGISTERED-key-2"),
    ("headers: {'Authorization': 'api-key UNREGISTERED-key-3'}", "UNREGISTERED-key-3"),
    (f"Authorization: Basic {b64('UNREGISTERED-key-4:')}", b64("UNREGISTERED-key-4:")),
    ("GET https://example.com/?api_key=UNREGISTERED-key-5", "UNREGISTERED-key-5"),
])
def test_redact_masks_credential_shapes_even_when_the_value_was_never_registered(text, leaked):
    masked = log.redact(text)
    assert leaked not in masked and log.MASK in masked
    assert "example.com" in masked or "Authorization" in masked or "headers" in masked


def test_log_lines_mask_every_form_of_the_key(message_log):
    log.register_secret(ODD_KEY)
    try:
        logger = log.get_logger("sweep")
        for _name, text, _leaked in FORMS:
            logger.warning("%s", text)
        logged = "\n".join(message for message, _ in message_log)
        assert len(message_log) == len(FORMS)
        for name, _text, leaked in FORMS:
            assert leaked not in logged, name
    finally:
        log.forget_secret(ODD_KEY)


def test_records_are_masked_before_any_handler_sees_them():
    # A handler on the plugin's logger other than QGIS's message log (pytest's, another plugin's root
    # handler) gets the record already masked: the filter sits on every plugin logger, not on one handler.
    seen = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())
    logger = logging.getLogger("satellite_tasking")
    logger.addHandler(handler)
    log.register_secret(ODD_KEY)
    try:
        log.get_logger("anything").error("key %r in a record", ODD_KEY)
    finally:
        logger.removeHandler(handler)
        log.forget_secret(ODD_KEY)
    assert seen and repr(ODD_KEY)[1:-1] not in seen[0] and log.MASK in seen[0]


BAD_KEYS = [
    ("a line break", "PLAKfirst-half\nsecond-half-0123"),
    ("a line break", "PLAKfirst-half\r\nsecond-half-0123"),
    ("a tab", "PLAKfirst-half\tsecond-half-0123"),
    ("a space", "PLAKfirst-half second-half-0123"),
    ("a control character", "PLAKfirst-half\x00second-half-0123"),
    ("a control character", "PLAKfirst-half\u200bsecond-half-0123"),  # zero-width space, invisible
    ("U+00E9", "PLAKfirst-halfésecond-half-0123"),
]


@pytest.mark.parametrize("what,bad_key", BAD_KEYS, ids=[repr(k[1][14:16]) for k in BAD_KEYS])
def test_a_key_with_a_line_break_or_inner_whitespace_is_refused_and_nothing_is_stored(qgis_auth, message_log,
                                                                                        what, bad_key):
    settings.set_api_key("planet_tasking", KEY)
    with pytest.raises(ValueError) as refused:
        settings.set_api_key("planet_tasking", bad_key)
    assert isinstance(refused.value, CredentialError)
    text = str(refused.value)
    assert what in text and "character 15 of" in text  # what is wrong, and where
    for form in log.secret_forms(bad_key) + ("first-half", "second-half"):
        assert form not in text and form not in repr(refused.value)
    # Nothing stored: the key before is still the key, and no message quoted the refused one.
    assert settings.get_api_key("planet_tasking") == KEY
    assert "first-half" not in all_settings_text()
    assert not any("first-half" in message for message, _ in message_log)


def _store_raw_key(qgis_auth, raw_key: str) -> str:
    """What an older version did: any text from the key field stored as it was."""
    config = QgsAuthMethodConfig(settings.AUTH_METHOD)
    config.setName("Satellite Tasking (planet_tasking)")
    config.setConfig("username", raw_key)
    config.setConfig("password", "")
    stored = qgis_auth.storeAuthenticationConfig(config)
    stored, config = stored if isinstance(stored, tuple) else (stored, config)
    assert stored
    QgsSettings().setValue("satellite_tasking/auth/planet_tasking", config.id())
    return config.id()


def test_a_stored_key_with_a_line_break_gives_a_clear_error_not_a_raw_one(qgis_auth, message_log):
    from core.services import registry

    _store_raw_key(qgis_auth, "PLAKstored-first\nstored-second-0123")
    assert settings.has_api_key("planet_tasking")
    for read in (settings.get_api_key, settings.connection, registry.client_for):
        with pytest.raises(settings.AuthStorageError) as refused:
            read("planet_tasking")
        text = f"{refused.value} {refused.value!r}"
        assert "line break" in text and "Enter it again" in text
        assert "stored-first" not in text and "stored-second" not in text
    assert not any("stored-first" in message for message, _ in message_log)
    # The way out works without reading it: forget it, then store a good one.
    settings.clear_api_key("planet_tasking")
    settings.set_api_key("planet_tasking", KEY)
    assert settings.get_api_key("planet_tasking") == KEY


@pytest.mark.parametrize("url", [
    "http://PLAKurl-key-0123:@proxy.example.com/tasking/v2/",
    "https://someone:PLAKurl-key-0123@proxy.example.com/tasking/v2/",
    "  https://PLAKurl-key-0123@proxy.example.com/tasking/v2  ",
])
def test_a_url_with_user_info_is_refused_and_nothing_is_stored(message_log, url):
    settings.set_base_url("planet_tasking", "https://proxy.example.com/tasking/v2/")
    with pytest.raises(ValueError) as refused:
        settings.set_base_url("planet_tasking", url)
    assert isinstance(refused.value, CredentialError)
    text = str(refused.value)
    assert "PLAKurl-key" not in text and "PLAKurl-key" not in repr(refused.value)
    # It names the URL (masked) and says where the key belongs.
    assert f"{log.MASK}@proxy.example.com/tasking/v2" in text and "API key field" in text
    assert settings.base_url("planet_tasking") == "https://proxy.example.com/tasking/v2/"
    assert "PLAKurl-key" not in all_settings_text()
    assert not any("PLAKurl-key" in message for message, _ in message_log)


def test_a_stored_url_with_user_info_from_an_older_version_is_taken_out_of_the_settings(message_log):
    QgsSettings().setValue("satellite_tasking/base_url/planet_tasking",
                           "https://PLAKold-url-key-0123:@proxy.example.com/tasking/v2/")
    assert settings.base_url("planet_tasking") == "https://proxy.example.com/tasking/v2/"
    # Gone from the settings file, where it sat in clear, and the user is told why.
    QgsSettings().sync()
    assert "PLAKold-url-key" not in all_settings_text()
    assert b"PLAKold-url-key" not in Path(QgsSettings().fileName()).read_bytes()
    told = [message for message, _ in message_log if "user name or key before the host" in message]
    assert told and not any("PLAKold-url-key" in message for message, _ in message_log)
