"""Plugin logging: the `satellite_tasking` logger, one QgsMessageLog handler, secrets masked."""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
from functools import lru_cache
from typing import Any, Dict, Iterable, List, Optional, Tuple
from urllib.parse import quote, quote_plus, unquote

from qgis.core import Qgis, QgsMessageLog

from . import names

LOGGER_NAME = "satellite_tasking"
MESSAGE_LOG_TAB = names.MESSAGE_TITLE
MASK = "********"
# Very short values would mask ordinary words; real keys are long.
MIN_SECRET_LENGTH = 4

# Shapes a credential takes in a message even when its value was never registered (a key typed into a
# URL, a header dump): the part after the label is masked.
_CREDENTIAL_PATTERNS = (
    re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?(?:api-key|basic|bearer)\s+)([^\s\"',;]+)"),
    re.compile(r"(?i)((?:api[_-]?key|apikey|x-api-key|password|token)[\"']?\s*[:=]\s*[\"']?)([^\s\"',;&]+)"),
    # The user info of a URL (http://KEY:@host/, http://user:KEY@host/): whatever sits before the "@".
    re.compile(r"(?i)(\b[a-z][a-z0-9+.\-]*://)([^\s/?#@\"'<>]+)(?=@)"),
)

# Every registered secret with the forms it can take in a text (see secret_forms).
_secrets: Dict[str, Tuple[str, ...]] = {}
_secrets_lock = threading.Lock()


def get_logger(name: Optional[str] = None) -> logging.Logger:
    """The plugin's logger, or a child of it (`get_logger("http")` -> `satellite_tasking.http`), masking
    its records at the source: a handler anywhere (pytest's, a root handler another plugin added) sees
    them without secrets, not only QGIS's message log."""
    logger = logging.getLogger(LOGGER_NAME if not name else f"{LOGGER_NAME}.{name}")
    if not any(isinstance(f, RedactingFilter) for f in logger.filters):
        logger.addFilter(RedactingFilter())
    return logger


@lru_cache(maxsize=256)
def secret_forms(secret: str) -> Tuple[str, ...]:
    """Every form `secret` takes where text can carry it, longest first: as it is; escaped the way JSON,
    Python's repr and bytes' repr write it (a line break as the two characters backslash and n, once and
    twice over, as a repr inside a JSON string writes it); URL-encoded; and base64 as an HTTP Basic
    header carries it (the key as user name with an empty password: base64 of "KEY:")."""
    forms = {secret}
    for _ in range(2):  # escaped, and escaped again
        for form in list(forms):
            forms.update((
                json.dumps(form)[1:-1],
                json.dumps(form, ensure_ascii=False)[1:-1],
                repr(form)[1:-1],
                repr(form.encode("utf-8"))[2:-1],
                form.encode("unicode_escape").decode("ascii"),
            ))
    forms.update((quote(secret, safe=""), quote(secret), quote_plus(secret), quote(secret, safe="").lower()))
    for user_info in (secret + ":", secret):
        # Without the "=" padding, so the form is also found where a header was cut or re-padded.
        forms.add(base64.b64encode(user_info.encode("utf-8")).decode("ascii").rstrip("="))
    return tuple(sorted((f for f in forms if len(f) >= MIN_SECRET_LENGTH), key=len, reverse=True))


def register_secret(value: Optional[str]) -> None:
    """Remember a value (an API key, a proxy password) that must never appear in any log line or error text."""
    if value and len(value) >= MIN_SECRET_LENGTH:
        with _secrets_lock:
            if value not in _secrets:
                _secrets[value] = secret_forms(value)


# A URL's user info: everything between "://" and the last "@" before the query. More lenient than
# urlsplit, which ends the host at a "/" that a key pasted unencoded may well contain.
_URL_USER_INFO = re.compile(r"^\s*([a-z][a-z0-9+.\-]*://)([^?#]*)@", re.IGNORECASE)


def split_url_credentials(url: str) -> Tuple[Optional[str], str]:
    """(the user info of `url` or None, `url` without it): `http://KEY:@host/x` -> ("KEY:", "http://host/x")."""
    match = _URL_USER_INFO.match(url or "")
    if match is None:
        return None, url
    return match.group(2), match.group(1) + url[match.end():].strip()


