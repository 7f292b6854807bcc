"""The bulk journal a dialog works with: the caller's, or one it opens on first use and releases when done."""

from __future__ import annotations

from functools import partial
from typing import Optional, Sequence

from ...tasks import ApiTask
from .journal import BulkJournal

try:
    from qgis.PyQt import sip
except ImportError:  # pragma: no cover - older PyQt layouts
    import sip  # type: ignore[no-redef]


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


class JournalLease:
    """Calling it gives the journal: the one handed in (the caller's, never closed here) or, without one,
    the profile's journal, opened on first use. release() closes a journal opened here once the given
    tasks are done with it; used again afterwards, the lease opens the journal anew."""

    def __init__(self, journal: Optional[BulkJournal] = None):
        self.journal = journal
        # Only a journal this lease opened is closed by it; one handed in belongs to the caller.
        self.owned = journal is None

    def __call__(self) -> BulkJournal:
        if self.journal is None:
            self.journal = BulkJournal()
            self.owned = True
        return self.journal

    def release(self, tasks: Sequence[Optional[ApiTask]] = ()) -> None:
        """Close the journal opened here (its dialog was closed, or the plugin unloads); a task still
        running keeps it open until it is done."""
        journal = self.journal
        if journal is None or not self.owned:
            return
        self.journal = None
        close_when_done(journal, tasks)
