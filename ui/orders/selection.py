"""The Orders tab's selection both ways: rows select their footprints and captures, features picked on the map
select their orders (the list reads on to them), and the map zooms to the selected orders. A selected archive
order (or another merged service's, UP42) shows its own details; the map and the bulk dialogs hear only of tasking
orders."""

from __future__ import annotations

from datetime import datetime
from typing import Any, List, Optional, Sequence

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsFeatureRequest,
    QgsRectangle,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QItemSelection, QItemSelectionModel, QTimer

from ...core import compat
from ...core import layers as layer_tools
from ...core.app.cancel import can_cancel
from ...core.services.planet_tasking.models import Order

WGS84 = QgsCoordinateReferenceSystem("EPSG:4326")


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


class SelectionSync:
    """Mixed into OrdersPanel: needs its view, model, mirror, details, details_stack, merged_details,
    cancel_button, iface, project, now, show_message, show_details, selected_archive_orders and
    selectedOrdersChanged."""

    def selected_order_ids(self) -> List[str]:
        """The selected tasking orders' ids (archive orders are selected_archive_orders())."""
        return [order.id for order in self.selected_orders()]

    def selected_orders(self) -> List[Order]:
        """The selected tasking orders."""
        rows = sorted({index.row() for index in self.view.selectionModel().selectedRows()})
        archive = self.model.archive_ids
        # The model keeps rows packed: ids are read without making orders, each order made once.
        ids = [(row, self.model.row_id(row)) for row in rows]
        return [self.model.order_at(row) for row, order_id in ids
                if order_id is not None and not (archive and order_id in archive)]

    def select_orders(self, order_ids: Sequence[str]) -> None:
        """Select these orders in the view (those loaded); the layers follow."""
        rows = sorted(self.model.row_of[i] for i in set(order_ids) if i in self.model.row_of)
        selection = QItemSelection()
        last = self.model.columnCount() - 1
        start = previous = None
        for row in rows + [None]:
            if row is not None and previous is not None and row == previous + 1:
                previous = row
                continue
            if start is not None:
                selection.select(self.model.index(start, 0), self.model.index(previous, last))
            start = previous = row
        self.view.selectionModel().select(selection, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)

    def _on_view_selection(self, *_: Any) -> None:
        orders = self.selected_orders()
        archive = self.selected_archive_orders() if self.model.archive_ids else []
        ids = [o.id for o in orders]
        now = self.now()
        self.cancel_button.setEnabled(any(can_cancel(o, now) for o in orders)
                                      or any(self.model.source(o).can_cancel(o) for o in archive))
        self.cancel_button.setToolTip(self._cancel_tooltip(orders, now, archive))
        # One other service's order alone: its service's details in the tasking details' place.
        lone = archive[0] if len(archive) == 1 and not orders else None
        shown = self.merged_details[self.model.source(lone).key] if lone is not None else self.details
        self.details_stack.setCurrentWidget(shown)
        for details in self.merged_details.values():
            details.show_order(lone if details is shown else None)
        if len(orders) == 1:
            if not self._syncing_selection:
                self.model.clear_mark(orders[0].id)  # the user looked at it
            self.show_details(orders[0])
        else:
            self.details.show_order(None)
        if not self._syncing_selection:
            self._syncing_selection = True
            try:
                self._select_in_layers(ids, source=None)
            finally:
                self._syncing_selection = False
            if self._zoom_on_select and orders:
                self.zoom_to(orders)
        self.selectedOrdersChanged.emit(ids)

    def _cancel_tooltip(self, orders: Sequence[Order], now: datetime, archive: Sequence[Any] = ()) -> str:
        if not orders and not archive:
            return "Select the orders to cancel."
        refused = [can_cancel(o, now) for o in orders] + [self.model.source(o).can_cancel(o) for o in archive]
        if all(not r for r in refused):
            return refused[0].reason if len(refused) == 1 else "None of the selected orders can be cancelled."
        if any(self.model.source(o).choice == "archive" for o in archive):
            return ("Cancel the selected orders that can be cancelled (asks for confirmation); archive orders "
                    "only while queued, several in one bulk cancel.")
        return "Cancel the selected orders that can be cancelled (asks for confirmation)."

    def _select_in_layers(self, order_ids: Sequence[str], source: Optional[QgsVectorLayer]) -> None:
        # Looked up by id in the layers' indexes: the map holds every matching order and capture, and
        # reading all their attributes on each selection would stall the GUI on a big account.
        wanted = list(dict.fromkeys(order_ids))
        captures = self.mirror.captures_of(wanted)
        for layer, ids in ((self.orders_layer, wanted), (self.captures_layer, captures)):
            if layer is source or not self.mirror.layer_alive(layer):
                continue
            layer.selectByIds(layer_tools.feature_ids_of(layer, ids) if ids else [])

    def _on_layer_selection(self, layer: Optional[QgsVectorLayer], field: str) -> None:
        if self._syncing_selection or not self.mirror.layer_alive(layer):
            return
        request = QgsFeatureRequest().setFlags(QgsFeatureRequest.Flag.NoGeometry)
        request.setSubsetOfAttributes([field], layer.fields())
        ids = {f[field] for f in layer.getSelectedFeatures(request) if f[field]}
        self._syncing_selection = True
        try:
            self._select_in_layers(ids, source=layer)
            self.select_orders(ids)
        finally:
            self._syncing_selection = False
        self._map_picked, self._map_picked_generation = sorted(ids), self.model.generation
        self._follow_map_pick()

    def _follow_map_pick(self) -> None:
        """Bring orders picked on the map into the list: the list loads pages as the user scrolls and
        is sorted by the user's column, so a picked order may be pages away; read on until it is there."""
        picked = self._map_picked
        if not picked:
            return
        missing = sum(1 for order_id in picked if order_id not in self.model.row_of)
        if missing and (self.model.loading or self.model.canFetchMore()):
            self.show_message(f"Loading the list down to the {_plural(missing, 'order')} selected on the map…")
            if not self.model.loading:
                self.model.fetchMore()
            return
        self._map_picked = []
        shown = [i for i in picked if i in self.model.row_of]
        if shown:
            # After the view has laid out the rows just added: before that its scroll range is the old
            # one, scrolling clamps to its end, and the view takes that for "load the next page".
            first = min(shown, key=self.model.row_of.__getitem__)
            QTimer.singleShot(0, lambda: self._scroll_to_order(first))
        if missing:
            self.show_message(f"{_plural(missing, 'order')} selected on the map {'is' if missing == 1 else 'are'} "
                              "not in the list (it changed since the map was drawn); refresh to see it again.")
        elif self.message_label.text().startswith("Loading the list down to"):
            self.show_message("")

    def zoom_to(self, orders: Sequence[Order]) -> Optional[QgsRectangle]:
        canvas = self.iface.mapCanvas() if self.iface is not None else None
        extent = compat.null_rectangle()
        for order in orders:
            geometry = layer_tools.wkb_to_geometry(self.order_footprints.get(order.id))
            if not geometry.isNull():
                extent.combineExtentWith(geometry.boundingBox())
        if extent.xMinimum() > extent.xMaximum():
            return None  # no order had a footprint
        if canvas is None:
            return extent
        destination = canvas.mapSettings().destinationCrs()
        if destination.isValid() and destination != WGS84:
            extent = QgsCoordinateTransform(WGS84, destination, self.project).transformBoundingBox(extent)
        extent.scale(1.3)
        canvas.setExtent(extent)
        canvas.refresh()
        return extent
