"""Cloud delivery credentials, kept only in QGIS's authentication database (core.secrets): one per destination."""

from __future__ import annotations

from typing import Dict, Mapping, Optional, Tuple

from ... import secrets
from ...log import get_logger, register_secret
from ...names import PLUGIN_TITLE
from .forms import CLOUD_DESTINATIONS

_log = get_logger("archive_credentials")

CONFIG_NAME = PLUGIN_TITLE + ": {title} delivery"

# Raised when the database cannot be read or written (disabled, or its master password not entered).
CredentialsUnavailable = secrets.AuthStorageError


def config_name(destination: str) -> str:
    return CONFIG_NAME.format(title=CLOUD_DESTINATIONS[destination][0])


def config_id(destination: str) -> Optional[str]:
    """The id of the destination's stored configuration (found by its name, so no setting is needed), or None."""
    return secrets.find(config_name(destination))


def _stored_keys(destination: str) -> Dict[str, str]:
    """Each field's key in the configuration: the secret as Basic's password and the last plain field as its
    user name (so QGIS's own authentication dialog shows them as such), the others by their names."""
    fields: Tuple[Tuple[str, str, bool], ...] = CLOUD_DESTINATIONS[destination][1]
    secret = next((name for name, _, is_secret in fields if is_secret), None)
    user = next((name for name, _, is_secret in reversed(fields) if not is_secret), None)
    return {name: "username" if name == user else "password" if name == secret else name for name, _, _ in fields}


def load(destination: str) -> Dict[str, str]:
    """The stored fields of a destination ({} when none are stored); CredentialsUnavailable when locked."""
    found = config_id(destination)
    if found is None:
        return {}
    stored = secrets.load(found)
    secret_names = {name for name, _, is_secret in CLOUD_DESTINATIONS[destination][1] if is_secret}
    values: Dict[str, str] = {}
    for name, key in _stored_keys(destination).items():
        value = stored.get(key) or ""
        if value:
            values[name] = value
            if name in secret_names:
                register_secret(value)
    return values


def store(destination: str, values: Mapping[str, str]) -> str:
    """Store (or update) the destination's fields encrypted; returns the configuration's id, never a value."""
    fields = {key: str(values.get(name) or "") for name, key in _stored_keys(destination).items()}
    stored = secrets.store(config_name(destination), fields, config_id(destination))
    _log.info("Cloud delivery credentials for %s kept in the authentication database (config %s)", destination, stored)
    return stored


def forget(destination: str) -> None:
    """Remove the destination's stored configuration, if any."""
    secrets.remove(config_id(destination))
