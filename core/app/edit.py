"""Edit an order's name or times: the service's rules checked first, then the edit sent and the order read back."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Dict, List, Optional

from qgis.PyQt.QtCore import QObject, pyqtSignal

from ..services import registry


def edit_problems(order: Any, changes: Dict[str, Any], now: datetime) -> List[str]:
    """Why the active service would refuse these changes to `order` now (empty when it would take them)."""
    return list(registry.service().rules.edit_problems(order, now=now, **changes))


def save_changes(client, order_id: str, changes: Dict[str, Any]) -> Any:
    """Send the changes and read the order back (the service may adjust what it stores)."""
    client.edit_order(order_id, **changes)
    return client.get_order(order_id)


class EditWorkflow(QObject):
    """Save an order's changes in the background: `saved(order read back)` or `failed(error)`.

    `run(description, fn, on_success, on_error)` starts a QgsTask; `client_factory()` gives a client or None.
    """

    saved = pyqtSignal(object)
    failed = pyqtSignal(object)

    def __init__(self, client_factory: Callable[[], Any], run: Callable, parent: Optional[QObject] = None):
        super().__init__(parent)
        self.client_factory = client_factory
        self.run = run

    def save(self, order_id: str, changes: Dict[str, Any]) -> bool:
        """Start saving; False when no client could be made (nothing started)."""
        client = self.client_factory()
        if client is None:
            return False
        self.run("Editing tasking order", lambda feedback: save_changes(client, order_id, changes),
                 self.saved.emit, self.failed.emit)
        return True
