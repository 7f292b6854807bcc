"""QGIS's authentication database, the one place the plugin keeps secrets: named, encrypted Basic configurations."""

from __future__ import annotations

from typing import Dict, Mapping, Optional

from qgis.core import QgsApplication, QgsAuthMethodConfig
from qgis.PyQt.QtCore import QCoreApplication, QThread

# "Basic" exists on every QGIS since 3.0 (3.22 has no API-header method); its user name and password hold
# the secret, and any other fields ride along in the same encrypted configuration.
AUTH_METHOD = "Basic"

MASTER_PASSWORD_MESSAGE = (
    "QGIS's authentication database is locked: the master password was not entered. "
    "Set or enter it (Settings > Options > Authentication) and try again."
)


class AuthStorageError(Exception):
    """A secret could not be stored in or read from QGIS's authentication database."""


def _manager():
    manager = QgsApplication.authManager()
    if manager is None or manager.isDisabled():
        reason = manager.disabledMessage() if manager is not None else "no authentication manager"
        raise AuthStorageError(f"QGIS's authentication system is unavailable: {reason}")
    return manager


def _unlock(manager) -> None:
    if manager.masterPasswordIsSet():
        return
    # Asking for the password opens a dialog, which only the GUI thread may do: from a QgsTask we refuse
    # instead (read secrets on the main thread before starting the task).
    app = QCoreApplication.instance()
    if app is not None and QThread.currentThread() is not app.thread():
        raise AuthStorageError(MASTER_PASSWORD_MESSAGE)
    # In QGIS desktop this asks the user for the master password (or creates one on first use); headless,
    # with nobody to ask, it fails and we say so instead of storing anything in clear.
    if not manager.setMasterPassword(True):
        raise AuthStorageError(MASTER_PASSWORD_MESSAGE)


def exists(config_id: Optional[str]) -> bool:
    """Whether a configuration is stored, checked without decrypting it (so without the master password)."""
    manager = QgsApplication.authManager()
    return bool(config_id) and manager is not None and not manager.isDisabled() and config_id in manager.configIds()


def find(name: str) -> Optional[str]:
    """The id of the configuration called `name`, or None (found by name: no setting needed to remember it)."""
    manager = QgsApplication.authManager()
    if manager is None or manager.isDisabled():
        return None
    for config_id, config in manager.availableAuthMethodConfigs().items():
        if config.name() == name:
            return config_id
    return None


def load(config_id: str) -> Dict[str, str]:
    """The decrypted fields of a stored configuration ({} when it is not stored); AuthStorageError when locked."""
    manager = _manager()
    if config_id not in manager.configIds():
        return {}
    _unlock(manager)
    config = QgsAuthMethodConfig()
    loaded = manager.loadAuthenticationConfig(config_id, config, True)
    if isinstance(loaded, tuple):  # PyQGIS answers (ok, config) for the output argument
        loaded, config = loaded
    if not loaded:
        raise AuthStorageError("A secret stored in QGIS's authentication database could not be decrypted. "
                               + MASTER_PASSWORD_MESSAGE)
    return {key: value for key, value in config.configMap().items()}


def store(name: str, fields: Mapping[str, str], config_id: Optional[str] = None) -> str:
    """Store `fields` encrypted as the configuration `name` (updating `config_id` when it is stored) and return
    its id, never a value."""
    manager = _manager()
    _unlock(manager)
    config = QgsAuthMethodConfig(AUTH_METHOD)
    config.setName(name)
    for key, value in fields.items():
        config.setConfig(key, str(value or ""))
    if config_id and config_id in manager.configIds():
        config.setId(config_id)
        stored = manager.updateAuthenticationConfig(config)
    else:
        stored = manager.storeAuthenticationConfig(config)
    if isinstance(stored, tuple):
        stored, config = stored
    if not stored or not config.id():
        raise AuthStorageError(f"QGIS did not store “{name}” in its authentication database.")
    return config.id()


def remove(config_id: Optional[str]) -> None:
    """Remove a stored configuration, if it is there."""
    if exists(config_id):
        QgsApplication.authManager().removeAuthenticationConfig(config_id)
