"""Cloud delivery credentials kept in QGIS's authentication database only: one configuration per destination."""

from __future__ import annotations

from typing import Dict, Mapping, Optional

from qgis.core import QgsApplication, QgsAuthMethodConfig

from ...core.log import get_logger, register_secret
from ...core.names import PLUGIN_TITLE
from ...core.services.planet_orders.forms import CLOUD_DESTINATIONS

_log = get_logger("archive_credentials")

# "Basic" exists on every QGIS since 3.0; its user name and password hold the destination's key id and secret,
# and the other fields (bucket, region, ...) ride along in the same encrypted configuration.
AUTH_METHOD = "Basic"
CONFIG_NAME = PLUGIN_TITLE + ": {title} delivery"


class CredentialsUnavailable(Exception):
    """QGIS's authentication database cannot be read or written (disabled, or its master password not entered)."""


def config_name(destination: str) -> str:
    return CONFIG_NAME.format(title=CLOUD_DESTINATIONS[destination][0])


def _manager():
    manager = QgsApplication.authManager()
    if manager is None or manager.isDisabled():
        raise CredentialsUnavailable("QGIS's authentication system is unavailable, so cloud credentials cannot be kept.")
    if not manager.masterPasswordIsSet() and not manager.setMasterPassword(True):
        raise CredentialsUnavailable("QGIS's authentication database is locked: enter its master password "
                                     "(Settings ▸ Options ▸ Authentication) to use stored cloud credentials.")
    return manager


def config_id(destination: str) -> Optional[str]:
    """The id of the destination's stored configuration (found by its name, so no setting is needed), or None."""
    manager = QgsApplication.authManager()
    if manager is None or manager.isDisabled():
        return None
    wanted = config_name(destination)
    for config_id_, config in manager.availableAuthMethodConfigs().items():
        if config.name() == wanted:
            return config_id_
    return None


def _user_and_secret(destination: str):
    fields = CLOUD_DESTINATIONS[destination][1]
    secret = next((name for name, _, is_secret in fields if is_secret), None)
    user = next((name for name, _, is_secret in reversed(fields) if not is_secret), None)
    return user, secret


def load(destination: str) -> Dict[str, str]:
    """The stored fields of a destination ({} when none are stored); CredentialsUnavailable when locked."""
    found = config_id(destination)
    if found is None:
        return {}
    manager = _manager()
    config = QgsAuthMethodConfig()
    loaded = manager.loadAuthenticationConfig(found, config, True)
    if isinstance(loaded, tuple):  # PyQGIS answers (ok, config) for the output argument
        loaded, config = loaded
    if not loaded:
        raise CredentialsUnavailable("The stored cloud credentials could not be decrypted; enter them again.")
    user, secret = _user_and_secret(destination)
    values: Dict[str, str] = {}
    for name, _, _ in CLOUD_DESTINATIONS[destination][1]:
        key = "username" if name == user else "password" if name == secret else name
        value = config.config(key) or ""
        if value:
            values[name] = value
            if name == secret:
                register_secret(value)
    return values


def store(destination: str, values: Mapping[str, str]) -> str:
    """Store (or update) the destination's fields encrypted; returns the configuration's id, never a value."""
    manager = _manager()
    user, secret = _user_and_secret(destination)
    config = QgsAuthMethodConfig(AUTH_METHOD)
    config.setName(config_name(destination))
    for name, _, _ in CLOUD_DESTINATIONS[destination][1]:
        key = "username" if name == user else "password" if name == secret else name
        config.setConfig(key, str(values.get(name) or ""))
    existing = config_id(destination)
    if existing:
        config.setId(existing)
        stored = manager.updateAuthenticationConfig(config)
    else:
        stored = manager.storeAuthenticationConfig(config)
    if isinstance(stored, tuple):
        stored, config = stored
    if not stored or not config.id():
        raise CredentialsUnavailable("QGIS did not store the cloud credentials in its authentication database.")
    _log.info("Cloud delivery credentials for %s kept in the authentication database (config %s)",
              destination, config.id())
    return config.id()


def forget(destination: str) -> None:
    """Remove the destination's stored configuration, if any."""
    found = config_id(destination)
    if found is not None:
        QgsApplication.authManager().removeAuthenticationConfig(found)
