"""The Decisions panel: each pending feasibility study (its options) and quotation with cost and terms, decided
only after the user confirms a question that states the cost, and the newest UP42 orders with status and sub-status.

The workflow is core.app.decisions'; the panel shows, asks and forwards.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Tuple

from qgis.core import Qgis
from qgis.PyQt.QtCore import Qt, QTimer
from qgis.PyQt.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...core.app.decisions import (
    ACCEPTED,
    REJECTED,
    DecisionsWorkflow,
    PendingDecisions,
    option_details,
    option_lines,
    order_label,
    quotation_question,
    quotation_text,
    remembered_estimate,
    sub_status_meaning,
)
from ...core.app.orders_background import TaskGroup
from ..bulk.messages import push_message

# Seconds between automatic readings while the panel is shown (the sandbox and UP42 move orders on by
# themselves; a study or quotation appears without a click).
REFRESH_SECONDS = 30
ROLE = Qt.ItemDataRole.UserRole


class DecisionsPanel(QWidget):
    """The pending decisions as a tree (a study with its options, a quotation), three buttons that each ask
    first, and a table of the newest orders. Reads again every REFRESH_SECONDS while shown and after each
    decision; results and failures go to the message bar."""

    def __init__(self, client_factory: Optional[Callable[[], Any]] = None, iface: Any = None,
                 parent: Optional[QWidget] = None):
        # The dock's panels' signature (factory, iface, parent); without a factory, UP42's from the registry.
        super().__init__(parent)
        self.setObjectName("decisionsPanel")
        self.iface = iface
        self.tasks = TaskGroup(lambda description, error: self._message(str(error), Qgis.MessageLevel.Critical))
        self.workflow = DecisionsWorkflow(self.tasks.run, client_factory, self)
        self.pending = PendingDecisions()

        self.tree = QTreeWidget(self)
        self.tree.setObjectName("decisionsTree")
        self.tree.setHeaderLabels(["Waiting for your decision"])
        # One line per line of text (an option's price and description, then its window), elided at the
        # right: wrapping would push the window out of the row. The selection is shown in full below.
        self.tree.setWordWrap(False)
        self.tree.setMinimumHeight(120)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)

        # The selected decision in full (the list elides at 400 px): its cost, window and terms.
        self.details_label = QLabel("", self)
        self.details_label.setObjectName("decisionDetailsLabel")
        self.details_label.setWordWrap(True)
        self.details_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.accept_option_button = QPushButton("Accept option…", self)
        self.accept_option_button.setObjectName("acceptOptionButton")
        self.accept_option_button.setToolTip("Accept the selected feasibility option (asks first, with its price).")
        self.accept_button = QPushButton("Accept…", self)
        self.accept_button.setObjectName("acceptQuotationButton")
        self.accept_button.setToolTip("Accept the selected quotation (asks first, with its cost in credits).")
        self.reject_button = QPushButton("Reject…", self)
        self.reject_button.setObjectName("rejectQuotationButton")
        self.reject_button.setToolTip("Reject the selected quotation (asks first); the order then ends.")
        self.refresh_button = QPushButton("Refresh", self)
        self.refresh_button.setObjectName("refreshDecisionsButton")
        buttons = QHBoxLayout()
        for button in (self.accept_option_button, self.accept_button, self.reject_button):
            buttons.addWidget(button)
        buttons.addStretch(1)

        self.orders_table = QTableWidget(0, 3, self)
        self.orders_table.setObjectName("up42OrdersTable")
        self.orders_table.setHorizontalHeaderLabels(["Name", "Status", "Sub-status"])
        self.orders_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.orders_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.orders_table.verticalHeader().setVisible(False)
        header = self.orders_table.horizontalHeader()
        # At 400 px a sub-status ("Feasibility study: pick an option") does not fit beside a name: it shares the
        # width with the name and wraps at its spaces, each row as tall as it needs.
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.orders_table.setWordWrap(True)
        self.orders_table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)

        self.state_label = QLabel("Not read yet.", self)
        self.state_label.setObjectName("decisionsStateLabel")
        self.state_label.setWordWrap(True)

        # Refresh beside the state line, not with the decision buttons: four buttons in one row need more
        # than the dock's 400 px.
        state_row = QHBoxLayout()
        state_row.addWidget(self.state_label, 1)
        state_row.addWidget(self.refresh_button)
        layout = QVBoxLayout(self)
        layout.addLayout(state_row)
        layout.addWidget(self.tree, 3)
        layout.addWidget(self.details_label)
        layout.addLayout(buttons)
        layout.addWidget(QLabel("Recent UP42 orders", self))
        # The decisions come first: the list of them gets the height, the orders table what is left (at least a
        # few rows; it scrolls).
        self.orders_table.setMinimumHeight(110)
        layout.addWidget(self.orders_table, 1)

        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_SECONDS * 1000)
        self.timer.timeout.connect(self.refresh)

        self.tree.itemSelectionChanged.connect(self._update_buttons)
        self.accept_option_button.clicked.connect(lambda *_: self.accept_selected_option())
        self.accept_button.clicked.connect(lambda *_: self.decide_selected_quotation(ACCEPTED))
        self.reject_button.clicked.connect(lambda *_: self.decide_selected_quotation(REJECTED))
        self.refresh_button.clicked.connect(lambda *_: self.refresh())
        self.workflow.loaded.connect(self._show)
        self.workflow.failed.connect(self._failed)
        self.workflow.decided.connect(lambda text: self._message(text, Qgis.MessageLevel.Success))
        self.workflow.decided.connect(lambda _text: self._update_buttons())
        self.workflow.declined.connect(lambda text: self._message(text, Qgis.MessageLevel.Info))
        self._update_buttons()

    # -- reading -------------------------------------------------------------------------------

    def refresh(self) -> None:
        if self.workflow.refresh():
            self.state_label.setText("Reading…")

    def reload_settings(self) -> None:
        """The settings changed (another account, the sandbox): read again if shown, else when next shown."""
        self.pending = PendingDecisions()
        if self.isVisible():
            self.refresh()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self.refresh()
        self.timer.start()

    def hideEvent(self, event) -> None:  # noqa: N802 - Qt override
        # Nothing is read while nobody looks: the timer only runs while the panel is shown.
        self.timer.stop()
        super().hideEvent(event)

    def _show(self, pending: PendingDecisions) -> None:
        selected = self._selected()
        keep = (selected[0], getattr(selected[1], "id", None), getattr(selected[2], "id", None)) if selected else None
        self.pending = pending
        self.tree.clear()
        for study in pending.studies:
            order = pending.order_of(study)
            # Short lines: at 400 px a longer one is cut off at the right. The order's name (the user's, of any
            # length) first, then what to do, each on its own line; the name is in full in the tooltip.
            top = QTreeWidgetItem([f"{order_label(order, study.order_id)}\nFeasibility study: pick an option"])
            top.setData(0, ROLE, ("study", study, None))
            top.setToolTip(0, f"Order {study.order_id}, sub-status {getattr(order, 'sub_status', None) or '?'}")
            # Each option in credits where the order's estimate is known (placed from this profile).
            estimate = remembered_estimate(study.order_id)
            for option in study.options:
                child = QTreeWidgetItem([option_lines(option, estimate)])
                child.setData(0, ROLE, ("option", study, option))
                child.setToolTip(0, option_lines(option, estimate))
                top.addChild(child)
            self.tree.addTopLevelItem(top)
            top.setExpanded(True)
        for quotation in pending.quotations:
            order = pending.order_of(quotation)
            price, _, deadline = quotation_text(quotation, order).partition("; ")
            item = QTreeWidgetItem([f"{order_label(order, quotation.order_id)}\nQuotation: {price}\n{deadline}"])
            item.setData(0, ROLE, ("quotation", quotation, None))
            item.setToolTip(0, item.text(0))
            self.tree.addTopLevelItem(item)
        if not pending.count:
            self.tree.addTopLevelItem(QTreeWidgetItem(["No feasibility study or quotation waits for a decision."]))
        if keep:
            self._reselect(keep)

        self.orders_table.setRowCount(len(pending.recent))
        for row, order in enumerate(pending.recent):
            # The sub-status in words (UP42's name of it in the tooltip, as its console and support say it).
            texts = (order_label(order, order.id), order.status or "", sub_status_meaning(order.sub_status))
            for column, text in enumerate(texts):
                cell = QTableWidgetItem(text)
                cell.setToolTip(f"{order.id}\n{text}" + (f"\n{order.sub_status}" if column == 2 and order.sub_status
                                                          else ""))
                self.orders_table.setItem(row, column, cell)
        self.state_label.setText(f"{len(pending.studies)} feasibility stud{'y' if len(pending.studies) == 1 else 'ies'}"
                                 f" and {len(pending.quotations)} quotation{'' if len(pending.quotations) == 1 else 's'}"
                                 " wait for a decision.")
        self._update_buttons()

    def _reselect(self, keep: Tuple[str, Any, Any]) -> None:
        for index in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(index)
            for item in [top] + [top.child(n) for n in range(top.childCount())]:
                data = item.data(0, ROLE)
                if data and (data[0], getattr(data[1], "id", None), getattr(data[2], "id", None)) == keep:
                    item.setSelected(True)
                    return

    def _failed(self, text: str) -> None:
        self._update_buttons()
        self.state_label.setText(text)
        self._message(text, Qgis.MessageLevel.Warning)

    # -- deciding ------------------------------------------------------------------------------

    def _selected(self) -> Optional[Tuple[str, Any, Any]]:
        items = self.tree.selectedItems()
        data = items[0].data(0, ROLE) if items else None
        return tuple(data) if data else None

    def _update_buttons(self) -> None:
        selected = self._selected()
        kind = selected[0] if selected else None
        # One decision at a time: while one is on its way the list may still show it, so nothing is offered.
        idle = not self.workflow.sending
        self.accept_option_button.setEnabled(idle and kind == "option")
        self.accept_button.setEnabled(idle and kind == "quotation")
        self.reject_button.setEnabled(idle and kind == "quotation")
        self.details_label.setText(self._details(selected))
        self.details_label.setVisible(bool(self.details_label.text()))

    def _details(self, selected: Optional[Tuple[str, Any, Any]]) -> str:
        """The selected decision as the confirmation will state it (cost and terms), before any click."""
        if not selected:
            return ""
        kind, decision, option = selected
        order = self.pending.order_of(decision)
        if kind == "option":
            return option_details(option, remembered_estimate(decision.order_id))
        if kind == "quotation":
            return quotation_question(decision, ACCEPTED, order).split("\n", 1)[1].strip()
        return f"{len(decision.options)} options: choose one below the study to accept it."

    def confirm(self, title: str, question: str) -> bool:
        """The user's yes or no; No is the default, so a stray Enter accepts nothing."""
        answer = QMessageBox.question(self, title, question,
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def accept_selected_option(self) -> bool:
        selected = self._selected()
        if not selected or selected[0] != "option":
            return False
        _kind, study, option = selected
        sent = self.workflow.accept_option(study, option, self.pending.order_of(study), self.confirm)
        self._sent(sent)
        return sent

    def decide_selected_quotation(self, decision: str) -> bool:
        selected = self._selected()
        if not selected or selected[0] != "quotation":
            return False
        quotation = selected[1]
        sent = self.workflow.decide_quotation(quotation, decision, self.pending.order_of(quotation), self.confirm)
        self._sent(sent)
        return sent

    def _sent(self, sent: bool) -> None:
        self._update_buttons()
        if sent:
            # The answer can take a while (the client retries a busy service): say it is on its way.
            self.state_label.setText("Sending your decision to UP42…")

    def _message(self, text: str, level: Any) -> None:
        push_message(self.iface, text, level)

    def shutdown(self) -> None:
        """Stop reading and detach the tasks (plugin unload, dock closed)."""
        self.timer.stop()
        self.tasks.shutdown()
