"""What the bulk dialogs share: the client they use, the journal's lifetime, and result layers from it."""

from __future__ import annotations

from functools import partial
from typing import Any, Callable, Optional, Sequence

from qgis.core import QgsProject, QgsVectorLayer

from ...core.app.bulk import (
    BulkJournal,
    journal_result_layer,
    registry_client,
)
from ...core.tasks import ApiTask

try:
    from qgis.PyQt import sip
except ImportError:  # pragma: no cover - older PyQt layouts
    import sip  # type: ignore[no-redef]


ClientFactory = Callable[[], Any]


def default_client_factory() -> Any:
    """A client for the active service as the settings say now (sandbox or real); an error when there is none."""
    from ...core.services import registry

    return registry_client(registry.active_service_id())


def add_result_layer(journal: BulkJournal, job_id: str) -> Optional[QgsVectorLayer]:
    """Rebuild a CREATE job's result layer from the journal and add it to the project.

    A journal closed meanwhile (its dialog or the start-up task is done with it) is opened again from its
    file for just this, so a "Show results" button works however long after the job it is clicked.
    """
    if journal.closed:
        with BulkJournal(journal.path) as reopened:
            layer = journal_result_layer(reopened, job_id)
    else:
        layer = journal_result_layer(journal, job_id)
    if layer is not None:
        QgsProject.instance().addMapLayer(layer)
    return layer


def close_when_done(journal: BulkJournal, tasks: Sequence[Optional[ApiTask]]) -> bool:
    """Close `journal` now or, while one of `tasks` still runs (and may write to it), once the last has
    finished and delivered its result; whether it was closed now."""
    running = [task for task in tasks if task is not None and not sip.isdeleted(task) and not task.delivered]
    if not running:
        journal.close()
        return True
    left = {id(task) for task in running}

    def one_done(key: int) -> None:
        left.discard(key)
        if not left:
            journal.close()

    for task in running:
        # Emitted on the GUI thread after finished(): the task's callbacks have used the journal by then.
        # Connected even when callbacks were detached (plugin unload): the file is released all the same.
        task.taskCompleted.connect(partial(one_done, id(task)))
        task.taskTerminated.connect(partial(one_done, id(task)))
    return False


