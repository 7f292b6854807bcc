"""Plugin logging: the `satellite_tasking` logger, one QgsMessageLog handler, secrets masked."""

from __future__ import annotations

import logging
import re
import threading
from typing import Iterable, Optional, Set

from qgis.core import Qgis, QgsMessageLog

from . import names

LOGGER_NAME = "satellite_tasking"
MESSAGE_LOG_TAB = names.MESSAGE_TITLE
MASK = "********"

# Shapes a credential takes in a message even when its value was never registered (a key typed into a
# URL, a header dump): the part after the label is masked.
_CREDENTIAL_PATTERNS = (
    re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?(?:api-key|basic|bearer)\s+)([^\s\"',;]+)"),
    re.compile(r"(?i)((?:api[_-]?key|apikey|x-api-key|password|token)[\"']?\s*[:=]\s*[\"']?)([^\s\"',;&]+)"),
)

_secrets: Set[str] = set()
_secrets_lock = threading.Lock()


def get_logger(name: Optional[str] = None) -> logging.Logger:
    """The plugin's logger, or a child of it (`get_logger("http")` -> `satellite_tasking.http`)."""
    return logging.getLogger(LOGGER_NAME if not name else f"{LOGGER_NAME}.{name}")


def register_secret(value: Optional[str]) -> None:
    """Remember a value (an API key) that must never appear in any log line."""
    # Very short values would mask ordinary words; real keys are long.
    if value and len(value) >= 4:
        with _secrets_lock:
            _secrets.add(value)


def forget_secret(value: Optional[str]) -> None:
    with _secrets_lock:
        _secrets.discard(value or "")


def redact(text: str, secrets: Optional[Iterable[str]] = None, *, patterns: bool = True) -> str:
    """The text with every secret (the registered ones, or `secrets`) and, with `patterns`, every
    credential-looking value replaced by a mask. The one redaction of the plugin: logs and error texts."""
    if secrets is None:
        with _secrets_lock:
            secrets = list(_secrets)
    # Longest first, so a key that contains another registered key is masked whole.
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, MASK)
    if patterns:
        for pattern in _CREDENTIAL_PATTERNS:
            text = pattern.sub(lambda m: m.group(1) + MASK, text)
    return text


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
