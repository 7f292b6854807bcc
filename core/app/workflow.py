"""What every new-order workflow shares: the service it works for and a fresh client per task."""

from __future__ import annotations

from typing import Any, Callable, Optional

from qgis.PyQt.QtCore import QObject, pyqtSignal

from ..services import registry
from ..services.base import ServiceDescriptor


class Workflow(QObject):
    """A state machine without widgets: it asks the service through a client it makes per task.

    `client_factory()` returns a client for the current settings, or None when the plugin is not
    configured; it is called on the main thread, once per task, so no client is shared between threads.
    """

    # (what it was about to do, the exception or None when not configured): the caller says so its way.
    clientUnavailable = pyqtSignal(str, object)  # noqa: N815 - Qt signal naming

    def __init__(self, client_factory: Optional[Callable[[], Any]] = None,
                 service: Optional[ServiceDescriptor] = None, parent: Optional[QObject] = None):
        super().__init__(parent)
        self.service = service or registry.service()
        self.client_factory = client_factory if client_factory is not None else registry.client_factory(self.service.id)
        # How many answers arrived after a newer question and were dropped (for tests and the log).
        self.stale_answers_ignored = 0

    @property
    def forms(self) -> Any:
        """The service's order-form module (checks and request bodies)."""
        return self.service.forms

    def client(self, purpose: str) -> Optional[Any]:
        """A fresh client, or None after telling clientUnavailable why there is none."""
        try:
            client = self.client_factory() if self.client_factory is not None else None
        except Exception as error:  # noqa: BLE001 - e.g. the auth database is locked: say so, keep the form
            self.clientUnavailable.emit(purpose, error)
            return None
        if client is None:
            self.clientUnavailable.emit(purpose, None)
        return client


def cancel_task(task: Any, detach: bool = False) -> None:
    """Cancel a task that may have finished (and been deleted) meanwhile."""
    if task is None:
        return
    try:
        if detach:
            task.detach_callbacks()
        task.cancel()
    except RuntimeError:
        pass