def register_url_credentials(url: str) -> bool:
    """Register the user info of `url` (`http://KEY:@host/`, `http://user:KEY@host/`) as secrets; True when
    it had any. The password is registered, the user name too when there is no password (Planet's Basic
    form puts the key there), and the whole user info, raw and percent-decoded."""
    user_info, _ = split_url_credentials(url)
    if user_info is None:
        return False
    user, _, password = user_info.partition(":")
    for value in (user_info, password, user if not password else ""):
        register_secret(value)
        register_secret(unquote(value))
    return True


def forget_secret(value: Optional[str]) -> None:
    with _secrets_lock:
        _secrets.pop(value or "", None)


def _forms_of(secrets: Optional[Iterable[str]]) -> List[str]:
    if secrets is None:
        with _secrets_lock:
            forms = [form for known in _secrets.values() for form in known]
    else:
        forms = [form for secret in secrets if secret and len(secret) >= MIN_SECRET_LENGTH
                 for form in secret_forms(secret)]
    # Longest first, so a key that contains another registered key (or form) is masked whole.
    return sorted(set(forms), key=len, reverse=True)


def redact(text: str, secrets: Optional[Iterable[str]] = None, *, patterns: bool = True) -> str:
    """The text with every secret (the registered ones, or `secrets`) in every form it takes (secret_forms)
    and, with `patterns`, every credential-looking value (a header, `api_key=…`, a URL's user info)
    replaced by a mask. The one redaction of the plugin: log records, error texts, the transport."""
    if not isinstance(text, str):
        text = str(text)
    for form in _forms_of(secrets):
        text = text.replace(form, MASK)
    if patterns:
        for pattern in _CREDENTIAL_PATTERNS:
            text = pattern.sub(lambda m: m.group(1) + MASK, text)
    return text


def redact_value(value: Any, secrets: Optional[Iterable[str]] = None) -> Any:
    """`value` (text, or data decoded from JSON such as an error body) with redact applied; data keeps its
    shape, so an error body stays a dict the error messages can read."""
    if value is None:
        return None
    if isinstance(value, str):
        return redact(value, secrets)
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        return redact(str(value), secrets)
    cleaned = redact(text, secrets)
    if cleaned == text:
        return value
    try:
        return json.loads(cleaned)
    except ValueError:  # a pattern cut through an escaped quote: mask the exact forms only
        return json.loads(redact(text, secrets, patterns=False))


class RedactingFilter(logging.Filter):
    """Rewrites each record in place, so handlers further up (pytest's, the root's) see it masked too."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class MessageLogHandler(logging.Handler):
    """Sends records to the QGIS message log, in the plugin's own tab."""

    _LEVELS = ((logging.ERROR, Qgis.MessageLevel.Critical), (logging.WARNING, Qgis.MessageLevel.Warning), (logging.NOTSET, Qgis.MessageLevel.Info))

    def __init__(self, tab: str = MESSAGE_LOG_TAB):
        super().__init__()
        self.tab = tab
        self.addFilter(RedactingFilter())
        # QGIS shows the time and level itself.
        self.setFormatter(logging.Formatter("%(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level = next(qgis_level for threshold, qgis_level in self._LEVELS if record.levelno >= threshold)
            # QgsMessageLog is safe to call from QgsTask threads: it hands the message to the GUI thread.
            QgsMessageLog.logMessage(self.format(record), self.tab, level, notifyUser=False)
        except Exception:  # noqa: BLE001 - a broken log line must never break the plugin
            self.handleError(record)


def setup_logging(level: int = logging.INFO) -> logging.Logger:
    """Attach exactly one message-log handler to the plugin logger; calling it again changes nothing."""
    logger = get_logger()
    for handler in [h for h in logger.handlers if isinstance(h, MessageLogHandler)]:
        logger.removeHandler(handler)
    logger.addHandler(MessageLogHandler())
    logger.setLevel(level)
    # Inside QGIS the message log is the one place for these lines; another plugin's basicConfig()
    # on the root logger must not print them a second time.
    logger.propagate = False
    return logger


def teardown_logging() -> None:
    """Undo setup_logging (plugin unload): no handler of ours stays behind."""
    logger = get_logger()
    for handler in [h for h in logger.handlers if isinstance(h, MessageLogHandler)]:
        logger.removeHandler(handler)
        handler.close()
    logger.propagate = True
    logger.setLevel(logging.NOTSET)
