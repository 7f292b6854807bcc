"""What every algorithm shares: the service URL parameter, a client from the settings, feedback and errors."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable, Dict, Optional
from urllib.parse import urlsplit

from qgis.core import (
    QgsProcessingAlgorithm,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterString,
)
from qgis.PyQt.QtCore import Qt

from ..core import settings
from ..core.errors import ServiceError
from ..core.layers import WriteLayout
from ..core.services import registry
from .help import help_html

SERVICE_URL = "SERVICE_URL"
# Hosts a plain-http Service URL may name (a sandbox on this computer).
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def service_url_parameter() -> QgsProcessingParameterString:
    """The optional base URL overriding the settings' (e.g. a sandbox); advanced, as most runs never need it."""
    parameter = QgsProcessingParameterString(SERVICE_URL, "Service URL (empty: the one in the plugin settings)",
                                             optional=True)
    parameter.setFlags(parameter.flags() | QgsProcessingParameterDefinition.Flag.FlagAdvanced)
    return parameter


def make_client(url: str = "", service_id: Optional[str] = None) -> Any:
    """A client of the active service (or of `service_id`): the settings' base URL unless `url` is given, the key
    (UP42: the user name and password) from QgsAuthManager (the sandbox's own while the sandbox is on). Call it on
    the main thread (prepareAlgorithm): reading the key may have to unlock QGIS's auth database.
    QgsProcessingException says why there is none."""
    descriptor = registry.service(service_id)
    secret = "UP42 password" if descriptor.id == settings.UP42 else "API key"
    try:
        base_url = settings.normalize_base_url(url) if url.strip() else ""
        connection = settings.connection(descriptor.id)
    except (settings.AuthStorageError, ValueError) as error:
        raise QgsProcessingException(str(error)) from None
    parts = urlsplit(base_url)
    if base_url and parts.scheme != "https" and parts.hostname not in LOOPBACK_HOSTS:
        # A model or a batch row may come from anyone: the stored key never travels in clear to another host.
        raise QgsProcessingException(f"The Service URL {base_url} is not https: the {secret} would cross the network "
                                     "unencrypted. Use an https URL (plain http only for a sandbox on this computer).")
    base_url = base_url or connection.base_url
    if not connection.api_key:
        stored = "UP42 user name and password" if descriptor.id == settings.UP42 else "API key"
        raise QgsProcessingException(
            f"No {stored} for {descriptor.title}: enter it in Web ▸ Satellite Tasking ▸ Settings… (it is kept in "
            "QGIS's authentication database, never passed as a parameter).")
    return descriptor.connect(base_url, connection.api_key)


def utc_datetime(value: Any) -> Optional[datetime]:
    """A QDateTime parameter value as an aware UTC datetime (None when unset or invalid)."""
    if value is None or not value.isValid():
        return None
    return value.toUTC().toPyDateTime().replace(tzinfo=timezone.utc)


def kind_layout(kind: Any) -> WriteLayout:
    """How a sink holding exactly a layer kind's fields is written (core.layers.PreparedFeatures.build_features)."""
    fields = kind.qgs_fields()
    return WriteLayout(fields, tuple(range(fields.count())), Qt.TimeSpec.UTC)


def progress_of(feedback: Optional[QgsProcessingFeedback], start: float = 0.0, end: float = 100.0) -> Callable[[float], None]:
    """A workflow's progress callback (0-100) mapped onto [start, end] of the algorithm's progress."""
    def progress(percent: float) -> None:
        if feedback is not None:
            feedback.setProgress(start + (end - start) * max(0.0, min(100.0, float(percent))) / 100.0)
    return progress


def canceled_of(feedback: Optional[QgsProcessingFeedback]) -> Callable[[], bool]:
    return lambda: feedback is not None and feedback.isCanceled()


def service_failure(what: str, error: BaseException) -> QgsProcessingException:
    """A service or workflow error as the exception Processing shows: what failed and the workflow's reason."""
    if isinstance(error, QgsProcessingException):
        return error
    reason = str(error) if isinstance(error, (ServiceError, ValueError, RuntimeError, KeyError)) else repr(error)
    return QgsProcessingException(f"{what} failed: {reason}")


class TaskingAlgorithm(QgsProcessingAlgorithm):
    """A provider algorithm: its id, texts and help from help.py; a client made in prepareAlgorithm (main thread)."""

    ID = ""
    NAME = ""
    GROUP = "Tasking"
    GROUP_ID = "tasking"

    def __init__(self) -> None:
        super().__init__()
        self.client: Any = None

    def name(self) -> str:
        return self.ID

    def displayName(self) -> str:  # noqa: N802 - QGIS's name
        return self.NAME

    def group(self) -> str:
        return self.GROUP

    def groupId(self) -> str:  # noqa: N802 - QGIS's name
        return self.GROUP_ID

    def shortHelpString(self) -> str:  # noqa: N802 - QGIS's name
        return help_html(self.ID)

    def createInstance(self) -> "TaskingAlgorithm":  # noqa: N802 - QGIS's name
        return type(self)()

    def prepareAlgorithm(self, parameters: Dict[str, Any], context: Any, feedback: Any) -> bool:  # noqa: N802
        self.client = make_client(self.parameterAsString(parameters, SERVICE_URL, context) or "")
        return self.prepare(parameters, context, feedback)

    def prepare(self, parameters: Dict[str, Any], context: Any, feedback: Any) -> bool:
        """What else must be read on the main thread (a layer snapshot); True to go on."""
        return True
