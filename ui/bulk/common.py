"""What the bulk dialogs share: the client they use and result layers rebuilt from the journal."""

from __future__ import annotations

from typing import Any, Callable, Optional

from qgis.core import QgsProject, QgsVectorLayer

from ...core.app.bulk import BulkJournal, active_client, close_when_done, journal_result_layer
from ...core.app.bulk.result_layer import add_result_layer_to_project

ClientFactory = Callable[[], Any]


# A client for the active service as the settings say now (sandbox or real); an error when there is none.
default_client_factory = active_client

__all__ = ["ClientFactory", "add_result_layer", "close_when_done", "default_client_factory"]


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
