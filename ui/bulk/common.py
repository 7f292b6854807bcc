"""What the bulk dialogs share: the client they use and result layers rebuilt from the journal."""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence, Tuple

from qgis.core import QgsProject, QgsVectorLayer
from qgis.PyQt.QtWidgets import QHeaderView, QTableWidget, QTableWidgetItem

from ...core.app.bulk import BulkJournal, active_client, close_when_done, journal_result_layer
from ...core.app.bulk.result_layer import add_result_layer_to_project

ClientFactory = Callable[[], Any]


# A client for the active service as the settings say now (sandbox or real); an error when there is none.
default_client_factory = active_client

__all__ = ["ClientFactory", "add_result_layer", "close_when_done", "default_client_factory", "fit_columns",
           "set_headers"]

# A cell's text wider than this is elided (its tooltip or the row's check says the rest): one long
# feature name must not push the other columns out of a 900 px dialog.
COLUMN_CAP = 170


def set_headers(table: QTableWidget, headers: Sequence[Tuple[str, str]]) -> None:
    """Column titles short enough to fit, each with its full wording as the header's tooltip."""
    table.setColumnCount(len(headers))
    for column, (title, full) in enumerate(headers):
        item = QTableWidgetItem(title)
        item.setToolTip(full)
        table.setHorizontalHeaderItem(column, item)


def fit_columns(table: QTableWidget, stretch: int, cap: int = COLUMN_CAP) -> None:
    """Each column as wide as its title and contents (contents capped at `cap`), `stretch` taking the rest.

    A header's title always fits whole: the cap only stops a long cell from widening its column.
    """
    header = table.horizontalHeader()
    for column in range(table.columnCount()):
        header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
    table.resizeColumnsToContents()
    for column in range(table.columnCount()):
        if column == stretch:
            continue
        needed = header.sectionSizeHint(column)
        table.setColumnWidth(column, max(needed, min(table.columnWidth(column), cap)))
    if 0 <= stretch < table.columnCount():
        header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)


def add_result_layer(journal: BulkJournal, job_id: str) -> Optional[QgsVectorLayer]:
    """Rebuild a CREATE job's result layer from the journal and add it to the project (stored to last).

    A journal closed meanwhile (its dialog or the start-up task is done with it) is opened again from its
    file for just this, so a "Show results" button works however long after the job it is clicked.
    """
    if journal.closed:
        with BulkJournal(journal.path) as reopened:
            layer = journal_result_layer(reopened, job_id)
    else:
        layer = journal_result_layer(journal, job_id)
    if layer is not None:
        layer = add_result_layer_to_project(layer, QgsProject.instance())
    return layer
