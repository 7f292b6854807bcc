"""The bulk dialogs' message-bar entries; it keeps the ones with a button so plugin unload can take them away."""

from __future__ import annotations

from typing import Any, Callable, List, Optional

from qgis.core import Qgis
from qgis.gui import QgsMessageBarItem
from qgis.PyQt.QtWidgets import (
    QPushButton,
)

from ...core import names
from ...core.app.bulk import (
    BulkJournal,
    BulkOutcome,
)
from ...core.log import get_logger
from .common import add_result_layer

_log = get_logger("bulk_dialog")


def push_message(iface: Any, text: str, level: int = Qgis.MessageLevel.Info, duration: int = 8) -> None:
    """A plain message-bar entry (logged instead when there is no message bar)."""
    if iface is None:
        return
    try:
        iface.messageBar().pushMessage(names.MESSAGE_TITLE, text, level, duration)
    except (AttributeError, RuntimeError):  # no message bar (tests with a bare stub), or QGIS closing
        _log.info("%s", text)


def push_with_button(iface: Any, text: str, level: int, duration: int, button_text: str,
                     on_click: Callable[[], Any]) -> Optional[QgsMessageBarItem]:
    """A message-bar entry with one button (e.g. "Show results"); None when there is no message bar."""
    try:
        bar = iface.messageBar()
    except (AttributeError, RuntimeError):
        _log.info("%s", text)
        return None
    # Parented to the bar, and the button to the item: Qt owns both, so they outlive this function.
    item = QgsMessageBarItem(names.MESSAGE_TITLE, text, level, duration, bar)
    button = QPushButton(button_text, item)
    button.setObjectName("messageBarButton")
    item.setWidget(button)
    button.clicked.connect(lambda *_: on_click())
    bar.pushItem(item)
    _BUTTON_MESSAGES.append(item)
    return item


# Message-bar entries whose button calls into this plugin: unload removes them (their code is going away).
_BUTTON_MESSAGES: List[Any] = []


def remove_button_messages(iface: Any) -> int:
    """Take this plugin's "Show results" entries off the message bar (plugin unload); how many were there."""
    removed = 0
    while _BUTTON_MESSAGES:
        item = _BUTTON_MESSAGES.pop()
        try:
            if item in iface.messageBar().items():
                iface.messageBar().popWidget(item)
                removed += 1
        except (AttributeError, RuntimeError):  # already closed by the user, or QGIS closing
            pass
    return removed


def announce_outcome(iface: Any, journal: BulkJournal, outcome: BulkOutcome, prefix: str = "") -> Optional[QgsMessageBarItem]:
    """The summary in the message bar; for a CREATE job with a "Show results" button adding its result layer."""
    text = prefix + outcome.summary()
    trouble = bool(outcome.failed or outcome.pending)
    level = Qgis.MessageLevel.Warning if trouble else Qgis.MessageLevel.Success
    if outcome.operation != "CREATE":
        push_message(iface, text, level, 0 if trouble else 10)
        return None
    # Stays until closed: the results are one click away, and there is no other place they appear by themselves.
    return push_with_button(iface, text, level, 0, "Show results", lambda: add_result_layer(journal, outcome.job_id))

